/* Running helper programs (rlbpf's own, and the setuid uidmap tools):
 * stdin on /dev/null, stdout and stderr captured, first line kept for the
 * error message. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

struct rl_helper {
	pid_t pid;
	int out;       /* read end of its stdout+stderr */
	int status;    /* wait status once finished */
	char msg[256]; /* first line of its output */
	char text[2048]; /* its output, the first 2 KiB of it */
};

/* Moves an fd off 0-2 (closing the original), so that a child's dup2 onto
 * stdio cannot clobber it; returns the new fd, or -1. */
int rl_fd_above_stdio(int fd);

/* Starts argv[0] (a full path) with the environment envp. The child only
 * calls dup2, execve and _exit: everything is prepared before fork. */
int rl_helper_start(struct rl_helper *h, char *const argv[], char *const envp[],
		    struct rl_error *err);

/* Reads its output to the end (so it never blocks on a full pipe), keeps
 * the first line, and reaps it. */
void rl_helper_finish(struct rl_helper *h);

bool rl_helper_ok(const struct rl_helper *h);

/* "exit status 1", "killed by signal 9": how a finished helper ended. */
void rl_helper_describe(const struct rl_helper *h, char *buf, size_t len);

/* Start, finish, and turn a failure into "NAME failed (how): first line". */
int rl_run_helper(char *const argv[], struct rl_error *err);

/* Path of a helper installed in ../libexec/rlbpf next to the executable. */
int rl_libexec_path(const char *name, char *buf, size_t len, struct rl_error *err);
