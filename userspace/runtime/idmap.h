/* User-namespace id mapping: container 0 -> the caller, 1..N -> the caller's
 * /etc/subuid and /etc/subgid range, written with newuidmap/newgidmap; or a
 * single-id map when there is no range. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "lib/subid.h"


struct rl_idmap {
	uid_t uid; /* the caller, container root */
	gid_t gid;
	bool single; /* no subordinate range: only 0 is mapped */
	struct rl_id_range subuid, subgid;
};

/* Plans the caller's map. Never fails for a missing range: sets single. */
int rl_idmap_plan(struct rl_idmap *m, struct rl_error *err);

/* Writes the map for the process `pid` (a child just cloned with
 * CLONE_NEWUSER and waiting): runs newuidmap and newgidmap in parallel, or
 * writes a single-id map (with setgroups denied) itself. */
int rl_idmap_apply(const struct rl_idmap *m, pid_t pid, struct rl_error *err);

/* The same with the connection to rlbpfd, which writes the map when it
 * runs, made ahead: a start connects before its clone, so that the map
 * costs the container one round trip. rl_idmap_connect returns NULL when
 * the map needs no agent or there is none (the helpers write it then). */
struct rl_agent_conn;
struct rl_agent_conn *rl_idmap_connect(const struct rl_idmap *m);
int rl_idmap_apply_on(const struct rl_idmap *m, struct rl_agent_conn *agent, pid_t pid,
		      struct rl_error *err);
void rl_idmap_disconnect(struct rl_agent_conn *agent);

/* Host id for a container id, or (uid_t)-1 when unmapped. */
uid_t rl_idmap_host_uid(const struct rl_idmap *m, uid_t container_uid);
gid_t rl_idmap_host_gid(const struct rl_idmap *m, gid_t container_gid);
