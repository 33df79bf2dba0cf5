/* Runs an exec's process for the service: its stdio on a pseudo-terminal
 * or on pipes, relayed to the hijacked socket, and reaped whatever the
 * client does. */
#include "api/exec_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "api/api.h"
#include "api/log_reader.h"
#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/pty.h"
#include "lib/spawn.h"

#define CHUNK (32 * 1024)
/* After the exit: what a terminal still holds arrives within this, and a
 * background process that keeps a pipe open gets no more than these. */
#define DRAIN_WAIT_MS 100
#define DRAIN_READS 256

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A new fd of ours: close-on-exec, above stdio (the child's dup2 onto 0-2
 * cannot clobber it), non-blocking when the relay reads or writes it. */
static int ours(int fd, bool nonblocking)
{
	fd = rl_fd_above_stdio(fd);
	if (fd >= 0 && nonblocking)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* A pipe: the process's end into *theirs, ours into *mine. */
static int stdio_pipe(bool to_process, int *theirs, int *mine)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*theirs = ours(to_process ? p[0] : p[1], false);
	*mine = ours(to_process ? p[1] : p[0], true);
	return *theirs < 0 || *mine < 0 ? -EMFILE : 0;
}

static int terminal(const struct rl_exec_stdio *how, struct rl_exec_io *io, int child[3],
		    struct rl_error *err)
{
	int master, slave;
	if (rl_pty_open("/dev/ptmx", &master, &slave, err) < 0)
		return -err->code;
	io->term = ours(master, true);
	child[0] = ours(slave, false);
	struct termios saved;
	if (io->term < 0 || child[0] < 0 || rl_term_raw(child[0], &saved) < 0)
		return rl_fail_errno(err, errno, "cannot set up the exec's terminal");
	if (how->rows && how->cols) {
		struct winsize ws = {.ws_row = how->rows, .ws_col = how->cols};
		ioctl(io->term, TIOCSWINSZ, &ws);
	}
	child[1] = fcntl(child[0], F_DUPFD_CLOEXEC, 3);
	child[2] = fcntl(child[0], F_DUPFD_CLOEXEC, 3);
	io->out = fcntl(io->term, F_DUPFD_CLOEXEC, 3);
	io->in = how->in ? fcntl(io->term, F_DUPFD_CLOEXEC, 3) : -1;
	if (child[1] < 0 || child[2] < 0 || io->out < 0 || (how->in && io->in < 0))
		return rl_fail_errno(err, errno, "cannot set up the exec's terminal");
	return 0;
}

static int pipes(const struct rl_exec_stdio *how, struct rl_exec_io *io, int child[3],
		 struct rl_error *err)
{
	_cleanup_close_ int null = ours(open("/dev/null", O_RDWR | O_CLOEXEC), false);
	bool wanted[3] = {how->in, how->out, how->err};
	int *mine[3] = {&io->in, &io->out, &io->err};
	for (int fd = 0; fd < 3; fd++) {
		int r = 0;
		if (wanted[fd])
			r = stdio_pipe(fd == 0, &child[fd], mine[fd]);
		else if (null < 0 || (child[fd] = fcntl(null, F_DUPFD_CLOEXEC, 3)) < 0)
			r = -errno;
		if (r < 0)
			return rl_fail_errno(err, -r, "cannot set up the exec's stdio");
	}
	return 0;
}

int rl_exec_spawn(const char *path, char *const argv[], const struct rl_exec_stdio *how,
		  struct rl_exec_io *io, struct rl_error *err)
{
	*io = (struct rl_exec_io){.pid = -1, .pidfd = -1, .term = -1, .in = -1, .out = -1, .err = -1};
	int child[3] = {-1, -1, -1}; /* the process's stdin, stdout, stderr */
	int r = how->tty ? terminal(how, io, child, err) : pipes(how, io, child, err);
	/* A hangup sent before the exec must meet the default dispositions,
	 * not the service's (SIGHUP ignored under nohup): blocked over the
	 * fork, it stays pending until the child has reset them. */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	pid_t pid = r == 0 ? fork() : -1;
	if (pid != 0)
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (pid == 0) {
		/* only what is safe between fork and exec in a threaded program */
		if (how->tty && (setsid() < 0 || ioctl(child[0], TIOCSCTTY, 0) < 0))
			_exit(RL_EXIT_INTERNAL);
		for (int fd = 0; fd < 3; fd++)
			if (dup2(child[fd], fd) < 0)
				_exit(RL_EXIT_INTERNAL);
		rl_api_child_defaults();
		execv(path, argv);
		_exit(RL_EXIT_NOT_FOUND);
	}
	if (r == 0 && pid < 0)
		r = rl_fail_errno(err, errno, "cannot start rlbpf exec");
	for (int fd = 0; fd < 3; fd++)
		close_fd(&child[fd]);
	if (pid > 0 && (io->pidfd = pidfd_open(pid, 0)) < 0) {
		r = rl_fail_errno(err, errno, "cannot watch rlbpf exec");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (r < 0) {
		for (int *fd[] = {&io->term, &io->in, &io->out, &io->err}, i = 0; i < 4; i++)
			close_fd(fd[i]);
		return r;
	}
	io->pid = pid;
	return 0;
}

/* Reads what *fd has and sends it to sock (-1: nowhere): false when the
 * client is gone. *fd is closed at its end (a terminal's: EIO). */
static bool forward(int *fd, int sock, bool tty, bool is_stderr)
{
	char data[CHUNK], frame[8 + CHUNK];
	ssize_t n = read(*fd, data, sizeof(data));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		close_fd(fd);
		return true;
	}
	if (sock < 0)
		return true;
	if (tty)
		return rl_api_send_all(sock, data, (size_t)n);
	struct rl_log_record rec = {.is_stderr = is_stderr, .partial = true, .text = data,
				    .len = (size_t)n};
	size_t len = rl_log_frame(&rec, false, frame, sizeof(frame));
	return rl_api_send_all(sock, frame, len);
}

/* The client is gone: nothing more goes to the process, which is hung up
 * on as a terminal's would be, and killed if it does not end. */
static void hang_up(struct rl_exec_io *io, int *sock, long long *kill_at, int grace_s)
{
	*sock = -1;
	close_fd(&io->in);
	kill(io->pid, SIGHUP);
	*kill_at = now_ms() + grace_s * 1000LL;
}

int rl_exec_relay(struct rl_exec_io *io, int sock, const char *early, size_t early_len, bool tty,
		  int grace_s)
{
	char in[CHUNK];
	const char *pending = early; /* what the process is still to get */
	size_t in_len = io->in >= 0 ? early_len : 0, in_off = 0;
	bool reading = sock >= 0; /* until the client's half-close */
	long long kill_at = 0;
	bool exited = false;
	while (!exited) {
		struct pollfd p[5] = {
			{.fd = sock, .events = reading && !in_len ? POLLIN : 0},
			{.fd = in_len ? io->in : -1, .events = POLLOUT},
			{.fd = io->out, .events = POLLIN},
			{.fd = io->err, .events = POLLIN},
			{.fd = io->pidfd, .events = POLLIN},
		};
		long long left = kill_at ? kill_at - now_ms() : -1;
		if (poll(p, 5, kill_at ? (int)(left > 0 ? left : 0) : -1) < 0 && errno != EINTR)
			break;
		if (kill_at && now_ms() >= kill_at) {
			kill(io->pid, SIGKILL);
			kill_at = 0;
		}
		exited = p[4].revents != 0;
		bool gone = false;
		if (p[0].revents & POLLIN) {
			ssize_t n = read(sock, in, sizeof(in));
			if (n > 0 && io->in >= 0) {
				pending = in;
				in_len = (size_t)n;
				in_off = 0;
			} else if (n == 0) {
				reading = false;
				close_fd(&io->in); /* the end of the client's stdin is the process's */
			} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
				gone = true;
			}
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			gone = true;
		}
		if (p[1].revents) {
			ssize_t w = write(io->in, pending + in_off, in_len - in_off);
			if (w > 0 && (in_off += (size_t)w) == in_len)
				in_len = 0;
			else if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* it closed its stdin: the rest of the client's is dropped */
				in_len = 0;
				close_fd(&io->in);
			}
		}
		if (p[2].revents && !forward(&io->out, sock, tty, false))
			gone = true;
		if (p[3].revents && !forward(&io->err, sock, tty, true))
			gone = true;
		if (gone && sock >= 0) {
			reading = false;
			in_len = 0;
			hang_up(io, &sock, &kill_at, grace_s);
		}
	}
	for (int i = 0; i < DRAIN_READS && (io->out >= 0 || io->err >= 0); i++) {
		struct pollfd p[2] = {{.fd = io->out, .events = POLLIN},
				      {.fd = io->err, .events = POLLIN}};
		if (poll(p, 2, DRAIN_WAIT_MS) <= 0)
			break;
		if ((p[0].revents && !forward(&io->out, sock, tty, false)) ||
		    (p[1].revents && !forward(&io->err, sock, tty, true)))
			sock = -1;
	}
	int status = 0;
	while (waitpid(io->pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int *fd[] = {&io->in, &io->out, &io->err, &io->pidfd}, i = 0; i < 4; i++)
		close_fd(fd[i]);
	io->pid = -1;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
