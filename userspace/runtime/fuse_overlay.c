#include "runtime/fuse_overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "lib/cleanup.h"
#include "lib/pty.h"
#include "runtime/host_probe.h"
#include "runtime/mountinfo.h"

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

/* The server's whole view: the image at /lower, the state directory at
 * /state (upper/ and work/ on one mount: a copy-up renames from one to the
 * other), and /usr (with the top-level links into it) for the program and
 * its libraries. */
static const char *const system_dirs[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};

static int bind_at(const char *source, const char *root, const char *name, unsigned long rec)
{
	char target[PATH_MAX + 16];
	snprintf(target, sizeof(target), "%s/%s", root, name);
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return -1;
	return mount(source, target, NULL, MS_BIND | rec, NULL);
}

/* Builds the server's root on `sandbox` and enters it. The old root is
 * detached: a container process allowed to look into the server (one with
 * --cap-add ALL) finds the layers and /usr there, not the host. */
static int enter_sandbox(const char *sandbox, const char *lower, const char *state_dir,
			 bool outside)
{
	/* Not recursive: the sandbox itself is mounted in the state directory. */
	if (mount("tmpfs", sandbox, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k") < 0 ||
	    bind_at(lower, sandbox, "lower", MS_REC) < 0 || bind_at(state_dir, sandbox, "state", 0) < 0)
		return -1;
	/* The image stays untouched even by a container that can look in here. */
	char image[PATH_MAX + 16];
	snprintf(image, sizeof(image), "%s/lower", sandbox);
	struct rl_error ignored;
	int r = rl_remount_tree_readonly(image, &ignored);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		char host[16], link[PATH_MAX], at[PATH_MAX + 16];
		snprintf(host, sizeof(host), "/%s", system_dirs[i]);
		ssize_t n = readlink(host, link, sizeof(link) - 1);
		snprintf(at, sizeof(at), "%s/%s", sandbox, system_dirs[i]);
		if (n > 0) {
			link[n] = '\0';
			if (symlink(link, at) < 0)
				return -1;
		} else if (errno == EINVAL && bind_at(host, sandbox, system_dirs[i], MS_REC) < 0) {
			return -1;
		}
	}
	/* libfuse and fuse-overlayfs look in /proc/self. Outside the container's
	 * pid namespace a new procfs is refused to its user namespace: the
	 * helper keeps the /proc it has. */
	char proc[PATH_MAX + 16];
	snprintf(proc, sizeof(proc), "%s/proc", sandbox);
	if (outside && bind_at("/proc", sandbox, "proc", MS_REC) < 0)
		return -1;
	if (!outside && (mkdir(proc, 0555) < 0 ||
			 mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		return -1;
	if (chdir(sandbox) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -1;
	return 0;
}

/* The server: a mount namespace of its own, so that the container's
 * pivot_root and later mounts leave it alone and it sees no path through
 * the mount it serves; then fuse-overlayfs on the fd the container mounted.
 * Writes errno to `status` when it cannot exec. `outside`: started by the
 * helper, outside the container's pid namespace, where the merged
 * directory is not a mount. */
static void exec_server(const char *prog, const char *lower, const char *state_dir, bool no_sync,
			const char *merged, int fuse, int status, bool outside)
{
	int e = 0;
	/* Its own session: ^C on the container's terminal must not stop it. */
	setsid();
	/* Its chatter (options it ignores) is not the container's output; its
	 * errors stay in the state directory. */
	char log[PATH_MAX + 32];
	snprintf(log, sizeof(log), "%s/fuse-overlayfs.log", state_dir);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (null < 0 || logfd < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
		e = errno;
	/* The mount point, detached here, is where the sandbox is built. */
	if (!e && (unshare(CLONE_NEWNS) < 0 ||
		   mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		   (!outside && umount2(merged, MNT_DETACH) < 0) ||
		   enter_sandbox(merged, lower, state_dir, outside) < 0))
		e = errno;
	int keep = e ? -1 : fcntl(fuse, F_DUPFD, 10);
	if (!e && keep < 0)
		e = errno;
	if (!e) {
		char mountpoint[32];
		/* libfuse serves an fd the caller has mounted: "/dev/fd/N". */
		snprintf(mountpoint, sizeof(mountpoint), "/dev/fd/%d", keep);
		/* fsync=0 is the "volatile" of the kernel's overlay: no sync of
		 * an upper that is deleted at exit. */
		execl(prog, "fuse-overlayfs", "-f", "-o",
		      no_sync ? "lowerdir=/lower,upperdir=/state/upper,workdir=/state/work,fsync=0"
			      : "lowerdir=/lower,upperdir=/state/upper,workdir=/state/work",
		      mountpoint, (char *)NULL);
		e = errno;
	}
	if (write(status, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* ---- the helper: started by the supervisor before the container, so that
 * the server is neither in the container's pid namespace (where its init
 * would wait for it as for a child of its own, and `kill -9 -1` would take
 * the root away) nor in its cgroups (where memory pressure on the container
 * would stall the server the container's page faults wait for). */

static void helper_main(int sock, const char *prog, const char *lower, const char *state_dir,
			bool no_sync, const char *merged)
{
	/* a grandchild: the supervisor reaps the child at once and never
	 * meets the server among its children */
	pid_t pid = fork();
	if (pid != 0)
		_exit(pid < 0 ? 1 : 0);
	/* Nothing of the supervisor's stays open here: it waits for EOF on
	 * the container's setup channels, which a copy would hold back. */
	if (sock != 3 && dup2(sock, 3) < 0)
		_exit(1);
	sock = 3;
	close_range(4, ~0U, 0);
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	/* the container's /dev/fuse and user namespace; EOF: it needs none */
	int fuse = rl_fd_recv(sock);
	if (fuse < 0)
		_exit(0);
	int userns = rl_fd_recv(sock);
	int e = 0;
	if (userns < 0)
		e = -userns;
	else if (setns(userns, CLONE_NEWUSER) < 0)
		e = errno;
	if (e) {
		if (write(sock, &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(userns);
	exec_server(prog, lower, state_dir, no_sync, merged, fuse, sock, true);
}

bool rl_fuse_overlay_expected(void)
{
	if (rl_fuse_overlay_forced())
		return true;
	struct utsname u;
	/* overlayfs in a user namespace came in 5.11 */
	return uname(&u) == 0 && !rl_kernel_at_least(u.release, 5, 11);
}

int rl_fuse_helper_start(const char *lower, const char *state_dir, bool no_sync)
{
	char prog[PATH_MAX], merged[PATH_MAX];
	if (!rl_fuse_overlay_find(prog, sizeof(prog)))
		return -1; /* the container says so when it needs it */
	snprintf(merged, sizeof(merged), "%s/rootfs", state_dir);
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sp[1]);
		helper_main(sp[0], prog, lower, state_dir, no_sync, merged);
	}
	close(sp[0]);
	if (pid < 0 || waitpid(pid, NULL, 0) < 0) {
		close(sp[1]);
		return -1;
	}
	return sp[1];
}

/* The container's half: hands its /dev/fuse and user namespace to the
 * helper; EOF means fuse-overlayfs is running. */
static int serve_by_helper(int helper, int fuse, const char *prog, struct rl_error *err)
{
	_cleanup_close_ int userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	int r = userns < 0 ? -errno : rl_fd_send(helper, fuse);
	if (r == 0)
		r = rl_fd_send(helper, userns);
	if (r < 0)
		return rl_fail_errno(err, -r, "cannot hand the root to fuse-overlayfs's helper");
	int e = 0;
	ssize_t n = read(helper, &e, sizeof(e));
	if (n < 0)
		return rl_fail_errno(err, errno, "lost fuse-overlayfs's helper");
	if (n == (ssize_t)sizeof(e))
		return rl_fail_errno(err, e, "cannot start fuse-overlayfs (%s)", prog);
	return 0;
}

int rl_fuse_overlay_mount(const char *lower, const char *state_dir, const char *merged,
			  bool no_sync, int helper, struct rl_error *err)
{
	char prog[PATH_MAX];
	if (!rl_fuse_overlay_find(prog, sizeof(prog)))
		return rl_fail(err, ENOENT,
			       "this kernel cannot mount overlayfs in a user namespace (5.11+) and fuse-overlayfs is not installed; install fuse-overlayfs (sudo apt-get install fuse-overlayfs)");
	_cleanup_close_ int fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		return rl_fail_errno(err, errno,
				     "fuse-overlayfs cannot open /dev/fuse in the container's user namespace (it needs mode 0666)");
	/* Mounted here, so that it is in the container's mount namespace;
	 * served from the fd. allow_other: the container's other users;
	 * default_permissions: the kernel checks modes, as on overlayfs. */
	char data[160];
	snprintf(data, sizeof(data),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions", fuse);
	if (mount("fuse-overlayfs", merged, "fuse.fuse-overlayfs", MS_NODEV, data) < 0)
		return rl_fail_errno(err, errno, "cannot mount fuse-overlayfs on %s", merged);
	if (helper >= 0) {
		int r = serve_by_helper(helper, fuse, prog, err);
		if (r < 0)
			umount2(merged, MNT_DETACH);
		return r;
	}
	/* No helper (a kernel of 5.11 or later whose overlayfs refused the
	 * layers): the server runs in the container, a child of its init. */
	int status[2];
	if (pipe2(status, O_CLOEXEC) < 0) {
		int e = errno;
		umount2(merged, MNT_DETACH);
		return rl_fail_errno(err, e, "cannot start fuse-overlayfs");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(status[0]);
		exec_server(prog, lower, state_dir, no_sync, merged, fuse, status[1], false);
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
