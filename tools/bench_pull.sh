#!/bin/bash
# rlbpf pull's share of `make bench` (called by tools/bench.sh, or alone, as
# root): the time to pull a 4-layer image of about 100 MB from a local
# registry (Debian's docker-registry, plain HTTP on 127.0.0.1) into a cold
# store, against `skopeo copy docker://... oci:DIR` of the same image,
# alternated in one run; then a pull whose first two layers are already in
# the blob store. rlbpf's figure includes unpacking the layers into its
# image store, which skopeo's does not.
# Figures and ratios only: nothing here passes or fails.
#
# Usage: tools/bench_pull.sh [PREFIX USER]   (as tools/bench_mem.sh)
# Environment: BENCH_PULL_RUNS (default 5) runs of each kind.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_PULL_RUNS:-5}
die() {
	echo "tools/bench_pull.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it starts a registry and measures pulls as an unprivileged user"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PULL_RUNS must be a whole number, not '$runs'"
for tool in docker-registry skopeo umoci python3; do
	command -v "$tool" >/dev/null || { echo "pull figures: not measured: no $tool (tools/deps.sh bench installs it)"; exit 0; }
done

work=$(mktemp -d /tmp/rlbpf-bench-pull.XXXXXX)
chmod 755 "$work"
registry_pid=""
cleanup() {
	trap - INT TERM HUP
	set +e
	[ -z "$registry_pid" ] || { kill "$registry_pid"; wait "$registry_pid"; }
	[ -z "${user:-}" ] || pkill -KILL -u "$user" 2>/dev/null
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

. "$repo/tools/bench_user.sh"
bench_user_args "$@"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/registry.yml" <<EOF
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
log:
  level: error
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# the image: busybox plus four layers of 25 MB of incompressible bytes
img=$work/img
skopeo copy -q "docker-archive:$prefix/share/rlbpf/busybox.tar" "oci:$img:base" >/dev/null
umoci unpack --rootless --image "$img:base" "$work/bundle" >/dev/null
for i in 1 2 3 4; do
	head -c 25000000 /dev/urandom >"$work/bundle/rootfs/data$i"
	umoci repack --refresh-bundle --image "$img:base" "$work/bundle" >/dev/null
done
skopeo copy -q --dest-tls-verify=false "oci:$img:base" "docker://127.0.0.1:$port/bench/big:v1" >/dev/null
# a second image sharing the first two of those layers
rm "$work/bundle/rootfs/data3" "$work/bundle/rootfs/data4"
head -c 25000000 /dev/urandom >"$work/bundle/rootfs/data5"
umoci repack --refresh-bundle --image "$img:base" "$work/bundle" >/dev/null
head -c 25000000 /dev/urandom >"$work/bundle/rootfs/data6"
umoci repack --refresh-bundle --image "$img:base" "$work/bundle" >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$img:base" "docker://127.0.0.1:$port/bench/big:v2" >/dev/null

as_user() { "${asu[@]}" "$@"; }
cold() {
	as_user rlbpf rmi -f "127.0.0.1:$port/bench/big:v1" "127.0.0.1:$port/bench/big:v2" >/dev/null 2>&1 || true
	rm -rf "$work/data/rlbpf/blobs" "$work/data/skopeo-out"
}
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
: >"$work/times"
for _ in $(seq "$runs"); do
	cold
	t0=$EPOCHREALTIME
	as_user rlbpf pull -q --tls-verify=false "127.0.0.1:$port/bench/big:v1" >/dev/null || die "rlbpf pull failed"
	echo "rlbpf $(ms "$t0" "$EPOCHREALTIME")" >>"$work/times"
	t0=$EPOCHREALTIME
	as_user rlbpf pull -q --tls-verify=false "127.0.0.1:$port/bench/big:v2" >/dev/null || die "rlbpf pull failed"
	echo "rlbpf-shared $(ms "$t0" "$EPOCHREALTIME")" >>"$work/times"
	cold
	t0=$EPOCHREALTIME
	as_user skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$port/bench/big:v1" "oci:$work/data/skopeo-out:v1" >/dev/null ||
		die "skopeo copy failed"
	echo "skopeo $(ms "$t0" "$EPOCHREALTIME")" >>"$work/times"
done
cold

echo "Pull of a 4-layer image of $(du -sm "$work/registry" | cut -f1) MB in the registry, median of $runs alternating runs:"
awk '
	{ v[$1] = v[$1] " " $2 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		p = median(v["rlbpf"]); s = median(v["skopeo"]); q = median(v["rlbpf-shared"])
		printf "  cold store: rlbpf pull %8.1f ms (unpacked into the store)   skopeo copy to oci: %8.1f ms   ratio %.2f (goal: at most 1.00)\n", p, s, s ? p / s : 0
		printf "  a second image sharing 2 of its 4 big layers: rlbpf pull %8.1f ms\n", q
	}' "$work/times"
