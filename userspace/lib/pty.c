#include "lib/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int rl_pty_open(const char *ptmx_path, int *master, int *slave, struct rl_error *err)
{
	int m = open(ptmx_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return rl_fail_errno(err, errno, "cannot open %s for -t", ptmx_path);
	if (unlockpt(m) < 0) {
		int e = errno;
		close(m);
		return rl_fail_errno(err, e, "cannot unlock the pseudo-terminal");
	}
	/* TIOCGPTPEER opens the peer through the master, without a path lookup. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return rl_fail_errno(err, e, "cannot open the pseudo-terminal's peer");
	}
	*master = m;
	*slave = s;
	return 0;
}

int rl_fd_send(int sock, int fd)
{
	char byte = 'F';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int rl_fd_recv(int sock)
{
	char byte;
	int fd = rl_fd_recv_or(sock, &byte, 1);
	return fd == -EBADMSG ? -EPROTO : fd;
}

int rl_term_raw(int fd, struct termios *saved)
{
	if (tcgetattr(fd, saved) < 0)
		return -errno;
	struct termios raw = *saved;
	cfmakeraw(&raw);
	return tcsetattr(fd, TCSANOW, &raw) < 0 ? -errno : 0;
}

void rl_term_restore(int fd, const struct termios *saved)
{
	tcsetattr(fd, TCSANOW, saved);
}

void rl_pty_copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

int rl_fd_recv_or(int sock, void *other, size_t len)
{
	struct iovec iov = {.iov_base = other, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int))) {
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		return fd;
	}
	return (size_t)n == len ? -EBADMSG : -EPROTO;
}
