#include "supervise/stats_sample.h"

#include <errno.h>
#include <stdio.h>
#include <sys/sysinfo.h>

#include "lib/humantime.h"
#include "runtime/cgroup2.h"
#include "supervise/status.h"

void rl_stats_recorded_read(const struct rl_state *st, struct rl_stats_recorded *out)
{
	*out = (struct rl_stats_recorded){0};
	json_t *config = NULL;
	struct rl_error ignored;
	if (rl_state_config(st, &config, &ignored) < 0)
		return;
	out->created = rl_parse_rfc3339(json_string_value(json_object_get(config, "Created")));
	json_t *host = json_object_get(config, "HostConfig");
	json_int_t memory = json_integer_value(json_object_get(host, "Memory"));
	json_int_t pids = json_integer_value(json_object_get(host, "PidsLimit"));
	out->memory = memory > 0 ? (uint64_t)memory : 0;
	out->pids_limit = pids > 0 ? (uint64_t)pids : 0;
	json_decref(config);
}

bool rl_stats_still_running(const struct rl_state *st)
{
	struct rl_status s;
	struct rl_error ignored;
	if (rl_status_read(st, &s, &ignored) < 0 || s.state != RL_RUNNING)
		return false;
	unsigned long long start = rl_proc_start_time(s.pid);
	return start != 0 && (s.pid_start == 0 || start == s.pid_start);
}

uint64_t rl_stats_host_memory(void)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit;
}

int rl_stats_ask(struct rl_agent_conn *conn, const char *id, const volatile sig_atomic_t *stop,
		 struct rl_msg_stats_reply *rep, char *why, size_t len)
{
	char said[300] = "";
	int r = rl_agent_stats(conn, id, rep, said, sizeof(said));
	if (r < 0 && r != -ENOENT && r != -EPERM && !(stop && *stop)) {
		rl_agent_close(conn);
		if (rl_agent_connect(RL_AGENT_SOCKET, conn, said, sizeof(said)) < 0) {
			snprintf(why, len, "lost the agent rlbpfd: %s", said);
			return -EPIPE;
		}
		r = rl_agent_stats(conn, id, rep, said, sizeof(said));
	}
	if (r == -ENOENT || r == -EPERM || r == 0)
		snprintf(why, len, "%s", said);
	else
		snprintf(why, len, "cannot read the counters from rlbpfd: %s", said);
	return r;
}

uint64_t rl_stats_mem_usage(const struct rl_state *st, const struct rl_msg_stats_reply *rep)
{
	uint64_t own;
	return rl_cgroup2_memory_usage(st->dir, &own) ? own : rep->rss_bytes;
}

uint64_t rl_stats_mem_limit(const struct rl_msg_stats_reply *rep,
			    const struct rl_stats_recorded *rec, uint64_t host_mem)
{
	return rep->mem_cap_bytes ? rep->mem_cap_bytes : rec->memory ? rec->memory : host_mem;
}

uint64_t rl_stats_pids_limit(const struct rl_msg_stats_reply *rep,
			     const struct rl_stats_recorded *rec)
{
	return rep->pids_limit ? rep->pids_limit : rec->pids_limit;
}
