#!/bin/bash
# The integration suite: runs containers with the installed rlbpf as real
# unprivileged users and checks what those users see.
#
# Usage (as root): tests/integration/run.sh [FILTER...]
#   FILTER  run only the cases whose "file:function" contains one of these
#           substrings, e.g. `run.sh t_exit: signal`.
# Environment:
#   RLBPF_TEST_PREFIX  test this already installed prefix (it must be
#                      readable by the test users) instead of installing the
#                      build; e.g. for a packaged rlbpf.
#   T_CMD_TIMEOUT      seconds before a hung command is killed (default 120).
#   T_CASE_TIMEOUT     seconds before a hung case is killed (default 600).
#   T_EMULATED=1       the machine is emulated (a vmtest guest under TCG,
#                      where a command costs ten to a hundred times more):
#                      a case whose kernel-bound wait would outlast its
#                      bound there skips, saying so
#   T_OVERLAY=fuse     every container of the test users gets a fuse-overlayfs
#                      root (RLBPF_OVERLAY=fuse), as on kernels before 5.11.
#
# Each case runs in its own bash process with lib.sh; it is reported as ok,
# FAIL or skip, and the last line is "N passed, N failed, N skipped". The exit
# status is non-zero when any case failed or the suite could not start.
# The test users (tools/testusers.sh) are created if missing and kept
# afterwards; `tools/testusers.sh remove` deletes them.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${T_CASE_TIMEOUT:=600}"

die() {
	echo "tests/integration/run.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root: it creates the test users rlbpf-t1 and rlbpf-t2 and runs rlbpf as them (try 'sudo make test')"
for tool in runuser setpriv timeout pkill; do
	command -v "$tool" >/dev/null || die "needs '$tool' (run 'tools/deps.sh test')"
done

# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/rlbpf-it.XXXXXX) || die "cannot create a temporary directory"
# The test users must reach the install and their own directories in here.
chmod 755 "$tmp"

# /dev/net/tun: slirp4netns (the default network) needs it read-write as the
# test users; /dev/fuse too, for fuse-overlayfs (t_mounts.sh, and every
# container where the kernel's overlayfs refuses a user namespace). Debian
# makes both 0666; some hosts have 0600. For the run they are made 0666,
# and their own modes are put back on exit, whatever happens.
tun_mode="" fuse_mode=""

# ---- the agent (rlbpfd) for the whole suite: started from the prefix under
# test, stopped and --unload'ed at the end; bpffs/tracefs/cgroup2 that it
# mounted are unmounted again. t_trace.sh restarts it through these files.
agent_pidfile=$tmp/agent.pid
agent_log=$tmp/agent.log
agent_mounted=()
agent_started=""
agent_failed=""
agent_stop() {
	[ -n "$agent_started" ] || return 0
	local pid m
	pid=$(cat "$agent_pidfile" 2>/dev/null)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		# our child: wait reaps it; one a case restarted: poll
		wait "$pid" 2>/dev/null ||
			wait_until 100 eval '! kill -0 "$pid" 2>/dev/null' || kill -KILL "$pid" 2>/dev/null
	fi
	"$prefix/bin/rlbpfd" --unload >>"$agent_log" 2>&1 || echo "run.sh: rlbpfd --unload failed (see $agent_log)" >&2
	for m in "${agent_mounted[@]}"; do
		mountpoint -q "$m" && umount "$m"
	done
	agent_started=""
}

# ---- on a cgroup v2 only host, a cgroup tree delegated to rlbpf-t1 as
# systemd's user@.service delegates one to each user (Delegate=yes): its own
# cgroup with the memory and pids controllers for its children, and a leaf
# its processes start in. rlbpf-t2 gets none (rlbpfd's cap is its path).
delegated=""
delegate_t1() {
	[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || return 0
	grep -qw memory /sys/fs/cgroup/cgroup.controllers || return 0
	grep -qw pids /sys/fs/cgroup/cgroup.controllers || return 0
	local d=/sys/fs/cgroup/rlbpf-test-$T1.slice f
	echo "+memory +pids" >/sys/fs/cgroup/cgroup.subtree_control || return 0
	mkdir -p "$d/session.scope" || return 0
	delegated=$d
	echo "+memory +pids" >"$d/cgroup.subtree_control"
	for f in "$d" "$d/session.scope"; do
		chown "$T1" "$f" "$f/cgroup.procs" "$f/cgroup.subtree_control" "$f/cgroup.threads"
	done
}
undelegate_t1() {
	[ -n "$delegated" ] || return 0
	local c
	# children first; whatever a case left there is killed by then
	for c in $(find "$delegated" -mindepth 1 -type d | sort -r); do
		rmdir "$c" 2>/dev/null || echo "run.sh: cannot remove $c" >&2
	done
	rmdir "$delegated" 2>/dev/null || echo "run.sh: cannot remove $delegated" >&2
}

case_pid=""
cleanup() {
	local u
	# an interrupted case, with everything it started
	[ -z "$case_pid" ] || kill -TERM -- "-$case_pid" 2>/dev/null
	for u in "$T1" "$T2"; do
		id "$u" >/dev/null 2>&1 && T_TMP=$tmp kill_user_procs "$u"
	done
	undelegate_t1
	[ -z "$tun_mode" ] || chmod "$tun_mode" /dev/net/tun
	[ -z "$fuse_mode" ] || chmod "$fuse_mode" /dev/fuse
	agent_stop
	# --one-file-system: should anything still be mounted in there (a
	# volume of a container gone wrong), never descend into it.
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
if [ -c /dev/net/tun ]; then
	tun_mode=$(stat -c %a /dev/net/tun)
	chmod 0666 /dev/net/tun || tun_mode=""
fi
if [ -c /dev/fuse ]; then
	fuse_mode=$(stat -c %a /dev/fuse)
	chmod 0666 /dev/fuse || fuse_mode=""
fi

# ---- the build, installed where the test users can run it
if [ -n "${RLBPF_TEST_PREFIX:-}" ]; then
	prefix=$RLBPF_TEST_PREFIX
else
	prefix=$tmp/prefix
	if ! make -C "$repo" --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
		tail -n 30 "$tmp/install.log" >&2
		die "'make install PREFIX=$prefix' failed (output above)"
	fi
fi
[ -x "$prefix/bin/rlbpf" ] || die "no rlbpf in $prefix/bin"

T_AGENT_OFF=""
if [ ! -x "$prefix/bin/rlbpfd" ]; then
	T_AGENT_OFF="no rlbpfd in $prefix/bin"
elif [ -S /run/rlbpf/rlbpfd.sock ] && "$prefix/bin/rlbpf" info 2>/dev/null | grep -q '^Agent: reachable'; then
	T_AGENT_OFF="another rlbpfd already serves /run/rlbpf/rlbpfd.sock; stop it to test this build's agent"
else
	for m in /sys/fs/bpf /sys/kernel/tracing /run/rlbpf/cgroup2; do
		mountpoint -q "$m" 2>/dev/null || agent_mounted+=("$m")
	done
	setsid "$prefix/bin/rlbpfd" --foreground >>"$agent_log" 2>&1 </dev/null &
	echo $! >"$agent_pidfile"
	agent_started=1
	# An agent that exited (it could not load its programs, on an older
	# kernel say) will not serve: no need to wait out the 10 s, which a
	# TCG guest stretches to a minute.
	agent_serving_or_gone() {
		grep -q '^rlbpfd: serving' "$agent_log" || ! kill -0 "$(cat "$agent_pidfile")" 2>/dev/null
	}
	if ! wait_until 100 agent_serving_or_gone || ! grep -q '^rlbpfd: serving' "$agent_log"; then
		T_AGENT_OFF="rlbpfd did not start: $(tail -n 3 "$agent_log" | tr '\n' ' ')"
		agent_failed=1
		agent_stop
	fi
fi
[ -z "$T_AGENT_OFF" ] || echo "run.sh: agent cases will be skipped: $T_AGENT_OFF" >&2
export T_AGENT_OFF T_AGENT_PIDFILE=$agent_pidfile T_AGENT_LOG=$agent_log

# ---- the users, and a private runtime and data directory for each
"$repo/tools/testusers.sh" create || die "cannot create the test users (tools/testusers.sh create)"
delegate_t1
export T_CGROUP2_SESSION=${delegated:+$delegated/session.scope}
mkdir -p "$tmp/home" "$tmp/scratch" "$tmp/cases"
for u in "$T1" "$T2"; do
	# Leftovers of an earlier, interrupted run would confuse the checks.
	T_TMP=$tmp kill_user_procs "$u"
	install -d -m 0755 "$tmp/home/$u"
	install -d -m 0700 -o "$u" -g "$(id -g "$u")" "$tmp/home/$u/run" "$tmp/home/$u/data"
done

export T_TMP=$tmp T_PREFIX=$prefix RLBPF=$prefix/bin/rlbpf T_CMD_TIMEOUT T_REPO=$repo
runuser -u "$T1" -- test -x "$RLBPF" ||
	die "$T1 cannot run $RLBPF; the prefix must be readable by everyone"

# ---- the cases
passed=0 failed=0 skipped=0 n=0
case_started=$EPOCHREALTIME

selected() {
	[ ${#filters[@]} -eq 0 ] && return 0
	local f
	for f in "${filters[@]}"; do
		case "$1" in *"$f"*) return 0 ;; esac
	done
	return 1
}

report() {
	local status=$1 name=$2 dir=$3 detail=${4:-}
	case $status in
	ok) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	skip) skipped=$((skipped + 1)) ;;
	esac
	# the case's seconds, to see where a slow machine (a TCG guest) spends them
	local tenths=$(((${EPOCHREALTIME/./} - ${case_started/./}) / 100000)) secs
	secs="$((tenths / 10)).$((tenths % 10))s"
	printf '%-4s %s (%s%s)\n' "$status" "$name" "${detail:+$detail, }" "$secs"
	# A failure shows everything the case printed; its FAIL lines are in it.
	if [ "$status" = FAIL ] && [ -s "$dir/log" ]; then
		sed 's/^/  | /' "$dir/log"
	fi
}

run_case() {
	local file=$1 fn=$2 name dir rc=0 detail=""
	case_started=$EPOCHREALTIME
	name="$(basename "$file"):$fn"
	n=$((n + 1))
	dir=$tmp/cases/$n
	mkdir -p "$dir"
	# Its own process: a case cannot disturb the next one, and a hang is
	# cut off. stdin is /dev/null so no case reads the terminal. A case
	# that returns exits 0 whatever its last command said: its verdict is
	# in the files its assertions write; any other status means it died.
	# shellcheck disable=SC2016 # expanded by the inner bash
	# `timeout` leads a process group of its own, which a terminal's ^C does
	# not reach: cleanup stops it through case_pid.
	T_CASE_DIR=$dir timeout -k 10 "$T_CASE_TIMEOUT" \
		bash -c 'set -u; . "$1"; . "$2"; "$3"; exit 0' case "$here/lib.sh" "$file" "$fn" \
		</dev/null >"$dir/log" 2>&1 &
	case_pid=$!
	wait "$case_pid" || rc=$?
	case_pid=""

	# Whatever the case left running is killed now, and is a failure:
	# rlbpf promises that nothing outlives the container.
	local u left
	for u in "$T1" "$T2"; do
		if ! wait_until 100 _no_user_pids "$u"; then
			# shellcheck disable=SC2046
			left=$(describe_pids $(user_pids "$u"))
			echo "    FAIL (harness): processes of $u still running after the case: $left" >>"$dir/log"
			echo x >>"$dir/failures"
			kill_user_procs "$u"
		fi
	done

	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "    FAIL (harness): the case hung and was killed after ${T_CASE_TIMEOUT}s (status $rc)" >>"$dir/log"
		report FAIL "$name" "$dir" "hung"
	elif [ -s "$dir/failures" ]; then
		report FAIL "$name" "$dir" "$(wc -l <"$dir/failures") failed"
	elif [ "$rc" != 0 ]; then
		echo "    FAIL (harness): the case exited with status $rc" >>"$dir/log"
		report FAIL "$name" "$dir" "exit $rc"
	elif [ -f "$dir/skipped" ]; then
		report skip "$name" "$dir" "$(<"$dir/skipped")"
	elif [ ! -s "$dir/asserts" ]; then
		# A case that checked nothing proves nothing.
		echo "    FAIL (harness): the case made no assertion" >>"$dir/log"
		report FAIL "$name" "$dir" "no assertion"
	else
		local checks
		mapfile -t checks <"$dir/asserts"
		detail="${#checks[@]} checks"
		report ok "$name" "$dir" "$detail"
	fi
}

filters=("$@")
shopt -s nullglob
files=("$here"/t_*.sh)
[ ${#files[@]} -gt 0 ] || die "no cases (tests/integration/t_*.sh)"
echo "rlbpf integration tests: $RLBPF as $T1 (with subordinate ranges) and $T2 (without)"
# Which path keeps a --memory cap for each user here (vmtest's matrix
# shows it; t_memory.sh checks that inspect says the same).
if [ -n "$T_AGENT_OFF" ]; then
	ebpf_cap="none (no agent)"
elif grep -q 'rl_rss_stat left out' "$agent_log"; then
	# what rlbpfd --probe reports absent (task_storage, task_btf)
	ebpf_cap="none (rlbpfd left rl_rss_stat out)"
	export T_MEM_CAP_OFF="no eBPF memory cap on this kernel: $(grep -o 'rl_rss_stat left out[^;]*' "$agent_log" | head -n1)"
elif grep -q 'rl_rss_stat not attached' "$agent_log"; then
	ebpf_cap="none (rlbpfd could not attach rl_rss_stat)"
	export T_MEM_CAP_OFF="rlbpfd could not attach its memory program on this kernel: $(grep -o 'rl_rss_stat not attached[^;]*' "$agent_log" | head -n1)"
else
	ebpf_cap=ebpf
fi
# rlbpfd makes cgroups for the memory cap where the memory controller is
# mounted (cgroup v1, or cgroup2 without delegation); its eBPF cap only
# where none is.
if [ -z "$T_AGENT_OFF" ] && grep -q 'cgroups for limits: memory v[12]' "$agent_log"; then
	ebpf_cap=agent-cgroup
	# v1 or v2: which hierarchy holds the memory controller
	T_AGENT_MEM_CGROUP=$(grep -o 'cgroups for limits: memory v[12]' "$agent_log" | tail -n 1 | grep -o 'v[12]$')
	export T_AGENT_MEM_CGROUP
fi
# the port policy's bind hooks, where rlbpfd --probe reports bind_no_cap absent
if [ -z "$T_AGENT_OFF" ] && grep -q 'rl_bind4 left out' "$agent_log"; then
	export T_PORT_POLICY_OFF="no port policy on this kernel: $(grep -o 'rl_bind4 left out[^;]*' "$agent_log" | head -n1)"
fi
t1_cap=$ebpf_cap
[ -z "$delegated" ] || t1_cap="cgroup2 (delegated $delegated)"
echo "memory caps: $T1 by $t1_cap, $T2 by $ebpf_cap"
# An agent this build ships that will not start on this kernel is a failure
# of its own, not just a reason to skip the cases that need it.
if [ -n "$agent_failed" ]; then
	n=$((n + 1))
	mkdir -p "$tmp/cases/$n"
	{
		echo "    FAIL (harness): rlbpfd did not start; its log:"
		grep -v '^;' "$agent_log" | tail -n 40
	} >"$tmp/cases/$n/log"
	report FAIL "run.sh:rlbpfd_starts" "$tmp/cases/$n" "the agent's cases are skipped"
fi
for file in "${files[@]}"; do
	# Cases in the order the file defines them.
	fns=$(sed -n 's/^\(test_[A-Za-z0-9_]*\)[[:space:]]*().*/\1/p' "$file")
	if [ -z "$fns" ]; then
		n=$((n + 1))
		mkdir -p "$tmp/cases/$n"
		echo "    FAIL (harness): defines no test_* function" >"$tmp/cases/$n/log"
		report FAIL "$(basename "$file")" "$tmp/cases/$n" "no cases"
		continue
	fi
	for fn in $fns; do
		selected "$(basename "$file"):$fn" && run_case "$file" "$fn"
	done
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
