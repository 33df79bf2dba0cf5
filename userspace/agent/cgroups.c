/* rlbpfd's cgroups for rootless containers (cgroups.h). Paths are built only
 * from the hierarchy's mount point and a container id the protocol decoder
 * checked to be 64 hex digits: nothing a client sends reaches a path as is. */
#include "agent/cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cgroup_mounts.h"

#define CG_DIR "rlbpf"
/* --cpus as Docker sets it: a quota per 100 ms period */
#define CFS_PERIOD_US 100000

static const char *const ctrl_name[RL_CG_N] = {"memory", "pids", "cpu", "cpuacct"};

/* The controllers a container with these limits needs. */
static bool wanted(const struct rl_cg_limits *l, int c)
{
	return c == RL_CG_MEMORY ? l->memory || l->account : c == RL_CG_PIDS ? l->pids != 0 : l->cpu_millis != 0;
}

/* On v2, cpuacct is the cpu controller's own cgroup: nothing more to do. */
static bool same_as_cpu(const struct rl_cg_host *h, int c)
{
	return c == RL_CG_CPUACCT && h->v2[c];
}

bool rl_cg_can(const struct rl_cg_host *h, const struct rl_cg_limits *l, char *why, size_t len)
{
	for (int c = 0; c < RL_CG_N; c++)
		if (wanted(l, c) && !h->have[c] && c != RL_CG_CPUACCT) {
			snprintf(why, len, "no %s controller is mounted, in cgroup v1 or v2", ctrl_name[c]);
			return false;
		}
	return true;
}

static void cg_path(const struct rl_cg_host *h, int c, const char *id, const char *file,
		    char *out, size_t len)
{
	snprintf(out, len, "%s/" CG_DIR "%s%s%s%s", h->mount[c], id ? "/" : "", id ? id : "",
		 file ? "/" : "", file ? file : "");
}

static int write_u64(const char *path, uint64_t v)
{
	char text[32];
	snprintf(text, sizeof(text), "%" PRIu64, v);
	return rl_cg_write(path, text);
}

static bool read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	if (rl_cg_read(path, buf, sizeof(buf)) < 0)
		return false;
	if (strncmp(buf, "max", 3) == 0) {
		*v = 0;
		return true;
	}
	return sscanf(buf, "%" SCNu64, v) == 1;
}

/* "key value" lines (memory.stat, memory.events, memory.oom_control) */
static bool read_key(const char *path, const char *key, uint64_t *v)
{
	char buf[8192];
	if (rl_cg_read(path, buf, sizeof(buf)) < 0)
		return false;
	size_t n = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ' ')
			return sscanf(line + n + 1, "%" SCNu64, v) == 1;
	return false;
}

/* rlbpf/ itself, once per hierarchy: root's, and on v2 it hands the
 * controllers down to the containers' cgroups. */
static int prepare_parent(const struct rl_cg_host *h, int c)
{
	char path[PATH_MAX];
	cg_path(h, c, NULL, NULL, path, sizeof(path));
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!h->v2[c])
		return 0;
	char ctl[PATH_MAX], add[32];
	snprintf(add, sizeof(add), "+%s", ctrl_name[c]);
	snprintf(ctl, sizeof(ctl), "%s/cgroup.subtree_control", h->mount[c]);
	int r = rl_cg_write(ctl, add);
	if (r < 0)
		return r;
	cg_path(h, c, NULL, "cgroup.subtree_control", ctl, sizeof(ctl));
	return rl_cg_write(ctl, add);
}

static int set_limit(const struct rl_cg_host *h, int c, const char *id, const struct rl_cg_limits *l)
{
	char path[PATH_MAX], text[64];
	int r = 0;
	switch (c) {
	case RL_CG_MEMORY:
		if (!l->memory)
			return 0; /* counted, not limited */
		if (h->v2[c]) {
			cg_path(h, c, id, "memory.max", path, sizeof(path));
			if ((r = write_u64(path, l->memory)) < 0)
				return r;
			/* Docker's default --memory-swap is twice --memory: as
			 * much swap again as memory */
			cg_path(h, c, id, "memory.swap.max", path, sizeof(path));
			if (access(path, F_OK) == 0)
				r = write_u64(path, l->memory);
			return r;
		}
		cg_path(h, c, id, "memory.limit_in_bytes", path, sizeof(path));
		if ((r = write_u64(path, l->memory)) < 0 || !h->memsw)
			return r;
		cg_path(h, c, id, "memory.memsw.limit_in_bytes", path, sizeof(path));
		return write_u64(path, 2 * l->memory);
	case RL_CG_PIDS:
		cg_path(h, c, id, "pids.max", path, sizeof(path));
		return write_u64(path, l->pids);
	case RL_CG_CPUACCT:
		return 0; /* counts only */
	case RL_CG_CPU: {
		uint64_t quota = (uint64_t)l->cpu_millis * CFS_PERIOD_US / 1000;
		if (quota < 1000)
			quota = 1000; /* the kernel's minimum, 1 ms */
		if (h->v2[c]) {
			snprintf(text, sizeof(text), "%" PRIu64 " %d", quota, CFS_PERIOD_US);
			cg_path(h, c, id, "cpu.max", path, sizeof(path));
			return rl_cg_write(path, text);
		}
		cg_path(h, c, id, "cpu.cfs_period_us", path, sizeof(path));
		if ((r = write_u64(path, CFS_PERIOD_US)) < 0)
			return r;
		cg_path(h, c, id, "cpu.cfs_quota_us", path, sizeof(path));
		return write_u64(path, quota);
	}
	}
	return -EINVAL;
}

static int move_in(const struct rl_cg_host *h, int c, const char *id, pid_t pid)
{
	char path[PATH_MAX];
	cg_path(h, c, id, "cgroup.procs", path, sizeof(path));
	return write_u64(path, (uint64_t)pid);
}

/* The owner's group may enter and read (conmon reads memory.oom_control
 * or memory.events); only root writes, but for the v1 event registration,
 * which only notifies. */
static int open_to_owner(const struct rl_cg_host *h, int c, const char *id, uid_t owner,
			 gid_t group)
{
	char path[PATH_MAX];
	cg_path(h, c, id, NULL, path, sizeof(path));
	if (chown(path, 0, group) < 0 || chmod(path, 0750) < 0)
		return -errno;
	if (c != RL_CG_MEMORY || h->v2[c])
		return 0;
	cg_path(h, c, id, "cgroup.event_control", path, sizeof(path));
	return chown(path, owner, group) < 0 ? -errno : 0;
}

int rl_cg_create(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l,
		 pid_t pid, uid_t owner, gid_t group, char *why, size_t len)
{
	int c, r = 0;
	const char *step = "";
	for (c = 0; c < RL_CG_N; c++) {
		if (!wanted(l, c) || !h->have[c] || same_as_cpu(h, c))
			continue;
		char path[PATH_MAX];
		cg_path(h, c, id, NULL, path, sizeof(path));
		if ((r = prepare_parent(h, c)) < 0) {
			step = "cannot prepare";
		} else if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			r = -errno;
			step = "cannot create";
		} else if ((r = open_to_owner(h, c, id, owner, group)) < 0) {
			step = "cannot hand to its owner";
		} else if ((r = set_limit(h, c, id, l)) < 0) {
			step = "cannot set the limit of";
		} else if ((r = move_in(h, c, id, pid)) < 0) {
			step = "cannot move the container into";
		}
		if (r < 0) {
			snprintf(why, len, "%s the %s cgroup %s: %s", step, ctrl_name[c], path,
				 strerror(-r));
			break;
		}
	}
	if (r < 0)
		rl_cg_remove(h, id, l);
	return r;
}

int rl_cg_join(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l, pid_t pid)
{
	for (int c = 0; c < RL_CG_N; c++) {
		if (!wanted(l, c) || !h->have[c] || same_as_cpu(h, c))
			continue;
		int r = move_in(h, c, id, pid);
		if (r < 0)
			return r;
	}
	return 0;
}

bool rl_cg_populated(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l)
{
	for (int c = 0; c < RL_CG_N; c++) {
		char path[PATH_MAX], buf[16];
		if (!wanted(l, c) || !h->have[c] || same_as_cpu(h, c))
			continue;
		cg_path(h, c, id, "cgroup.procs", path, sizeof(path));
		if (rl_cg_read(path, buf, sizeof(buf)) > 0)
			return true;
	}
	return false;
}

int rl_cg_remove(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l)
{
	int r = 0;
	for (int c = 0; c < RL_CG_N; c++) {
		char path[PATH_MAX];
		if (!wanted(l, c) || !h->have[c] || same_as_cpu(h, c))
			continue;
		cg_path(h, c, id, NULL, path, sizeof(path));
		if (rmdir(path) < 0 && errno != ENOENT)
			r = -errno;
	}
	return r;
}

void rl_cg_sweep(const struct rl_cg_host *h, bool (*keep)(const char *id, void *ctx), void *ctx)
{
	for (int c = 0; c < RL_CG_N; c++) {
		char path[PATH_MAX];
		if (!h->have[c] || same_as_cpu(h, c))
			continue;
		cg_path(h, c, NULL, NULL, path, sizeof(path));
		DIR *d = opendir(path);
		if (!d)
			continue;
		for (struct dirent *de; (de = readdir(d));) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.' || keep(de->d_name, ctx))
				continue;
			/* EBUSY: something still runs in it; kept */
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		}
		closedir(d);
	}
}

void rl_cg_remove_parents(const struct rl_cg_host *h)
{
	for (int c = 0; c < RL_CG_N; c++) {
		char path[PATH_MAX];
		if (!h->have[c] || same_as_cpu(h, c))
			continue;
		cg_path(h, c, NULL, NULL, path, sizeof(path));
		rmdir(path); /* EBUSY: a container's cgroup is still in it */
	}
}

void rl_cg_usage(const struct rl_cg_host *h, const char *id, const struct rl_cg_limits *l,
		 struct rl_cg_usage *u)
{
	char path[PATH_MAX];
	uint64_t v, inactive = 0;
	memset(u, 0, sizeof(*u));
	if (l->memory || l->account) {
		int c = RL_CG_MEMORY;
		bool v2 = h->v2[c];
		cg_path(h, c, id, v2 ? "memory.current" : "memory.usage_in_bytes", path, sizeof(path));
		u->have_mem = read_u64(path, &v);
		cg_path(h, c, id, "memory.stat", path, sizeof(path));
		read_key(path, v2 ? "inactive_file" : "total_inactive_file", &inactive);
		if (u->have_mem) {
			u->mem_raw_bytes = v;
			u->mem_bytes = inactive < v ? v - inactive : v;
		}
		cg_path(h, c, id, v2 ? "memory.peak" : "memory.max_usage_in_bytes", path, sizeof(path));
		if (read_u64(path, &v))
			u->mem_peak_bytes = v;
		cg_path(h, c, id, v2 ? "memory.max" : "memory.limit_in_bytes", path, sizeof(path));
		if (read_u64(path, &v))
			u->mem_limit = v;
		cg_path(h, c, id, v2 ? "memory.events" : "memory.oom_control", path, sizeof(path));
		read_key(path, "oom_kill", &u->oom_kills);
		if (v2) {
			read_key(path, "max", &u->mem_at_limit);
		} else {
			cg_path(h, c, id, "memory.failcnt", path, sizeof(path));
			read_u64(path, &u->mem_at_limit);
		}
	}
	if (l->pids) {
		cg_path(h, RL_CG_PIDS, id, "pids.current", path, sizeof(path));
		u->have_pids = read_u64(path, &v);
		u->pids = (uint32_t)v;
	}
	if (l->cpu_millis) {
		if (h->v2[RL_CG_CPU]) {
			cg_path(h, RL_CG_CPU, id, "cpu.stat", path, sizeof(path));
			u->have_cpu = read_key(path, "usage_usec", &v);
			u->cpu_ns = v * 1000;
		} else if (h->have[RL_CG_CPUACCT]) {
			cg_path(h, RL_CG_CPUACCT, id, "cpuacct.usage", path, sizeof(path));
			u->have_cpu = read_u64(path, &u->cpu_ns);
		}
	}
}

int rl_cg_mem_threshold(const struct rl_cg_host *h, const char *id, uint64_t bytes)
{
	char path[PATH_MAX], text[96];
	if (!h->have[RL_CG_MEMORY] || h->v2[RL_CG_MEMORY])
		return -1;
	cg_path(h, RL_CG_MEMORY, id, "memory.usage_in_bytes", path, sizeof(path));
	_cleanup_close_ int usage = open(path, O_RDONLY | O_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (usage < 0 || efd < 0)
		goto fail;
	snprintf(text, sizeof(text), "%d %d %" PRIu64, efd, usage, bytes);
	cg_path(h, RL_CG_MEMORY, id, "cgroup.event_control", path, sizeof(path));
	if (rl_cg_write(path, text) < 0)
		goto fail;
	return efd;
fail:
	if (efd >= 0)
		close(efd);
	return -1;
}

/* Some stall in reclaim for 150 ms of a second: the kernel is working to
 * keep the container under its limit. 1 s is a window PSI takes from root. */
#define PSI_TRIGGER "some 150000 1000000"

int rl_cg_mem_signals(const struct rl_cg_host *h, const char *id, int fds[2])
{
	char path[PATH_MAX];
	fds[0] = fds[1] = -1;
	if (!h->have[RL_CG_MEMORY] || !h->v2[RL_CG_MEMORY])
		return 0;
	cg_path(h, RL_CG_MEMORY, id, "memory.events", path, sizeof(path));
	fds[0] = open(path, O_RDONLY | O_CLOEXEC);
	if (fds[0] >= 0)
		rl_cg_mem_signal_taken(fds[0]); /* what is there now is no news */
	cg_path(h, RL_CG_MEMORY, id, "memory.pressure", path, sizeof(path));
	fds[1] = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fds[1] >= 0 && write(fds[1], PSI_TRIGGER, sizeof(PSI_TRIGGER)) < 0) {
		close(fds[1]); /* PSI is off (psi=0, Debian's default) */
		fds[1] = -1;
	}
	return (fds[0] >= 0) + (fds[1] >= 0);
}

void rl_cg_mem_signal_taken(int fd)
{
	/* kernfs reports a change until the file is read again; a PSI
	 * trigger has already taken its event in poll, and reading it is
	 * harmless */
	char buf[512];
	if (pread(fd, buf, sizeof(buf), 0) < 0)
		return;
}
