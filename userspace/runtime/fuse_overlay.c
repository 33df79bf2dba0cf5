#include "runtime/fuse_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"

bool rl_fuse_overlay_find(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/bin:/usr/local/bin", env ? env : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		if (snprintf(path, len, "%s/fuse-overlayfs", d) < (int)len && access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* The child: its own mount namespace, then fuse-overlayfs serving the fd
 * the container mounted. Writes errno to `status` when it cannot exec. */
static void exec_server(const char *prog, const char *opts, const char *merged, int fuse,
			int status)
{
	int e = 0;
	/* Its own session: ^C on the container's terminal must not stop it. */
	setsid();
	/* A mount namespace of its own: the container's pivot_root and later
	 * mounts leave its root alone, and it sees no path through the mount
	 * it serves. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    umount2(merged, MNT_DETACH) < 0)
		e = errno;
	int keep = e ? -1 : fcntl(fuse, F_DUPFD, 10);
	if (!e && keep < 0)
		e = errno;
	/* It prints the layers on stdout, which belongs to the container. */
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (!e && null >= 0)
		dup2(null, STDOUT_FILENO);
	if (!e) {
		char mountpoint[32];
		/* libfuse serves an fd the caller has mounted: "/dev/fd/N". */
		snprintf(mountpoint, sizeof(mountpoint), "/dev/fd/%d", keep);
		execl(prog, "fuse-overlayfs", "-f", "-o", opts, mountpoint, (char *)NULL);
		e = errno;
	}
	if (write(status, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

int rl_fuse_overlay_mount(const char *lower, const char *upper, const char *work,
			  const char *merged, bool no_sync, struct rl_error *err)
{
	char prog[PATH_MAX];
	if (!rl_fuse_overlay_find(prog, sizeof(prog)))
		return rl_fail(err, ENOENT,
			       "this kernel cannot mount overlayfs in a user namespace (5.11+) and fuse-overlayfs is not installed; install fuse-overlayfs (sudo apt-get install fuse-overlayfs)");
	_cleanup_close_ int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		return rl_fail_errno(err, errno,
				     "fuse-overlayfs cannot open /dev/fuse in the container's user namespace (it needs mode 0666)");
	char opts[3 * PATH_MAX + 64];
	/* fsync=0 is the "volatile" of the kernel's overlay: no sync of an
	 * upper that is deleted at exit. */
	if (snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s%s", lower, upper,
		     work, no_sync ? ",fsync=0" : "") >= (int)sizeof(opts))
		return rl_fail(err, ENAMETOOLONG, "fuse-overlayfs options too long");
	/* Mounted here, so that it is in the container's mount namespace;
	 * served from the fd. allow_other: the container's other users;
	 * default_permissions: the kernel checks modes, as on overlayfs. */
	char data[160];
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", fuse);
	if (mount("fuse-overlayfs", merged, "fuse.fuse-overlayfs", MS_NODEV, data) < 0)
		return rl_fail_errno(err, errno, "cannot mount fuse-overlayfs on %s", merged);
	int status[2];
	if (pipe2(status, O_CLOEXEC) < 0) {
		int e = errno;
		umount2(merged, MNT_DETACH);
		return rl_fail_errno(err, e, "cannot start fuse-overlayfs");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(status[0]);
		exec_server(prog, opts, merged, fuse, status[1]);
	}
	int e = pid < 0 ? errno : 0;
	close(status[1]);
	if (pid > 0 && read(status[0], &e, sizeof(e)) != sizeof(e))
		e = 0; /* EOF: it execs */
	close(status[0]);
	if (e) {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		umount2(merged, MNT_DETACH);
		return rl_fail_errno(err, e, "cannot start fuse-overlayfs (%s)", prog);
	}
	/* Our copy of the fd closed: if the server dies, the container's
	 * file accesses fail instead of waiting for it. */
	return 0;
}

bool rl_fuse_overlay_forced(void)
{
	const char *v = getenv("RLBPF_OVERLAY");
	return v && strcmp(v, "fuse") == 0;
}
