/* Creating the container: clone into new user, mount, pid, uts, ipc and net
 * namespaces, map ids, build the filesystem, drop privileges, exec. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"
#include "runtime/idmap.h"
#include "runtime/mounts.h"
#include "net/network.h"
#include "runtime/run_opts.h"
#include "runtime/seccomp.h"

struct rl_container_spec {
	const struct rl_run_opts *opts;
	const struct rl_idmap *idmap;
	struct rl_mount_plan mounts;
	const char *hostname;
	const char *user;    /* -u or the image's User; NULL: root */
	const char *workdir; /* -w or the image's WorkingDir; NULL: / */
	char **env;  /* NULL-terminated KEY=VALUE; HOME is added from passwd if absent */
	char **argv; /* the command, NULL-terminated, at least one word */
	uint64_t caps;
	struct rl_seccomp *seccomp;
	/* what the command reads when > 0 (a detached -i's pipe); else
	 * /dev/null when detached or without -i, or rlbpf's own */
	int stdin_fd;
	int stdout_fd, stderr_fd; /* where the command writes; -1: rlbpf's own */
	/* on_created: called once the container's init exists in its mapped
	 * namespaces, before it builds its filesystem; before_exec: while it
	 * does, and before it may exec the command. The agent is asked in the
	 * first and answers by the second, so that its limits and tracing hold
	 * from the command's first instruction. before_exec is called whenever
	 * on_created succeeded. A negative return fails the start. NULL:
	 * nothing to do. */
	int (*on_created)(pid_t pid, int userns_fd, void *ctx, struct rl_error *err);
	int (*before_exec)(void *ctx, struct rl_error *err);
	void *hooks_ctx;
};

struct rl_container {
	pid_t pid;      /* host pid of the container's PID 1 */
	int userns_fd;  /* keeps the user namespace to clean up its files later */
	int netns_fd;   /* its network namespace, for published ports; -1 with host */
	int pty_master; /* -t: the terminal's master side, else -1 */
	int exit_code;  /* when start fails: 125, 126 or 127 as Docker */
	struct rl_slirp slirp; /* --network slirp4netns: our child, pid -1 otherwise */
};

/* Returns 0 once the command has been exec'd, or a negative errno with err
 * set and c->exit_code telling the status to exit with. On failure no
 * process is left behind; userns_fd stays open for cleaning the state. */
int rl_container_start(const struct rl_container_spec *s, struct rl_container *c,
		       struct rl_error *err);

/* The last steps before exec, shared by a container's first process and by
 * `rlbpf exec`, run inside the container: resolve the user in its
 * /etc/passwd, attach stdio (tty_slave >= 0 with -t), drop privileges
 * (capabilities, seccomp from seccomp_fd if >= 0, no_new_privs), enter the
 * working directory and exec. Returns the exit code to report (125, 126 or
 * 127) when exec cannot be reached, with err saying why. */
int rl_container_exec(const struct rl_container_spec *s, int tty_slave, int seccomp_fd,
		      struct rl_error *err);

/* What a child tells its supervisor when it cannot reach exec. */
struct rl_child_report {
	int exit_code;
	char msg[sizeof(((struct rl_error *)0)->msg)];
};

/* --init: PID 1 stays ours, reaps every child and passes signals on to the
 * command; returns the command's wait status as an exit code. */
int rl_init_loop(pid_t command);
