#!/bin/bash
# make bench: start-to-exit time of `rlbpf run --rm busybox /bin/true`
# against bubblewrap and rootless runc on the same rootfs, all measured in
# this run as the same unprivileged user, printed as ratios.
#
# Usage (as root, from the repository): tools/bench.sh
# Environment: BENCH_RUNS (default 200) iterations per command.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-200}
user=rlbpf-t1

die() {
	echo "tools/bench.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it measures as the unprivileged user $user (try 'sudo make bench')"
for tool in hyperfine bwrap runc; do
	command -v "$tool" >/dev/null || die "needs $tool (run 'tools/deps.sh bench')"
done

tmp=$(mktemp -d /tmp/rlbpf-bench.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	pkill -KILL -u "$user" 2>/dev/null || true
	umount "$tmp/run" 2>/dev/null || true
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

make -C "$repo" --no-print-directory install PREFIX="$tmp/prefix" >/dev/null
"$repo/tools/testusers.sh" create
install -d -m 0700 -o "$user" "$tmp/home"
# A login session's runtime directory is a tmpfs (/run/user/UID); give the
# user one, so that container state lives where it would in real use.
install -d "$tmp/run"
mount -t tmpfs -o "mode=0700,uid=$(id -u "$user"),gid=$(id -g "$user"),size=64m" rlbpf-bench "$tmp/run"
as_user() {
	runuser -u "$user" -- env -i HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
rlbpf=$tmp/prefix/bin/rlbpf

# The busybox image unpacked by rlbpf is the one rootfs all three run.
as_user "$rlbpf" run --rm busybox true
rootfs=$(ls -d "$tmp"/home/.local/share/rlbpf/images/busybox-*/rootfs | head -n 1)

# Rootless runc needs an OCI bundle: its own rootless spec, our rootfs.
bundle=$tmp/home/bundle
as_user mkdir -p "$bundle"
as_user sh -c "cd '$bundle' && runc spec --rootless"
as_user sed -i -e "s|\"path\": \"rootfs\"|\"path\": \"$rootfs\"|" \
	-e 's|"terminal": true|"terminal": false|' -e 's|"sh"|"/bin/true"|' "$bundle/config.json"

csv=$tmp/home/times.csv
as_user hyperfine -N --style basic --warmup 10 --runs "$runs" --export-csv "$csv" \
	-n rlbpf "$rlbpf run --rm busybox /bin/true" \
	-n bwrap "bwrap --unshare-all --uid 0 --gid 0 --bind $rootfs / --proc /proc --dev /dev /bin/true" \
	-n runc "runc --root $tmp/run/runc run --bundle $bundle bench" >/dev/null

echo
echo "start-to-exit of /bin/true in a busybox container, median of $runs runs:"
awk -F, 'NR > 1 { med[$1] = $4 * 1000 }
	END {
		printf "  %-6s %7.2f ms\n", "rlbpf", med["rlbpf"]
		printf "  %-6s %7.2f ms   rlbpf/bwrap = %.2fx (goal: at most 1.3x)\n", "bwrap", med["bwrap"], med["rlbpf"] / med["bwrap"]
		printf "  %-6s %7.2f ms   rlbpf/runc  = %.2fx\n", "runc", med["runc"], med["rlbpf"] / med["runc"]
	}' "$csv"
