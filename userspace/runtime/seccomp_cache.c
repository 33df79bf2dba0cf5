#include "runtime/seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/filter.h>

#include "lib/cleanup.h"
#include "lib/paths.h"

#define MAX_PROGRAM (BPF_MAXINSNS * sizeof(struct sock_filter))

static int cache_dir(char *buf, size_t len)
{
	char run[PATH_MAX - 64];
	struct rl_error ignored;
	if (rl_runtime_dir(run, sizeof(run), &ignored) < 0)
		return -1;
	int n = snprintf(buf, len, "%s/seccomp", run);
	if (n < 0 || (size_t)n >= len || (mkdir(buf, 0700) < 0 && errno != EEXIST))
		return -1;
	return 0;
}

int rl_seccomp_cache_key(uint64_t caps, char *key, size_t len)
{
	struct utsname u;
	struct stat self;
	if (uname(&u) < 0 || stat("/proc/self/exe", &self) < 0)
		return -1;
	int n = snprintf(key, len, "default-%016llx-%s-%llx-%llx-%llx-%lx",
			 (unsigned long long)caps, u.release, (unsigned long long)self.st_dev,
			 (unsigned long long)self.st_ino, (unsigned long long)self.st_size,
			 (long)self.st_mtim.tv_sec);
	/* a release is a file name's worth of anything but '/' */
	for (char *p = key; n > 0 && *p; p++)
		if (*p == '/')
			*p = '_';
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int rl_seccomp_cache_send(const char *key, int fd)
{
	char dir[PATH_MAX - 256], path[PATH_MAX];
	if (cache_dir(dir, sizeof(dir)) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	_cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > MAX_PROGRAM || st.st_size % sizeof(struct sock_filter))
		return 0;
	_cleanup_free_ char *prog = malloc((size_t)st.st_size);
	if (!prog || read(in, prog, (size_t)st.st_size) != st.st_size)
		return 0;
	int r = write_all(fd, prog, (size_t)st.st_size);
	return r < 0 ? r : 1;
}

int rl_seccomp_cache_store(const char *key, int (*export)(void *ctx, int fd), void *ctx)
{
	char dir[PATH_MAX - 256], path[PATH_MAX], tmp[PATH_MAX + 16];
	if (cache_dir(dir, sizeof(dir)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -1;
	int r = export(ctx, out);
	if (close(out) < 0 || r < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
