# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# Limits kept by the kernel's own controllers in cgroups rlbpfd makes for
# rootless containers: a program that fits is never killed, fork fails at
# --pids-limit, --cpus holds, rlbpf exec joins the cap, nothing is left.

rl() { capture as_user "$T1" "$RLBPF" "$@"; }

_need_agent_cgroup() {
	_need_agent
	[ -n "${T_AGENT_MEM_CGROUP:-}" ] || skip "rlbpfd has no memory controller to make cgroups with here"
	[ "$(memory_enforcer "$T1")" = agent-cgroup ] || skip "$T1's caps are kept by a delegated cgroup v2 here"
}

# rlbpfd's cgroups of a container, in every hierarchy
_cgroups_of() { find /sys/fs/cgroup -maxdepth 4 -type d -path "*/rlbpf/$1" 2>/dev/null; }

test_fork_with_shared_pages_survives_its_cap() {
	_need_agent_cgroup
	# 20 MB held by a shell that forks three subshells: each shares its
	# pages; the kernel counts them once (about 41 MB)
	rl run --rm --memory 64m busybox sh -c \
		'x=$(head -c 20000000 /dev/zero | tr "\0" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'
	assert_eq 0 "$RC" "exit status under --memory 64m (stderr $(_show "$ERR"))"
	assert_eq survived "$OUT" "the shell and its forks lived"
}

test_page_cache_is_reclaimed_not_killed() {
	_need_agent_cgroup
	local dir
	dir=$(scratch_dir bigfile "$T1" 0755)
	as_user "$T1" dd if=/dev/zero of="$dir/big" bs=1M count=1024 status=none
	rl run --rm --memory 64m -v "$dir:/data:ro" busybox sh -c 'cat /data/big > /dev/null && echo read'
	assert_eq 0 "$RC" "reading 1 GiB under --memory 64m (stderr $(_show "$ERR"))"
	assert_eq read "$OUT" "the whole file was read"
	rm -f "$dir/big"
}

test_pids_limit_makes_fork_fail_and_the_container_lives() {
	_need_agent_cgroup
	rl run -d --name forky --pids-limit 20 busybox sh -c \
		'( i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done ); echo forked; sleep 30'
	assert_eq 0 "$RC" "run -d --pids-limit 20 (stderr $(_show "$ERR"))"
	local id cg
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' forky)
	wait_until 100 eval 'as_user "$T1" "$RLBPF" logs forky 2>&1 | grep -q forked'
	rl logs forky
	assert_contains "$OUT$ERR" "can't fork" "forks past the limit fail"
	cg=$(_cgroups_of "$id" | grep pids)
	assert_true "pids.current at or below 20" [ "$(cat "$cg/pids.current")" -le 20 ]
	rl inspect -f '{{.State.Status}} {{.Rlbpf.Enforcement.Pids}}' forky
	assert_eq "running agent-cgroup" "$OUT" "the container lives on, its limit kept by a cgroup"
	rl rm -f forky
	wait_until 50 eval '[ -z "$(_cgroups_of "$id")" ]'
	assert_eq "" "$(_cgroups_of "$id")" "no cgroup left after rm -f"
}

test_cpus_holds_a_busy_loop_to_half_a_cpu() {
	_need_agent_cgroup
	rl run -d --name busy --cpus 0.5 busybox sh -c 'while :; do :; done'
	assert_eq 0 "$RC" "run -d --cpus 0.5 (stderr $(_show "$ERR"))"
	local id cg t0 t1
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' busy)
	cg=$(_cgroups_of "$id" | grep cpuacct | head -n 1)
	[ -n "$cg" ] || cg=$(_cgroups_of "$id" | head -n 1)
	t0=$(cat "$cg/cpuacct.usage")
	sleep 5
	t1=$(cat "$cg/cpuacct.usage")
	# 55% of one CPU over 5 s
	assert_true "at most 55% of a CPU: $(((t1 - t0) / 50000000))%" [ $((t1 - t0)) -le 2750000000 ]
	rl inspect -f '{{.Rlbpf.Enforcement.Cpu}}' busy
	assert_eq agent-cgroup "$OUT" "inspect names who keeps --cpus"
	rl rm -f busy
}

test_exec_joins_the_cap() {
	_need_agent_cgroup
	rl run -d --name capped --memory 32m busybox sleep 300
	rl exec capped hog -r 500000 -n 20 -p 50
	assert_eq 137 "$RC" "a hog started with exec is killed at the container's cap"
	rl exec capped cat /proc/self/cgroup
	assert_match "$OUT" 'memory:/rlbpf/[0-9a-f]{64}' "exec runs in the container's memory cgroup"
	rl inspect -f '{{.State.Status}}' capped
	assert_eq running "$OUT" "the container itself lives on"
	rl rm -f capped
}

test_no_cgroup_left_and_other_users_kept_out() {
	_need_agent_cgroup
	rl run -d --name kept --memory 64m --pids-limit 50 busybox sleep 300
	local id cg sup
	id=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' kept)
	cg=$(_cgroups_of "$id" | grep memory)
	assert_ne "" "$cg" "rlbpfd made the memory cgroup"
	capture as_user "$T2" sh -c "echo \$\$ > '$cg/cgroup.procs'"
	assert_ne 0 "$RC" "$T2 cannot move into $T1's cgroup"
	capture as_user "$T1" sh -c "echo 1G > '$cg/memory.limit_in_bytes'"
	assert_ne 0 "$RC" "$T1 cannot raise its own limit"
	assert_eq 67108864 "$(cat "$cg/memory.limit_in_bytes")" "the limit stays"
	# the supervisor SIGKILLed: the container goes with it, and its cgroups
	sup=$(as_user "$T1" "$RLBPF" inspect -f '{{.Rlbpf.SupervisorPid}}' kept)
	[ -n "$sup" ] && [ "$sup" != 0 ] && kill -KILL "$sup"
	as_user "$T1" "$RLBPF" rm -f kept >/dev/null 2>&1
	wait_until 100 eval '[ -z "$(_cgroups_of "$id")" ]'
	assert_eq "" "$(_cgroups_of "$id")" "no cgroup left after the supervisor was killed"
}

test_agent_restart_keeps_cgroups_and_removes_ended_ones() {
	_need_agent_cgroup
	rl run -d --name kept1 --memory 64m busybox sleep 300
	rl run -d --name ended1 --memory 64m busybox sleep 300
	local kept ended
	kept=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' kept1)
	ended=$(as_user "$T1" "$RLBPF" inspect -f '{{.Id}}' ended1)
	agent_stop
	# ended1 ends while no agent runs: its cgroups stay behind until one does
	as_user "$T1" "$RLBPF" rm -f ended1 >/dev/null
	agent_start
	wait_until 50 eval '[ -z "$(_cgroups_of "$ended")" ]'
	assert_eq "" "$(_cgroups_of "$ended")" "the restarted agent removed the cgroups of a container that ended while it was away"
	local cg
	cg=$(_cgroups_of "$kept" | grep memory)
	assert_eq 67108864 "$(cat "$cg/memory.limit_in_bytes" 2>/dev/null)" "the running container keeps its cgroup and limit"
	rl exec kept1 hog -r 500000 -n 20 -p 50
	assert_eq 137 "$RC" "the cap holds after the restart"
	rl rm -f kept1
	wait_until 50 eval '[ -z "$(_cgroups_of "$kept")" ]'
	assert_eq "" "$(_cgroups_of "$kept")" "its cgroups go with it after the restart"
}
