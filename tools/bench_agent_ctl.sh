# shellcheck shell=bash disable=SC2154,SC2034 # prefix, work: the caller's; agent_loaded: for its cleanup
# Starting and stopping rlbpfd around a benchmark's with/without runs;
# sourced by tools/bench_agent.sh and tools/bench_mem.sh, which set $prefix
# (an installed rlbpf), $work (the agent's log goes there) and die().
# agent_pid is the running agent; agent_loaded says its programs are
# pinned, for the caller's cleanup to --unload.
agent_pid="" agent_loaded=""

# The agent gets none of our other descriptors: a lock that our caller
# holds on one (`flock FILE tools/bench_mem.sh`) must not outlive us in an
# agent left running.
agent_start() {
	agent_loaded=1
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null
		done
		exec setsid "$prefix/bin/rlbpfd" --foreground >>"$work/agent.log" 2>&1 </dev/null
	) &
	agent_pid=$!
	for _ in $(seq 100); do [ -S /run/rlbpf/rlbpfd.sock ] && return 0; sleep 0.1; done
	die "rlbpfd did not start: $(tail -n 3 "$work/agent.log")"
}

# Stops it and unloads its programs: the "without" runs have none.
agent_stop() {
	kill -TERM "$agent_pid"
	wait "$agent_pid" 2>/dev/null || true
	agent_pid=""
	"$prefix/bin/rlbpfd" --unload >/dev/null
	agent_loaded=""
}
