#include "lib/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"

/* Our own walk rather than nftw: unlinkat() first, and a type from the
 * directory entry, cost a removal one system call a file where nftw spent
 * two or three, on the path of every `run --rm`. */

/* Opens directory name in dir for emptying: overlayfs leaves its work dir
 * at mode 000, ours to open again. */
static int open_dir_at(int dir, const char *name)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dir, name, 0700, 0) == 0)
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* unlinkat, and once more after making dir writable: a directory made
 * read-only inside the container is ours to reopen. */
static int unlink_at(int dir, const char *name, int flags)
{
	if (unlinkat(dir, name, flags) == 0 || errno == ENOENT)
		return 0;
	if ((errno == EACCES || errno == EPERM) && fchmod(dir, 0700) == 0 &&
	    (unlinkat(dir, name, flags) == 0 || errno == ENOENT))
		return 0;
	return -errno;
}

/* Empties directory dir, on device dev: an entry on another device (a
 * mount point) is not entered. 0, or the first negative errno. */
static int empty_dir(int dir, dev_t dev, int depth)
{
	int keep = dup(dir);
	DIR *d = keep < 0 ? NULL : fdopendir(keep);
	int first = 0;
	if (!d) {
		if (keep >= 0)
			close(keep);
		return -errno;
	}
	for (struct dirent *e; (e = readdir(d));) {
		const char *n = e->d_name;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		bool is_dir = e->d_type == DT_DIR;
		struct stat st;
		if (e->d_type == DT_UNKNOWN)
			is_dir = fstatat(dir, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		int r = 0;
		if (is_dir) {
			_cleanup_close_ int sub = open_dir_at(dir, n);
			if (sub < 0)
				r = -errno;
			else if (fstat(sub, &st) < 0)
				r = -errno;
			else if (st.st_dev != dev)
				r = -EBUSY; /* a mount point: left alone */
			else if (depth >= 512)
				r = -ELOOP;
			else
				r = empty_dir(sub, dev, depth + 1);
		}
		if (r == 0)
			r = unlink_at(dir, n, is_dir ? AT_REMOVEDIR : 0);
		if (r < 0 && first == 0)
			first = r;
	}
	closedir(d);
	return first;
}

int rl_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	_cleanup_close_ int fd = open_dir_at(AT_FDCWD, path);
	if (fd < 0)
		return -errno;
	int r = empty_dir(fd, st.st_dev, 0);
	if (r < 0)
		return r;
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
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

void rl_cloexec_from(unsigned first)
{
	if (close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || fd < (long)first || fd == dirfd(d))
			continue;
		fcntl((int)fd, F_SETFD, fcntl((int)fd, F_GETFD) | FD_CLOEXEC);
	}
	if (d)
		closedir(d);
}
