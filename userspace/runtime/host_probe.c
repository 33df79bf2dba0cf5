#include "runtime/host_probe.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "proto/agent_client.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/paths.h"
#include "lib/userdb.h"
#include "runtime/fuse_overlay.h"
#include "runtime/mountinfo.h"

static const char *const default_helper_dirs[] = {"/usr/bin", "/bin", "/usr/sbin", NULL};

const struct rl_host_paths rl_host_paths_default = {
	.proc_sys = "/proc/sys",
	.cgroup_root = "/sys/fs/cgroup",
	.mountinfo = "/proc/self/mountinfo",
	.self_cgroup = "/proc/self/cgroup",
	.filesystems = "/proc/filesystems",
	.modules_dir = "/lib/modules",
	.btf_vmlinux = "/sys/kernel/btf/vmlinux",
	.tun = "/dev/net/tun",
	.subuid = "/etc/subuid",
	.subgid = "/etc/subgid",
	.agent_socket = RL_AGENT_SOCKET,
	.helper_dirs = default_helper_dirs,
	.dev_fuse = "/dev/fuse",
	.try_overlay_mount = true,
};

/* snprintf that reports truncation as an error instead of a wrong path. */
static int fmt_path(char *buf, size_t len, struct rl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fmt_path(char *buf, size_t len, struct rl_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return rl_fail(err, ENAMETOOLONG, "path too long: %s...", buf);
	return 0;
}

/* Human words into a fixed buffer: a cut-off message beats no message, so
 * truncation is accepted here (and only here). */
static void words(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void words(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- parsers */

int rl_sysctl_read(const char *proc_sys, const char *name, long *out, struct rl_error *err)
{
	char path[PATH_MAX];
	int r = fmt_path(path, sizeof(path), err, "%s/%s", proc_sys, name);
	if (r < 0)
		return r;
	/* The dotted name is the path under /proc/sys with dots as slashes. */
	for (char *p = path + strlen(proc_sys) + 1; *p; p++)
		if (*p == '.')
			*p = '/';

	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return rl_fail(err, ENOENT, "sysctl %s does not exist on this kernel", name);
		return rl_fail_errno(err, errno, "cannot read sysctl %s (%s)", name, path);
	}
	char buf[64];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f))
		return rl_fail_errno(err, EIO, "cannot read sysctl %s (%s)", name, path);
	buf[n] = '\0';

	char *end = NULL;
	errno = 0;
	long v = strtol(buf, &end, 10);
	if (end == buf || errno == ERANGE)
		return rl_fail(err, EINVAL, "sysctl %s holds '%.20s', not an integer", name, buf);
	while (*end == ' ' || *end == '\n' || *end == '\t')
		end++;
	if (*end != '\0')
		return rl_fail(err, EINVAL, "sysctl %s holds more than one integer", name);
	*out = v;
	return 0;
}

int rl_fs_listed(const char *filesystems, const char *fs, bool *out, struct rl_error *err)
{
	*out = false;
	_cleanup_fclose_ FILE *f = fopen(filesystems, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", filesystems);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	/* Lines are "nodev\tNAME" or "\tNAME": the name is the last field. */
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\n")] = '\0';
		char *name = strrchr(line, '\t');
		name = name ? name + 1 : line;
		name += strspn(name, " ");
		if (strcmp(name, fs) == 0) {
			*out = true;
			return 0;
		}
	}
	if (ferror(f))
		return rl_fail_errno(err, EIO, "cannot read %s", filesystems);
	return 0;
}

bool rl_kernel_at_least(const char *release, int major, int minor)
{
	int ma, mi;
	if (sscanf(release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

int rl_mountinfo_find(const char *mountinfo, const char *fstype, char *mnt, size_t len,
		      struct rl_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", mountinfo);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *field[RL_MOUNTINFO_FIELDS];
		if (!rl_mountinfo_split(line, field) || strcmp(field[6], fstype) != 0)
			continue;
		if (snprintf(mnt, len, "%s", field[4]) >= (int)len)
			return rl_fail(err, ENAMETOOLONG, "%s mount point too long in %s", fstype,
				       mountinfo);
		return 0;
	}
	if (ferror(f))
		return rl_fail_errno(err, EIO, "cannot read %s", mountinfo);
	return rl_fail(err, ENOENT, "no %s mount in %s", fstype, mountinfo);
}

int rl_self_cgroup2_path(const char *self_cgroup, char *buf, size_t len, struct rl_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(self_cgroup, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", self_cgroup);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\n")] = '\0';
		/* v1 lines are "N:controllers:path"; the unified one is "0::path". */
		if (strncmp(line, "0::", 3) != 0 || line[3] != '/')
			continue;
		if (snprintf(buf, len, "%s", line + 3) >= (int)len)
			return rl_fail(err, ENAMETOOLONG, "cgroup path too long in %s", self_cgroup);
		return 0;
	}
	if (ferror(f))
		return rl_fail_errno(err, EIO, "cannot read %s", self_cgroup);
	return rl_fail(err, ENOENT, "no cgroup2 (0::) line in %s", self_cgroup);
}

int rl_cgroup_controllers_read(const char *path, unsigned *mask, struct rl_error *err)
{
	*mask = 0;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", path);
	char word[64];
	/* %63s splits on any whitespace, newline included. */
	while (fscanf(f, "%63s", word) == 1) {
		if (strcmp(word, "memory") == 0)
			*mask |= RL_CTRL_MEMORY;
		else if (strcmp(word, "cpu") == 0)
			*mask |= RL_CTRL_CPU;
		else if (strcmp(word, "pids") == 0)
			*mask |= RL_CTRL_PIDS;
	}
	if (ferror(f))
		return rl_fail_errno(err, EIO, "cannot read %s", path);
	return 0;
}

bool rl_file_caps_grant(const void *xattr, size_t len, int cap)
{
	/* struct vfs_cap_data: le32 magic_etc, then {le32 permitted, le32
	 * inheritable} for bits 0-31 (and 32-63 from revision 2 on). Copied
	 * out: the buffer has no alignment guarantee. */
	uint32_t magic, permitted;
	if (cap < 0 || cap >= 32 || len < 3 * sizeof(uint32_t))
		return false;
	memcpy(&magic, xattr, sizeof(magic));
	memcpy(&permitted, (const char *)xattr + sizeof(uint32_t), sizeof(permitted));
	magic = le32toh(magic);
	permitted = le32toh(permitted);
	uint32_t rev = magic & 0xff000000u;
	size_t want = rev == 0x01000000u   ? 12
		      : rev == 0x02000000u ? 20
		      : rev == 0x03000000u ? 24
					   : 0;
	if (!want || len < want)
		return false;
	return permitted & (1u << cap);
}

/* "owner:start:count" -> the end (start + count) of a well-formed line. */
static bool subid_line_end(const char *line, uint64_t *end)
{
	const char *c1 = strchr(line, ':');
	if (!c1 || c1 == line)
		return false;
	char *e = NULL;
	errno = 0;
	unsigned long long start = strtoull(c1 + 1, &e, 10);
	if (e == c1 + 1 || *e != ':' || errno)
		return false;
	const char *c2 = e;
	unsigned long long count = strtoull(c2 + 1, &e, 10);
	if (e == c2 + 1 || (*e != '\0' && *e != '\n') || errno || count == 0)
		return false;
	if (start > UINT32_MAX || count > UINT32_MAX)
		return false;
	*end = start + count;
	return true;
}

int rl_subid_free_start(const char *const *files, uint32_t count, uint32_t *start,
			struct rl_error *err)
{
	/* The usual first range; below it live the host's own system and
	 * regular users. */
	uint64_t next = 100000;
	for (size_t i = 0; files[i]; i++) {
		_cleanup_fclose_ FILE *f = fopen(files[i], "re");
		if (!f) {
			if (errno == ENOENT)
				continue;
			return rl_fail_errno(err, errno, "cannot read %s", files[i]);
		}
		_cleanup_free_ char *line = NULL;
		size_t cap = 0;
		while (getline(&line, &cap, f) >= 0) {
			uint64_t end;
			if (subid_line_end(line, &end) && end > next)
				next = end;
		}
		if (ferror(f))
			return rl_fail_errno(err, EIO, "cannot read %s", files[i]);
	}
	if (next + count > UINT32_MAX)
		return rl_fail(err, ERANGE,
			       "no room for %" PRIu32 " more subordinate ids past %" PRIu64, count,
			       next);
	*start = (uint32_t)next;
	return 0;
}

/* ---- facts */

void rl_probe_user(struct rl_user_facts *out)
{
	*out = (struct rl_user_facts){.uid = getuid(), .gid = getgid()};
	if (rl_userdb_lookup(out->uid, out->name, sizeof(out->name), NULL, 0) == 0 &&
	    strlen(out->name) + 1 < sizeof(out->name))
		return;
	/* No passwd entry (or an absurd name): the uid is what subuid files
	 * and usermod accept too. */
	snprintf(out->name, sizeof(out->name), "%u", (unsigned)out->uid);
}

const char *rl_cgroup_layout_name(enum rl_cgroup_layout l)
{
	switch (l) {
	case RL_CGROUP_V1:
		return "v1";
	case RL_CGROUP_HYBRID:
		return "hybrid";
	case RL_CGROUP_V2:
		return "v2";
	case RL_CGROUP_NONE:
		break;
	}
	return "none";
}

enum rl_cgroup_layout rl_cgroup_classify(long root_magic, long unified_magic, bool any_v1)
{
	if (root_magic == CGROUP2_SUPER_MAGIC)
		return RL_CGROUP_V2;
	/* systemd's hybrid mode: v1 controllers, cgroup2 at root/unified
	 * for process tracking only. Without v1 hierarchies it is a unified
	 * host that happens to mount cgroup2 there. */
	if (unified_magic == CGROUP2_SUPER_MAGIC)
		return any_v1 ? RL_CGROUP_HYBRID : RL_CGROUP_V2;
	if (any_v1 || root_magic == CGROUP_SUPER_MAGIC)
		return RL_CGROUP_V1;
	return RL_CGROUP_NONE;
}

static long fs_magic(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 ? (long)sfs.f_type : 0;
}

/* Whether any directory right under `root` is a cgroup v1 hierarchy. */
static bool has_v1_hierarchy(const char *root)
{
	DIR *d = opendir(root);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", root, de->d_name) >= (int)sizeof(path))
			continue;
		found = fs_magic(path) == CGROUP_SUPER_MAGIC;
	}
	closedir(d);
	return found;
}

int rl_probe_cgroup(const char *cgroup_root, const char *mountinfo, struct rl_cgroup_facts *out,
		    struct rl_error *err)
{
	*out = (struct rl_cgroup_facts){0};
	char unified[PATH_MAX];
	int r = fmt_path(unified, sizeof(unified), err, "%s/unified", cgroup_root);
	if (r < 0)
		return r;

	long root_magic = fs_magic(cgroup_root);
	long unified_magic = root_magic == CGROUP2_SUPER_MAGIC ? 0 : fs_magic(unified);
	bool any_v1 = root_magic != CGROUP2_SUPER_MAGIC && has_v1_hierarchy(cgroup_root);
	out->layout = rl_cgroup_classify(root_magic, unified_magic, any_v1);

	const char *mnt = NULL;
	if (root_magic == CGROUP2_SUPER_MAGIC)
		mnt = cgroup_root;
	else if (unified_magic == CGROUP2_SUPER_MAGIC)
		mnt = unified;
	if (mnt)
		return fmt_path(out->v2_mount, sizeof(out->v2_mount), err, "%s", mnt);

	/* Not where systemd puts it; an admin may have mounted cgroup2
	 * elsewhere. Not finding one is an answer, not an error. */
	struct rl_error ignored = {0};
	if (rl_mountinfo_find(mountinfo, "cgroup2", out->v2_mount, sizeof(out->v2_mount),
			      &ignored) == 0)
		out->layout = out->layout == RL_CGROUP_V1 ? RL_CGROUP_HYBRID : RL_CGROUP_V2;
	else
		out->v2_mount[0] = '\0';
	return 0;
}

/* "memory, cpu and pids" style list of the controllers in `mask`. */
static void controller_names(unsigned mask, const char *conj, char *buf, size_t len)
{
	const char *names[3];
	int n = 0;
	if (mask & RL_CTRL_MEMORY)
		names[n++] = "memory";
	if (mask & RL_CTRL_CPU)
		names[n++] = "cpu";
	if (mask & RL_CTRL_PIDS)
		names[n++] = "pids";
	buf[0] = '\0';
	size_t used = 0;
	for (int i = 0; i < n && used < len; i++) {
		const char *sep = i == 0 ? "" : i == n - 1 ? conj : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep, names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Controllers `uid` can use below `dir`: those already handed down to
 * children (cgroup.subtree_control), plus those the cgroup has
 * (cgroup.controllers) when the user may enable them itself. Only for a
 * directory the user can create children in. */
static unsigned delegated_controllers(const char *dir, bool *writable)
{
	char path[PATH_MAX];
	unsigned sub = 0, avail = 0;
	struct rl_error ignored = {0};
	*writable = access(dir, W_OK | X_OK) == 0;
	if (!*writable)
		return 0;
	if (snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir) >= (int)sizeof(path))
		return 0;
	rl_cgroup_controllers_read(path, &sub, &ignored);
	bool can_enable = access(path, W_OK) == 0;
	if (snprintf(path, sizeof(path), "%s/cgroup.controllers", dir) >= (int)sizeof(path))
		return sub;
	rl_cgroup_controllers_read(path, &avail, &ignored);
	return sub | (can_enable ? avail : 0);
}

int rl_probe_delegation(const struct rl_cgroup_facts *cg, const char *self_cgroup, uid_t uid,
			struct rl_delegation_facts *out, struct rl_error *err)
{
	*out = (struct rl_delegation_facts){0};
	if (!cg->v2_mount[0]) {
		snprintf(out->why, sizeof(out->why), "no cgroup2 file system is mounted");
		return 0;
	}

	/* Candidates: where the caller already is, then the cgroup systemd
	 * delegates to every user (what rootless podman uses). */
	char cand[2][PATH_MAX];
	int ncand = 0;
	char rel[PATH_MAX];
	struct rl_error ignored = {0};
	if (rl_self_cgroup2_path(self_cgroup, rel, sizeof(rel), &ignored) == 0 &&
	    fmt_path(cand[ncand], sizeof(cand[0]), &ignored, "%s%s", cg->v2_mount,
		     strcmp(rel, "/") == 0 ? "" : rel) == 0)
		ncand++;
	if (fmt_path(cand[ncand], sizeof(cand[0]), &ignored,
		     "%s/user.slice/user-%u.slice/user@%u.service", cg->v2_mount, (unsigned)uid,
		     (unsigned)uid) == 0 &&
	    access(cand[ncand], F_OK) == 0)
		ncand++;
	if (ncand == 0) {
		words(out->why, sizeof(out->why), "cannot tell which cgroup this process is in (%s)",
		      ignored.msg);
		return 0;
	}

	int best = -1;
	for (int i = 0; i < ncand; i++) {
		bool writable;
		unsigned m = delegated_controllers(cand[i], &writable);
		if (!writable)
			continue;
		if (best < 0 || (m & ~out->controllers)) {
			best = i;
			out->controllers = m;
		}
		if ((out->controllers & RL_CTRL_ALL) == RL_CTRL_ALL)
			break;
	}
	if (best < 0) {
		words(out->why, sizeof(out->why),
		      "cgroup %s is not writable by uid %u: nothing is delegated to this user",
		      cand[0], (unsigned)uid);
		return 0;
	}
	int r = fmt_path(out->cgroup, sizeof(out->cgroup), err, "%s", cand[best]);
	if (r < 0)
		return r;

	unsigned missing = RL_CTRL_ALL & ~out->controllers;
	if (missing) {
		char names[64];
		controller_names(missing, " or ", names, sizeof(names));
		words(out->why, sizeof(out->why), "cgroup %s offers no %s controller%s", out->cgroup,
		      names,
		      cg->layout == RL_CGROUP_HYBRID || cg->layout == RL_CGROUP_V1
			      ? ": on this host they are bound to cgroup v1 hierarchies"
			      : ": its parent does not delegate them (cgroup.subtree_control)");
	}
	return 0;
}

int rl_probe_helper(const char *name, const char *const *dirs, int cap,
		    struct rl_helper_facts *out, struct rl_error *err)
{
	*out = (struct rl_helper_facts){0};
	snprintf(out->name, sizeof(out->name), "%s", name);
	for (size_t i = 0; dirs[i]; i++) {
		char path[PATH_MAX];
		int r = fmt_path(path, sizeof(path), err, "%s/%s", dirs[i], name);
		if (r < 0)
			return r;
		struct stat st;
		if (stat(path, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return rl_fail_errno(err, errno, "cannot stat %s", path);
		}
		if (!S_ISREG(st.st_mode))
			continue;
		out->found = true;
		memcpy(out->path, path, sizeof(path));
		out->executable = access(path, X_OK) == 0;
		out->setuid_root = st.st_uid == 0 && (st.st_mode & S_ISUID);
		/* Debian may ship them with file capabilities instead of setuid. */
		unsigned char xattr[64];
		ssize_t n = getxattr(path, "security.capability", xattr, sizeof(xattr));
		out->file_caps = n > 0 && rl_file_caps_grant(xattr, (size_t)n, cap);
		struct statvfs sv;
		out->nosuid_mount = statvfs(path, &sv) == 0 && (sv.f_flag & ST_NOSUID);
		return 0;
	}
	return 0;
}

bool rl_helper_usable(const struct rl_helper_facts *h)
{
	return h->found && h->executable && (h->setuid_root || h->file_caps) && !h->nosuid_mount;
}

int rl_probe_userns(const char *proc_sys, struct rl_userns_facts *out, struct rl_error *err)
{
	*out = (struct rl_userns_facts){
		.max_user_namespaces = -1,
		.unprivileged_userns_clone = -1,
		.apparmor_restrict = -1,
	};
	struct rl_error e = {0};
	int r = rl_sysctl_read(proc_sys, "user.max_user_namespaces", &out->max_user_namespaces, &e);
	if (r == -ENOENT) {
		snprintf(out->why, sizeof(out->why),
			 "this kernel has no user namespaces (built without CONFIG_USER_NS)");
		return 0;
	}
	if (r < 0) {
		out->max_user_namespaces = -1;
		words(out->why, sizeof(out->why), "%s", e.msg);
		return rl_fail(err, -r, "%s", e.msg);
	}
	/* Debian and Ubuntu patches: absent upstream, so absence is no
	 * restriction. Unreadable ones are treated as absent. */
	if (rl_sysctl_read(proc_sys, "kernel.unprivileged_userns_clone",
			   &out->unprivileged_userns_clone, &e) < 0)
		out->unprivileged_userns_clone = -1;
	if (rl_sysctl_read(proc_sys, "kernel.apparmor_restrict_unprivileged_userns",
			   &out->apparmor_restrict, &e) < 0)
		out->apparmor_restrict = -1;

	bool max_ok = out->max_user_namespaces > 0;
	bool clone_ok = out->unprivileged_userns_clone != 0;
	bool apparmor_ok = out->apparmor_restrict <= 0;
	out->allowed = max_ok && clone_ok && apparmor_ok;
	words(out->why, sizeof(out->why), "%s%s%s%s%s",
	      max_ok ? "" : "user.max_user_namespaces is 0",
	      !max_ok && !clone_ok ? "; " : "",
	      clone_ok ? "" : "kernel.unprivileged_userns_clone is 0",
	      (!max_ok || !clone_ok) && !apparmor_ok ? "; " : "",
	      apparmor_ok ? "" : "kernel.apparmor_restrict_unprivileged_userns is 1");
	words(out->fix, sizeof(out->fix), "%s%s%s%s%s",
	      max_ok ? "" : "sudo sysctl -w user.max_user_namespaces=15000",
	      !max_ok && !clone_ok ? " && " : "",
	      clone_ok ? "" : "sudo sysctl -w kernel.unprivileged_userns_clone=1",
	      (!max_ok || !clone_ok) && !apparmor_ok ? " && " : "",
	      apparmor_ok ? "" : "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
	return 0;
}

int rl_probe_subid(const char *file, const struct rl_user_facts *user,
		   struct rl_subid_facts *out, struct rl_error *err)
{
	*out = (struct rl_subid_facts){.file = file};
	struct rl_error e = {0};
	int r = rl_subid_lookup(file, user->name, user->uid, &out->range, &e);
	if (r == 0) {
		out->found = true;
		return 0;
	}
	if (r == -ENOENT) /* no range (or no file): a fact, not a failure */
		return 0;
	return rl_fail(err, -r, "%s", e.msg);
}

int rl_probe_overlay(const char *filesystems, const char *modules_dir, const char *release,
		     struct rl_overlay_facts *out, struct rl_error *err)
{
	*out = (struct rl_overlay_facts){.userns_trial = 1};
	/* Unprivileged overlay mounts inside a user namespace came in 5.11; a
	 * trial mount (rl_probe_overlay_userns) says for sure. */
	out->userns_mount = rl_kernel_at_least(release, 5, 11);
	int r = rl_fs_listed(filesystems, "overlay", &out->listed, err);
	if (r < 0 || out->listed)
		return r;
	/* Not loaded yet is fine: the first mount autoloads the module. */
	char path[PATH_MAX];
	if (fmt_path(path, sizeof(path), err, "%s/%s/kernel/fs/overlayfs", modules_dir, release) == 0)
		out->module = access(path, F_OK) == 0;
	return 0;
}

static void probe_access(const char *path, int mode, struct rl_access_facts *out)
{
	out->ok = path && access(path, mode) == 0;
	out->status = out->ok ? 0 : path ? -errno : -ENOENT;
}

/* In a child, which the new namespaces die with. Returns 0 or -errno. */
static int try_overlay_in_userns(const char *top)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static const char *const sub[] = {"lower", "upper", "work", "merged"};
		char path[4][PATH_MAX + 16];
		for (int i = 0; i < 4; i++)
			snprintf(path[i], sizeof(path[i]), "%s/%s", top, sub[i]);
		char opts[4 * PATH_MAX + 64];
		snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", path[0],
			 path[1], path[2]);
		/* Root in it is the caller, as in a container. */
		char uid_map[32], gid_map[32];
		snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)getuid());
		snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getgid());
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
		    rl_write_file("/proc/self/setgroups", "deny", 4, 0, NULL) < 0 ||
		    rl_write_file("/proc/self/uid_map", uid_map, strlen(uid_map), 0, NULL) < 0 ||
		    rl_write_file("/proc/self/gid_map", gid_map, strlen(gid_map), 0, NULL) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("overlay", path[3], "overlay", MS_NODEV, opts) < 0)
			_exit(errno & 0xff);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

void rl_probe_overlay_userns(const char *dir, struct rl_overlay_facts *out)
{
	out->userns_trial = 1;
	char top[PATH_MAX];
	if (snprintf(top, sizeof(top), "%s/overlay-probe-XXXXXX", dir) >= (int)sizeof(top) ||
	    !mkdtemp(top))
		return;
	static const char *const sub[] = {"lower", "upper", "work", "merged"};
	char path[PATH_MAX + 16];
	bool made = true;
	for (int i = 0; i < 4 && made; i++) {
		snprintf(path, sizeof(path), "%s/%s", top, sub[i]);
		made = mkdir(path, 0700) == 0;
	}
	if (made) {
		out->userns_trial = try_overlay_in_userns(top);
		out->userns_mount = out->userns_trial == 0;
	}
	/* The overlay leaves an empty work/work of mode 000, which cannot
	 * be listed but can be removed. */
	snprintf(path, sizeof(path), "%s/work/work", top);
	rmdir(path);
	rl_remove_tree(top);
}

void rl_probe_fuse_overlay(const char *dev_fuse, struct rl_overlay_facts *out)
{
	out->fuse_found = rl_fuse_overlay_find(out->fuse_path, sizeof(out->fuse_path));
	probe_access(dev_fuse, R_OK | W_OK, &out->dev_fuse);
	out->fuse_forced = rl_fuse_overlay_forced();
}

enum rl_root_mount rl_root_mount(const struct rl_overlay_facts *o)
{
	if (o->userns_mount && !o->fuse_forced)
		return RL_ROOT_OVERLAY;
	return o->fuse_found && o->dev_fuse.ok ? RL_ROOT_FUSE_OVERLAY : RL_ROOT_NONE;
}

void rl_probe_btf(const char *btf_vmlinux, struct rl_access_facts *out)
{
	probe_access(btf_vmlinux, R_OK, out);
}

void rl_probe_tun(const char *tun, struct rl_access_facts *out)
{
	probe_access(tun, R_OK | W_OK, out);
}

void rl_probe_agent(const char *socket_path, struct rl_agent_facts *out)
{
	*out = (struct rl_agent_facts){0};
	out->status = rl_agent_ping_at(socket_path, out->why, sizeof(out->why));
	out->reachable = out->status == 0;
}

void rl_host_probe(const struct rl_host_paths *p, struct rl_host_facts *f)
{
	if (!p)
		p = &rl_host_paths_default;
	memset(f, 0, sizeof(*f));

	struct utsname u;
	snprintf(f->kernel, sizeof(f->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	rl_probe_user(&f->user);

	rl_probe_cgroup(p->cgroup_root, p->mountinfo, &f->cgroup, &f->cgroup.err);
	rl_probe_delegation(&f->cgroup, p->self_cgroup, f->user.uid, &f->delegation,
			    &f->delegation.err);
	rl_cg_detect_from(&f->cg_mounts, p->mountinfo, NULL);
	rl_probe_btf(p->btf_vmlinux, &f->btf);
	rl_probe_helper("newuidmap", p->helper_dirs, 7 /* CAP_SETUID */, &f->newuidmap,
			&f->newuidmap.err);
	rl_probe_helper("newgidmap", p->helper_dirs, 6 /* CAP_SETGID */, &f->newgidmap,
			&f->newgidmap.err);
	rl_probe_userns(p->proc_sys, &f->userns, &f->userns.err);
	rl_probe_subid(p->subuid, &f->user, &f->subuid, &f->subuid.err);
	rl_probe_subid(p->subgid, &f->user, &f->subgid, &f->subgid.err);
	rl_probe_overlay(p->filesystems, p->modules_dir, f->kernel, &f->overlay, &f->overlay.err);
	char runtime[PATH_MAX];
	if (p->try_overlay_mount && rl_runtime_dir(runtime, sizeof(runtime), NULL) == 0)
		rl_probe_overlay_userns(runtime, &f->overlay);
	rl_probe_fuse_overlay(p->dev_fuse, &f->overlay);
	if (rl_sysctl_read(p->proc_sys, "net.ipv4.ip_unprivileged_port_start",
			   &f->ip_unprivileged_port_start, &f->port_err) < 0)
		f->ip_unprivileged_port_start = -1;
	rl_probe_tun(p->tun, &f->tun);
	rl_probe_agent(p->agent_socket, &f->agent);
}

unsigned rl_resource_controller(enum rl_resource r)
{
	switch (r) {
	case RL_RES_MEMORY:
		return RL_CTRL_MEMORY;
	case RL_RES_CPU:
		return RL_CTRL_CPU;
	case RL_RES_PIDS:
		break;
	}
	return RL_CTRL_PIDS;
}

enum rl_enforcer rl_limit_enforcer(const struct rl_host_facts *f, enum rl_resource r)
{
	if (f->delegation.controllers & rl_resource_controller(r))
		return RL_ENFORCE_CGROUP2;
	if (!f->agent.reachable)
		return RL_ENFORCE_NONE;
	enum rl_cg_ctrl c = r == RL_RES_MEMORY ? RL_CG_MEMORY : r == RL_RES_PIDS ? RL_CG_PIDS : RL_CG_CPU;
	if (f->cg_mounts.have[c])
		return RL_ENFORCE_AGENT_CGROUP;
	/* The agent's RSS accounting kills past the cap, and its fork hook
	 * kills a task born past the pids limit; cpu time it only observes. */
	if (r == RL_RES_MEMORY || r == RL_RES_PIDS)
		return RL_ENFORCE_AGENT;
	return RL_ENFORCE_NONE;
}

const char *rl_resource_name(enum rl_resource r)
{
	switch (r) {
	case RL_RES_MEMORY:
		return "memory";
	case RL_RES_CPU:
		return "cpu";
	case RL_RES_PIDS:
		break;
	}
	return "pids";
}
