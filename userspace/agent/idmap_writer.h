/* IDMAP: rlbpfd writes a new user namespace's uid_map and gid_map for its
 * owner, checking what the setuid newuidmap and newgidmap check, so that
 * starting a container with subordinate ranges forks no setuid helper:
 * - the target is reached once, through a /proc/PID directory descriptor
 *   held for every check and both writes, so a pid that is reused
 *   meanwhile cannot be hit (a dead task's files answer ESRCH);
 * - the process is the caller's (its /proc directory's owner and group,
 *   newuidmap's own test), and so is its user namespace (NS_GET_OWNER_UID);
 * - that namespace is a child of the agent's own (the initial one): the
 *   kernel lets only its parent namespace write the maps;
 * - every line maps to the caller's own id (one id), or into one of the
 *   caller's ranges in /etc/subuid or /etc/subgid;
 * - a map already written stays: the kernel refuses a second write.
 * setgroups is left allowed for a gid map with a range, and denied for
 * one of the caller's own gid alone, as newgidmap does (CVE-2018-7169).
 * Messages are newuidmap's words. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "proto/agent_proto.h"

/* 0, or a negative errno with why: -EOPNOTSUPP when the agent cannot write
 * these maps at all (a nested user namespace), for the caller to run
 * newuidmap instead; -EPERM for a map newuidmap would refuse too. */
int rl_idmap_write(uid_t uid, gid_t gid, const struct rl_msg_idmap *m, char *why, size_t len);
