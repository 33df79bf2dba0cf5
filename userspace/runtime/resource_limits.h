/* Resource limits of `rlbpf run` (--memory, --pids-limit, --cpus): what was
 * asked, and which mechanism keeps each promise on this host. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

enum rl_enforce_choice {
	RL_CHOOSE_AUTO, /* the best this host has; refuse when it has none */
	RL_CHOOSE_EBPF, /* rlbpfd's in-kernel accounting and kill, only */
	RL_CHOOSE_CGROUP, /* a delegated cgroup v2's memory.max and pids.max, only */
	RL_CHOOSE_NONE, /* recorded and shown, not enforced: the user said so */
};

struct rl_limits {
	uint64_t memory;     /* --memory in bytes; 0: none */
	uint32_t pids_limit; /* --pids-limit; 0: none */
	uint64_t nano_cpus;  /* --cpus x 1e9, as Docker's NanoCpus */
	enum rl_enforce_choice enforce;
	bool by_cgroup2; /* decided at the start: a delegated cgroup keeps them */
	uint32_t by_agent; /* else what rlbpfd said keeps them: RL_ENFORCER_* */
};

/* Each takes one option's value; 0, or -EINVAL with err naming the value,
 * the rule it breaks and an example. */
int rl_limits_memory(struct rl_limits *l, const char *text, uint64_t host_bytes,
		     struct rl_error *err);
int rl_limits_pids(struct rl_limits *l, const char *text, struct rl_error *err);
int rl_limits_cpus(struct rl_limits *l, const char *text, long host_cpus, struct rl_error *err);
int rl_limits_enforce(struct rl_limits *l, const char *text, struct rl_error *err);

/* Whether anything needs enforcing (a cap, a pids limit, and not "none"). */
bool rl_limits_enforced(const struct rl_limits *l);
/* Whether rlbpfd must enforce them: enforced, and not by a cgroup. */
bool rl_limits_for_agent(const struct rl_limits *l);
/* "agent-cgroup" (cgroups rlbpfd made), "cgroup2" (the user's delegated
 * tree), "ebpf" or "none" (or "" without limits): inspect's
 * Rlbpf.Enforcement. */
const char *rl_limits_enforcer(const struct rl_limits *l);

/* --cpus has one enforcer, a cpu cgroup of rlbpfd's: "agent-cgroup", or ""
 * when none keeps it. */
const char *rl_limits_cpu_enforcer(const struct rl_limits *l);

/* Why no limit can be enforced here, with the ways to get one, for the
 * error of a `run` that asked for one: rlbpfd's words in why_agent. */
void rl_limits_refusal(const struct rl_limits *l, const char *why_agent, bool agent_cannot,
		       char *buf, size_t len);
