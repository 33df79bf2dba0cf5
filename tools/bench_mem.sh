#!/bin/bash
# shellcheck disable=SC2016 # $... in single quotes is for sh -c
# The memory cap's share of `make bench` (called by tools/bench.sh, or alone,
# as root). All against references measured in this run, as the unprivileged
# user, under a 32 MiB cap:
#  1. overshoot: how far past the cap the hog's resident set got before it
#     died, under rlbpf --memory (rlbpfd's eBPF kill), the kernel's cgroup v1
#     limit, and a userspace killer polling /proc every 100 ms as earlyoom
#     does (tools/memkill_poller.c); one yard stick for all three, the
#     kernel's own peak RSS of what ran (tools/maxrss.c);
#  2. time from crossing the cap to the victim's exit, from rlbpf trace's
#     oom_kill and exit events, and the poller's the same as near as its log
#     and the hog's row lines allow;
#  3. the accounting's cost per page fault (tools/faults.c), with and without
#     the agent, with and without a cap.
# Figures and ratios only: nothing here passes or fails.
#
# Usage: tools/bench_mem.sh [PREFIX USER]
#   PREFIX  an installed rlbpf (bin/rlbpf, bin/rlbpfd), readable by USER;
#           without one, the build is installed into a temporary prefix
#   USER    an unprivileged user with subordinate ranges (default: rlbpf-t1,
#           made by tools/testusers.sh)
# Environment: BENCH_MEM_RUNS (default 5) runs of each, median kept.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME's decimal point, and awk's

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_MEM_RUNS:-5}
cap_mib=32
cap=$((cap_mib << 20))
die() {
	echo "tools/bench_mem.sh: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root: it measures as an unprivileged user and makes a memory cgroup"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_MEM_RUNS must be a whole number, not '$runs'"
command -v python3 >/dev/null || die "needs python3 (run 'tools/deps.sh bench')"
if [ -S /run/rlbpf/rlbpfd.sock ] && pgrep -x rlbpfd >/dev/null; then
	echo "memory cap figures: not measured: an rlbpfd is already running; stop it so this can measure with and without it"
	exit 0
fi
make -C "$repo" --no-print-directory -s build/bin/hog build/bin/maxrss build/bin/memkill_poller build/bin/faults

work=$(mktemp -d /tmp/rlbpf-bench-mem.XXXXXX)
chmod 755 "$work"
trace_pid="" cg="" stats_was=""
. "$repo/tools/bench_agent_ctl.sh"
mounted=()
for m in /sys/fs/bpf /sys/kernel/tracing; do mountpoint -q "$m" || mounted+=("$m"); done
cleanup() {
	trap - INT TERM
	set +e # each step is tried whatever the one before did
	[ -z "$trace_pid" ] || { kill -INT "$trace_pid" 2>/dev/null; sleep 0.2; kill -KILL "$trace_pid" 2>/dev/null; wait "$trace_pid" 2>/dev/null || true; }
	[ -z "$agent_pid" ] || { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null || true; }
	[ -z "$stats_was" ] || sysctl -qw kernel.bpf_stats_enabled="$stats_was" || true
	[ -z "$agent_loaded" ] || "$prefix/bin/rlbpfd" --unload >/dev/null 2>&1 || true
	[ -z "$cg" ] || cg_remove "$cg"
	for m in "${mounted[@]}"; do mountpoint -q "$m" && umount "$m"; done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

. "$repo/tools/bench_user.sh"
bench_user_args "$@"

# Our programs, where the user can run them (and a container can mount them).
bin=$work/bin
install -d -m 0755 "$bin"
install -m 0755 "$repo"/build/bin/{hog,maxrss,memkill_poller,faults} "$bin/"
install -d -m 0755 -o "$user" "$work/out"
out=$work/out
as_user() { "${asu[@]}" "$@"; }

# Each line of the hog's output with the wall clock it arrived at (bash's
# own clock: no process per line, so the stamp is tens of microseconds late
# at most). The poller's crossing of the cap is bracketed by these.
stamp() { while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

cgroup_note=""
v1=/sys/fs/cgroup/memory
if [ ! -f "$v1/memory.limit_in_bytes" ]; then
	cgroup_note="no cgroup v1 memory controller at $v1 ($(stat -f -c %T /sys/fs/cgroup 2>/dev/null || echo missing) at /sys/fs/cgroup)"
elif ! mkdir "$v1/rlbpf-bench-$$" 2>"$work/cg.err"; then
	cgroup_note="cannot make a memory cgroup: $(cat "$work/cg.err")"
else
	cg=$v1/rlbpf-bench-$$
	echo "${cap_mib}M" >"$cg/memory.limit_in_bytes"
	# no swap either: the cap is on memory plus swap
	[ ! -f "$cg/memory.memsw.limit_in_bytes" ] || echo "${cap_mib}M" >"$cg/memory.memsw.limit_in_bytes"
fi

agent_start
as_user rlbpf run --rm --network none busybox true >/dev/null 2>&1 || die "a first container did not run as $user"
"${asu[@]}" rlbpf trace --json --events oom,exit >"$out/trace.json" 2>"$work/trace.err" &
trace_pid=$!
sleep 1 # until the agent has the subscription

# maxrss's "PEAK_KIB STATUS" of the run just done
result() {
	[ -s "$out/m" ] || die "a run left no figure: $(tail -n 3 "$work/run.err" 2>/dev/null)"
	cat "$out/m"
}
# Two workloads: rows of 500000 values (3.8 MiB), 20 ms apart, and back to
# back. The fast one has rows enough to outlast a 100 ms poll; both end on
# their own well short of the machine's memory if nothing stops them.
workloads=("-r 500000 -n 40 -p 20" "-r 500000 -n 100 -p 0")
: >"$out/over.tsv"
for w in 0 1; do
	read -ra hog <<<"${workloads[$w]}"
	for i in $(seq "$runs"); do
		# rlbpf: the container's processes are descendants of the
		# foreground `rlbpf run`, so maxrss sees them all.
		name=bm$$w${w}r$i
		rm -f "$out/m"
		as_user "$bin/maxrss" -o "$out/m" rlbpf run --rm --network none --name "$name" \
			--memory "${cap_mib}m" --memory-enforce ebpf busybox hog "${hog[@]}" 2>>"$work/run.err" | stamp >/dev/null || true
		cid=""
		for _ in $(seq 50); do
			cid=$(jq -r --arg n "$name" 'select(.event == "oom_kill" and .container == $n) | .container_id' "$out/trace.json" 2>/dev/null | head -n 1)
			[ -z "$cid" ] || break
			sleep 0.1
		done
		peak=-
		[ -z "$cid" ] || peak=$(as_user /usr/bin/python3 "$work/stats.py" "$cid" 2>/dev/null) || peak=-
		echo "$w rlbpf $i $(result) $peak $name" >>"$out/over.tsv"

		if [ -n "$cg" ]; then
			echo 0 >"$cg/memory.max_usage_in_bytes"
			rm -f "$out/m"
			"$bin/maxrss" -o "$out/m" "$work/incg" "$cg" setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
				"$bin/hog" "${hog[@]}" 2>>"$work/run.err" | stamp >/dev/null || true
			echo "$w cgroup $i $(result) $(cat "$cg/memory.max_usage_in_bytes") -" >>"$out/over.tsv"
		fi

		# The poller's ticks and the hog's rows would both start at 0, and
		# every run would meet the cap at the same point of the poll
		# period. Run i starts the hog (i-1)/runs of a period late instead:
		# the runs sample the period evenly, as an unrelated poller would.
		phase=$(awk -v i="$i" -v n="$runs" 'BEGIN { printf "%.3f", (i - 1) * 0.1 / n }')
		rm -f "$out/m"
		as_user "$bin/maxrss" -o "$out/m" "$bin/memkill_poller" -l "$out/poller.$w.$i" "${cap_mib}m" \
			sh -c 'sleep "$0" && exec "$@"' "$phase" "$bin/hog" "${hog[@]}" 2>>"$work/run.err" |
			stamp >"$out/lines.$w.$i" || true
		echo "$w poller $i $(result) - -" >>"$out/over.tsv"
	done
done
sleep 0.5 # the last exit events: the agent drains every 100 ms
kill -INT "$trace_pid"
wait "$trace_pid" 2>/dev/null || true
trace_pid=""

# The accounting's cost per page fault: faults maps 16 MiB, touches every
# page and unmaps, 200 times (819200 faults), and times its loop itself. In
# a container without the agent (programs unloaded), with it, and with it
# and a cap that the loop stays under; and the same binary on the host,
# outside any container, which pays for the tracepoint too. Without and with
# alternate, run after run, so that whatever else the machine does weighs on
# both sides alike.
faults=(/b/faults -m 16 -n 200)
ctr=(rlbpf run --rm --network none -v "$bin:/b:ro")
# ns per fault of one run: faults on the host, or in a container with OPTIONS
host_faults() { as_user "$bin/faults" -m 16 -n 200 2>>"$work/run.err" | awk '{ print $(NF-3) }'; }
ctr_faults() { as_user "${ctr[@]}" "$@" busybox "${faults[@]}" 2>>"$work/run.err" | awk '{ print $(NF-3) }'; }
: >"$out/cost.tsv"
agent_stop
for i in $(seq "$runs"); do
	{
		echo "host0 $i $(host_faults)"
		echo "ctr0 $i $(ctr_faults)"
		agent_start
		echo "host1 $i $(host_faults)"
		echo "ctr1 $i $(ctr_faults)"
		echo "cap1 $i $(ctr_faults --memory 64m --memory-enforce ebpf)"
		echo "cg1 $i $(ctr_faults --memory 64m)"
		agent_stop
	} >>"$out/cost.tsv"
done
# Where the cost goes: the rss_stat program's own run time, from the
# kernel's BPF statistics, switched on for one more run of each (they cost a
# little themselves, so not during the runs above).
prog_ns() { # "RUN_TIME_NS RUN_CNT" of the rss_stat program
	bpftool prog show name rl_rss_stat --json 2>/dev/null |
		jq -rs 'flatten | "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}
was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || true)
if [ -n "$was" ] && command -v bpftool >/dev/null; then
	agent_start
	stats_was=$was # for cleanup, from here on
	sysctl -qw kernel.bpf_stats_enabled=1
	for what in host ctr cap; do
		read -r t0 n0 < <(prog_ns)
		case $what in
		host) host_faults >/dev/null ;;
		ctr) ctr_faults >/dev/null ;;
		cap) ctr_faults --memory 64m --memory-enforce ebpf >/dev/null ;;
		esac
		read -r t1 n1 < <(prog_ns)
		echo "$what $((t1 - t0)) $((n1 - n0))" >>"$out/prog.tsv"
	done
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	stats_was=""
	agent_stop
fi

python3 - "$out" "$cap" "$runs" "${workloads[@]}" "$cgroup_note" <<'PY'
import calendar, json, os, statistics, sys, time

out, cap, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
workloads, cgroup_note = sys.argv[4:6], sys.argv[6]
cap_kib = cap // 1024
med = statistics.median

def rfc3339_ns(s):  # 2026-01-02T03:04:05.123456789Z
    whole, frac = s.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int(frac.ljust(9, "0"))

over = {}  # (workload, enforcer) -> [(maxrss_kib, status, extra, name)]
for line in open(os.path.join(out, "over.tsv")):
    w, who, _, kib, status, extra, name = line.split()
    over.setdefault((int(w), who), []).append((int(kib), int(status), extra, name))

events = []
for line in open(os.path.join(out, "trace.json")):
    try:
        events.append(json.loads(line))
    except ValueError:
        pass

def rlbpf_delay_ms(name):
    oom = next((e for e in events if e["event"] == "oom_kill" and e["container"] == name), None)
    if oom is None:
        return None
    ext = next((e for e in events if e["event"] == "exit" and e["pid"] == oom["victim_pid"]
                and e["container"] == name), None)
    if ext is None:
        return None
    return (rfc3339_ns(ext["time"]) - rfc3339_ns(oom["time"])) / 1e6

def poller_delays_ms(w, i, pause_ms):
    """(crossing to gone, its uncertainty, SIGKILL to gone) or None if it was not killed.
    The crossing lies between the start of the row that passed the cap (the
    last row line under it, plus the pause) and the line of that row, or the
    death if it came first; its middle is taken."""
    log = [l.split() for l in open(os.path.join(out, "poller.%d.%d" % (w, i)))]
    kill = next((int(l[1]) for l in log if l[0] == "kill"), None)
    gone = next((int(l[1]) for l in log if l[0] == "exit"), None)
    if kill is None or gone is None:
        return None
    lo, hi = None, gone
    for l in open(os.path.join(out, "lines.%d.%d" % (w, i))):
        f = l.split()
        if len(f) < 7 or f[1] != "row":
            continue
        t = int(float(f[0]) * 1e9)
        if float(f[5]) * 2**20 > cap:
            hi = min(hi, t)
            break
        lo = t + pause_ms * 10**6
    if lo is None or lo > hi:
        return None
    cross = (lo + hi) / 2
    return (gone - cross) / 1e6, (hi - lo) / 2e6, (gone - kill) / 1e6

goal_kib = max(1024, cap_kib * 2 // 100)
names = {"rlbpf": "rlbpf --memory (eBPF)", "cgroup": "cgroup v1 memory.limit",
         "poller": "poller, /proc every 100 ms"}
print("memory cap of %d MiB: overshoot = peak RSS (getrusage) - cap, median of %d runs" % (cap // 2**20, runs))
for w, spec in enumerate(workloads):
    rows, pause = spec.split()[3], int(spec.split()[5])
    print("  hog %s (%s rows of 3.8 MiB, %s)" % (spec, rows, "%d ms apart" % pause if pause else "back to back"))
    for who in ("rlbpf", "cgroup", "poller"):
        rs = over.get((w, who))
        if not rs:
            print("    %-27s not measured: %s" % (names[who], cgroup_note))
            continue
        o = med([k - cap_kib for k, _, _, _ in rs])
        killed = sum(1 for _, s, _, _ in rs if s == 137)
        note = ""
        if who == "rlbpf":
            peaks = [int(x) // 1024 for _, _, x, _ in rs if x != "-"]
            if peaks:
                note = "; rlbpfd's own peak %+d KiB" % (med(peaks) - cap_kib)
        elif who == "cgroup":
            note = "; the cgroup's max_usage %+d KiB" % (med([int(x) // 1024 for _, _, x, _ in rs]) - cap_kib)
        print("    %-27s %+8d KiB %+7.1f%%   killed %d/%d%s" %
              (names[who], o, 100.0 * o / cap_kib, killed, len(rs), note))
    print("    goal: at most %d KiB (1 MiB or 2%% of the cap, whichever is larger), far below the poller's" % goal_kib)

print("time from crossing the cap to the victim's exit, median of %d runs" % runs)
for w, spec in enumerate(workloads):
    pause = int(spec.split()[5])
    d = [x for x in (rlbpf_delay_ms(n) for _, _, _, n in over.get((w, "rlbpf"), [])) if x is not None]
    p = [x for x in (poller_delays_ms(w, i + 1, pause) for i in range(len(over.get((w, "poller"), []))))
         if x is not None]
    print("  hog %s" % spec)
    if d:
        print("    rlbpf: oom_kill -> exit in rlbpf trace  %8.3f ms  (max %.3f; %d/%d runs; goal: under 1 ms)" %
              (med(d), max(d), len(d), runs))
    else:
        print("    rlbpf: no oom_kill/exit pair in the trace")
    if p:
        print("    poller: crossing -> gone              %8.3f ms  (crossing known to +-%.1f ms; SIGKILL -> gone %.3f ms; %d/%d runs)" %
              (med(x[0] for x in p), max(x[1] for x in p), med(x[2] for x in p), len(p), runs))
    else:
        print("    poller: no run to time: in none did a poll find the hog past the cap before it ended")
print("  (rlbpf's exit is the victim's sched_process_exit; the poller's \"gone\" is when its pidfd\n"
      "   turned readable, a little later, past the freeing of the memory. A poller's delay is\n"
      "   bounded by its interval plus the kill; the cgroup's kill is synchronous, in the charge\n"
      "   that would pass the limit, so there is no delay to measure.)")

cost = {}
for line in open(os.path.join(out, "cost.tsv")):
    f = line.split()
    if len(f) == 3:
        cost.setdefault(f[0], []).append(float(f[2]))
def row(label, base, with_):
    if base not in cost or with_ not in cost:
        print("  %-40s not measured" % label)
        return
    a, b = med(cost[base]), med(cost[with_])
    print("  %-40s %7.1f -> %7.1f ns/fault  %+5.1f%%" % (label, a, b, 100 * (b - a) / a))
print("cost per page fault (faults -m 16 -n 200: 819200 faults), median of %d alternating runs, without -> with the agent" % runs)
row("host process, outside any container", "host0", "host1")
row("container, no cap (goal: under 5%)", "ctr0", "ctr1")
row("container, --memory 64m, eBPF cap", "ctr0", "cap1")
row("container, --memory 64m, agent's cgroup", "ctr0", "cg1")
prog = {}
if os.path.exists(os.path.join(out, "prog.tsv")):
    for line in open(os.path.join(out, "prog.tsv")):
        what, ns, cnt = line.split()
        prog[what] = (int(ns), int(cnt))
if prog:
    print("  rlbpfd's rss_stat program itself (kernel.bpf_stats_enabled, one more run of each):")
    for what, label in (("host", "host process"), ("ctr", "container, no cap"), ("cap", "container, --memory 64m")):
        ns, cnt = prog.get(what, (0, 0))
        if cnt:
            print("    %-24s %8d runs, %6.1f ns each" % (label, cnt, ns / cnt))
else:
    print("  (rlbpfd's rss_stat program's own time: not measured: no kernel.bpf_stats_enabled or bpftool)")
PY
