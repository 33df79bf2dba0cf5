# shellcheck shell=bash
# Exit codes as Docker's, and signals to rlbpf forwarded to the container.

test_exit_codes() {
	assert_exit 0 as_user "$T1" "$RLBPF" run --rm busybox true
	assert_exit 1 as_user "$T1" "$RLBPF" run --rm busybox false
	assert_exit 3 as_user "$T1" "$RLBPF" run --rm busybox sh -c 'exit 3'
	assert_exit 125 as_user "$T1" "$RLBPF" run --rm --no-such-option busybox true
	assert_exit 126 as_user "$T1" "$RLBPF" run --rm busybox /etc/passwd
	assert_contains "$ERR" "/etc/passwd" "stderr when the command is not executable"
	assert_exit 127 as_user "$T1" "$RLBPF" run --rm busybox nosuchcmd
	assert_contains "$ERR" "nosuchcmd" "stderr when the command is not found"
	# With --init the shell is not pid 1: pid 1 of a pid namespace ignores
	# signals it has no handler for, even SIGKILL from inside (kernel rule),
	# so `kill -9 $$` as pid 1 would do nothing, under Docker as well.
	# shellcheck disable=SC2016
	assert_exit 137 as_user "$T1" "$RLBPF" run --rm --init busybox sh -c 'kill -9 $$'
}

# The rlbpf process the case started: the one whose parent is as_user's
# timeout (rlbpf may have children of the same name).
_rlbpf_pid() {
	local p
	for p in $(pgrep -u "$T1" -x rlbpf); do
		if [ "$(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')")" = timeout ]; then
			echo "$p"
			return
		fi
	done
}
_sleep_running() { pgrep -u "$T1" -x sleep >/dev/null; }
# Stop waiting for the sleep as soon as rlbpf has given up.
_started_or_gone() { _sleep_running || ! kill -0 "$1" 2>/dev/null; }

# _forward SIGNAL WANT ARGS...: starts `rlbpf run --rm ARGS...` in the
# background, waits for its sleep, sends SIGNAL to rlbpf and expects WANT.
_forward() {
	local sig=$1 want=$2 before job pid rc=0
	shift 2
	before=$(snapshot "$T1")
	as_user "$T1" "$RLBPF" run --rm "$@" >"$T_CASE_DIR/bg.log" 2>&1 &
	job=$!
	wait_until 600 _started_or_gone "$job"
	if ! _sleep_running; then
		fail "SIG$sig: the container's sleep never started; rlbpf said: $(_show "$(cat "$T_CASE_DIR/bg.log")")"
		kill_user_procs "$T1"
		wait "$job"
		return
	fi
	pid=$(_rlbpf_pid)
	if [ -z "$pid" ]; then
		fail "SIG$sig: cannot find the rlbpf process of $T1"
		kill_user_procs "$T1"
		wait "$job"
		return
	fi
	kill -s "$sig" "$pid"
	wait "$job" || rc=$?
	assert_eq "$want" "$rc" "exit status of 'rlbpf run --rm $*' after SIG$sig to rlbpf"
	assert_eq "" "$(pgrep -u "$T1" -x sleep)" "sleep processes of $T1 after SIG$sig"
	assert_nothing_left "$T1" "$before" "after SIG$sig"
}

test_signals_are_forwarded_to_init() {
	_forward TERM 143 --init busybox sleep 100
	_forward INT 130 --init busybox sleep 100
	_forward HUP 129 --init busybox sleep 100
}

test_signal_reaches_a_pid1_that_handles_it() {
	# shellcheck disable=SC2016
	_forward TERM 7 busybox sh -c 'trap "exit 7" TERM; sleep 100 & wait'
}

# --init is PID 1 and reaps what is orphaned to it: the subshell's sleep is
# re-parented to PID 1 and would stay a zombie if PID 1 did not wait for it.
test_init_reaps_zombies() {
	# shellcheck disable=SC2016
	local script='(sleep 0.2 &); sleep 1; ps -o stat,args | grep -c "^Z" || true'
	assert_exit 0 as_user "$T1" "$RLBPF" run --rm --init busybox sh -c "$script"
	assert_eq "0" "$OUT" "zombies left under --init"
}
