/* `rlbpf run` options: parsed and validated before anything is created. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/error.h"
#include "net/netspec.h"
#include "runtime/resource_limits.h"

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

/* --pull: when run and create fetch the image from a registry. */
enum rl_pull_policy { RL_PULL_MISSING, RL_PULL_ALWAYS, RL_PULL_NEVER };

struct rl_run_opts {
	bool rm, interactive, tty, init, read_only, no_new_privileges, detach;
	unsigned short tty_rows, tty_cols; /* --tty-size; 0: the caller's terminal's */
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
	enum rl_net_mode network;
	bool allow_host_loopback; /* slirp4netns:allow_host_loopback=true */
	struct rl_port *ports;
	size_t n_ports;
	struct rl_limits limits; /* --memory, --memory-enforce, --pids-limit, --cpus */
	enum rl_pull_policy pull;
	char *platform;        /* --platform OS/ARCH[/VARIANT], for the pull */
	bool tls_insecure;     /* --tls-verify=false, for the pull */
	char *image;           /* ROOTFS-DIR or IMAGE */
	int image_arg;         /* its index in argv */
	char *entrypoint;      /* --entrypoint: replaces the image's (""
				* clears it); the image's Cmd is then unused */
	char **cmd;            /* COMMAND [ARG...], NULL-terminated; may be empty */
	size_t n_cmd;
};

/* Parses argv (argv[0] is "run"). Returns 0, or a negative errno with err set
 * to a one-line message that names the bad option and how to fix it. */
int rl_run_opts_parse(int argc, char **argv, struct rl_run_opts *o, struct rl_error *err);
void rl_run_opts_free(struct rl_run_opts *o);

/* One -p value; 0 or -EINVAL with err naming the value and the syntax. */
int rl_port_parse(const char *arg, struct rl_port *p, struct rl_error *err);
/* One --network value into o->network and o->allow_host_loopback. */
int rl_network_parse(const char *arg, struct rl_run_opts *o, struct rl_error *err);
void rl_run_usage(FILE *out);
