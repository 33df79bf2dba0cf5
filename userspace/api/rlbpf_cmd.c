/* The routes that change containers run this installation's rlbpf, as
 * the user would: one implementation of create, start, stop and rm. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"

#define SELF_SUFFIX "/libexec/rlbpf/rlbpf-api"

int rl_api_rlbpf_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t s = sizeof(SELF_SUFFIX) - 1;
	if (n <= (ssize_t)s)
		return -1;
	self[n] = '\0';
	if (strcmp(self + n - s, SELF_SUFFIX) != 0)
		return -1;
	self[n - s] = '\0';
	return snprintf(buf, len, "%s/bin/rlbpf", self) < (int)len ? 0 : -1;
}

void rl_api_child_defaults(void)
{
	close_range(3, ~0U, 0);
	/* the service ignores SIGPIPE, and may have been started with SIGINT
	 * ignored (a shell's background job): what it runs gets the defaults,
	 * and passes them on to the containers it starts. Unblocked after, so
	 * that a signal held pending over the fork meets the defaults. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int rl_api_rlbpf(char *const args[], char *out, size_t out_len, char *why, size_t why_len)
{
	char path[PATH_MAX], err[4096];
	int po[2], pe[2];
	size_t no = 0, ne = 0;
	out[0] = why[0] = '\0';
	if (rl_api_rlbpf_path(path, sizeof(path)) < 0) {
		snprintf(why, why_len, "cannot find the rlbpf command beside rlbpf-api");
		return 125;
	}
	if (pipe2(po, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "cannot create a pipe: %s", strerror(errno));
		return 125;
	}
	if (pipe2(pe, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "cannot create a pipe: %s", strerror(errno));
		close(po[0]);
		close(po[1]);
		return 125;
	}
	size_t n_args = 0;
	while (args[n_args])
		n_args++;
	char **argv = calloc(n_args + 2, sizeof(*argv));
	pid_t pid = argv ? fork() : -1;
	int fork_errno = errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
			_exit(125);
		rl_api_child_defaults();
		argv[0] = "rlbpf";
		memcpy(argv + 1, args, n_args * sizeof(*argv));
		execv(path, argv);
		_exit(127);
	}
	free(argv);
	close(po[1]);
	close(pe[1]);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		snprintf(why, why_len, "cannot run rlbpf: %s", strerror(fork_errno ? fork_errno : ENOMEM));
		return 125;
	}
	struct pollfd p[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	while (pid > 0 && (p[0].fd >= 0 || p[1].fd >= 0)) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			char *buf = i ? err : out;
			size_t *used = i ? &ne : &no, cap = i ? sizeof(err) : out_len;
			char scratch[1024];
			ssize_t r = *used + 1 < cap ? read(p[i].fd, buf + *used, cap - 1 - *used)
						    : read(p[i].fd, scratch, sizeof(scratch));
			if (r > 0 && *used + 1 < cap)
				*used += (size_t)r;
			else if (r == 0 || (r < 0 && errno != EINTR)) {
				close(p[i].fd);
				p[i].fd = -1;
			}
		}
	}
	out[no] = err[ne] = '\0';
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	trim(out);
	trim(err);
	/* its last line says what went wrong */
	const char *last = strrchr(err, '\n');
	snprintf(why, why_len, "%s", last ? last + 1 : err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
