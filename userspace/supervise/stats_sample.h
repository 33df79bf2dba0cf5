/* What rlbpf stats and the Docker API's stats read of a container: the
 * agent's counters, and the limits recorded when it was created. Both
 * show the same numbers because they read them here. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/agent_client.h"
#include "supervise/state.h"

/* What config.json recorded: the creation time, for the order of a list
 * (0 when unknown), and --memory and --pids-limit (0: none). */
struct rl_stats_recorded {
	double created;
	uint64_t memory;
	uint64_t pids_limit;
};
void rl_stats_recorded_read(const struct rl_state *st, struct rl_stats_recorded *out);

/* Running by its record, and its PID 1 still there: the record says
 * "exited" only once the supervisor has reaped it, a moment after the
 * agent has seen the last task go. */
bool rl_stats_still_running(const struct rl_state *st);

/* The host's memory, the limit Docker shows for a container without one. */
uint64_t rl_stats_host_memory(void);

/* The agent's counters of container id on conn. A broken connection is
 * tried once more on a new one (the agent may have restarted: its counters
 * survive in pinned maps), unless *stop is set. 0; -ENOENT when the agent
 * does not know the container; -EPERM when it refuses (its words in why);
 * another negative errno when the agent cannot be read, with why saying so
 * whole ("lost the agent rlbpfd: ..."). */
int rl_stats_ask(struct rl_agent_conn *conn, const char *id, const volatile sig_atomic_t *stop,
		 struct rl_msg_stats_reply *rep, char *why, size_t len);

/* Its memory use: its own cgroup's count where it has one (the user's
 * delegated cgroup v2), else the agent's (its cgroups', or the eBPF one). */
uint64_t rl_stats_mem_usage(const struct rl_state *st, const struct rl_msg_stats_reply *rep);

/* The limits that apply, as Docker shows them: the agent's cap, else the
 * recorded --memory, else the host's memory; the agent's pids limit, else
 * the recorded one (0: none). */
uint64_t rl_stats_mem_limit(const struct rl_msg_stats_reply *rep,
			    const struct rl_stats_recorded *rec, uint64_t host_mem);
uint64_t rl_stats_pids_limit(const struct rl_msg_stats_reply *rep,
			     const struct rl_stats_recorded *rec);
