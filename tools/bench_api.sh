#!/bin/bash
# The Docker API's share of `make bench` (called by tools/bench.sh, or
# alone, as root): `docker run --rm busybox true` through rlbpf system
# service against `rlbpf run --rm busybox true`, as the same user, in
# alternating rounds, so that what the API adds to a run is the difference
# of the two medians (goal: at most 10 ms). `docker ps -q` is timed too:
# the docker CLI's own start and one request, which no server can take
# off. Figures only: nothing here
# passes or fails.
#
# Usage: tools/bench_api.sh [PREFIX USER]   (as tools/bench_mem.sh)
# Environment: BENCH_API_RUNS (default 40) runs of each.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_API_RUNS:-40}
die() {
	echo "tools/bench_api.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it measures as an unprivileged user"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_API_RUNS must be a whole number, not '$runs'"
for tool in docker hyperfine python3; do
	command -v "$tool" >/dev/null || { echo "Docker API figures: not measured: no $tool"; exit 0; }
done

work=$(mktemp -d /tmp/rlbpf-bench-api.XXXXXX)
chmod 755 "$work"
cleanup() {
	trap - INT TERM HUP
	set +e
	[ -z "${user:-}" ] || pkill -KILL -u "$user" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

. "$repo/tools/bench_user.sh"
bench_user_args "$@"
sock=$work/run/rlbpf.sock
"${asu[@]}" "$prefix/bin/rlbpf" system service "unix://$sock" >"$work/service.log" 2>&1 &
disown # ended by the cleanup's pkill, without a word from bash
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || die "the service did not start: $(cat "$work/service.log")"
dk=(env DOCKER_HOST="unix://$sock" "$(command -v docker)")
"${asu[@]}" "$prefix/bin/rlbpf" run --rm --network none busybox true >/dev/null 2>&1 ||
	die "rlbpf run failed as $user"

per=$(((runs + 4) / 5))
for i in 1 2 3 4 5; do
	"${asu[@]}" hyperfine -N --style none --warmup 2 --runs "$per" --export-json "$work/home/r$i.json" \
		-n docker "${dk[*]} run --rm --network none busybox true" \
		-n rlbpf "$prefix/bin/rlbpf run --rm --network none busybox true" \
		-n floor "${dk[*]} ps -q" >"$work/hf.log" 2>&1 ||
		die "hyperfine failed in round $i: $(tail -n 3 "$work/hf.log")"
done
python3 - "$work" <<'PY'
import json, statistics, sys
t = {}
for i in range(1, 6):
    for r in json.load(open(f"{sys.argv[1]}/home/r{i}.json"))["results"]:
        t.setdefault(r["command"], []).extend(r["times"])
d, r, f = (statistics.median(t[k]) * 1000 for k in ("docker", "rlbpf", "floor"))
print(f"Docker API: start-to-exit of busybox true, median of {len(t['docker'])} runs in five alternating rounds:")
print(f"  docker run --rm (rlbpf system service)  {d:7.2f} ms")
print(f"  rlbpf run --rm                          {r:7.2f} ms   the API adds {d - r:.2f} ms (goal: at most 10 ms)")
print(f"  docker ps -q (the CLI's own start and one request) {f:7.2f} ms:")
print(f"    beyond the CLI's own cost, the service adds {d - r - f:.2f} ms to rlbpf run")
PY
