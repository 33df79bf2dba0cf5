/* rlbpfd's side of IDMAP (idmap_writer.h). */
#include "agent/idmap_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/subid.h"

#define MAX_RANGES 16

static int say(char *why, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int say(char *why, size_t len, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -code;
}

/* Whether every line maps to `own` alone or into one of the ranges;
 * *ranged says whether some line is a range's. */
static int lines_allowed(const char *kind, const struct rl_idmap_line *l, uint32_t n, uint32_t own,
			 const struct rl_id_range *ranges, int n_ranges, bool *ranged, char *why,
			 size_t len)
{
	*ranged = false;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t lo = l[i].outer, hi = (uint64_t)l[i].outer + l[i].count;
		bool ok = false;
		for (int k = 0; !ok && k < n_ranges; k++)
			ok = lo >= ranges[k].start && hi <= (uint64_t)ranges[k].start + ranges[k].count;
		*ranged |= ok;
		ok = ok || (l[i].count == 1 && l[i].outer == own);
		if (!ok)
			return say(why, len, EPERM, "%s range [%u-%llu) -> [%u-%llu) not allowed", kind,
				   l[i].inner, (unsigned long long)l[i].inner + l[i].count, l[i].outer,
				   (unsigned long long)hi);
	}
	return 0;
}

static int write_map(int procfd, const char *file, const struct rl_idmap_line *l, uint32_t n,
		     char *why, size_t len)
{
	char text[RL_IDMAP_MAX_LINES * 36];
	size_t at = 0;
	for (uint32_t i = 0; i < n; i++)
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%u %u %u\n", l[i].inner, l[i].outer,
				       l[i].count);
	_cleanup_close_ int fd = openat(procfd, file, O_WRONLY | O_CLOEXEC);
	/* the whole map in one write: the kernel takes it once */
	if (fd < 0 || write(fd, text, at) != (ssize_t)at)
		return say(why, len, errno ? errno : EIO, "write to %s failed: %s", file,
			   strerror(errno ? errno : EIO));
	return 0;
}

int rl_idmap_write(uid_t uid, gid_t gid, const struct rl_msg_idmap *m, char *why, size_t len)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%u", m->pid);
	_cleanup_close_ int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st, self, parent;
	if (procfd < 0 || fstat(procfd, &st) < 0)
		return say(why, len, ESRCH, "Could not open proc directory for target %u", m->pid);
	if (st.st_uid != uid || st.st_gid != gid)
		return say(why, len, EPERM,
			   "Target process %u is owned by a different user: uid:%u pw_uid:%u st_uid:%u, "
			   "gid:%u pw_gid:%u st_gid:%u",
			   m->pid, (unsigned)uid, (unsigned)uid, (unsigned)st.st_uid, (unsigned)gid,
			   (unsigned)gid, (unsigned)st.st_gid);
	_cleanup_close_ int nsfd = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || fstat(nsfd, &st) < 0 || stat("/proc/self/ns/user", &self) < 0)
		return say(why, len, ESRCH, "cannot open the user namespace of %u", m->pid);
	if (st.st_ino == self.st_ino && st.st_dev == self.st_dev)
		return say(why, len, EPERM, "process %u has no user namespace of its own", m->pid);
	uid_t owner;
	if (ioctl(nsfd, NS_GET_OWNER_UID, &owner) < 0 || owner != uid)
		return say(why, len, EPERM, "the user namespace of process %u is not yours", m->pid);
	_cleanup_close_ int pfd = ioctl(nsfd, NS_GET_PARENT);
	if (pfd < 0 || fstat(pfd, &parent) < 0 || parent.st_ino != self.st_ino || parent.st_dev != self.st_dev)
		return say(why, len, EOPNOTSUPP, "the user namespace of process %u is nested in another; "
			   "only its parent's newuidmap can map it", m->pid);
	struct passwd *pw = getpwuid(uid);
	struct rl_id_range ranges[MAX_RANGES];
	struct rl_error e;
	int nu = rl_subid_ranges(SUBUID_PATH, pw ? pw->pw_name : NULL, uid, ranges, MAX_RANGES, &e);
	bool ranged;
	int r = lines_allowed("uid", m->uid, m->n_uid, uid, ranges, nu > 0 ? nu : 0, &ranged, why, len);
	if (r < 0)
		return r;
	/* shadow keys /etc/subgid by the user too */
	int ng = rl_subid_ranges(SUBGID_PATH, pw ? pw->pw_name : NULL, uid, ranges, MAX_RANGES, &e);
	if ((r = lines_allowed("gid", m->gid, m->n_gid, gid, ranges, ng > 0 ? ng : 0, &ranged, why,
			       len)) < 0)
		return r;
	/* uid_map first, as newuidmap runs before newgidmap: a refusal of
	 * both is told in newuidmap's words */
	if ((r = write_map(procfd, "uid_map", m->uid, m->n_uid, why, len)) < 0)
		return r;
	/* newgidmap's rule (CVE-2018-7169): a map of the caller's own gid
	 * alone must not let setgroups drop the groups that deny it */
	if (!ranged) {
		_cleanup_close_ int fd = openat(procfd, "setgroups", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "deny", 4) != 4)
			return say(why, len, errno ? errno : EIO, "write to setgroups failed: %s",
				   strerror(errno ? errno : EIO));
	}
	return write_map(procfd, "gid_map", m->gid, m->n_gid, why, len);
}
