#include "supervise/detach.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "supervise/attach_socket.h"
#include "supervise/logfile.h"
#include "supervise/supervise.h"

int rl_supervise_logged(pid_t pid, struct rl_detached_io *io, const struct rl_poll_hook *hook)
{
	sigset_t set;
	rl_supervise_signals(&set);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct rl_log_stream out = {.name = "stdout"}, errs = {.name = "stderr"};
	/* A terminal's output is one stream, shown as stdout, as Docker does. */
	int fds[2] = {io->pty_master >= 0 ? io->pty_master : io->out_fd, io->err_fd};
	int logfd = io->logfd;
	struct rl_log_stream *streams[2] = {&out, &errs};
	int status = 0;
	bool exited = false;

	while (!exited || fds[0] >= 0 || fds[1] >= 0) {
		struct pollfd p[4] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = fds[0], .events = POLLIN},
			{.fd = fds[1], .events = POLLIN},
			{.fd = exited ? -1 : io->attach_fd, .events = POLLIN},
		};
		/* After the exit, what is still in the pipes is drained. */
		int n = rl_supervise_poll(p, 4, exited ? NULL : hook, exited ? 100 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (exited && n == 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (!p[i + 1].revents)
				continue;
			char buf[8192];
			ssize_t got = read(fds[i], buf, sizeof(buf));
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				rl_log_flush(logfd, streams[i]);
				fds[i] = -1;
				continue;
			}
			rl_log_append(logfd, streams[i], buf, (size_t)got);
		}
		if (p[3].revents && !rl_attach_serve(io->attach_fd, &io->stdin_fd, io->pty_master)) {
			close(io->attach_fd);
			io->attach_fd = -1;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGCHLD) {
			if (!exited && waitpid(pid, &status, WNOHANG) == pid)
				exited = true;
			/* who connects now would wait on a socket nobody serves */
			if (exited && io->attach_fd >= 0) {
				close(io->attach_fd);
				io->attach_fd = -1;
			}
		} else if (si.ssi_signo != SIGWINCH && si.ssi_signo != SIGPIPE && !exited) {
			kill(pid, (int)si.ssi_signo);
		}
	}
	rl_log_flush(logfd, &out);
	rl_log_flush(logfd, &errs);
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
