# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# rlbpfd and rlbpf trace: each event type from a real action in a real
# container, read back through `rlbpf trace --json`; who may see what; an
# agent restart while a container runs; hostile protocol input. run.sh starts
# the agent for the suite (T_AGENT_PIDFILE, T_AGENT_LOG).

test_trace_exec_maps_container_root_to_the_caller() {
	_need_agent
	local uid
	uid=$(id -u "$T1")
	trace_start "$T1" --events exec,exit
	rlbpf_run "$T1" --rm --name tr-exec busybox sh -c 'sleep 0.5; /bin/true; exit 0'
	assert_eq 0 "$RC" "exit status of the container (stderr $(_show "$ERR"))"
	assert_not_contains "$ERR" "tracing is off" "stderr of a run with the agent up"
	wait_event '.event == "exec" and .container == "tr-exec" and .uid == 0 and .host_uid == '"$uid" "exec as container root"
	local e
	e=$(events '.event == "exec" and .container == "tr-exec"' | head -n 1)
	assert_eq root "$(jq -r .user <<<"$e")" "USER of an exec by container root"
	assert_eq "$T1" "$(jq -r .host_user <<<"$e")" "HUSER of an exec by container root"
	assert_match "$(jq -r .cpid <<<"$e")" '^[0-9]+$' "CPID of the exec"
	assert_eq 64 "$(jq -r .container_id <<<"$e" | tr -d '\n' | wc -c)" "length of container_id"
	assert_eq "" "$(events '.event != "exec" and .event != "exit" and .event != "lost"')" "events outside --events exec,exit"
	trace_stop "$T1"
	assert_no_processes "$T1" "after the trace"
}

test_trace_setuid_inside_with_both_uids() {
	_need_agent
	local uid start
	uid=$(id -u "$T1")
	start=$(subid_start /etc/subuid "$T1")
	[ -n "$start" ] || skip "$T1 has no subordinate uid range"
	trace_start "$T1" --events setuid,idmap
	rlbpf_run "$T1" --rm --name tr-su busybox sh -c 'sleep 0.5; su -s /bin/sh nobody -c true'
	assert_eq 0 "$RC" "exit status of su inside (stderr $(_show "$ERR"))"
	# nobody is 65534 inside: host uid = start of the range + 65533
	local host=$((start + 65533))
	wait_event '.event == "setuid" and .call == "setuid" and .container == "tr-su" and .old_ids[1] == 0 and .old_host_ids[1] == '"$uid"' and .new_ids[1] == 65534 and .new_host_ids[1] == '"$host" "setuid 0 -> 65534 (host $uid -> $host)"
	local e
	e=$(events '.event == "setuid" and .call == "setuid"' | head -n 1)
	assert_eq false "$(jq -r .alert <<<"$e")" "alert of a setuid to an unprivileged host uid"
	wait_event '.event == "setuid" and .kind == "gid" and .new_ids[1] == 65534' "setgid to nogroup"
	wait_event '.event == "idmap" and .container == "tr-su" and .map == "uid" and .extents[0].ns_first == 0 and .extents[0].host_first == '"$uid"' and .extents[1].host_first == '"$start" "the container's uid_map as an idmap event"
	trace_stop "$T1"
}

# While a syscall tracepoint is attached, every system call on the host
# takes the kernel's slow path: rlbpfd attaches the uid-change and bind
# programs only while a trace wants their events, and the fork exits only
# while BPF keeps a --pids-limit. What is attached is what is pinned.
# The attached programs: pinned links, and before Linux 5.15 (no pinnable
# link for a perf event) the programs on the perf events rlbpfd holds, named
# as the kernel keeps them (15 characters).
_links() {
	local ids
	ls /sys/fs/bpf/rlbpf/links 2>/dev/null
	ids=$(bpftool perf show -j 2>/dev/null | jq -c --argjson pids "[$(pgrep -x -d, rlbpfd)]" '[.[] | select(.pid as $p | $pids | index($p)) | .prog_id]')
	[ "${ids:-[]}" != "[]" ] || return 0
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "$ids" '.[] | select(.id as $i | $ids | index($i)) | .name'
}
_linked() {
	local name
	for name in $(_links); do [ "${name:0:15}" = "${1:0:15}" ] && return 0; done
	return 1
}
_unlinked() { ! _linked "$1"; }

test_trace_syscall_programs_attach_only_while_wanted() {
	_need_agent
	[ -d /sys/fs/bpf/rlbpf/progs ] || skip "no pinned programs to look at"
	wait_until 50 _unlinked rl_enter_setuid || fail "a uid-change program with no trace: $(_links | xargs)"
	trace_start "$T1" --events exec
	assert_true "a trace of exec only attaches no uid-change program ($(_links | xargs))" _unlinked rl_enter_setuid
	trace_stop "$T1"
	trace_start "$T1" --events setuid
	assert_true "a trace of setuid attaches rl_enter_setuid ($(_links | xargs))" _linked rl_enter_setuid
	assert_true "and rl_exit_setresuid ($(_links | xargs))" _linked rl_exit_setresuid
	assert_true "but not the bind programs ($(_links | xargs))" _unlinked rl_enter_bind
	trace_stop "$T1"
	wait_until 50 _unlinked rl_enter_setuid || fail "the uid-change programs outlived the trace: $(_links | xargs)"
}

test_trace_fork_exits_attach_only_for_an_ebpf_pids_limit() {
	_need_agent # the fork programs only
	[ -d /sys/fs/bpf/rlbpf/progs ] || skip "no pinned programs to look at"
	assert_true "no fork exit program while BPF keeps no --pids-limit ($(_links | xargs))" _unlinked rl_exit_clone
	rlbpf_run "$T1" -d --name tr-pids --pids-limit 10 --memory-enforce ebpf busybox sleep 30
	assert_eq 0 "$RC" "run -d with an eBPF --pids-limit (stderr $(_show "$ERR"))"
	assert_true "the fork exits attach for it ($(_links | xargs))" _linked rl_exit_clone
	as_user "$T1" "$RLBPF" rm -f tr-pids >/dev/null
	wait_until 50 _unlinked rl_exit_clone || fail "the fork exits outlived the container: $(_links | xargs)"
}

test_trace_exit_codes_and_signals() {
	_need_agent
	trace_start "$T1" --events exit
	rlbpf_run "$T1" --rm --name tr-exit busybox sh -c 'sleep 0.5; (exit 5); sh -c "kill -9 \$\$"; exit 7'
	assert_eq 7 "$RC" "exit status of the container"
	wait_event '.event == "exit" and .container == "tr-exit" and .cpid == 1 and .exit_code == 7' "exit 7 of the container's init"
	wait_event '.event == "exit" and .container == "tr-exit" and .exit_code == 5' "exit 5 of a subshell"
	wait_event '.event == "exit" and .container == "tr-exit" and .signal == 9 and .exit_code == null' "a task killed by SIGKILL"
	assert_eq 1 "$(events '.event == "exit" and .container == "tr-exit" and .cpid == 1' | wc -l)" "exit events of the init"
	trace_stop "$T1"
}

test_trace_bind_denied_then_granted_by_policy() {
	_need_agent
	"$RLBPF" run --help 2>&1 | grep -q -- '--network' || skip "rlbpf run has no --network host yet"
	local uid
	uid=$(id -u "$T1")
	[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] ||
		skip "net.ipv4.ip_unprivileged_port_start is not above 80 here: port 80 needs no privilege"
	trace_start "$T1" --events bind
	rlbpf_run "$T1" --rm --network host busybox sh -c 'sleep 0.5; nc -l -p 80'
	assert_ne 0 "$RC" "exit status of nc -l -p 80 without a grant"
	assert_contains "$ERR" "denied" "nc's complaint"
	wait_event '.event == "bind_denied" and .port == 80 and .uid == 0 and .host_uid == '"$uid"' and .ret == -13 and .unprivileged_port_start > 80' "bind_denied for port 80"

	# the policy: one good line, one bad one (reported with its number)
	policy_load "$(printf '# test policy\n%s tcp 80\nnobody-such-user tcp 81' "$T1")" 1
	assert_match "$(cat "$T_AGENT_LOG")" 'ports.conf:3: no such user' "the bad line reported with its number"
	if [ -n "${T_PORT_POLICY_OFF:-}" ]; then
		# the denial is traced; the grant cannot be, and the agent says why
		assert_match "$(grep 'port policy: 1 grants' "$T_AGENT_LOG" | tail -n 1)" 'not in force: this kernel lacks bind hooks' \
			"the agent's log says the policy is not in force here"
		trace_stop "$T1"
		skip "$T_PORT_POLICY_OFF (the denial was traced)"
	fi

	rlbpf_run "$T1" --rm --network host busybox sh -c 'sleep 0.5; timeout 1 nc -l -p 80; echo done'
	assert_eq 0 "$RC" "exit status with the grant (stderr $(_show "$ERR"))"
	assert_not_contains "$ERR" "denied" "nc with the grant"
	wait_event '.event == "bind_granted" and .port == 80 and .host_uid == '"$uid"' and .rule_line == 2' "bind_granted for port 80 by line 2"
	trace_stop "$T1"
}

test_trace_authorisation_between_users() {
	_need_agent
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is needed for the raw protocol client"
	_raw_client
	rlbpf_run "$T1" -d --name tr-auth busybox sleep 60
	assert_eq 0 "$RC" "run -d as $T1 (stderr $(_show "$ERR"))"
	local id pid ino
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' tr-auth 2>/dev/null)
	pid=$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Pid}}' tr-auth 2>/dev/null)
	assert_match "$id" '^[0-9a-f]{64}$' "the container's id"
	assert_match "$pid" '^[0-9]+$' "the container's pid"
	ino=$(stat -L -c %i "/proc/$pid/ns/user")

	# T2 cannot use --all, subscribe to, read or register T1's container
	capture as_user "$T2" "$RLBPF" trace --all
	assert_eq 125 "$RC" "exit status of 'rlbpf trace --all' as $T2"
	assert_contains "$ERR" "root only" "why $T2 may not use --all"
	assert_match "$(raw "$T2" subscribe "$id")" '^-1 .*another user' "$T2 subscribing to $T1's container"
	assert_match "$(raw "$T2" stats "$id")" '^-1 .*another user' "$T2 reading $T1's container"
	assert_match "$(raw "$T2" register "$pid" "$ino" "$(printf 'f%.0s' {1..64})")" '^-1 .*not yours' "$T2 registering $T1's process"
	# T1 may read its own
	assert_match "$(raw "$T1" stats "$id")" '^0 ' "$T1 reading its own container"

	# T2's own trace sees nothing of T1's; root's --all does
	trace_start "$T2"
	local t2out=$T_CASE_DIR/t2.out
	as_user "$T1" "$RLBPF" exec tr-auth true >/dev/null 2>&1
	rlbpf_run "$T1" --rm --name tr-auth2 busybox sh -c 'sleep 0.5; true'
	sleep 1
	cp "$T_CASE_DIR/trace.out" "$t2out"
	trace_stop "$T2"
	assert_eq "" "$(cat "$t2out")" "what $T2's trace saw of $T1's containers"

	"$RLBPF" trace --all --json >"$T_CASE_DIR/trace.out" 2>"$T_CASE_DIR/trace.err" &
	local rootjob=$!
	sleep 1
	rlbpf_run "$T1" --rm --name tr-auth3 busybox sh -c 'sleep 0.5; true'
	wait_event '.container == "tr-auth3" and .event == "exit"' "root's --all sees $T1's container"
	kill -INT "$rootjob"
	wait "$rootjob"
	assert_eq 0 "$?" "exit status of root's trace --all after Ctrl-C"
	as_user "$T1" "$RLBPF" rm -f tr-auth >/dev/null 2>&1
	assert_no_processes "$T1" "after rm -f"
}

test_trace_agent_restart_keeps_tracking() {
	_need_agent
	trace_start "$T1" --events exec,exit
	rlbpf_run "$T1" -d --name tr-restart busybox sh -c 'i=0; while [ $i -lt 60 ]; do sleep 0.1; i=$((i+1)); done; exit 6'
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	wait_event '.event == "exec" and .container == "tr-restart"' "an exec before the restart"

	agent_stop
	local log_before
	log_before=$(wc -l <"$T_AGENT_LOG")
	agent_start
	assert_match "$(tail -n +"$((log_before + 1))" "$T_AGENT_LOG")" 'reusing the pinned' "the restarted agent reuses the pinned programs"
	if wait_until 100 grep -q reconnected "$T_CASE_DIR/trace.err"; then pass; else
		fail "the trace did not reconnect: $(_show "$(cat "$T_CASE_DIR/trace.err")")"
	fi
	local before
	before=$(wc -l <"$T_CASE_DIR/trace.out")
	wait_event '.event == "exit" and .container == "tr-restart" and .cpid == 1' "the init's exit after the restart"
	assert_eq 1 "$(events '.event == "exit" and .container == "tr-restart" and .cpid == 1' | wc -l)" "exit events of the init (no duplicate)"
	assert_eq 6 "$(events '.event == "exit" and .container == "tr-restart" and .cpid == 1' | jq -r .exit_code)" "the init's exit code"
	local after_execs
	after_execs=$(tail -n +"$((before + 1))" "$T_CASE_DIR/trace.out" | jq -c 'select(.event == "exec" and .container == "tr-restart")' | wc -l)
	assert_ne 0 "$after_execs" "execs traced after the restart"
	trace_stop "$T1"
	as_user "$T1" "$RLBPF" rm -f tr-restart >/dev/null 2>&1
}

test_trace_hostile_protocol_input() {
	userspace_only
	_need_agent
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is needed for the raw protocol client"
	_raw_client
	local pid
	pid=$(cat "$T_AGENT_PIDFILE")
	assert_eq ok "$(raw "$T2" hostile 2>&1)" "malformed frames refused, crowd survived"
	assert_true "the agent still runs" kill -0 "$pid"
	# a subscriber that never reads must not hold up the others
	raw "$T1" slowsub 30 >"$T_CASE_DIR/slow.out" 2>&1 &
	local slow=$!
	wait_until 100 test -s "$T_CASE_DIR/slow.out"
	assert_match "$(cat "$T_CASE_DIR/slow.out")" '^0 subscribed' "the slow subscriber's subscription"
	trace_start "$T1" --events exit
	rlbpf_run "$T1" --rm --name tr-after busybox sh -c 'i=0; while [ $i -lt 3000 ]; do /bin/true; i=$((i+1)); done; exit 3'
	assert_eq 3 "$RC" "a container after the hostile input"
	wait_event '.event == "exit" and .container == "tr-after" and .exit_code == 3 and .cpid == 1' "events after the hostile input, beside a subscriber that does not read"
	trace_stop "$T1"
	kill "$slow" 2>/dev/null
	wait "$slow" 2>/dev/null
	pkill -u "$T1" -f raw.py 2>/dev/null
	assert_match "$(cat "$T_AGENT_LOG")" 'malformed message' "the agent logs the malformed input"
}

# A user's connections to the agent are limited; a burst of starts that
# meets the limit waits for a free one, and one that cannot get one says
# why tracing is off.
test_trace_busy_agent_is_waited_for_then_named() {
	_need_agent
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is needed for the raw protocol client"
	_raw_client
	raw "$T1" hold 16 1 >"$T_CASE_DIR/hold.out" 2>&1 &
	local hold=$!
	wait_until 100 test -s "$T_CASE_DIR/hold.out"
	assert_eq "held 16" "$(cat "$T_CASE_DIR/hold.out")" "the user's sixteen connections are open"
	capture as_user "$T1" "$RLBPF" run -d --name busy-wait busybox sleep 600
	assert_eq 0 "$RC" "run -d while the agent is busy with this user"
	assert_not_contains "$ERR" "tracing is off" "the start waited for the agent instead"
	wait "$hold"
	local id
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' busy-wait)
	assert_match "$(raw "$T1" stats "$id")" '^0 busy-wait' "the agent tracks the container started during the burst"
	capture as_user "$T1" "$RLBPF" rm -f busy-wait

	raw "$T1" hold 16 8 >"$T_CASE_DIR/hold2.out" 2>&1 &
	hold=$!
	wait_until 100 test -s "$T_CASE_DIR/hold2.out"
	assert_eq "held 16" "$(cat "$T_CASE_DIR/hold2.out")" "the user's sixteen connections are open again"
	capture as_user "$T1" "$RLBPF" run --rm busybox true
	assert_eq 0 "$RC" "a container runs when the agent stays busy"
	assert_contains "$ERR" "tracing is off" "a start the agent cannot take says tracing is off"
	assert_contains "$ERR" "busy: this user has 16 connections open" "and why"
	kill "$hold" 2>/dev/null
	wait "$hold" 2>/dev/null
	capture as_user "$T1" "$RLBPF" run --rm busybox true
	assert_not_contains "$ERR" "tracing is off" "tracing is back once the connections close"
}
