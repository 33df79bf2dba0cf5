#!/bin/bash
# The OCI runtime's share of `make bench` (called by tools/bench.sh, or
# alone, as root): start-to-exit of a container through the engines that
# drive rlbpf-runtime, against runc driven the same way, alternated in one
# run so that whatever else the machine does weighs on both alike:
#  1. rootless Podman as the unprivileged user: podman run --rm busybox true
#     with --runtime rlbpf-runtime and with --runtime runc;
#  2. containerd as root (a private instance): ctr run --rm with
#     --runc-binary rlbpf-runtime and with runc.
# Figures and ratios only: nothing here passes or fails.
#
# Usage: tools/bench_oci.sh [PREFIX USER]   (as tools/bench_mem.sh)
# Environment: BENCH_OCI_RUNS (default 20) runs of each kind.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_OCI_RUNS:-20}
die() {
	echo "tools/bench_oci.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it runs containerd and measures Podman as an unprivileged user"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_OCI_RUNS must be a whole number, not '$runs'"
for tool in podman conmon containerd ctr runc; do
	command -v "$tool" >/dev/null || { echo "OCI runtime figures: not measured: no $tool (tools/deps.sh bench installs it)"; exit 0; }
done

work=$(mktemp -d /tmp/rlbpf-bench-oci.XXXXXX)
chmod 755 "$work"
containerd_pid=""
cleanup() {
	trap - INT TERM HUP
	set +e
	[ -z "${user:-}" ] || pkill -KILL -u "$user" 2>/dev/null
	[ -z "$containerd_pid" ] || { kill "$containerd_pid"; wait "$containerd_pid"; }
	pkill -f "containerd-shim-runc-v2 .*$work" 2>/dev/null
	for m in $(awk -v w="$work" '$5 ~ "^" w { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

. "$repo/tools/bench_user.sh"
bench_user_args "$@"
rt=$prefix/bin/rlbpf-runtime
# in HOME's .config: conmon runs Podman's cleanup with HOME alone, and a
# cleanup that cannot find the runtime leaves podman run waiting 20 s
conf=$work/home/.config
install -d -o "$user" "$conf" "$conf/containers"
cat >"$conf/containers/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "rlbpf-runtime"]
runtime_supports_nocgroups = ["crun", "rlbpf-runtime"]

[engine.runtimes]
rlbpf-runtime = ["$rt"]
runc = ["$(command -v runc)"]
EOF
podman_as_user() { "${asu[@]}" podman "$@"; }
podman_as_user load -i "$prefix/share/rlbpf/busybox.tar" >/dev/null 2>&1 || die "podman load of the built-in image failed"

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'; }
: >"$work/times"
for i in $(seq "$runs"); do
	for r in rlbpf-runtime runc; do
		t0=$EPOCHREALTIME
		podman_as_user --runtime "$r" run --rm --network none localhost/busybox true >/dev/null 2>&1 ||
			die "podman run with $r failed"
		echo "podman-$r $(ms "$t0" "$EPOCHREALTIME")" >>"$work/times"
	done
done

mkdir -p "$work/containerd"
cat >"$work/containerd/config.toml" <<EOF
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
[grpc]
  address = "$work/containerd/sock"
EOF
containerd --config "$work/containerd/config.toml" >"$work/containerd/log" 2>&1 &
containerd_pid=$!
for _ in $(seq 100); do [ -S "$work/containerd/sock" ] && break; sleep 0.1; done
ctr=(ctr --address "$work/containerd/sock")
"${ctr[@]}" image import "$prefix/share/rlbpf/busybox.tar" >/dev/null || die "ctr image import failed"
for i in $(seq "$runs"); do
	for r in "$rt" "$(command -v runc)"; do
		t0=$EPOCHREALTIME
		"${ctr[@]}" run --rm --runc-binary "$r" docker.io/library/busybox:latest "b$i-$RANDOM" true >/dev/null 2>&1 ||
			die "ctr run with $r failed"
		echo "ctr-$(basename "$r") $(ms "$t0" "$EPOCHREALTIME")" >>"$work/times"
	done
done

echo "OCI runtime: start-to-exit of busybox true through each engine, median of $runs alternating runs:"
awk '
	{ v[$1] = v[$1] " " $2 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		p = median(v["podman-rlbpf-runtime"]); q = median(v["podman-runc"])
		c = median(v["ctr-rlbpf-runtime"]); d = median(v["ctr-runc"])
		printf "  podman run --rm (rootless)   rlbpf-runtime %8.2f ms   runc %8.2f ms   ratio %.2f (goal: at most 1.00)\n", p, q, q ? p / q : 0
		printf "  ctr run --rm (root)          rlbpf-runtime %8.2f ms   runc %8.2f ms   ratio %.2f (goal: at most 1.00)\n", c, d, d ? c / d : 0
	}' "$work/times"
