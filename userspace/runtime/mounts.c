#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/fuse_overlay.h"
#include "runtime/mountinfo.h"

#define FD_PATH_LEN 32

static void fd_path(char buf[FD_PATH_LEN], int fd)
{
	snprintf(buf, FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

/* Sets or clears mount attributes on a whole tree; bind mounts do not take
 * MS_RDONLY at creation, and a recursive bind needs every submount changed. */
static int set_tree_attr(const char *target, unsigned long long set, struct rl_error *err)
{
	struct mount_attr attr = {.attr_set = set};
	if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return 0;
	/* Before 5.12 there is no mount_setattr: remount each mount. */
	if (errno == ENOSYS && set == MOUNT_ATTR_RDONLY)
		return rl_remount_tree_readonly(target, err);
	return rl_fail_errno(err, errno, "cannot make %s read-only", target);
}

/* Bind-mounts `source` onto `path` inside the new root (created there if
 * missing, resolved inside it). */
static int bind_into(int rootfd, const char *source, const char *path, bool read_only,
		     struct rl_error *err)
{
	struct stat st;
	if (stat(source, &st) < 0)
		return rl_fail_errno(err, errno, "cannot bind-mount %s", source);
	_cleanup_close_ int target = rl_create_in_root(rootfd, path, !S_ISDIR(st.st_mode), err);
	if (target < 0)
		return target;
	char where[FD_PATH_LEN];
	fd_path(where, target);
	if (mount(source, where, NULL, MS_BIND | MS_REC, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot bind-mount %s to %s", source, path);
	if (!read_only)
		return 0;
	/* The fd still names the directory under the new mount; reopen it. */
	_cleanup_close_ int mounted = rl_create_in_root(rootfd, path, !S_ISDIR(st.st_mode), err);
	if (mounted < 0)
		return mounted;
	fd_path(where, mounted);
	return set_tree_attr(where, MOUNT_ATTR_RDONLY, err);
}

static int mount_in(int rootfd, const char *path, const char *fstype, unsigned long flags,
		    const char *data, struct rl_error *err)
{
	_cleanup_close_ int target = rl_create_in_root(rootfd, path, false, err);
	if (target < 0)
		return target;
	char where[FD_PATH_LEN];
	fd_path(where, target);
	if (mount(fstype, where, fstype, flags, data) < 0)
		return rl_fail_errno(err, errno, "cannot mount %s on %s", fstype, path);
	return 0;
}

static int mount_fuse_overlay(const struct rl_mount_plan *p, const char *merged,
			      int fuse_helper, struct rl_error *err)
{
	return rl_fuse_overlay_mount(p->lower, p->state_dir, merged, p->discard_upper, fuse_helper,
				     err);
}

static int mount_overlay(const struct rl_mount_plan *p, const char *merged, int fuse_helper,
			 struct rl_error *err)
{
	/* The legacy option string cannot quote these characters. */
	if (strpbrk(p->lower, ",:\\") || strpbrk(p->state_dir, ",:\\"))
		return rl_fail(err, EINVAL,
			       "paths with ',' ':' or '\\' cannot be overlay layers: %s; move the rootfs or set XDG_RUNTIME_DIR",
			       strpbrk(p->lower, ",:\\") ? p->lower : p->state_dir);
	char opts[3 * PATH_MAX];
	if (snprintf(opts, sizeof(opts),
		     "lowerdir=%s,upperdir=%s/upper,workdir=%s/work,userxattr,volatile", p->lower,
		     p->state_dir, p->state_dir) >= (int)sizeof(opts))
		return rl_fail(err, ENAMETOOLONG, "overlay options too long");
	if (rl_fuse_overlay_forced())
		return mount_fuse_overlay(p, merged, fuse_helper, err);
	/* An upper layer that is deleted at exit needs no durability: "volatile"
	 * spares the sync of the whole upper filesystem (a journal commit and
	 * a disk flush) that unmounting the overlay would otherwise do as the
	 * container's last process exits. Kernels before 5.10 lack it. */
	int r = -1;
	if (p->discard_upper)
		r = mount("overlay", merged, "overlay", MS_NODEV, opts);
	if (r < 0 && (!p->discard_upper || errno == EINVAL)) {
		opts[strlen(opts) - strlen(",volatile")] = '\0';
		r = mount("overlay", merged, "overlay", MS_NODEV, opts);
	}
	if (r == 0)
		return 0;
	/* Before 5.11 the kernel refuses overlayfs in a user namespace (EPERM);
	 * fuse-overlayfs gives the same root from the same directories. */
	if (errno == EPERM || errno == ENODEV)
		return mount_fuse_overlay(p, merged, fuse_helper, err);
	return rl_fail_errno(err, errno,
			     "cannot mount the overlay root (lower %s); check 'rlbpf setup'",
			     p->lower);
}

static int setup_dev(int rootfd, const struct rl_mount_plan *p, struct rl_error *err)
{
	int r = mount_in(rootfd, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME,
			 "mode=755,size=65536k", err);
	if (r < 0)
		return r;
	/* A user namespace cannot mknod devices: bind the host's harmless ones. */
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char host[64], ctr[64];
		snprintf(host, sizeof(host), "/dev/%s", nodes[i]);
		snprintf(ctr, sizeof(ctr), "/dev/%s", nodes[i]);
		if ((r = bind_into(rootfd, host, ctr, false, err)) < 0)
			return r;
	}
	const char *pts_opts = p->tty_group ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
					    : "newinstance,ptmxmode=0666,mode=0620";
	if ((r = mount_in(rootfd, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, pts_opts, err)) < 0)
		return r;
	if ((r = mount_in(rootfd, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=1777,size=65536k", err)) < 0)
		return r;
	if ((r = mount_in(rootfd, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			  err)) < 0)
		return r;
	static const char *const links[][2] = {
		{"pts/ptmx", "ptmx"},	    {"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
	};
	_cleanup_close_ int dev = rl_create_in_root(rootfd, "/dev", false, err);
	if (dev < 0)
		return dev;
	char where[FD_PATH_LEN];
	fd_path(where, dev);
	_cleanup_close_ int devdir = open(where, O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; devdir >= 0 && i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], devdir, links[i][1]) < 0 && errno != EEXIST)
			return rl_fail_errno(err, errno, "cannot create /dev/%s", links[i][1]);
	return devdir < 0 ? rl_fail_errno(err, errno, "cannot open /dev in the container") : 0;
}

/* Docker hides these from containers: kernel memory, keys, timers, and
 * knobs that reach the host. */
static int mask_proc_and_sys(int rootfd, struct rl_error *err)
{
	static const char *const hidden_files[] = {
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/latency_stats", "/proc/sysrq-trigger",
	};
	static const char *const hidden_dirs[] = {"/proc/acpi", "/proc/scsi", "/sys/firmware"};
	static const char *const read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"};
	char where[FD_PATH_LEN];
	/* Only what exists is masked; the lists cover several kernels. */
	for (size_t i = 0; i < sizeof(hidden_files) / sizeof(hidden_files[0]); i++) {
		_cleanup_close_ int fd = rl_open_in_root(rootfd, hidden_files[i], O_PATH);
		if (fd < 0)
			continue;
		fd_path(where, fd);
		if (mount("/dev/null", where, NULL, MS_BIND, NULL) < 0)
			return rl_fail_errno(err, errno, "cannot mask %s", hidden_files[i]);
	}
	for (size_t i = 0; i < sizeof(hidden_dirs) / sizeof(hidden_dirs[0]); i++) {
		_cleanup_close_ int fd = rl_open_in_root(rootfd, hidden_dirs[i], O_PATH);
		if (fd < 0)
			continue;
		fd_path(where, fd);
		if (mount("tmpfs", where, "tmpfs", MS_RDONLY, "size=0") < 0)
			return rl_fail_errno(err, errno, "cannot mask %s", hidden_dirs[i]);
	}
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		_cleanup_close_ int fd = rl_open_in_root(rootfd, read_only[i], O_PATH);
		if (fd < 0)
			continue;
		fd_path(where, fd);
		if (mount(where, where, NULL, MS_BIND | MS_REC, NULL) < 0)
			return rl_fail_errno(err, errno, "cannot bind %s", read_only[i]);
		/* The old fd names what lies under the new bind; reopen. */
		_cleanup_close_ int again = rl_open_in_root(rootfd, read_only[i], O_PATH);
		if (again < 0)
			return rl_fail_errno(err, -again, "cannot reopen %s", read_only[i]);
		fd_path(where, again);
		int r = set_tree_attr(where, MOUNT_ATTR_RDONLY, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int rl_mounts_prepare(const struct rl_mount_plan *p, int fuse_helper, struct rl_error *err)
{
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot make the mount namespace private");
	char merged[PATH_MAX];
	snprintf(merged, sizeof(merged), "%s/rootfs", p->state_dir);
	int r = mount_overlay(p, merged, fuse_helper, err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open(merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return rl_fail_errno(err, errno, "cannot open the container root %s", merged);

	if ((r = mount_in(rootfd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err)) < 0)
		return r;
	if ((r = setup_dev(rootfd, p, err)) < 0)
		return r;
	/* sysfs may be mounted because the container owns its network namespace. */
	if (mount_in(rootfd, "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		     err) < 0 &&
	    (r = bind_into(rootfd, "/sys", "/sys", true, err)) < 0)
		return r;
	if ((r = mask_proc_and_sys(rootfd, err)) < 0)
		return r;

	static const char *const etc_files[] = {"hostname", "hosts", "resolv.conf"};
	for (size_t i = 0; i < sizeof(etc_files) / sizeof(etc_files[0]); i++) {
		char host[PATH_MAX], ctr[64];
		snprintf(host, sizeof(host), "%s/%s", p->state_dir, etc_files[i]);
		snprintf(ctr, sizeof(ctr), "/etc/%s", etc_files[i]);
		if ((r = bind_into(rootfd, host, ctr, false, err)) < 0)
			return r;
	}
	/* Volumes last, so that one mounted over /etc or /dev wins, as in Docker. */
	for (size_t i = 0; i < p->n_volumes; i++)
		if ((r = bind_into(rootfd, p->volumes[i].host, p->volumes[i].container,
				   p->volumes[i].read_only, err)) < 0)
			return r;
	return 0;
}

int rl_mounts_pivot(const struct rl_mount_plan *p, struct rl_error *err)
{
	char merged[PATH_MAX];
	snprintf(merged, sizeof(merged), "%s/rootfs", p->state_dir);
	if (chdir(merged) < 0)
		return rl_fail_errno(err, errno, "cannot enter %s", merged);
	/* pivot_root(".", ".") stacks the old root under the new one; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return rl_fail_errno(err, errno, "pivot_root into %s failed", merged);
	if (umount2(".", MNT_DETACH) < 0)
		return rl_fail_errno(err, errno, "cannot detach the host's root");
	if (chdir("/") < 0)
		return rl_fail_errno(err, errno, "cannot enter the new root");
	if (p->read_only && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot make the root read-only");
	return 0;
}
