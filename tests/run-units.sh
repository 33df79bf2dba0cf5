#!/bin/sh
# Runs each cmocka unit test binary given; fails if any fails.
status=0
for t in "$@"; do
	"$t" || { echo "unit test failed: $t" >&2; status=1; }
done
exit $status
