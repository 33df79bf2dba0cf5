# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# --memory, --pids-limit and --cpus on this cgroup v1 host: rlbpfd's eBPF
# accounting kills a container past its cap (the seed scenario with our hog),
# however its memory is spread and while the agent restarts; OOMKilled in
# inspect, oom_kill and mem_pressure in trace; every bad value refused; no
# limit silently ignored; another user's container untouched.

rl() { capture as_user "$T1" "$RLBPF" "$@"; }

# Rows of 500000 uint64 values (3.8 MiB each): 32 MiB holds 8 of them.
HOG_ROWS=(hog -r 500000 -n 20 -p 50)

_rows() { grep -c '^row ' <<<"$1"; }

_is_exited() { [ "$(as_user "$T1" "$RLBPF" inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = exited ]; }

test_seed_hog_is_killed_at_its_cap() {
	_need_mem_cap
	local before
	before=$(snapshot "$T1")
	trace_start "$T1" --events mem,oom,exit
	rl run -d --name hog32 --memory 32m busybox "${HOG_ROWS[@]}"
	assert_eq 0 "$RC" "run -d --memory 32m (stderr $(_show "$ERR"))"
	wait_until 100 _is_exited hog32 || fail "the hog was not stopped: $(_show "$(as_user "$T1" "$RLBPF" logs hog32 2>&1)")"
	local enforcer
	enforcer=$(memory_enforcer "$T1")
	rl inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}} {{.Rlbpf.Enforcement.Memory}}' hog32
	assert_eq "true 137 33554432 $enforcer" "$OUT" "inspect: OOMKilled, exit code, the cap and who enforced it"
	rl ps -a
	assert_match "$OUT" 'Exited \(137\).*hog32' "ps -a"
	rl logs hog32
	local rows
	rows=$(_rows "$OUT")
	# 8 rows fit (30.5 MiB); the 9th passes the cap while it is filled
	if [ "$rows" -ge 7 ] && [ "$rows" -le 8 ]; then pass; else
		fail "rows printed before the kill: expected about 8, got $rows: $(_show "$OUT")"
	fi
	if [ "$enforcer" = agent-cgroup ]; then
		# the kernel's OOM killer chose the hog; rlbpfd says so
		wait_event '.event == "oom_kill" and .container == "hog32"' "oom_kill in the trace"
		local k
		k=$(events '.event == "oom_kill" and .container == "hog32"' | head -n 1)
		assert_eq "33554432 agent-cgroup 1 9" "$(jq -r '"\(.cap_bytes) \(.enforcer) \(.victim_cpid) \(.signal)"' <<<"$k")" "the event's cap, enforcer, victim (PID 1 inside) and signal"
		assert_eq "$(id -u "$T1") 0" "$(jq -r '"\(.victim_uid) \(.victim_cuid)"' <<<"$k")" "the victim's uid both ways"
		assert_true "the usage at the kill is near the limit" [ "$(jq -r .rss_bytes <<<"$k")" -gt 30000000 ]
		# v1: the kernel's usage thresholds (cgroup.event_control); v2:
		# memory.events when the hog meets the limit
		assert_eq "50 75 90" "$(events '.event == "mem_pressure" and .container == "hog32"' | jq -r .percent | tr '\n' ' ' | sed 's/ $//')" "mem_pressure at 50, 75 and 90%, once each"
		trace_stop "$T1"
		rl rm hog32
		assert_nothing_left "$T1" "$before" "after the OOM-killed container is removed"
		return 0
	fi
	if [ "$enforcer" = cgroup2 ]; then
		# the kernel's own OOM killer acted in the user's cgroup: rlbpfd
		# names it, with that cgroup's usage and limit
		wait_event '.event == "oom_kill" and .container == "hog32"' "oom_kill in the trace"
		local k2
		k2=$(events '.event == "oom_kill" and .container == "hog32"' | head -n 1)
		assert_eq "33554432 cgroup2 1 9" "$(jq -r '"\(.cap_bytes) \(.enforcer) \(.victim_cpid) \(.signal)"' <<<"$k2")" "the event's cap, enforcer, victim (PID 1 inside) and signal"
		assert_true "the usage at the kill is near the limit" [ "$(jq -r .rss_bytes <<<"$k2")" -gt 30000000 ]
		trace_stop "$T1"
		rl rm hog32
		assert_nothing_left "$T1" "$before" "after the OOM-killed container is removed"
		return 0
	fi
	wait_event '.event == "oom_kill" and .container == "hog32"' "oom_kill in the trace"
	local e
	e=$(events '.event == "oom_kill" and .container == "hog32"')
	assert_eq 1 "$(wc -l <<<"$e")" "one oom_kill event"
	assert_eq 33554432 "$(jq -r .cap_bytes <<<"$e")" "the event's cap"
	assert_true "the event's rss is past the cap" [ "$(jq -r .rss_bytes <<<"$e")" -gt 33554432 ]
	assert_eq "1 9" "$(jq -r '"\(.victim_cpid) \(.signal)"' <<<"$e")" "the victim (the hog, PID 1 inside) and SIGKILL"
	assert_eq "50 75 90" "$(events '.event == "mem_pressure" and .container == "hog32"' | jq -r .percent | tr '\n' ' ' | sed 's/ $//')" "mem_pressure at 50, 75 and 90%, once each"
	trace_stop "$T1"
	rl rm hog32
	assert_nothing_left "$T1" "$before" "after the OOM-killed container is removed"
}

test_hog_without_a_cap_finishes() {
	_need_agent
	rl run --rm busybox "${HOG_ROWS[@]}"
	assert_eq 0 "$RC" "exit status without --memory (stderr $(_show "$ERR"))"
	assert_eq 20 "$(_rows "$OUT")" "all twenty rows"
}

test_foreground_run_exits_137() {
	_need_mem_cap
	rl run --rm --memory 32m busybox "${HOG_ROWS[@]}"
	assert_eq 137 "$RC" "exit status of a foreground run past its cap"
	assert_true "fewer than nine rows" [ "$(_rows "$OUT")" -le 8 ]
}

test_memory_spread_over_twenty_processes_is_capped() {
	_need_ebpf_cap
	# 20 x 10 rows of 100000 values: 152 MiB in all, 7.6 MiB each; the
	# eBPF cap's own case (a kernel cgroup kills hogs one by one)
	rl run -d --name spread --memory 32m --memory-enforce ebpf busybox sh -c \
		'for i in $(seq 20); do hog -r 100000 -n 10 -p 200 >/dev/null & done; wait; echo all done'
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	wait_until 200 _is_exited spread || fail "the container was not stopped"
	rl inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' spread
	assert_eq "true 137" "$OUT" "OOMKilled and exit code of the spread container"
	rl logs spread
	assert_not_contains "$OUT" "all done" "the shell did not outlive the kill"
	rl rm spread
	assert_no_processes "$T1" "after the spread container"
}

test_ebpf_cap_is_refused_naming_what_the_kernel_lacks() {
	_need_agent
	[ -n "${T_MEM_CAP_OFF:-}" ] || skip "this kernel has what the eBPF memory cap needs (rlbpfd --probe: task_storage, task_btf)"
	local before
	before=$(snapshot "$T1")
	rl run --rm --memory 32m --memory-enforce ebpf busybox true
	assert_eq 125 "$RC" "exit status of an eBPF cap the kernel cannot hold"
	assert_contains "$ERR" "rlbpfd says the eBPF memory cap needs BPF task storage (Linux 5.11)" "the refusal names the kernel feature"
	assert_contains "$ERR" "--memory-enforce cgroup" "and the way that works here"
	assert_nothing_left "$T1" "$before" "after the refusal"
}

test_cap_holds_while_the_agent_restarts() {
	_need_mem_cap
	# slow rows: the cap is passed during the restarts
	rl run -d --name restarting --memory 32m busybox hog -r 500000 -n 20 -p 400
	assert_eq 0 "$RC" "run -d (stderr $(_show "$ERR"))"
	local i
	for i in 1 2 3 4 5; do
		agent_stop
		sleep 0.3
		agent_start
	done
	agent_stop
	wait_until 200 _is_exited restarting || fail "the hog was not stopped with the agent down"
	agent_start
	rl inspect -f '{{.State.ExitCode}}' restarting
	assert_eq 137 "$OUT" "exit code: killed in the kernel while the agent was away or restarting"
	rl logs restarting
	assert_true "the cap held: no ninth row ($(_show "$OUT"))" [ "$(_rows "$OUT")" -le 8 ]
	rl rm restarting
}

test_other_users_containers_are_untouched() {
	_need_mem_cap
	# rlbpf-t2's hog, with no cap, runs while rlbpf-t1's passes its own
	capture as_user "$T2" "$RLBPF" run -d --name t2hog busybox hog -r 500000 -n 20 -p 100
	assert_eq 0 "$RC" "$T2's run -d (stderr $(_show "$ERR"))"
	local t2id
	t2id=$(as_user "$T2" "$RLBPF" inspect -f '{{.Id}}' t2hog)
	rl run --rm --memory 32m busybox "${HOG_ROWS[@]}"
	assert_eq 137 "$RC" "$T1's capped hog is killed"
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is needed for the raw protocol client"
	_raw_client
	assert_match "$(raw "$T1" stats "$t2id")" '^-1 ' "$T1 cannot read $T2's counters (EPERM)"
	wait_until 200 eval '[ "$(as_user "$T2" "$RLBPF" inspect -f "{{.State.Status}}" t2hog)" = exited ]'
	capture as_user "$T2" "$RLBPF" inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' t2hog
	assert_eq "0 false" "$OUT" "$T2's hog finished untouched"
	as_user "$T2" "$RLBPF" rm t2hog >/dev/null
}

test_bad_memory_values_are_refused() {
	userspace_only
	local before v
	before=$(snapshot "$T1")
	for v in 0 -1 32x abc 5m 1k 999999g ''; do
		rl run --rm --memory "$v" busybox true
		assert_eq 125 "$RC" "exit status of --memory '$v'"
		assert_match "$ERR" "^rlbpf run: invalid --memory '$v': " "the message for --memory '$v'"
		assert_eq 1 "$(wc -l <<<"$ERR")" "one line for --memory '$v'"
	done
	rl run --rm --memory-enforce sometimes --memory 32m busybox true
	assert_eq 125 "$RC" "exit status of a bad --memory-enforce"
	assert_contains "$ERR" "use auto, ebpf, cgroup or none" "the message for a bad --memory-enforce"
	for v in -2 x 4194305; do
		rl run --rm --pids-limit "$v" busybox true
		assert_eq 125 "$RC" "exit status of --pids-limit '$v'"
		assert_contains "$ERR" "invalid --pids-limit '$v'" "the message for --pids-limit '$v'"
	done
	for v in 0 99 x; do
		rl run --rm --cpus "$v" busybox true
		assert_eq 125 "$RC" "exit status of --cpus '$v'"
		assert_contains "$ERR" "invalid --cpus '$v'" "the message for --cpus '$v'"
	done
	assert_nothing_left "$T1" "$before" "after the refused values"
}

# rlbpf-t2 never has a delegated cgroup: without the agent, nothing can keep
# its cap.
test_without_an_enforcer_memory_is_refused_not_ignored() {
	_need_agent
	local before
	before=$(snapshot "$T2")
	capture as_user "$T2" "$RLBPF" run --rm --memory-enforce=cgroup --memory 32m busybox cat /proc/self/cgroup
	if [ -n "${T_AGENT_MEM_CGROUP:-}" ]; then
		assert_eq 0 "$RC" "--memory-enforce=cgroup with rlbpfd's cgroups (stderr $(_show "$ERR"))"
		assert_match "$OUT" '(memory:|0::)/rlbpf/[0-9a-f]{64}' "the container runs in the memory cgroup rlbpfd made"
	else
		assert_eq 125 "$RC" "exit status of --memory-enforce=cgroup with no cgroup to be had"
		assert_contains "$ERR" "cannot make cgroups" "it says what is missing"
	fi
	agent_stop
	capture as_user "$T2" "$RLBPF" run --rm --memory 32m busybox true
	local rc=$RC err=$ERR
	capture as_user "$T2" "$RLBPF" run --rm --pids-limit 10 busybox true
	local rc_pids=$RC
	capture as_user "$T2" "$RLBPF" run --memory 32m --memory-enforce=none --name unenforced -d busybox sleep 60
	local rc_none=$RC
	capture as_user "$T2" "$RLBPF" inspect -f '{{.HostConfig.Memory}} {{.Rlbpf.Enforcement.Memory}}' unenforced
	local shown=$OUT
	as_user "$T2" "$RLBPF" rm -f unenforced >/dev/null
	agent_start
	assert_eq 125 "$rc" "exit status of --memory with no agent"
	assert_contains "$err" "--memory 32MiB cannot be enforced here" "the refusal says what"
	assert_contains "$err" "sudo rlbpfd" "the refusal names the agent"
	assert_contains "$err" "cgroup v2" "the refusal names cgroup v2 delegation"
	assert_contains "$err" "--memory-enforce=none" "the refusal names the way out"
	assert_eq 125 "$rc_pids" "exit status of --pids-limit with no agent"
	assert_eq 0 "$rc_none" "--memory-enforce=none runs without the agent"
	assert_eq "33554432 none" "$shown" "inspect says the cap is recorded, not enforced"
	assert_nothing_left "$T2" "$before" "after the refusals"
}

test_pids_limit_kills_tasks_born_past_it() {
	# the fork programs only: no eBPF memory cap needed
	_need_agent
	# sh and five sleeps make six tasks; the sixth to eighth sleep die at birth
	rl run --rm --pids-limit 6 --memory-enforce ebpf busybox sh -c \
		'for i in 1 2 3 4 5 6 7 8; do sleep 30 & done
		 for j in 6 7 8; do wait %$j; echo "job $j: $?"; done
		 kill %1 %2 %3 %4 %5'
	# (a kernel cgroup's pids.max makes the forks fail instead: t_limits.sh)
	assert_eq 0 "$RC" "exit status (stderr $(_show "$ERR"))"
	assert_eq "job 6: 137
job 7: 137
job 8: 137" "$OUT" "the tasks past the limit were killed (SIGKILL) at birth"
	rl run --rm --pids-limit 6 --memory-enforce ebpf busybox sh -c 'for i in 1 2 3; do sleep 0.1 & done; wait; echo fine'
	assert_eq "fine" "$OUT" "tasks under the limit run"
}

test_ebpf_cap_counts_pages_shared_after_fork_once() {
	_need_ebpf_cap
	# a shell holding 20 MB (about 40 MB resident) and three subshells that
	# share it: the kernel counts about 40 MB; a sum of RSS would be 160
	rl run --rm --memory 64m --memory-enforce ebpf busybox sh -c \
		'x=$(head -c 20000000 /dev/zero | tr "\0" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'
	assert_eq 0 "$RC" "exit status under the eBPF cap of 64m (stderr $(_show "$ERR"))"
	assert_eq survived "$OUT" "the shell and its forks lived"
}

test_ebpf_cap_counts_copies_written_after_fork() {
	_need_ebpf_cap
	# 23 MB of rows, then a forked child writes every page of them: the
	# copies double it (46 MB) though neither process's RSS grows
	rl run --rm --memory 64m --memory-enforce ebpf busybox hog -r 500000 -n 6 -p 0 -f
	assert_eq 0 "$RC" "exit status when parent and copies fit in 64m (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "copied row 6" "the child copied every row"
	rl run --rm --memory 32m --memory-enforce ebpf busybox hog -r 500000 -n 6 -p 0 -f
	assert_eq 137 "$RC" "exit status when the copies pass 32m (out $(_show "$OUT"))"
	assert_contains "$OUT" "row 6: 500000 values" "the rows themselves fitted"
	assert_not_contains "$OUT" "copied row 6" "the copying stopped at the cap"
}

test_ebpf_cap_counts_shared_memory_once() {
	_need_ebpf_cap
	# 15 MB of shared memory that eight children map at once: every one's
	# RSS holds it all (8 x 15 MB); the memory is there once
	rl run --rm --memory 64m --memory-enforce ebpf busybox hog -r 500000 -n 4 -p 0 -s -R 8
	assert_eq 0 "$RC" "exit status under the eBPF cap of 64m (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "8 readers map the rows" "all eight mapped the rows at once"
}
