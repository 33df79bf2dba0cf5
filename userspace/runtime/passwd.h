/* Resolves `-u USER[:GROUP]` against the container's own /etc/passwd and
 * /etc/group, as Docker does: numbers need no entry, names do. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

#define RL_MAX_GROUPS 64

struct rl_user {
	uid_t uid;
	gid_t gid;
	char home[256];
	gid_t groups[RL_MAX_GROUPS]; /* supplementary groups of a named user */
	size_t n_groups;
};

/* spec NULL means root. Files that are missing count as empty. */
int rl_user_resolve(const char *spec, const char *passwd_path, const char *group_path,
		    struct rl_user *out, struct rl_error *err);

/* The name a container's passwd (its contents, as rl_container_file_read
 * gives them) has for uid, into name, printable ASCII only (anything else
 * '?'); false when no entry names uid. For `rlbpf top` and `rlbpf trace`. */
bool rl_passwd_name(const char *passwd, uid_t uid, char *name, size_t len);
