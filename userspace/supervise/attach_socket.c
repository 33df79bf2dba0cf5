#include "supervise/attach_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/pty.h"

/* The socket's address through an O_PATH descriptor of the state
 * directory (*dirfd, to close after the bind or connect): a state
 * directory's own path may be longer than an address can be. */
static int address(const char *state_dir, struct sockaddr_un *a, int *dirfd, struct rl_error *err)
{
	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	*dirfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return rl_fail_errno(err, errno, "cannot open %s", state_dir);
	snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/" RL_ATTACH_SOCKET, *dirfd);
	return 0;
}

int rl_attach_listen(const char *state_dir, struct rl_error *err)
{
	struct sockaddr_un a;
	_cleanup_close_ int dirfd = -1;
	if (address(state_dir, &a, &dirfd, err) < 0)
		return -ENOENT;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot create the attach socket");
	unlinkat(dirfd, RL_ATTACH_SOCKET, 0);
	/* The state directory is the user's alone (0700); the uid check at
	 * accept is the second wall. */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		int e = errno;
		close(fd);
		return rl_fail_errno(err, e, "cannot listen on %s/" RL_ATTACH_SOCKET, state_dir);
	}
	return fd;
}

bool rl_attach_serve(int listen_fd, int *stdin_fd, int pty_master)
{
	_cleanup_close_ int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct ucred peer;
	socklen_t len = sizeof(peer);
	int give = *stdin_fd >= 0 ? *stdin_fd : pty_master;
	if (c < 0 || give < 0)
		return give >= 0;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0 || peer.uid != geteuid())
		return true;
	if (rl_fd_send(c, give) == 0 && give == *stdin_fd) {
		close(*stdin_fd);
		*stdin_fd = -1;
	}
	return *stdin_fd >= 0 || pty_master >= 0;
}

int rl_attach_connect(const char *state_dir, int *fd, bool *tty, struct rl_error *err)
{
	struct sockaddr_un a;
	_cleanup_close_ int dirfd = -1;
	if (address(state_dir, &a, &dirfd, err) < 0)
		return -ENOENT;
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return rl_fail_errno(err, errno, "cannot create a socket");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return rl_fail_errno(err, errno, "the container takes no input");
	int got = rl_fd_recv(s);
	if (got < 0)
		return rl_fail(err, ECONNREFUSED, "the container's input was given to another attach");
	*fd = got;
	*tty = isatty(got);
	return 0;
}
