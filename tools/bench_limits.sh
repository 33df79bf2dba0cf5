#!/bin/bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# The limits' share of `make bench` (called by tools/bench.sh, or alone, as
# root), all against references measured in this run, as the unprivileged
# user:
#  1. the peak memory each enforcer reports for three workloads, against the
#     kernel's memory.max_usage_in_bytes for the same workload in a cgroup v1
#     set by hand with the same limit: the hog under 32 MiB (killed), a
#     shell holding 20 MB that forks three subshells under 64 MiB, and Redis
#     (Debian's) with 600000 keys, a forked snapshot and redis-benchmark
#     under 256 MiB. Enforcers: rlbpfd's cgroups (agent-cgroup, the default
#     here) and its eBPF cap (--memory-enforce ebpf), which leaves page cache
#     out: a second ratio sets it against the kernel's peak less the page
#     cache the workload made (Redis's snapshot file);
#  2. what making the cgroups adds to `run --rm --memory 64m busybox true`,
#     against the same run without --memory.
# Figures and ratios only: nothing here passes or fails.
#
# Usage: tools/bench_limits.sh [PREFIX USER]   (as tools/bench_mem.sh)
# Environment: BENCH_LIMITS_RUNS (default 3) runs of each workload, median
# kept; BENCH_START_RUNS (default 40) starts of each kind.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_LIMITS_RUNS:-3}
starts=${BENCH_START_RUNS:-40}
die() {
	echo "tools/bench_limits.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it measures as an unprivileged user and makes memory cgroups"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_LIMITS_RUNS must be a whole number, not '$runs'"
[[ "$starts" =~ ^[1-9][0-9]*$ ]] || die "BENCH_START_RUNS must be a whole number, not '$starts'"
if [ -S /run/rlbpf/rlbpfd.sock ] && pgrep -x rlbpfd >/dev/null; then
	echo "limit figures: not measured: an rlbpfd is already running; stop it so this one's figures are its own"
	exit 0
fi
v1=/sys/fs/cgroup/memory
if [ ! -f "$v1/memory.limit_in_bytes" ]; then
	echo "limit figures: not measured: no cgroup v1 memory controller at $v1 for the kernel's reference"
	exit 0
fi

work=$(mktemp -d /tmp/rlbpf-bench-limits.XXXXXX)
chmod 755 "$work"
cgs=()
. "$repo/tools/bench_agent_ctl.sh"
. "$repo/tools/rootfs_with.sh"
cleanup() {
	trap - INT TERM HUP
	set +e
	[ -z "${user:-}" ] || pkill -KILL -u "$user" 2>/dev/null
	[ -z "$agent_pid" ] || { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; }
	[ -z "$agent_loaded" ] || "$prefix/bin/rlbpfd" --unload >/dev/null 2>&1
	for c in "${cgs[@]}"; do cg_remove "$c"; done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

. "$repo/tools/bench_user.sh"
bench_user_args "$@"
# who runs the workload: the user, or (for the kernel's reference) the user
# inside the cgroup set by hand
runner=("${asu[@]}")
as_user() { "${runner[@]}" "$@"; }
redis=""
if command -v redis-check-rdb >/dev/null; then
	redis=$(rootfs_redis "$work/redis")
	chown -R "$user:" "$redis"
fi


fork_case='x=$(head -c 20000000 /dev/zero | tr "\0" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'

# One workload in a container: WORKLOAD then the run options; prints the
# container's id once it has ended.
workload() {
	local w=$1 id
	shift
	case $w in
	hog) id=$(as_user rlbpf run -d "$@" busybox hog -r 500000 -n 20 -p 50) ;;
	fork) id=$(as_user rlbpf run -d "$@" busybox sh -c "$fork_case") ;;
	redis)
		id=$(as_user rlbpf run -d "$@" --network none "$redis" redis-server --save '' \
			--appendonly no --dir /tmp --protected-mode no --enable-debug-command yes)
		for _ in $(seq 100); do
			[ "$(as_user rlbpf exec "$id" redis-cli ping 2>/dev/null)" = PONG ] && break
			sleep 0.1
		done
		as_user rlbpf exec "$id" redis-cli debug populate 600000 key 100 >/dev/null
		as_user rlbpf exec "$id" redis-cli bgsave >/dev/null
		as_user rlbpf exec "$id" redis-benchmark -q -n 50000 -c 8 -t set,get -d 100 -r 600000 >/dev/null 2>&1 || true
		for _ in $(seq 300); do
			as_user rlbpf exec "$id" redis-cli info persistence 2>/dev/null |
				grep -q 'rdb_bgsave_in_progress:0' && break
			sleep 0.1
		done
		# the snapshot file's page cache, before the container's removal
		# frees it (the kernel's reference run only)
		[ -z "${cache_of:-}" ] || awk '$1 == "cache" { print $2 }' "$cache_of/memory.stat" >"$work/cache"
		as_user rlbpf stop "$id" >/dev/null
		;;
	esac
	as_user rlbpf wait "$id" >/dev/null 2>&1 || true
	echo "$id"
}

cap_of() { case $1 in hog) echo 32 ;; fork) echo 64 ;; redis) echo 256 ;; esac; }

agent_start
as_user rlbpf run --rm --network none busybox true >/dev/null 2>&1 || die "a first container did not run as $user"
out=$work/peaks.tsv
: >"$out"
for w in hog fork redis; do
	[ "$w" != redis ] || [ -n "$redis" ] || continue
	cap=$(cap_of "$w")
	for i in $(seq "$runs"); do
		for e in agent-cgroup ebpf; do
			opt=()
			[ "$e" = ebpf ] && opt=(--memory-enforce ebpf)
			id=$(workload "$w" --memory "${cap}m" "${opt[@]}")
			peak=$(as_user python3 "$work/stats.py" "$id" 2>/dev/null || echo 0)
			code=$(as_user rlbpf inspect -f '{{.State.ExitCode}}' "$id" 2>/dev/null || echo ?)
			as_user rlbpf rm -f "$id" >/dev/null 2>&1 || true
			echo "$w $e $i $peak $code" >>"$out"
		done
		cg=$v1/rlbpf-bench-limits-$$-$w-$i
		mkdir "$cg"
		cgs+=("$cg")
		echo "${cap}M" >"$cg/memory.limit_in_bytes"
		[ ! -f "$cg/memory.memsw.limit_in_bytes" ] || echo "$((2 * cap))M" >"$cg/memory.memsw.limit_in_bytes"
		# without the agent: it would move the container into a memory
		# cgroup of its own, out of the one set by hand
		agent_stop
		runner=("$work/incg" "$cg" "${asu[@]}")
		echo 0 >"$work/cache"
		id=$(cache_of=$cg workload "$w")
		runner=("${asu[@]}")
		code=$(as_user rlbpf inspect -f '{{.State.ExitCode}}' "$id" 2>/dev/null || echo ?)
		as_user rlbpf rm -f "$id" >/dev/null 2>&1 || true
		agent_start
		echo "$w kernel $i $(cat "$cg/memory.max_usage_in_bytes") $code" >>"$out"
		# page cache the workload made (Redis's snapshot file): the kernel
		# counts it and reclaims it at the limit; the eBPF cap never counts it
		echo "$w cache $i $(cat "$work/cache") -" >>"$out"
	done
done

echo "Peak memory per enforcer against the kernel's own (memory.max_usage_in_bytes, a cgroup v1 set by hand), median of $runs:"
awk '
	{ v[$1 " " $2] = v[$1 " " $2] " " $4; c[$1 " " $2] = c[$1 " " $2] " " $5 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		split("hog fork redis", ws, " "); split("32 64 256", caps, " ")
		printf "  %-6s %5s  %12s  %12s %7s  %12s %7s  %12s %7s  %s\n", "", "cap", "kernel", "agent-cgroup", "ratio", "ebpf", "ratio", "page cache", "ratio*", "exit codes (kernel / agent-cgroup / ebpf)"
		for (i = 1; i <= 3; i++) {
			w = ws[i]
			if (!((w " kernel") in v)) continue
			k = median(v[w " kernel"]); g = median(v[w " agent-cgroup"]); e = median(v[w " ebpf"]); pc = median(v[w " cache"])
			printf "  %-6s %4sM  %9.1f MiB  %9.1f MiB %6.1f%%  %9.1f MiB %6.1f%%  %9.1f MiB %6.1f%%  %s /%s /%s\n", w, caps[i], k / 1048576, g / 1048576,
				k ? 100 * g / k : 0, e / 1048576, k ? 100 * e / k : 0, pc / 1048576, (k > pc ? 100 * e / (k - pc) : 0),
				c[w " kernel"], c[w " agent-cgroup"], c[w " ebpf"]
		}
		print "  * ebpf against the kernel peak less the page cache the workload made, which the eBPF cap does not count"
	}' "$out"

# What making the cgroups costs a start: the same run with and without
# --memory, alternating so that whatever else the machine does weighs on
# both alike.
: >"$work/start.tsv"
for i in $(seq "$starts"); do
	for kind in plain capped; do
		opt=()
		[ "$kind" = capped ] && opt=(--memory 64m)
		t0=$EPOCHREALTIME
		as_user rlbpf run --rm --network none "${opt[@]}" busybox true
		t1=$EPOCHREALTIME
		echo "$kind $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')" >>"$work/start.tsv"
	done
done
echo "Start of run --rm --network none busybox true, median of $starts, agent running:"
awk '
	{ v[$1] = v[$1] " " $2 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		p = median(v["plain"]); c = median(v["capped"])
		printf "  without --memory          %7.2f ms\n", p
		printf "  --memory 64m (cgroups)    %7.2f ms   +%.2f ms, ratio %.2f (goal: under 1 ms more)\n", c, c - p, p ? c / p : 0
	}' "$work/start.tsv"
