/* The agent's table of registered containers: who owns each, its init, its
 * user namespace and id maps. The BPF maps know containers by number only;
 * this is everything else, kept in /run/rlbpf/registry so a restarted agent
 * knows the containers an earlier one registered. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/cgroups.h"
#include "proto/agent_proto.h"
#include "lib/error.h"

#define RL_REGISTRY_FILE "/run/rlbpf/registry"
#define RL_MAP_EXTENTS 16

struct rl_idmap_ext {
	uint32_t ns_first, host_first, count;
};

struct rl_idmap_table {
	struct rl_idmap_ext ext[RL_MAP_EXTENTS];
	unsigned n;
};

struct rl_reg_entry {
	bool used;
	uint64_t cid;
	uid_t owner;
	pid_t init_pid;
	uint64_t userns_ino;
	char id[RL_ID_LEN];
	char name[RL_NAME_LEN];
	struct rl_idmap_table uid_map, gid_map;
	uint64_t lost_seen; /* events_lost already reported */
	long dead_since;    /* monotonic seconds since its init was seen gone; 0 alive */
	bool oom_handled;   /* it passed its memory cap and the agent killed it */
	struct rl_cg_limits cg; /* the limits its agent-made cgroups hold; 0s: none */
	uint64_t oom_kills_seen; /* the kernel's OOM kills in them already reported */
	uint32_t pressure_pct;  /* the mem_pressure threshold its cgroup is above */
	uint64_t at_limit_seen; /* the cgroup's charges at the limit already seen */
};

struct rl_registry {
	struct rl_reg_entry e[RL_MAX_CONTAINERS];
	uint64_t next_cid;
};

/* Host id -> the id inside (map_id_up), or RL_ID_UNMAPPED. */
uint32_t rl_idmap_up(const struct rl_idmap_table *t, uint32_t host);
/* Parses /proc/PID/uid_map text ("ns host count" lines). */
int rl_idmap_parse(const char *text, struct rl_idmap_table *t);

struct rl_reg_entry *rl_registry_find(struct rl_registry *r, uint64_t cid);
struct rl_reg_entry *rl_registry_find_id(struct rl_registry *r, const char *id);
struct rl_reg_entry *rl_registry_add(struct rl_registry *r);
size_t rl_registry_count_owner(const struct rl_registry *r, uid_t owner);
/* Reads the id maps of the process behind /proc dir fd procfd. */
int rl_registry_read_maps(int procfd, struct rl_reg_entry *e);
int rl_registry_save(const struct rl_registry *r);
/* Loads the saved table; entries whose init has gone or changed are dropped. */
void rl_registry_load(struct rl_registry *r);
