#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/paths.h"

int rl_fd_above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	errno = e;
	return moved;
}

int rl_helper_start(struct rl_helper *h, char *const argv[], char *const envp[],
		    struct rl_error *err)
{
	*h = (struct rl_helper){.pid = -1, .out = -1};
	_cleanup_close_ int devnull = rl_fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int p[2];
	if (devnull < 0 || pipe2(p, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot prepare to run %s", argv[0]);
	_cleanup_close_ int rd = rl_fd_above_stdio(p[0]);
	_cleanup_close_ int wr = rl_fd_above_stdio(p[1]);
	if (rd < 0 || wr < 0)
		return rl_fail_errno(err, errno, "cannot prepare to run %s", argv[0]);
	pid_t pid = fork();
	if (pid < 0)
		return rl_fail_errno(err, errno, "cannot start %s", argv[0]);
	if (pid == 0) {
		if (dup2(devnull, 0) < 0 || dup2(wr, 1) < 0 || dup2(wr, 2) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	h->pid = pid;
	h->out = RL_TAKE_FD(rd);
	return 0;
}

void rl_helper_finish(struct rl_helper *h)
{
	size_t len = 0;
	for (;;) {
		char sink[256];
		bool keep = len < sizeof(h->text) - 1;
		ssize_t n = keep ? read(h->out, h->text + len, sizeof(h->text) - 1 - len)
				 : read(h->out, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			len += (size_t)n;
	}
	h->text[len] = '\0';
	snprintf(h->msg, sizeof(h->msg), "%.255s", h->text);
	close(h->out);
	h->out = -1;
	len = strcspn(h->msg, "\n");
	while (len > 0 && (h->msg[len - 1] == ' ' || h->msg[len - 1] == '\r'))
		len--;
	h->msg[len] = '\0';
	while (waitpid(h->pid, &h->status, 0) < 0 && errno == EINTR)
		;
	h->pid = -1;
}

bool rl_helper_ok(const struct rl_helper *h)
{
	return WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0;
}

void rl_helper_describe(const struct rl_helper *h, char *buf, size_t len)
{
	if (WIFEXITED(h->status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(h->status));
	else if (WIFSIGNALED(h->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(h->status));
	else
		snprintf(buf, len, "wait status %#x", (unsigned)h->status);
}

int rl_run_helper(char *const argv[], struct rl_error *err)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	struct rl_helper h;
	int r = rl_helper_start(&h, argv, envp, err);
	if (r < 0)
		return r;
	rl_helper_finish(&h);
	if (rl_helper_ok(&h))
		return 0;
	char how[48];
	rl_helper_describe(&h, how, sizeof(how));
	return rl_fail(err, EIO, "%s failed (%s)%s%s", argv[0], how, h.msg[0] ? ": " : "", h.msg);
}

int rl_libexec_path(const char *name, char *buf, size_t len, struct rl_error *err)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "libexec/rlbpf/%s", name);
	int r = rl_install_path(rel, buf, len, err);
	if (r == 0 && access(buf, X_OK) < 0)
		return rl_fail_errno(err, errno, "rlbpf's helper %s is missing; reinstall rlbpf", buf);
	return r;
}
