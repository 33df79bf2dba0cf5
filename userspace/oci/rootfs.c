/* The container's filesystem from config.json (rootfs.h). Mount points are
 * created and opened inside the root with every component resolved there
 * (rl_create_in_root), and mounts go to /proc/self/fd/N of that handle: a
 * symlink planted in the rootfs cannot send a mount to the host. */
#include "oci/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

static void fd_path(int fd, char *out, size_t len)
{
	snprintf(out, len, "/proc/self/fd/%d", fd);
}

/* Whether the mount source is a file (then the mount point is one too). */
static bool source_is_file(const struct rl_oci_mount *m)
{
	struct stat sb;
	return m->bind && m->source && stat(m->source, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* A read-only bind or new flags on a bind need a remount: the first bind
 * takes none of them. In a user namespace the flags the source already has
 * (nosuid, nodev, noexec: locked by the kernel) must be kept. */
static int remount_bind(const char *target, unsigned long flags, struct rl_error *err,
			const char *what)
{
	unsigned long keep = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
				      MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
	if (!keep)
		return 0;
	struct statvfs sv;
	if (statvfs(target, &sv) == 0)
		keep |= (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0) |
			(sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | keep, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot remount %s with its options", what);
	return 0;
}

static int mount_one(int rootfd, const struct rl_oci_mount *m, struct rl_error *err)
{
	bool file = source_is_file(m);
	int fd = rl_create_in_root(rootfd, m->destination, file, err);
	if (fd < 0)
		return fd;
	_cleanup_close_ int dest = fd;
	char target[64];
	fd_path(dest, target, sizeof(target));
	int r;
	if (m->bind) {
		r = mount(m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL);
		if (r < 0)
			return rl_fail_errno(err, errno, "cannot bind-mount %s on %s", m->source,
					     m->destination);
		/* the bind is now what the O_PATH handle's path names */
		close(RL_TAKE_FD(dest));
		dest = rl_open_in_root(rootfd, m->destination, O_PATH);
		if (dest < 0)
			return rl_fail_errno(err, -dest, "cannot open %s after mounting it", m->destination);
		fd_path(dest, target, sizeof(target));
		if ((r = remount_bind(target, m->flags, err, m->destination)) < 0)
			return r;
	} else if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) {
		/* cgroup2 of the container's own cgroup namespace where the
		 * kernel allows it; else the host's hierarchy, read-only */
		r = strcmp(m->type, "cgroup2") == 0 || access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
			    ? mount("cgroup2", target, "cgroup2", m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT | PROPAGATION), NULL)
			    : -1;
		if (r < 0) {
			if (mount("/sys/fs/cgroup", target, NULL, MS_BIND | MS_REC, NULL) < 0)
				return rl_fail_errno(err, errno, "cannot mount the cgroup hierarchy on %s", m->destination);
			close(RL_TAKE_FD(dest));
			dest = rl_open_in_root(rootfd, m->destination, O_PATH);
			if (dest < 0)
				return rl_fail_errno(err, -dest, "cannot open %s after mounting it", m->destination);
			fd_path(dest, target, sizeof(target));
			if ((r = remount_bind(target, MS_RDONLY, err, m->destination)) < 0)
				return r;
		}
	} else {
		r = mount(m->source ? m->source : m->type, target, m->type,
			  m->flags & ~(MS_REMOUNT | MS_BIND | MS_REC | PROPAGATION), m->data);
		if (r < 0 && errno == EPERM && strcmp(m->type, "sysfs") == 0 &&
		    mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) == 0) {
			/* sysfs needs a network namespace of the caller's own
			 * user namespace: the host's, read-only, instead */
			close(RL_TAKE_FD(dest));
			dest = rl_open_in_root(rootfd, m->destination, O_PATH);
			if (dest < 0)
				return rl_fail_errno(err, -dest, "cannot open %s after mounting it", m->destination);
			fd_path(dest, target, sizeof(target));
			return remount_bind(target, MS_RDONLY, err, m->destination);
		}
		if (r < 0)
			return rl_fail_errno(err, errno, "cannot mount %s (%s) on %s",
					     m->source ? m->source : "-", m->type, m->destination);
	}
	if (!m->propagation)
		return 0;
	/* the handle was taken before the mount: the mount is what the path
	 * names now */
	close(RL_TAKE_FD(dest));
	dest = rl_open_in_root(rootfd, m->destination, O_PATH);
	if (dest < 0)
		return rl_fail_errno(err, -dest, "cannot open %s after mounting it", m->destination);
	fd_path(dest, target, sizeof(target));
	if (mount(NULL, target, NULL, m->propagation, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot set the propagation of %s", m->destination);
	return 0;
}

/* The devices every container has, as runc gives them. */
static const struct rl_oci_device default_devices[] = {
	{.type = 'c', .path = "/dev/null", .major = 1, .minor = 3, .mode = 0666, .has_mode = true},
	{.type = 'c', .path = "/dev/zero", .major = 1, .minor = 5, .mode = 0666, .has_mode = true},
	{.type = 'c', .path = "/dev/full", .major = 1, .minor = 7, .mode = 0666, .has_mode = true},
	{.type = 'c', .path = "/dev/random", .major = 1, .minor = 8, .mode = 0666, .has_mode = true},
	{.type = 'c', .path = "/dev/urandom", .major = 1, .minor = 9, .mode = 0666, .has_mode = true},
	{.type = 'c', .path = "/dev/tty", .major = 5, .minor = 0, .mode = 0666, .has_mode = true},
};

static int make_device(int rootfd, const struct rl_oci_device *d, bool host_root,
		       struct rl_error *err)
{
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t mode = d->has_mode ? d->mode & 07777 : 0666;
	/* the parent directories, inside the root */
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", d->path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int pfd = rl_create_in_root(rootfd, parent, false, err);
		if (pfd < 0)
			return pfd;
		close(pfd);
	}
	const char *rel = d->path + 1;
	if (host_root) {
		unlinkat(rootfd, rel, 0);
		if (mknodat(rootfd, rel, type | mode, makedev(d->major, d->minor)) == 0) {
			if (fchmodat(rootfd, rel, mode, 0) < 0 ||
			    fchownat(rootfd, rel, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
				     AT_SYMLINK_NOFOLLOW) < 0)
				return rl_fail_errno(err, errno, "cannot set the owner and mode of %s", d->path);
			return 0;
		}
		/* a user namespace of the container's own takes no mknod */
		if (errno != EPERM)
			return rl_fail_errno(err, errno, "cannot create device %s", d->path);
	}
	/* without CAP_MKNOD on the host: the host's own node, bind-mounted */
	int fd = rl_create_in_root(rootfd, d->path, true, err);
	if (fd < 0)
		return fd;
	char target[64];
	fd_path(fd, target, sizeof(target));
	int r = mount(d->path, target, NULL, MS_BIND, NULL);
	int e = errno;
	close(fd);
	return r < 0 ? rl_fail(err, e, "cannot bind-mount the host's %s: %s", d->path, strerror(e)) : 0;
}

static bool spec_has_device(const struct rl_oci_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_devices; i++)
		if (strcmp(s->devices[i].path, path) == 0)
			return true;
	return false;
}

static int make_devices(int rootfd, const struct rl_oci_spec *s, bool host_root,
			struct rl_error *err)
{
	int r;
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++)
		if (!spec_has_device(s, default_devices[i].path) &&
		    (r = make_device(rootfd, &default_devices[i], host_root, err)) < 0)
			return r;
	for (size_t i = 0; i < s->n_devices; i++)
		if ((r = make_device(rootfd, &s->devices[i], host_root, err)) < 0)
			return r;
	static const char *const links[][2] = {{"/proc/self/fd", "dev/fd"},
					       {"/proc/self/fd/0", "dev/stdin"},
					       {"/proc/self/fd/1", "dev/stdout"},
					       {"/proc/self/fd/2", "dev/stderr"}};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], rootfd, links[i][1]) < 0 && errno != EEXIST)
			return rl_fail_errno(err, errno, "cannot create /%s", links[i][1]);
	/* /dev/ptmx is the container's own devpts's, when it has one */
	struct stat sb;
	if (fstatat(rootfd, "dev/pts/ptmx", &sb, 0) == 0) {
		unlinkat(rootfd, "dev/ptmx", 0);
		if (symlinkat("pts/ptmx", rootfd, "dev/ptmx") < 0)
			return rl_fail_errno(err, errno, "cannot create /dev/ptmx");
	}
	return 0;
}

/* The mount that holds path: the longest mount point in mountinfo that is
 * a prefix of it. */
static int holding_mount(const char *path, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], best[PATH_MAX] = "";
	size_t best_len = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		size_t n = strlen(mnt);
		bool prefix = strcmp(mnt, "/") == 0 ||
			      (strncmp(path, mnt, n) == 0 && (path[n] == '/' || path[n] == '\0'));
		if (prefix && (n > best_len || !best[0])) {
			snprintf(best, sizeof(best), "%s", mnt);
			best_len = n;
		}
	}
	if (!best[0])
		return -ENOENT;
	snprintf(out, len, "%s", best);
	return 0;
}

int rl_oci_rootfs_prepare(const struct rl_oci_spec *s, bool host_root, struct rl_error *err)
{
	unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : MS_SLAVE | MS_REC;
	/* nothing mounted here reaches the host, whatever "/" was */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot set the propagation of /");
	/* pivot_root refuses a root whose parent mount is shared, and an
	 * unbindable one cannot be bound: the mount that holds the root is
	 * made private, in this mount namespace only, as runc does */
	char parent[PATH_MAX], holder[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", s->root);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (holding_mount(parent, holder, sizeof(holder)) == 0 &&
	    mount(NULL, holder, NULL, MS_PRIVATE, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot make %s private", holder);
	if (mount(s->root, s->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot bind-mount the root %s on itself", s->root);
	_cleanup_close_ int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return rl_fail_errno(err, errno, "cannot open the root %s", s->root);
	int r;
	for (size_t i = 0; i < s->n_mounts; i++)
		if ((r = mount_one(rootfd, &s->mounts[i], err)) < 0)
			return r;
	return make_devices(rootfd, s, host_root, err);
}

static int pivot(const char *root, struct rl_error *err)
{
	_cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0 || fchdir(newroot) < 0)
		return rl_fail_errno(err, errno, "cannot enter the root %s", root);
	/* the old root goes on top of the new one, and is then detached */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return rl_fail_errno(err, errno, "pivot_root into %s", root);
	if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return rl_fail_errno(err, errno, "cannot let go of the old root");
	return 0;
}

static int mask(const char *path, struct rl_error *err)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return errno == ENOENT ? 0 : rl_fail_errno(err, errno, "cannot mask %s", path);
	int r = S_ISDIR(sb.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k")
				    : mount("/dev/null", path, NULL, MS_BIND, NULL);
	return r < 0 ? rl_fail_errno(err, errno, "cannot mask %s", path) : 0;
}

static int make_readonly(const char *path, struct rl_error *err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : rl_fail_errno(err, errno, "cannot make %s read-only", path);
	return remount_bind(path, MS_RDONLY, err, path);
}

int rl_oci_rootfs_enter(const struct rl_oci_spec *s, struct rl_error *err)
{
	int r;
	if ((r = pivot(s->root, err)) < 0)
		return r;
	/* before the read-only paths: /proc/sys is usually one of them */
	for (size_t i = 0; i < s->n_sysctl; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/sys/%s", s->sysctl_keys[i]);
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		struct rl_error why = {0};
		if (rl_write_file(path, s->sysctl_values[i], strlen(s->sysctl_values[i]), 0644, &why) < 0)
			return rl_fail(err, why.code, "cannot set sysctl %s=%s: %s", s->sysctl_keys[i],
				       s->sysctl_values[i], why.msg);
	}
	for (size_t i = 0; i < s->n_readonly; i++)
		if ((r = make_readonly(s->readonly[i], err)) < 0)
			return r;
	for (size_t i = 0; i < s->n_masked; i++)
		if ((r = mask(s->masked[i], err)) < 0)
			return r;
	if (s->hostname && s->hostname[0] && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return rl_fail_errno(err, errno, "cannot set the hostname");
	if (s->domainname && s->domainname[0] && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return rl_fail_errno(err, errno, "cannot set the domain name");
	if (s->root_readonly)
		return remount_bind("/", MS_RDONLY, err, "the root");
	return 0;
}
