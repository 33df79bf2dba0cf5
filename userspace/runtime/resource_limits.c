#include "runtime/resource_limits.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/agent_proto.h"
#include "lib/memsize.h"

int rl_limits_memory(struct rl_limits *l, const char *text, uint64_t host_bytes,
		     struct rl_error *err)
{
	return rl_memsize_parse(text, host_bytes, &l->memory, err);
}

int rl_limits_pids(struct rl_limits *l, const char *text, struct rl_error *err)
{
	char *end;
	errno = 0;
	long long n = strtoll(text, &end, 10);
	if (!*text || *end || errno || isspace((unsigned char)*text))
		return rl_fail(err, EINVAL,
			       "invalid --pids-limit '%s': give a whole number of tasks, e.g. 100 (0 or -1: no limit)",
			       text);
	/* Docker's meaning: 0 and -1 are "unlimited" */
	if (n == 0 || n == -1) {
		l->pids_limit = 0;
		return 0;
	}
	if (n < 0 || n > RL_PIDS_LIMIT_MAX)
		return rl_fail(err, EINVAL,
			       "invalid --pids-limit '%s': use 1 to %d tasks (0 or -1: no limit)", text,
			       RL_PIDS_LIMIT_MAX);
	l->pids_limit = (uint32_t)n;
	return 0;
}

int rl_limits_cpus(struct rl_limits *l, const char *text, long host_cpus, struct rl_error *err)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (!*text || *end || errno || isspace((unsigned char)*text) || v != v)
		return rl_fail(err, EINVAL, "invalid --cpus '%s': give a number of CPUs, e.g. 1.5",
			       text);
	if (v < 0.01 || v > (double)host_cpus)
		return rl_fail(err, EINVAL,
			       "invalid --cpus '%s': the range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available",
			       text, host_cpus, host_cpus);
	l->nano_cpus = (uint64_t)(v * 1e9 + 0.5);
	return 0;
}

int rl_limits_enforce(struct rl_limits *l, const char *text, struct rl_error *err)
{
	if (strcmp(text, "auto") == 0)
		l->enforce = RL_CHOOSE_AUTO;
	else if (strcmp(text, "ebpf") == 0)
		l->enforce = RL_CHOOSE_EBPF;
	else if (strcmp(text, "cgroup") == 0)
		l->enforce = RL_CHOOSE_CGROUP;
	else if (strcmp(text, "none") == 0)
		l->enforce = RL_CHOOSE_NONE;
	else
		return rl_fail(err, EINVAL,
			       "invalid --memory-enforce '%s': use auto, ebpf, cgroup or none (none records the limits without enforcing them)",
			       text);
	return 0;
}

bool rl_limits_enforced(const struct rl_limits *l)
{
	return l->enforce != RL_CHOOSE_NONE && (l->memory || l->pids_limit);
}

bool rl_limits_for_agent(const struct rl_limits *l)
{
	return rl_limits_enforced(l) && !l->by_cgroup2;
}

const char *rl_limits_enforcer(const struct rl_limits *l)
{
	if (!l->memory && !l->pids_limit)
		return "";
	if (l->enforce == RL_CHOOSE_NONE)
		return "none";
	if (l->by_cgroup2)
		return "cgroup2";
	return rl_enforcer_name(l->by_agent == RL_ENFORCER_AGENT_CGROUP ? RL_ENFORCER_AGENT_CGROUP
									: RL_ENFORCER_EBPF);
}

const char *rl_limits_cpu_enforcer(const struct rl_limits *l)
{
	return l->nano_cpus && l->by_agent == RL_ENFORCER_AGENT_CGROUP ? "agent-cgroup" : "";
}

void rl_limits_refusal(const struct rl_limits *l, const char *why_agent, bool agent_cannot,
		       char *buf, size_t len)
{
	char what[64];
	if (l->memory) {
		char size[32];
		rl_memsize_format(l->memory, size, sizeof(size));
		snprintf(what, sizeof(what), "--memory %s", size);
	} else {
		snprintf(what, sizeof(what), "--pids-limit %u", l->pids_limit);
	}
	if (agent_cannot) {
		/* a running agent that said why: its reason is the fix */
		snprintf(buf, len, "%s cannot be enforced as asked: rlbpfd says %s", what, why_agent);
		return;
	}
	snprintf(buf, len,
		 "%s cannot be enforced here: rlbpfd %s, and this user has no cgroup v2 tree with "
		 "the memory and pids controllers delegated; start the agent (sudo rlbpfd), which "
		 "makes cgroups for rootless containers, or boot with cgroup v2 and a delegated "
		 "user slice, or pass --memory-enforce=none "
		 "to run without enforcement",
		 what, why_agent);
}
