/* Cgroups that rlbpfd makes for rootless containers, which their users
 * cannot make themselves: one per container in each hierarchy that holds a
 * controller it needs (memory, pids, cpu), under a root-owned rlbpf/ in
 * that hierarchy. The kernel then keeps --memory, --pids-limit and --cpus
 * with its own accounting. cgroup v1 where a controller is mounted there,
 * else the cgroup2 hierarchy (a v2-only host, or a hybrid host whose v1
 * lacks the controller, such as Debian's 6.12 without v1 memory). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cgroup_mounts.h"

/* A memory limit at least this high is none ("max", or v1's
 * 9223372036854771712). */
#define RL_CG_UNLIMITED (UINT64_C(1) << 62)

/* The limits of one container, as the kernel takes them. */
struct rl_cg_limits {
	uint64_t memory;     /* bytes; 0: none */
	uint32_t pids;       /* 0: none */
	uint32_t cpu_millis; /* --cpus x 1000; 0: none */
	bool account;        /* a memory cgroup without a limit: the kernel
			      * counts it (rlbpf stats), no per-fault program */
};

/* What the kernel counts for one container. */
struct rl_cg_usage {
	uint64_t mem_bytes;      /* usage less inactive file cache (docker stats) */
	uint64_t mem_raw_bytes;  /* usage with the cache: what thresholds see */
	uint64_t mem_peak_bytes; /* the kernel's high-water mark */
	uint64_t mem_limit;      /* 0: none */
	uint64_t oom_kills;      /* tasks the kernel's OOM killer ended in it */
	uint64_t mem_at_limit;   /* times a charge met the limit (v1 failcnt,
				  * v2 memory.events "max") */
	uint64_t cpu_ns;
	uint32_t pids;
	bool have_mem, have_cpu, have_pids;
};

/* Whether the host has what the limits need: every nonzero one a
 * controller. why names the first missing one. */
bool rl_cg_can(const struct rl_cg_host *h, const struct rl_cg_limits *l, char *why, size_t len);

/* Makes the container's cgroups (named by its 64-hex id), sets the limits and
 * moves pid in. On failure nothing is left and why says what refused. The
 * cgroups stay root's; group `group` (the owner's) may enter and read them,
 * nobody else, and on v1 the owner may watch memory events
 * (cgroup.event_control), as conmon does to report an OOM kill. */
int rl_cg_create(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l,
		 pid_t pid, uid_t owner, gid_t group, char *why, size_t len);
/* Moves one more process in (rlbpf exec). */
int rl_cg_join(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l,
	       pid_t pid);
/* Whether any cgroup of the container still holds a process. */
bool rl_cg_populated(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l);
/* Removes its cgroups; -EBUSY while a process is still in one. */
int rl_cg_remove(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l);
/* Removes the empty cgroups under rlbpf/ whose id keep() refuses: those of
 * containers that ended while no agent ran. */
void rl_cg_sweep(const struct rl_cg_host *h, bool (*keep)(const char *id, void *ctx), void *ctx);
/* Removes the rlbpf/ directories themselves where they are empty
 * (rlbpfd --unload). */
void rl_cg_remove_parents(const struct rl_cg_host *h);
void rl_cg_usage(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l,
		 struct rl_cg_usage *u);

/* v1: an eventfd that fires when the memory usage crosses `bytes` either way
 * (cgroup.event_control), or -1. */
int rl_cg_mem_threshold(const struct rl_cg_host *h, const char *id, uint64_t bytes);

/* v2 keeps no usage thresholds. What it does signal: a charge meeting the
 * limit or an OOM kill (memory.events changes), and, where the kernel has
 * PSI on, reclaim stalls (a trigger on memory.pressure). Both wake epoll
 * with EPOLLPRI. Fills fds[0] (memory.events) and fds[1] (the PSI trigger),
 * -1 where the file is missing; returns how many it opened. */
int rl_cg_mem_signals(const struct rl_cg_host *h, const char *id, int fds[2]);
/* Takes a v2 signal so that epoll stops reporting it until the next. */
void rl_cg_mem_signal_taken(int fd);

