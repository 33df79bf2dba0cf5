#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	/* overlayfs leaves its work dir at mode 000; ours to open again. */
	if (type == FTW_DNR && chmod(path, 0700) == 0)
		return rl_remove_tree(path) < 0 ? EACCES : 0;
	bool dir = type == FTW_DP || type == FTW_DNR;
	int r = dir ? rmdir(path) : unlink(path);
	if (r < 0 && errno == EACCES) {
		/* A directory made read-only inside the container: ours to reopen. */
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", path);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			if (chmod(parent, 0700) == 0)
				r = dir ? rmdir(path) : unlink(path);
		}
	}
	return r < 0 && errno != ENOENT ? errno : 0;
}

int rl_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return r > 0 ? -r : (r < 0 ? -errno : 0);
}

int rl_write_file(const char *path, const void *data, size_t len, unsigned mode,
		  struct rl_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot write %s", path);
	for (const char *p = data; len > 0;) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return rl_fail_errno(err, n < 0 ? errno : EIO, "cannot write %s", path);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rl_read_file(const char *path, char *buf, size_t len, struct rl_error *err)
{
	if (len == 0)
		return rl_fail(err, EINVAL, "no room to read %s", path);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot read %s", path);
	size_t got = 0;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rl_fail_errno(err, errno, "cannot read %s", path);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (int)got;
}

int rl_open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Creates the last component of `path` (already known missing) inside its
 * parent, the parent resolved inside the root so no symlink leads out. */
static int create_leaf(int rootfd, char *path, bool as_file, struct rl_error *err)
{
	char *slash = strrchr(path, '/');
	const char *leaf = slash + 1;
	*slash = '\0';
	_cleanup_close_ int parent =
		rl_open_in_root(rootfd, path[0] ? path : "/", O_PATH | O_DIRECTORY);
	*slash = '/';
	if (parent < 0)
		return rl_fail_errno(err, -parent, "cannot open the parent of %s in the container",
				     path);
	int r;
	if (as_file) {
		r = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (r >= 0)
			close(r);
	} else {
		r = mkdirat(parent, leaf, 0755);
	}
	if (r < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create %s in the container", path);
	return 0;
}

int rl_create_in_root(int rootfd, const char *path, bool as_file, struct rl_error *err)
{
	char buf[PATH_MAX];
	if (path[0] != '/' || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return rl_fail(err, EINVAL, "bad container path: %s", path);
	size_t len = strlen(buf);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	/* Walk each prefix: resolve it in the root, create it when missing. */
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		bool last = buf[i] == '\0';
		char saved = buf[i];
		buf[i] = '\0';
		int fd = rl_open_in_root(rootfd, buf, O_PATH);
		if (fd == -ENOENT) {
			int r = create_leaf(rootfd, buf, last && as_file, err);
			if (r < 0)
				return r;
			fd = rl_open_in_root(rootfd, buf, O_PATH);
		}
		if (fd < 0)
			return rl_fail_errno(err, -fd, "cannot open %s in the container", buf);
		buf[i] = saved;
		if (last)
			return fd;
		close(fd);
	}
	return rl_open_in_root(rootfd, "/", O_PATH);
}

int rl_remove_tree_as_owner(const char *path, int userns_fd, struct rl_error *err)
{
	/* Most containers write nothing as other uids: try the cheap way first. */
	int r = rl_remove_tree(path);
	if (r == 0 || userns_fd < 0 || (r != -EACCES && r != -EPERM))
		return r < 0 ? rl_fail_errno(err, -r, "cannot remove %s", path) : 0;
	pid_t pid = fork();
	if (pid < 0)
		return rl_fail_errno(err, errno, "cannot remove %s", path);
	if (pid == 0) {
		/* As root of the container's namespace, every file in it is ours. */
		if (setns(userns_fd, CLONE_NEWUSER) < 0)
			_exit(1);
		_exit(rl_remove_tree(path) < 0 ? 2 : 0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	r = rl_remove_tree(path);
	return r < 0 ? rl_fail_errno(err, -r, "cannot remove %s", path) : 0;
}

FILE *rl_fopen_regular(const char *path)
{
	/* O_NONBLOCK: opening a FIFO planted by an image must not hang us. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	FILE *f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}
