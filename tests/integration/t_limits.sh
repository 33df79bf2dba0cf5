# shellcheck shell=bash
# shellcheck disable=SC2016 # $... in single quotes is for the container's shell
# Limits kept by the kernel's own controllers in cgroups rlbpfd makes for
# rootless containers: a program that fits is never killed, fork fails at
# --pids-limit, --cpus holds, rlbpf exec joins the cap, nothing is left.

# The user whose caps rlbpfd's cgroups keep: rlbpf-t1, or rlbpf-t2 where a
# cgroup v2 tree is delegated to rlbpf-t1 (vmtest's v2 cells); OU is the
# other one.
LU=$T1 OU=$T2
rl() { capture as_user "$LU" "$RLBPF" "$@"; }

_need_agent_cgroup() {
	_need_agent
	[ -n "${T_AGENT_MEM_CGROUP:-}" ] || skip "rlbpfd has no memory controller to make cgroups with here"
	if [ "$(memory_enforcer "$T1")" != agent-cgroup ]; then
		LU=$T2 OU=$T1
	fi
}

# rlbpfd's cgroups of a container, in every hierarchy
_cgroups_of() { find /sys/fs/cgroup -maxdepth 4 -type d -path "*/rlbpf/$1" 2>/dev/null; }

# _cg_file ID FILE...: the first of the files that one of its cgroups has
# (v1 and v2 name them apart: memory.limit_in_bytes or memory.max)
_cg_file() {
	local id=$1 d f
	shift
	for f in "$@"; do
		for d in $(_cgroups_of "$id"); do
			[ -f "$d/$f" ] && { echo "$d/$f"; return 0; }
		done
	done
	return 1
}

# CPU time of its cgroup in ns: cpuacct.usage (v1), cpu.stat's usage_usec (v2)
_cpu_ns() {
	local f
	if f=$(_cg_file "$1" cpuacct.usage); then
		cat "$f"
	elif f=$(_cg_file "$1" cpu.stat); then
		awk '$1 == "usage_usec" { printf "%.0f\n", $2 * 1000 }' "$f"
	fi
}

_id() { as_user "$LU" "$RLBPF" inspect -f '{{.Id}}' "$1"; }

test_fork_with_shared_pages_survives_its_cap() {
	_need_agent_cgroup
	# 20 MB held by a shell that forks three subshells: each shares its
	# pages; the kernel counts them once (about 41 MB)
	rl run --rm --memory 64m busybox sh -c \
		'x=$(head -c 20000000 /dev/zero | tr "\0" a); for i in 1 2 3; do ( sleep 2; true ) & done; wait; echo survived'
	assert_eq 0 "$RC" "exit status under --memory 64m (stderr $(_show "$ERR"))"
	assert_eq survived "$OUT" "the shell and its forks lived"
}

test_copies_written_after_fork_are_counted() {
	_need_agent_cgroup
	# 23 MB of rows, then a forked child writes every page: 46 MB
	rl run --rm --memory 64m busybox hog -r 500000 -n 6 -p 0 -f
	assert_eq 0 "$RC" "exit status when parent and copies fit in 64m (stderr $(_show "$ERR"))"
	rl run --rm --memory 32m busybox hog -r 500000 -n 6 -p 0 -f
	assert_eq 137 "$RC" "exit status when the copies pass 32m (out $(_show "$OUT"))"
}

test_shared_memory_mapped_by_many_counts_once() {
	_need_agent_cgroup
	# 15 MB of shared memory that eight children map at once
	rl run --rm --memory 64m busybox hog -r 500000 -n 4 -p 0 -s -R 8
	assert_eq 0 "$RC" "exit status under --memory 64m (output $(_show "$OUT"), stderr $(_show "$ERR"))"
	assert_contains "$OUT" "8 readers map the rows" "all eight mapped the rows at once"
}

test_page_cache_is_reclaimed_not_killed() {
	_need_agent_cgroup
	local dir
	dir=$(scratch_dir bigfile "$LU" 0755)
	# on tmpfs (vmtest's guests) a file's pages are shmem, not page cache
	[ "$(stat -f -c %T "$dir")" != tmpfs ] || skip "$dir is on tmpfs: the case needs a disk's page cache"
	[ "$(df --output=avail -B1M "$dir" | tail -n 1)" -gt 1200 ] || skip "less than 1.2 GiB free for the 1 GiB file in $dir"
	as_user "$LU" dd if=/dev/zero of="$dir/big" bs=1M count=1024 status=none
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
	id=$(_id forky)
	wait_until 100 eval 'as_user "$LU" "$RLBPF" logs forky 2>&1 | grep -q forked'
	rl logs forky
	assert_contains "$OUT$ERR" "can't fork" "forks past the limit fail"
	cg=$(_cg_file "$id" pids.current)
	assert_true "pids.current at or below 20" [ "$(cat "$cg")" -le 20 ]
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
	local id t0 t1 w0 w1 pct
	id=$(_id busy)
	# the wall clock around both reads: reading takes a while in a slow
	# guest, and the window the counter saw lies inside this one
	w0=$EPOCHREALTIME
	t0=$(_cpu_ns "$id")
	sleep 5
	t1=$(_cpu_ns "$id")
	w1=$EPOCHREALTIME
	pct=$(awk -v c=$((t1 - t0)) -v a="$w0" -v b="$w1" 'BEGIN { printf "%d", 100 * c / ((b - a) * 1e9) }')
	assert_true "at most 55% of a CPU over $(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.1f", b - a }') s: $pct%" [ "$pct" -le 55 ]
	assert_true "and busy, not stopped (at least 20%): $pct%" [ "$pct" -ge 20 ]
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
	assert_match "$OUT" '(memory:|0::)/rlbpf/[0-9a-f]{64}' "exec runs in the container's memory cgroup"
	rl inspect -f '{{.State.Status}}' capped
	assert_eq running "$OUT" "the container itself lives on"
	rl rm -f capped
}

test_no_cgroup_left_and_other_users_kept_out() {
	_need_agent_cgroup
	rl run -d --name kept --memory 64m --pids-limit 50 busybox sleep 300
	local id lim sup
	id=$(_id kept)
	lim=$(_cg_file "$id" memory.limit_in_bytes memory.max)
	assert_ne "" "$lim" "rlbpfd made the memory cgroup"
	capture as_user "$OU" sh -c "echo \$\$ > '$(dirname "$lim")/cgroup.procs'"
	assert_ne 0 "$RC" "$OU cannot move into $LU's cgroup"
	capture as_user "$OU" cat "$lim"
	assert_ne 0 "$RC" "$OU cannot read $LU's cgroup"
	capture as_user "$LU" sh -c "echo 1073741824 > '$lim'"
	assert_ne 0 "$RC" "$LU cannot raise its own limit"
	assert_eq 67108864 "$(cat "$lim")" "the limit stays"
	# JOIN, rlbpf exec's request, checked against the caller and the
	# container's user namespace
	_raw_client
	assert_match "$(raw "$OU" join "$id" self)" '^-1 .*another user' "$OU joining $LU's container"
	assert_match "$(raw "$LU" join "$id" self)" '^-22 .*user namespace' "$LU joining a process outside the container"
	# the supervisor SIGKILLed: the container goes with it, and its cgroups
	sup=$(as_user "$LU" "$RLBPF" inspect -f '{{.Rlbpf.SupervisorPid}}' kept)
	[ -n "$sup" ] && [ "$sup" != 0 ] && kill -KILL "$sup"
	as_user "$LU" "$RLBPF" rm -f kept >/dev/null 2>&1
	wait_until 100 eval '[ -z "$(_cgroups_of "$id")" ]'
	assert_eq "" "$(_cgroups_of "$id")" "no cgroup left after the supervisor was killed"
}

test_agent_restart_keeps_cgroups_and_removes_ended_ones() {
	_need_agent_cgroup
	rl run -d --name kept1 --memory 64m busybox sleep 300
	rl run -d --name ended1 --memory 64m busybox sleep 300
	local kept ended
	kept=$(_id kept1)
	ended=$(_id ended1)
	agent_stop
	# ended1 ends while no agent runs: its cgroups stay behind until one does
	as_user "$LU" "$RLBPF" rm -f ended1 >/dev/null
	agent_start
	wait_until 50 eval '[ -z "$(_cgroups_of "$ended")" ]'
	assert_eq "" "$(_cgroups_of "$ended")" "the restarted agent removed the cgroups of a container that ended while it was away"
	assert_eq 67108864 "$(cat "$(_cg_file "$kept" memory.limit_in_bytes memory.max)" 2>/dev/null)" "the running container keeps its cgroup and limit"
	rl exec kept1 hog -r 500000 -n 20 -p 50
	assert_eq 137 "$RC" "the cap holds after the restart"
	rl rm -f kept1
	wait_until 50 eval '[ -z "$(_cgroups_of "$kept")" ]'
	assert_eq "" "$(_cgroups_of "$kept")" "its cgroups go with it after the restart"
}
