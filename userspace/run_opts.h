/* `rlbpf run` options: parsed and validated before anything is created. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

struct rl_volume {
	char *host;      /* absolute host path, must exist */
	char *container; /* absolute path inside the container */
	bool read_only;
};

enum rl_seccomp_mode {
	RL_SECCOMP_DEFAULT,    /* rlbpf's built-in profile (Docker's blocks) */
	RL_SECCOMP_UNCONFINED, /* --security-opt seccomp=unconfined */
	RL_SECCOMP_PROFILE,    /* --security-opt seccomp=PROFILE.json */
};

struct rl_run_opts {
	bool rm, interactive, tty, init, read_only, no_new_privileges, detach;
	char *name;     /* --name, validated [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	char *hostname; /* -h */
	char *workdir;  /* -w, absolute */
	char *user;     /* -u UID[:GID] or NAME[:GROUP], resolved in the rootfs */
	char **env;     /* -e KEY=VALUE (KEY alone takes the caller's value) */
	size_t n_env;
	struct rl_volume *volumes;
	size_t n_volumes;
	char **cap_add, **cap_drop; /* as given; resolved by caps.c */
	size_t n_cap_add, n_cap_drop;
	enum rl_seccomp_mode seccomp;
	char *seccomp_profile; /* path when RL_SECCOMP_PROFILE */
	char *image;           /* ROOTFS-DIR or IMAGE */
	char **cmd;            /* COMMAND [ARG...], NULL-terminated; may be empty */
	size_t n_cmd;
};

/* Parses argv (argv[0] is "run"). Returns 0, or a negative errno with err set
 * to a one-line message that names the bad option and how to fix it. */
int rl_run_opts_parse(int argc, char **argv, struct rl_run_opts *o, struct rl_error *err);
void rl_run_opts_free(struct rl_run_opts *o);
void rl_run_usage(FILE *out);
