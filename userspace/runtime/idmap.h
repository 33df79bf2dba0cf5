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

/* Host id for a container id, or (uid_t)-1 when unmapped. */
uid_t rl_idmap_host_uid(const struct rl_idmap *m, uid_t container_uid);
gid_t rl_idmap_host_gid(const struct rl_idmap *m, gid_t container_gid);
