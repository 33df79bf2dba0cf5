/* cgroups at linux.cgroupsPath, as the host's root makes them (cgroups.h).
 * Each v1 hierarchy mounted here gets the path; the resources its
 * controllers hold are written in the spec's units; then the init moves
 * in. A value the kernel refuses fails the create, with the file named. */
#include "oci/cgroups.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cgroup_mounts.h"
#include "lib/cleanup.h"
#include "lib/paths.h"
#include "oci/state.h"

#define MAX_HIERARCHIES 16

struct hierarchy {
	char mount[PATH_MAX / 2];
	char controllers[128]; /* "cpu,cpuacct" */
};

static bool holds(const struct hierarchy *h, const char *ctrl)
{
	char list[sizeof(h->controllers) + 2];
	char want[64];
	snprintf(list, sizeof(list), ",%s,", h->controllers);
	snprintf(want, sizeof(want), ",%s,", ctrl);
	return strstr(list, want) != NULL;
}

/* The v1 hierarchies: mountinfo's cgroup mounts, with the controllers in
 * their super options. */
static int hierarchies(struct hierarchy *out, int max)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;
	while (f && n < max && fgets(line, sizeof(line), f)) {
		char mnt[sizeof(out->mount)], fstype[32], opts[512];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1 ||
		    sscanf(dash + 3, "%31s %*s %511s", fstype, opts) != 2 || strcmp(fstype, "cgroup") != 0)
			continue;
		struct hierarchy *h = &out[n];
		snprintf(h->mount, sizeof(h->mount), "%s", mnt);
		h->controllers[0] = '\0';
		for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || strchr(o, '='))
				continue;
			size_t l = strlen(h->controllers);
			snprintf(h->controllers + l, sizeof(h->controllers) - l, "%s%s", l ? "," : "", o);
		}
		if (h->controllers[0])
			n++;
	}
	return n;
}

#define CGROUP2_ROOT "/sys/fs/cgroup"

/* A host whose /sys/fs/cgroup is the cgroup2 hierarchy itself. */
static bool unified(void)
{
	return access(CGROUP2_ROOT "/cgroup.controllers", F_OK) == 0;
}

bool rl_oci_cgroups_own(const struct rl_oci_spec *s)
{
	struct hierarchy h[MAX_HIERARCHIES];
	return s->cgroups_path && s->cgroups_path[0] && rl_oci_host_root() &&
	       (hierarchies(h, MAX_HIERARCHIES) > 0 || unified());
}

/* The directory of path in hierarchy h: absolute paths from its root,
 * relative ones under the runtime's own cgroup there. */
static int dir_of(const struct hierarchy *h, const char *path, char *out, size_t len,
		  struct rl_error *err)
{
	char own[PATH_MAX / 4] = "";
	if (path[0] != '/') {
		_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
		char line[1024];
		while (f && fgets(line, sizeof(line), f)) {
			char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
			if (!b)
				continue;
			*b = '\0';
			struct hierarchy one;
			snprintf(one.controllers, sizeof(one.controllers), "%s", a + 1);
			if (strcmp(one.controllers, h->controllers) == 0) {
				b[strcspn(b + 1, "\n") + 1] = '\0';
				snprintf(own, sizeof(own), "%s", strcmp(b + 1, "/") ? b + 1 : "");
			}
		}
	}
	if (snprintf(out, len, "%s%s%s%s", h->mount, own, path[0] == '/' ? "" : "/", path) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "cgroupsPath too long: %s", path);
	return 0;
}

static int put(const char *dir, const char *file, const char *value, struct rl_error *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return rl_fail(err, ENAMETOOLONG, "cgroup path too long: %s", dir);
	int r = rl_cg_write(path, value);
	return r < 0 ? rl_fail(err, -r, "cannot set %s to %s: %s", path, value, strerror(-r)) : 0;
}

static int put_int(const char *dir, const char *file, json_t *v, struct rl_error *err)
{
	char text[32];
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v))
		snprintf(text, sizeof(text), "%d", json_is_true(v));
	else if (json_is_integer(v))
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		return rl_fail(err, EINVAL, "config.json: linux.resources: %s takes a number", file);
	return put(dir, file, text, err);
}

static int put_str(const char *dir, const char *file, json_t *v, struct rl_error *err)
{
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_value(v)[0]))
		return 0;
	if (!json_is_string(v))
		return rl_fail(err, EINVAL, "config.json: linux.resources: %s takes a string", file);
	return put(dir, file, json_string_value(v), err);
}

/* "8:0 1000000" lines of blkio's per-device files. */
static int put_devices(const char *dir, const char *file, json_t *list, const char *key,
		       struct rl_error *err)
{
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		char text[96];
		json_t *v = json_object_get(d, key);
		if (!json_is_integer(v))
			continue;
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(d, "major")),
			 json_integer_value(json_object_get(d, "minor")), json_integer_value(v));
		int r = put(dir, file, text, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The device rules, in order: "c 1:3 rwm" to devices.allow or .deny. */
static int put_device_rules(const char *dir, json_t *list, struct rl_error *err)
{
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		json_t *type = json_object_get(d, "type"), *major = json_object_get(d, "major");
		json_t *minor = json_object_get(d, "minor"), *access = json_object_get(d, "access");
		char maj[24] = "*", min[24] = "*", text[96];
		if (json_is_integer(major))
			snprintf(maj, sizeof(maj), "%" JSON_INTEGER_FORMAT, json_integer_value(major));
		if (json_is_integer(minor))
			snprintf(min, sizeof(min), "%" JSON_INTEGER_FORMAT, json_integer_value(minor));
		snprintf(text, sizeof(text), "%s %s:%s %s", json_is_string(type) ? json_string_value(type) : "a",
			 maj, min, json_is_string(access) ? json_string_value(access) : "rwm");
		int r = put(dir, json_is_true(json_object_get(d, "allow")) ? "devices.allow" : "devices.deny",
			    text, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A new cpuset has no cpus or mems: it takes its parent's before a task
 * may join. */
static int cpuset_inherit(const char *dir, struct rl_error *err)
{
	char parent[PATH_MAX], path[PATH_MAX], value[4096];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >= (int)sizeof(path))
			return rl_fail(err, ENAMETOOLONG, "cgroup path too long: %s", dir);
		if (rl_cg_read(path, value, sizeof(value)) > 1)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, files[i]) >= (int)sizeof(path) ||
		    rl_cg_read(path, value, sizeof(value)) < 0)
			return rl_fail(err, EIO, "cannot read %s", path);
		value[strcspn(value, "\n")] = '\0';
		int r = put(dir, files[i], value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int apply_one(const struct hierarchy *h, const char *dir, json_t *res, struct rl_error *err)
{
	json_t *mem = json_object_get(res, "memory"), *cpu = json_object_get(res, "cpu");
	json_t *blkio = json_object_get(res, "blkio"), *net = json_object_get(res, "network");
	int r = 0;
	if (holds(h, "memory") && json_is_object(mem)) {
		if ((r = put_int(dir, "memory.limit_in_bytes", json_object_get(mem, "limit"), err)) < 0 ||
		    (r = put_int(dir, "memory.soft_limit_in_bytes", json_object_get(mem, "reservation"), err)) < 0 ||
		    (r = put_int(dir, "memory.memsw.limit_in_bytes", json_object_get(mem, "swap"), err)) < 0 ||
		    (r = put_int(dir, "memory.kmem.limit_in_bytes", json_object_get(mem, "kernel"), err)) < 0 ||
		    (r = put_int(dir, "memory.kmem.tcp.limit_in_bytes", json_object_get(mem, "kernelTCP"), err)) < 0 ||
		    (r = put_int(dir, "memory.swappiness", json_object_get(mem, "swappiness"), err)) < 0 ||
		    (r = put_int(dir, "memory.oom_control", json_object_get(mem, "disableOOMKiller"), err)) < 0)
			return r;
	}
	if (holds(h, "cpu") && json_is_object(cpu)) {
		if ((r = put_int(dir, "cpu.shares", json_object_get(cpu, "shares"), err)) < 0 ||
		    (r = put_int(dir, "cpu.cfs_period_us", json_object_get(cpu, "period"), err)) < 0 ||
		    (r = put_int(dir, "cpu.cfs_quota_us", json_object_get(cpu, "quota"), err)) < 0 ||
		    (r = put_int(dir, "cpu.rt_period_us", json_object_get(cpu, "realtimePeriod"), err)) < 0 ||
		    (r = put_int(dir, "cpu.rt_runtime_us", json_object_get(cpu, "realtimeRuntime"), err)) < 0)
			return r;
	}
	if (holds(h, "cpuset")) {
		/* every level made on the way needs its cpus and mems first,
		 * from the top down */
		char level[PATH_MAX];
		size_t top = strlen(h->mount);
		snprintf(level, sizeof(level), "%s", dir);
		for (size_t i = top + 1; level[i - 1]; i++) {
			if (level[i] != '/' && level[i] != '\0')
				continue;
			char saved = level[i];
			level[i] = '\0';
			r = cpuset_inherit(level, err);
			level[i] = saved;
			if (r < 0)
				return r;
		}
		if (json_is_object(cpu) &&
		    ((r = put_str(dir, "cpuset.cpus", json_object_get(cpu, "cpus"), err)) < 0 ||
		     (r = put_str(dir, "cpuset.mems", json_object_get(cpu, "mems"), err)) < 0))
			return r;
	}
	json_t *pids = json_object_get(res, "pids");
	if (holds(h, "pids") && json_is_object(pids)) {
		json_t *limit = json_object_get(pids, "limit");
		if (json_is_integer(limit) && json_integer_value(limit) <= 0)
			r = put(dir, "pids.max", "max", err);
		else
			r = put_int(dir, "pids.max", limit, err);
		if (r < 0)
			return r;
	}
	if (holds(h, "devices") && (r = put_device_rules(dir, json_object_get(res, "devices"), err)) < 0)
		return r;
	if (holds(h, "blkio") && json_is_object(blkio)) {
		char probe[PATH_MAX];
		bool plain = snprintf(probe, sizeof(probe), "%s/blkio.weight", dir) < (int)sizeof(probe) &&
			     access(probe, F_OK) == 0;
		const char *weight = plain ? "blkio.weight" : "blkio.bfq.weight";
		if ((r = put_int(dir, weight, json_object_get(blkio, "weight"), err)) < 0 ||
		    (r = put_int(dir, "blkio.leaf_weight", json_object_get(blkio, "leafWeight"), err)) < 0 ||
		    (r = put_devices(dir, "blkio.weight_device", json_object_get(blkio, "weightDevice"), "weight", err)) < 0 ||
		    (r = put_devices(dir, "blkio.leaf_weight_device", json_object_get(blkio, "weightDevice"), "leafWeight", err)) < 0 ||
		    (r = put_devices(dir, "blkio.throttle.read_bps_device", json_object_get(blkio, "throttleReadBpsDevice"), "rate", err)) < 0 ||
		    (r = put_devices(dir, "blkio.throttle.write_bps_device", json_object_get(blkio, "throttleWriteBpsDevice"), "rate", err)) < 0 ||
		    (r = put_devices(dir, "blkio.throttle.read_iops_device", json_object_get(blkio, "throttleReadIOPSDevice"), "rate", err)) < 0 ||
		    (r = put_devices(dir, "blkio.throttle.write_iops_device", json_object_get(blkio, "throttleWriteIOPSDevice"), "rate", err)) < 0)
			return r;
	}
	if (holds(h, "hugetlb")) {
		size_t i;
		json_t *l;
		json_array_foreach(json_object_get(res, "hugepageLimits"), i, l) {
			char file[64];
			json_t *size = json_object_get(l, "pageSize");
			snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes",
				 json_is_string(size) ? json_string_value(size) : "?");
			if ((r = put_int(dir, file, json_object_get(l, "limit"), err)) < 0)
				return r;
		}
	}
	if (holds(h, "net_cls") && json_is_object(net) &&
	    (r = put_int(dir, "net_cls.classid", json_object_get(net, "classID"), err)) < 0)
		return r;
	if (holds(h, "net_prio") && json_is_object(net)) {
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(net, "priorities"), i, p) {
			char text[96];
			json_t *name = json_object_get(p, "name");
			snprintf(text, sizeof(text), "%s %" JSON_INTEGER_FORMAT,
				 json_is_string(name) ? json_string_value(name) : "",
				 json_integer_value(json_object_get(p, "priority")));
			if ((r = put(dir, "net_prio.ifpriomap", text, err)) < 0)
				return r;
		}
	}
	return 0;
}

/* Whether some hierarchy holds ctrl. */
static bool mounted(const struct hierarchy *h, int n, const char *ctrl)
{
	for (int i = 0; i < n; i++)
		if (holds(&h[i], ctrl))
			return true;
	return false;
}

/* Resources whose controller this host does not mount are refused, not
 * dropped. */
static int refuse_missing(const struct hierarchy *h, int n, json_t *res, struct rl_error *err)
{
	json_t *net = json_object_get(res, "network");
	static const struct {
		const char *ctrl, *what;
	} needs[] = {
		{"hugetlb", "hugepageLimits"},
		{"net_cls", "network.classID"},
		{"net_prio", "network.priorities"},
		{"blkio", "blkio"},
	};
	bool asked[] = {
		json_array_size(json_object_get(res, "hugepageLimits")) > 0,
		json_is_integer(json_object_get(net, "classID")),
		json_array_size(json_object_get(net, "priorities")) > 0,
		json_object_size(json_object_get(res, "blkio")) > 0,
	};
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (asked[i] && !mounted(h, n, needs[i].ctrl))
			return rl_fail(err, EOPNOTSUPP,
				       "config.json: linux.resources.%s needs the %s controller, which this "
				       "host does not mount",
				       needs[i].what, needs[i].ctrl);
	return 0;
}

/* Makes dir (and its parents) and records it: in `all`, and in `dirs`
 * when it is new, for delete to remove. */
static int make_dir(const char *dir, json_t *dirs, json_t *all, struct rl_error *err)
{
	struct stat sb;
	bool existed = stat(dir, &sb) == 0;
	int r = rl_mkdir_p(dir, 0755, err);
	if (r < 0)
		return r;
	if (!existed)
		json_array_append_new(dirs, json_string(dir));
	json_array_append_new(all, json_string(dir));
	return 0;
}

/* linux.resources in cgroup v2's files of dir. */
static int put_v2(const char *dir, json_t *res, struct rl_error *err)
{
	char text[64];
	int r;
	json_t *mem = json_object_get(res, "memory"), *cpu = json_object_get(res, "cpu");
	json_t *pids = json_object_get(res, "pids");
	json_t *limit = json_object_get(mem, "limit"), *swap = json_object_get(mem, "swap");
	if (json_is_integer(limit) && json_integer_value(limit) > 0 &&
	    (r = put_int(dir, "memory.max", limit, err)) < 0)
		return r;
	if (json_is_integer(limit) && json_is_integer(swap) && json_integer_value(swap) > 0) {
		/* v1's swap is memory plus swap; v2 counts swap alone */
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(swap) - json_integer_value(limit));
		if ((r = put(dir, "memory.swap.max", text, err)) < 0)
			return r;
	}
	if ((r = put_int(dir, "memory.low", json_object_get(mem, "reservation"), err)) < 0)
		return r;
	json_t *plimit = json_object_get(pids, "limit");
	if (json_is_integer(plimit) &&
	    (r = json_integer_value(plimit) > 0 ? put_int(dir, "pids.max", plimit, err)
						 : put(dir, "pids.max", "max", err)) < 0)
		return r;
	json_t *quota = json_object_get(cpu, "quota"), *period = json_object_get(cpu, "period");
	if (json_is_integer(quota) || json_is_integer(period)) {
		json_int_t q = json_is_integer(quota) ? json_integer_value(quota) : -1;
		json_int_t p = json_is_integer(period) ? json_integer_value(period) : 100000;
		if (q > 0)
			snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT, q, p);
		else
			snprintf(text, sizeof(text), "max %" JSON_INTEGER_FORMAT, p);
		if ((r = put(dir, "cpu.max", text, err)) < 0)
			return r;
	}
	json_t *shares = json_object_get(cpu, "shares");
	if (json_is_integer(shares) && json_integer_value(shares) > 0) {
		/* runc's map of v1 shares (2..262144) onto v2 weights (1..10000) */
		json_int_t w = 1 + ((json_integer_value(shares) - 2) * 9999) / 262142;
		snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, w < 1 ? 1 : w > 10000 ? 10000 : w);
		if ((r = put(dir, "cpu.weight", text, err)) < 0)
			return r;
	}
	if ((r = put_str(dir, "cpuset.cpus", json_object_get(cpu, "cpus"), err)) < 0 ||
	    (r = put_str(dir, "cpuset.mems", json_object_get(cpu, "mems"), err)) < 0)
		return r;
	return 0;
}

/* cgroup2: the path under the runtime's own cgroup when relative, each
 * level's subtree handed the controllers, then v2's files. */
static int apply_v2(const struct rl_oci_spec *s, json_t *res, pid_t pid, json_t *dirs,
		    json_t *all, struct rl_error *err)
{
	char own[PATH_MAX / 4] = "", dir[PATH_MAX], text[24];
	if (s->cgroups_path[0] != '/') {
		_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
		char line[1024];
		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "0::", 3) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(own, sizeof(own), "%s", strcmp(line + 3, "/") ? line + 3 : "");
			}
	}
	if (snprintf(dir, sizeof(dir), CGROUP2_ROOT "%s%s%s", own, s->cgroups_path[0] == '/' ? "" : "/",
		     s->cgroups_path) >= (int)sizeof(dir))
		return rl_fail(err, ENAMETOOLONG, "cgroupsPath too long");
	for (const char *k = "blkio\0hugepageLimits\0network\0"; *k; k += strlen(k) + 1)
		if (json_is_object(json_object_get(res, k)) || json_array_size(json_object_get(res, k)))
			return rl_fail(err, EOPNOTSUPP, "config.json: linux.resources.%s is for cgroup v1; "
				       "this host has cgroup v2 only", k);
	int r = make_dir(dir, dirs, all, err);
	if (r < 0)
		return r;
	/* every level above hands its children the controllers */
	char level[PATH_MAX];
	snprintf(level, sizeof(level), "%s", dir);
	for (size_t i = strlen(CGROUP2_ROOT); level[i]; i++) {
		if (level[i] != '/')
			continue;
		level[i] = '\0';
		static const char *const ctrls[] = {"+memory", "+pids", "+cpu", "+cpuset"};
		struct rl_error absent; /* a controller the host lacks stays out */
		for (size_t c = 0; c < 4; c++)
			put(level, "cgroup.subtree_control", ctrls[c], &absent);
		level[i] = '/';
	}
	if ((r = put_v2(dir, res, err)) < 0)
		return r;
	snprintf(text, sizeof(text), "%d", pid);
	return put(dir, "cgroup.procs", text, err);
}

/* ---- a hybrid host's cgroup2 hierarchy, for what its v1 hierarchies lack
 * (Debian's 6.12 is built without the v1 memory controller): the limits
 * go there rather than nowhere. */
#define HYBRID_UNIFIED "/sys/fs/cgroup/unified"

static bool unified_has(const char *ctrl)
{
	_cleanup_fclose_ FILE *f = fopen(HYBRID_UNIFIED "/cgroup.controllers", "re");
	char word[32];
	while (f && fscanf(f, "%31s", word) == 1)
		if (strcmp(word, ctrl) == 0)
			return true;
	return false;
}

/* Of memory, pids and cpu, those no v1 hierarchy holds and the cgroup2
 * hierarchy beside them does, each with linux.resources' part for it
 * (maybe empty: the cgroup is made anyway, for a later update); NULL when
 * there are none. A part asked for that no hierarchy holds is refused. */
static int beyond_v1(const struct hierarchy *h, int n, json_t *res, json_t **rest,
		     struct rl_error *err)
{
	*rest = NULL;
	for (const char *k = "memory\0pids\0cpu\0"; *k; k += strlen(k) + 1) {
		json_t *part = json_object_get(res, k);
		bool asked = json_object_size(part) > 0;
		if (mounted(h, n, k))
			continue;
		if (!unified_has(k)) {
			if (!asked)
				continue;
			json_decref(*rest);
			*rest = NULL;
			return rl_fail(err, EOPNOTSUPP,
				       "config.json: linux.resources.%s needs the %s controller, which "
				       "this host mounts in no cgroup hierarchy", k, k);
		}
		if (!*rest)
			*rest = json_object();
		json_object_set_new(*rest, k, asked ? json_incref(part) : json_object());
	}
	return 0;
}

/* HYBRID_UNIFIED/cgroupsPath, each level handing its children what
 * `rest` holds, then rest's v2 files; the process joins it. */
static int apply_beyond_v1(const struct rl_oci_spec *s, json_t *rest, pid_t pid, json_t *dirs,
			   json_t *all, struct rl_error *err)
{
	const char *k;
	json_t *v;
	char dir[PATH_MAX], text[24];
	if (snprintf(dir, sizeof(dir), HYBRID_UNIFIED "%s%s", s->cgroups_path[0] == '/' ? "" : "/",
		     s->cgroups_path) >= (int)sizeof(dir))
		return rl_fail(err, ENAMETOOLONG, "cgroupsPath too long");
	int r = make_dir(dir, dirs, all, err);
	if (r < 0)
		return r;
	for (size_t i = strlen(HYBRID_UNIFIED); dir[i]; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		json_object_foreach(rest, k, v) {
			snprintf(text, sizeof(text), "+%s", k);
			if ((r = put(dir, "cgroup.subtree_control", text, err)) < 0)
				return r;
		}
		dir[i] = '/';
	}
	if ((r = put_v2(dir, rest, err)) < 0)
		return r;
	snprintf(text, sizeof(text), "%d", pid);
	return put(dir, "cgroup.procs", text, err);
}

int rl_oci_cgroups_apply(const struct rl_oci_spec *s, pid_t pid, json_t **made,
			 struct rl_error *err)
{
	struct hierarchy h[MAX_HIERARCHIES];
	int n = hierarchies(h, MAX_HIERARCHIES);
	json_t *res = json_object_get(json_object_get(s->json, "linux"), "resources");
	*made = NULL;
	int refused = n ? refuse_missing(h, n, res, err) : 0;
	if (refused < 0)
		return refused;
	*made = json_object();
	json_t *dirs = json_array(), *all = json_array();
	json_object_set_new(*made, "made", dirs);
	json_object_set_new(*made, "all", all);
	if (n == 0)
		return apply_v2(s, res, pid, dirs, all, err);
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX], pidtext[24];
		int r = dir_of(&h[i], s->cgroups_path, dir, sizeof(dir), err);
		if (r < 0 || (r = make_dir(dir, dirs, all, err)) < 0)
			return r;
		if ((r = apply_one(&h[i], dir, res, err)) < 0)
			return r;
		snprintf(pidtext, sizeof(pidtext), "%d", pid);
		if ((r = put(dir, "cgroup.procs", pidtext, err)) < 0)
			return r;
	}
	json_t *rest;
	int r = beyond_v1(h, n, res, &rest, err);
	if (r == 0 && rest)
		r = apply_beyond_v1(s, rest, pid, dirs, all, err);
	json_decref(rest);
	return r;
}

int *rl_oci_cgroups_open(json_t *made, struct rl_error *err)
{
	json_t *all = json_object_get(made, "all"), *d;
	int *fds = calloc(json_array_size(all) + 1, sizeof(int));
	size_t i, n = 0;
	if (!fds)
		return rl_fail(err, ENOMEM, "out of memory"), NULL;
	json_array_foreach(all, i, d) {
		char path[PATH_MAX];
		if (!json_is_string(d) ||
		    snprintf(path, sizeof(path), "%s/cgroup.procs", json_string_value(d)) >= (int)sizeof(path))
			continue;
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			rl_fail_errno(err, errno, "cannot open %s", path);
			while (n)
				close(fds[--n]);
			free(fds);
			return NULL;
		}
		fds[n++] = fd;
	}
	fds[n] = -1;
	return fds;
}

int rl_oci_cgroups_join(int *procs, pid_t pid, struct rl_error *err)
{
	char pidtext[24];
	int r = 0, len = snprintf(pidtext, sizeof(pidtext), "%d", pid);
	for (int *fd = procs; fd && *fd >= 0; fd++) {
		if (r == 0 && pid > 0 && write(*fd, pidtext, (size_t)len) != len)
			r = rl_fail_errno(err, errno, "cannot move the process into the container's cgroups");
		close(*fd);
	}
	free(procs);
	return r;
}

void rl_oci_cgroups_remove(json_t *made)
{
	size_t i;
	json_t *d;
	made = json_object_get(made, "made");
	/* the container's own directories; parents made on the way stay, as
	 * runc leaves them */
	json_array_foreach(made, i, d)
		if (json_is_string(d))
			for (int tries = 0; tries < 50 && rmdir(json_string_value(d)) < 0 && errno == EBUSY; tries++)
				usleep(20000);
}

/* The directory of made that holds the freezer: v1's freezer.state, or
 * v2's cgroup.freeze. */
static const char *freezer_of(json_t *made, bool *v2)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(made, "all"), i, d) {
		char path[PATH_MAX];
		if (!json_is_string(d))
			continue;
		snprintf(path, sizeof(path), "%s/freezer.state", json_string_value(d));
		if (access(path, F_OK) == 0) {
			*v2 = false;
			return json_string_value(d);
		}
		snprintf(path, sizeof(path), "%s/cgroup.freeze", json_string_value(d));
		if (access(path, F_OK) == 0) {
			*v2 = true;
			return json_string_value(d);
		}
	}
	return NULL;
}

static bool reads_frozen(const char *dir, bool v2)
{
	char path[PATH_MAX], text[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cgroup.events" : "freezer.state");
	if (rl_cg_read(path, text, sizeof(text)) < 0)
		return false;
	return v2 ? strstr(text, "frozen 1") != NULL : strncmp(text, "FROZEN", 6) == 0;
}

bool rl_oci_cgroups_frozen(json_t *made)
{
	bool v2;
	const char *dir = made ? freezer_of(made, &v2) : NULL;
	return dir && reads_frozen(dir, v2);
}

int rl_oci_cgroups_freeze(json_t *made, bool frozen, struct rl_error *err)
{
	bool v2;
	const char *dir = made ? freezer_of(made, &v2) : NULL;
	if (!dir)
		return rl_fail(err, EOPNOTSUPP, "this container has no freezer cgroup of its own: "
			       "rlbpf-runtime pauses only containers whose cgroups it made as the "
			       "host's root");
	const char *file = v2 ? "cgroup.freeze" : "freezer.state";
	const char *value = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	/* v1 may stay FREEZING while a task is busy in the kernel: asked
	 * again until it holds, as runc asks */
	for (int tries = 0; tries < 1000; tries++) {
		int r = put(dir, file, value, err);
		if (r < 0)
			return r;
		if (reads_frozen(dir, v2) == frozen)
			return 0;
		usleep(1000 + tries * 100);
	}
	return rl_fail(err, EBUSY, "the container's cgroup %s did not %s", dir,
		       frozen ? "freeze" : "thaw");
}

int rl_oci_cgroups_update(json_t *made, json_t *res, struct rl_error *err)
{
	json_t *all = json_object_get(made, "all"), *d;
	size_t i;
	if (!json_array_size(all))
		return rl_fail(err, EOPNOTSUPP, "this container has no cgroups of its own to update");
	struct hierarchy h[MAX_HIERARCHIES];
	int n = hierarchies(h, MAX_HIERARCHIES), r;
	if (n == 0) {
		json_array_foreach(all, i, d)
			if (json_is_string(d) && (r = put_v2(json_string_value(d), res, err)) < 0)
				return r;
		return 0;
	}
	if ((r = refuse_missing(h, n, res, err)) < 0)
		return r;
	/* what v1 lacks went to the cgroup2 hierarchy beside it */
	json_t *rest;
	if ((r = beyond_v1(h, n, res, &rest, err)) < 0)
		return r;
	bool placed = false;
	json_array_foreach(all, i, d)
		if (rest && r == 0 && json_is_string(d) &&
		    strncmp(json_string_value(d), HYBRID_UNIFIED "/", strlen(HYBRID_UNIFIED) + 1) == 0) {
			placed = true;
			r = put_v2(json_string_value(d), rest, err);
		}
	if (r == 0 && rest && !placed)
		r = rl_fail(err, EOPNOTSUPP, "this container's cgroups hold no %s controller: "
			    "recreate it to set that limit", json_object_iter_key(json_object_iter(rest)));
	json_decref(rest);
	if (r < 0)
		return r;
	for (int k = 0; k < n; k++) {
		size_t len = strlen(h[k].mount);
		json_array_foreach(all, i, d)
			if (json_is_string(d) && strncmp(json_string_value(d), h[k].mount, len) == 0 &&
			    json_string_value(d)[len] == '/' &&
			    (r = apply_one(&h[k], json_string_value(d), res, err)) < 0)
				return r;
	}
	return 0;
}
