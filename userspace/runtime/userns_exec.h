/* Running a program inside a fresh user namespace with the caller's full
 * mapping, as `podman unshare` does: uid/gid 0 is the caller, 1..N the
 * caller's /etc/subuid and /etc/subgid range (only 0 when there is none).
 * There, as root of the namespace, the program can create, chown and remove
 * files owned by the subordinate ids: unpacking images, removing what a
 * container wrote. */
#pragma once
#include "lib/error.h"

/* Runs argv[0] (a full path) as uid 0 / gid 0 of a new user namespace, with
 * no supplementary groups, stdin on /dev/null, stdout and stderr captured,
 * PATH=/usr/sbin:/usr/bin:/sbin:/bin and LC_ALL=C as its environment, and
 * the caller's working directory. It is killed if the caller dies.
 *
 * Returns 0 when it exits 0. Otherwise a negative errno, and err holds the
 * first line the program printed (rlbpf's helpers print one line that says
 * everything), or "ARGV0 failed in a user namespace (exit status N)" when
 * it printed nothing. */
int rl_userns_exec(char *const argv[], struct rl_error *err);

/* Removes a tree whose files belong to the caller's subordinate ids, from
 * inside such a namespace (plainly when the caller has a single-id map). */
int rl_userns_remove_tree(const char *path, struct rl_error *err);
