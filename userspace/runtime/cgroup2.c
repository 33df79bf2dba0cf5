#include "runtime/cgroup2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "lib/cgroup_mounts.h"
#include "lib/cleanup.h"

static const char *v2_root(void)
{
	static const char *const mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		struct statfs st;
		if (statfs(mounts[i], &st) == 0 && (unsigned long)st.f_type == CGROUP2_SUPER_MAGIC)
			return mounts[i];
	}
	return NULL;
}

static int self_path(char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 8];
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "0::/", 4) == 0)
			return snprintf(buf, len, "%s", line + 3) < (int)len ? 0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

static int read_text(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return rl_cg_read(path, buf, len);
}

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return rl_cg_write(path, text);
}

/* dir offers `name` to its children, or can be made to: a cgroup with no
 * processes of its own may enable a controller its parent gave it. */
static bool offers(const char *dir, const char *name)
{
	char sub[256], avail[256], plus[16];
	if (read_text(dir, "cgroup.subtree_control", sub, sizeof(sub)) < 0 ||
	    read_text(dir, "cgroup.controllers", avail, sizeof(avail)) < 0)
		return false;
	if (rl_cg_list_has(sub, name))
		return true;
	snprintf(plus, sizeof(plus), "+%s", name);
	return rl_cg_list_has(avail, name) && write_text(dir, "cgroup.subtree_control", plus) == 0;
}

static bool usable_parent(const char *dir, const struct rl_cgroup2_limits *want)
{
	char procs[16];
	/* the user's own, with nothing running in it directly: the kernel
	 * allows children with controllers only there ("no internal
	 * processes"), and moving our processes below it needs its
	 * cgroup.procs */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	struct stat st;
	if (stat(dir, &st) < 0 || st.st_uid != getuid() || access(path, W_OK) < 0 ||
	    access(dir, W_OK) < 0)
		return false;
	if (read_text(dir, "cgroup.procs", procs, sizeof(procs)) != 0)
		return false;
	return (!want->memory || offers(dir, "memory")) && (!want->pids || offers(dir, "pids"));
}

int rl_cgroup2_find_parent(const struct rl_cgroup2_limits *want, char *parent, size_t len,
			   char *why, size_t why_len)
{
	const char *root = v2_root();
	char rel[PATH_MAX], dir[PATH_MAX];
	if (!root) {
		snprintf(why, why_len, "no cgroup2 file system is mounted");
		return -ENOENT;
	}
	if (self_path(rel, sizeof(rel)) < 0) {
		snprintf(why, why_len, "this process's cgroup v2 path is unknown");
		return -ENOENT;
	}
	/* from the caller's own cgroup's parent upwards, while it is ours */
	for (char *slash; (slash = strrchr(rel, '/')) && slash != rel;) {
		*slash = '\0';
		if (snprintf(dir, sizeof(dir), "%s%s", root, rel) >= (int)sizeof(dir))
			break;
		struct stat st;
		if (stat(dir, &st) < 0 || st.st_uid != getuid())
			break;
		if (usable_parent(dir, want)) {
			if (snprintf(parent, len, "%s", dir) >= (int)len)
				break;
			return 0;
		}
	}
	snprintf(why, why_len,
		 "no cgroup v2 tree with the %s%s%s controller%s is delegated to this user", want->memory ? "memory" : "",
		 want->memory && want->pids ? " and " : "", want->pids ? "pids" : "",
		 want->memory && want->pids ? "s" : "");
	return -ENOENT;
}

int rl_cgroup2_enter(const char *parent, const char *id, const struct rl_cgroup2_limits *l,
		     pid_t pid, const char *state_dir, struct rl_error *err)
{
	char dir[PATH_MAX], num[32], record[PATH_MAX + 16];
	if (snprintf(dir, sizeof(dir), "%s/rlbpf-%.12s", parent, id) >= (int)sizeof(dir))
		return rl_fail(err, ENAMETOOLONG, "the cgroup path under %s is too long", parent);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create the container's cgroup %s", dir);
	int r = 0;
	if (l->memory) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)l->memory);
		r = write_text(dir, "memory.max", num);
		/* the cap is on memory, as rlbpfd's is: swapping past it would
		 * stretch it; absent without swap accounting */
		if (r == 0) {
			int s = write_text(dir, "memory.swap.max", "0");
			r = s == -ENOENT ? 0 : s;
		}
		/* the whole container goes at once, as rlbpfd's cap kills it */
		if (r == 0)
			r = write_text(dir, "memory.oom.group", "1");
	}
	if (r == 0 && l->pids) {
		snprintf(num, sizeof(num), "%u", l->pids);
		r = write_text(dir, "pids.max", num);
	}
	if (r == 0) {
		snprintf(num, sizeof(num), "%d", (int)pid);
		r = write_text(dir, "cgroup.procs", num);
	}
	if (r < 0) {
		rmdir(dir);
		return rl_fail_errno(err, -r, "cannot set up the container's cgroup %s", dir);
	}
	snprintf(record, sizeof(record), "%s/" RL_CGROUP2_RECORD, state_dir);
	_cleanup_fclose_ FILE *f = fopen(record, "we");
	if (!f || fprintf(f, "%s\n", dir) < 0) {
		rmdir(dir);
		return rl_fail_errno(err, errno, "cannot record the container's cgroup in %s", record);
	}
	return 0;
}

/* Its processes may still be on their way out when the supervisor gets
 * here (the init was reaped; others die with the pid namespace). */
static void remove_when_empty(const char *dir)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* The container's cgroup as rl_cgroup2_enter recorded it into dir; the
 * record's path into record[PATH_MAX + 16]. */
static bool recorded_dir(const char *state_dir, char *record, char *dir, size_t len)
{
	snprintf(record, PATH_MAX + 16, "%s/" RL_CGROUP2_RECORD, state_dir);
	_cleanup_fclose_ FILE *f = fopen(record, "re");
	if (!f || !fgets(dir, (int)len, f))
		return false;
	dir[strcspn(dir, "\n")] = '\0';
	return dir[0] == '/';
}

bool rl_cgroup2_memory_usage(const char *state_dir, uint64_t *bytes)
{
	char record[PATH_MAX + 16], dir[PATH_MAX], text[64], stat[8192];
	if (!recorded_dir(state_dir, record, dir, sizeof(dir)) ||
	    read_text(dir, "memory.current", text, sizeof(text)) <= 0)
		return false;
	uint64_t usage = strtoull(text, NULL, 10), inactive = 0;
	if (read_text(dir, "memory.stat", stat, sizeof(stat)) > 0) {
		const char *k = strstr(stat, "\ninactive_file ");
		if (k)
			inactive = strtoull(k + 15, NULL, 10);
	}
	*bytes = inactive < usage ? usage - inactive : usage;
	return true;
}

bool rl_cgroup2_finish(const char *state_dir)
{
	char record[PATH_MAX + 16], dir[PATH_MAX], events[512];
	if (!recorded_dir(state_dir, record, dir, sizeof(dir)))
		return false;
	bool oom = false;
	if (read_text(dir, "memory.events", events, sizeof(events)) > 0) {
		const char *k = strstr(events, "oom_kill ");
		oom = k && strtoull(k + 9, NULL, 10) > 0;
	}
	remove_when_empty(dir);
	unlink(record);
	return oom;
}
