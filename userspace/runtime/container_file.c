#include "runtime/container_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* Opens path through /proc/PID/root: a regular file, or -errno. */
static int open_through_root(pid_t pid, const char *path)
{
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	int fd = rl_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int read_all(int fd, size_t max, char **out)
{
	size_t len = 0;
	_cleanup_free_ char *buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, max - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || (len += (size_t)n) == max)
			break;
	}
	buf[len] = '\0';
	*out = RL_TAKE(buf);
	return 0;
}

/* The child: in the container's user namespace, the file to the pipe. */
static void read_as_container(pid_t pid, const char *path, int pipe_w)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
	int userns = open(ns, O_RDONLY | O_CLOEXEC);
	if (userns < 0 || setns(userns, CLONE_NEWUSER) < 0)
		_exit(1);
	int fd = open_through_root(pid, path);
	if (fd < 0)
		_exit(1);
	char buf[16384];
	for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;)
		if (write(pipe_w, buf, (size_t)n) != n)
			_exit(1);
	_exit(0);
}

int rl_container_file_read(pid_t pid, const char *path, size_t max, char **out)
{
	*out = NULL;
	int fd = open_through_root(pid, path);
	if (fd >= 0) {
		int r = read_all(fd, max, out);
		close(fd);
		return r;
	}
	if (fd != -EACCES)
		return fd;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		read_as_container(pid, path, p[1]);
	}
	close(p[1]);
	int r = child < 0 ? -errno : read_all(p[0], max, out);
	close(p[0]);
	int status = 0;
	/* its read end closed: a file longer than max ends it by SIGPIPE */
	if (child > 0)
		waitpid(child, &status, 0);
	bool whole = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	bool cut = WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE;
	if (r == 0 && !whole && !cut) {
		free(*out);
		*out = NULL;
		r = -EACCES;
	}
	return r;
}
