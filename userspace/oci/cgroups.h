/* The cgroups at linux.cgroupsPath, made by the runtime itself when it may:
 * as the host's root on a cgroup v1 hierarchy, as runc makes them. A
 * rootless runtime may make none: its limits go to rlbpfd (agent.h). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "oci/spec.h"

/* Whether this call makes the cgroups itself: the host's root, cgroup v1,
 * and a cgroupsPath or resources to keep. */
bool rl_oci_cgroups_own(const struct rl_oci_spec *s);

/* Makes the cgroups, writes linux.resources into them and moves pid in.
 * *made gets the directories made, for delete (a JSON array). */
int rl_oci_cgroups_apply(const struct rl_oci_spec *s, pid_t pid, json_t **made,
			 struct rl_error *err);

/* Opens the cgroup.procs of each of the container's cgroups, for exec,
 * before it leaves the host's mounts: a -1-terminated array (NULL on
 * failure, with err). rl_oci_cgroups_join moves pid in through them (pid 0:
 * none, on a failure before the fork) and closes them. */
int *rl_oci_cgroups_open(json_t *made, struct rl_error *err);
int rl_oci_cgroups_join(int *procs, pid_t pid, struct rl_error *err);

/* Removes the directories apply made, once nothing is left in them. */
void rl_oci_cgroups_remove(json_t *made);

/* pause and resume: the freezer of the cgroups apply made (v1's freezer
 * hierarchy, or v2's cgroup.freeze), waited on until the kernel says it
 * holds. EOPNOTSUPP when the container has none: a rootless one. */
int rl_oci_cgroups_freeze(json_t *made, bool frozen, struct rl_error *err);
bool rl_oci_cgroups_frozen(json_t *made);

/* update --resources: res (linux.resources' shape) written into the
 * cgroups apply made, with apply's checks and units. */
int rl_oci_cgroups_update(json_t *made, json_t *res, struct rl_error *err);
