#include "supervise/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/pty.h"

void rl_supervise_signals(sigset_t *set)
{
	sigemptyset(set);
	static const int sigs[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				   SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
}

static int exit_code_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Copies what is there from one fd to another; 0 at EOF or error. */
static ssize_t pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 1 : 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = to, .events = POLLOUT};
			poll(&p, 1, -1);
			continue;
		}
		if (w <= 0)
			return 0;
		off += w;
	}
	return n;
}

int rl_supervise_poll(struct pollfd *own, size_t n_own, const struct rl_poll_hook *hook,
		      int timeout)
{
	struct pollfd all[4 + RL_POLL_HOOK_MAX];
	if (n_own > 4)
		n_own = 4;
	memcpy(all, own, n_own * sizeof(*own));
	size_t n_hook = 0;
	if (hook) {
		n_hook = hook->fill(hook->ctx, all + n_own, RL_POLL_HOOK_MAX);
		int t = hook->timeout(hook->ctx);
		if (t >= 0 && (timeout < 0 || t < timeout))
			timeout = t;
	}
	int n = poll(all, n_own + n_hook, timeout);
	memcpy(own, all, n_own * sizeof(*own));
	if (hook && n >= 0)
		hook->handle(hook->ctx, all + n_own, n_hook);
	/* Only the caller's own events count for it. */
	int mine = 0;
	for (size_t i = 0; n > 0 && i < n_own; i++)
		mine += own[i].revents != 0;
	return n < 0 ? n : mine;
}

int rl_supervise(pid_t pid, int pty_master, bool interactive, const struct rl_poll_hook *hook)
{
	sigset_t set;
	rl_supervise_signals(&set);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);

	struct termios saved;
	bool raw = pty_master >= 0 && interactive && isatty(0) && rl_term_raw(0, &saved) == 0;
	if (pty_master >= 0)
		rl_pty_copy_winsize(isatty(0) ? 0 : 1, pty_master);
	bool stdin_open = pty_master >= 0 && interactive;
	bool master_open = pty_master >= 0;
	int status = 0;
	bool exited = false;

	while (!exited || master_open) {
		struct pollfd fds[3] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = master_open ? pty_master : -1, .events = POLLIN},
			{.fd = stdin_open ? 0 : -1, .events = POLLIN},
		};
		/* After the exit, only drain what the terminal still holds. */
		int n = rl_supervise_poll(fds, 3, exited ? NULL : hook, exited ? 100 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (exited && n == 0)
			break;
		if (fds[1].revents && pump(pty_master, 1) == 0)
			master_open = false;
		if (fds[2].revents && pump(0, pty_master) == 0) {
			stdin_open = false;
			/* End of input reaches the program as the terminal's EOF. */
			char eof = 4;
			(void)!write(pty_master, &eof, 1);
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			if (!exited && waitpid(pid, &status, WNOHANG) == pid)
				exited = true;
			break;
		case SIGWINCH:
			if (pty_master >= 0)
				rl_pty_copy_winsize(isatty(0) ? 0 : 1, pty_master);
			break;
		case SIGPIPE:
			break;
		default:
			if (!exited)
				kill(pid, (int)si.ssi_signo);
		}
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (raw)
		rl_term_restore(0, &saved);
	return exit_code_of(status);
}
