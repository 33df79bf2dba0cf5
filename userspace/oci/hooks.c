/* OCI hooks (hooks.h). */
#include "oci/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int run_one(const struct rl_oci_hook *h, const char *kind, const char *state_json,
		   struct rl_error *err)
{
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "%s hook %s: cannot make its stdin", kind, h->path);
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return rl_fail_errno(err, errno, "%s hook %s: cannot start it", kind, h->path);
	}
	if (pid == 0) {
		dup2(in[0], 0);
		char *fallback[] = {h->path, NULL};
		char *empty[] = {NULL};
		execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : empty);
		fprintf(stderr, "%s hook %s: %s\n", kind, h->path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	/* a hook that does not read its stdin must not block us */
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	(void)!write(in[1], state_json, strlen(state_json));
	close(in[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int status = 0;
	if (h->timeout > 0 && pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		if (poll(&p, 1, h->timeout * 1000) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pidfd);
			return rl_fail(err, ETIMEDOUT, "%s hook %s: still running after %d s: killed", kind,
				       h->path, h->timeout);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rl_fail_errno(err, errno, "%s hook %s: lost it", kind, h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		return rl_fail(err, ECHILD, "%s hook %s: killed by signal %d", kind, h->path, WTERMSIG(status));
	return rl_fail(err, ECHILD, "%s hook %s: exit status %d", kind, h->path, WEXITSTATUS(status));
}

int rl_oci_hooks_run(const struct rl_oci_hooks *hooks, const char *kind, const char *state_json,
		     struct rl_error *err)
{
	for (size_t i = 0; i < hooks->n; i++) {
		int r = run_one(&hooks->h[i], kind, state_json, err);
		if (r < 0)
			return r;
	}
	return 0;
}
