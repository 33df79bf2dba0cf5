/* A container's own cgroup v2, where the host delegates a cgroup tree to
 * the user (systemd's Delegate=yes, or an administrator's chown): the
 * kernel's memory.max and pids.max then keep --memory and --pids-limit, and
 * rlbpfd's eBPF cap is not needed. On cgroup v1 hosts none is found. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

#define RL_CGROUP2_RECORD "cgroup" /* in the state dir: the container's cgroup */

/* What the container's cgroup holds: 0 for no limit. */
struct rl_cgroup2_limits {
	uint64_t memory;
	uint32_t pids;
};

/* A cgroup under which this user can create a container's cgroup with the
 * controllers for `want` (memory and/or pids): one of the caller's own
 * cgroup's ancestors that the user owns, that has no processes of its own
 * and offers those controllers to its children. 0 with its path in
 * parent, or -ENOENT with why saying what is missing. */
int rl_cgroup2_find_parent(const struct rl_cgroup2_limits *want, char *parent, size_t len,
			   char *why, size_t why_len);

/* Creates parent/rlbpf-<short id>, sets its limits (the whole container is
 * one OOM unit, swap excluded from the cap), moves pid into it and records
 * its path in state_dir, for rl_cgroup2_finish. */
int rl_cgroup2_enter(const char *parent, const char *id, const struct rl_cgroup2_limits *l,
		     pid_t pid, const char *state_dir, struct rl_error *err);

/* What its own cgroup counts of its memory, as `docker stats` shows it
 * (usage less the inactive file cache): the kernel's own count, where the
 * agent's eBPF one may not run (before 5.11). False for a container
 * without one. */
bool rl_cgroup2_memory_usage(const char *state_dir, uint64_t *bytes);

/* After the container's end: whether the kernel's OOM killer ended
 * something in it; removes the cgroup and its record. False, and nothing
 * done, for a container without one. */
bool rl_cgroup2_finish(const char *state_dir);
