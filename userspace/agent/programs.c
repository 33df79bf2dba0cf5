/* Loading, attaching and pinning rlbpf's BPF object (agent_bpf.h).
 *
 * Layout: RL_PIN_DIR/maps/<map> and RL_PIN_DIR/links/<program>. Maps are
 * pinned before links, so a complete maps/ directory plus a non-empty links/
 * one means an earlier agent finished; anything less is a failed start that
 * is cleared and done again. A restarted agent only needs the maps: the
 * pinned links keep the old programs running against them.
 *
 * Before Linux 5.15 a tracepoint program is attached through its perf event,
 * which cannot be pinned: such a program is pinned under RL_PIN_DIR/held
 * instead, and each agent attaches it again and holds the event while it
 * runs. */
#include "agent/programs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/bpf_features.h"
#include "lib/cleanup.h"
#include "rlbpf.skel.h"

#define MAPS_DIR RL_PIN_DIR "/maps"
#define LINKS_DIR RL_PIN_DIR "/links"
#define PROGS_DIR RL_PIN_DIR "/progs" /* programs attached on demand */
#define HELD_DIR RL_PIN_DIR "/held"   /* programs attached while an agent runs */
#define TRACEFS_EVENTS "/sys/kernel/tracing/events"
#define DEBUGFS_EVENTS "/sys/kernel/debug/tracing/events"

/* Programs attached only while something needs them (rl_agent_bpf_demand):
 * the per-fault ones of the eBPF memory cap run on every fault of every
 * process; while any syscall tracepoint is attached, every system call on
 * the host takes the kernel's slow path (+4 ms on each container start
 * here). syscall: the tracepoint in syscalls/, or NULL for a tp_btf one. */
static const struct {
	const char *name, *syscall;
	enum rl_bpf_group group;
} on_demand[] = {
	{"rl_rss_stat", NULL, RL_BPF_RSS},
	{"rl_cow_fault", NULL, RL_BPF_RSS},
	{"rl_exit_clone", "sys_exit_clone", RL_BPF_PIDS},
	{"rl_exit_clone3", "sys_exit_clone3", RL_BPF_PIDS},
	{"rl_exit_fork", "sys_exit_fork", RL_BPF_PIDS},
	{"rl_exit_vfork", "sys_exit_vfork", RL_BPF_PIDS},
#define SYSCALL_PAIR(call, group)                                                          \
	{"rl_enter_" #call, "sys_enter_" #call, group},                                    \
	{                                                                                  \
		"rl_exit_" #call, "sys_exit_" #call, group                                 \
	}
	SYSCALL_PAIR(setuid, RL_BPF_SETID),
	SYSCALL_PAIR(setreuid, RL_BPF_SETID),
	SYSCALL_PAIR(setresuid, RL_BPF_SETID),
	SYSCALL_PAIR(setfsuid, RL_BPF_SETID),
	SYSCALL_PAIR(setgid, RL_BPF_SETID),
	SYSCALL_PAIR(setregid, RL_BPF_SETID),
	SYSCALL_PAIR(setresgid, RL_BPF_SETID),
	SYSCALL_PAIR(setfsgid, RL_BPF_SETID),
	SYSCALL_PAIR(bind, RL_BPF_BIND),
#undef SYSCALL_PAIR
};
#define N_ON_DEMAND (sizeof(on_demand) / sizeof(on_demand[0]))
#define OWN_CGROUP2 "/run/rlbpf/cgroup2"
#define OBJECT_STAMP "/run/rlbpf/pinned-object" /* see same_build() */

static const char *const map_names[] = {"containers",    "tasks",        "events",
					 "port_policy",   "stats",        "setid_pending",
					 "bind_pending",  "proc_mem",     "pids_refused"};

static bool fs_is(const char *path, unsigned long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == magic;
}

static void note(struct rl_agent_bpf *b, const char *what)
{
	size_t n = strlen(b->notes);
	snprintf(b->notes + n, sizeof(b->notes) - n, "%s%s", n ? "; " : "", what);
}

static int mounts(struct rl_agent_bpf *b, struct rl_error *err)
{
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
		return rl_fail_errno(err, errno, "cannot mount bpffs on /sys/fs/bpf, where the "
				     "agent pins its maps; mount it (mount -t bpf bpf /sys/fs/bpf)");
	/* libbpf finds tracepoint ids in tracefs */
	if (!fs_is("/sys/kernel/tracing", TRACEFS_MAGIC) &&
	    !fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC) &&
	    mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0)
		return rl_fail_errno(err, errno, "cannot mount tracefs on /sys/kernel/tracing, "
				     "which attaching tracepoints needs");
	if (fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		snprintf(b->cgroup2, sizeof(b->cgroup2), "/sys/fs/cgroup/unified");
	else if (fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		snprintf(b->cgroup2, sizeof(b->cgroup2), "/sys/fs/cgroup");
	else if (fs_is(OWN_CGROUP2, CGROUP2_SUPER_MAGIC) ||
		 ((mkdir(OWN_CGROUP2, 0755) == 0 || errno == EEXIST) &&
		  mount("cgroup2", OWN_CGROUP2, "cgroup2", 0, NULL) == 0))
		snprintf(b->cgroup2, sizeof(b->cgroup2), OWN_CGROUP2);
	else
		note(b, "no cgroup2 hierarchy and none could be mounted: the port policy is off");
	return 0;
}

static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		char p[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(path);
}

int rl_agent_bpf_unload_idle(struct rl_error *err)
{
	/* a running agent holds this lock; pulling the pins from under it
	 * would silently stop all tracking while it still serves clients */
	_cleanup_close_ int lock = open(RL_AGENT_LOCK, O_RDWR | O_CLOEXEC);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0)
		return rl_fail(err, EBUSY, "rlbpfd is running (it holds %s); stop it first, "
			       "then unload", RL_AGENT_LOCK);
	return rl_agent_bpf_unload(err);
}

int rl_agent_bpf_unload(struct rl_error *err)
{
	(void)err;
	/* the registry describes what the maps held; without them it is stale */
	unlink("/run/rlbpf/registry");
	unlink(OBJECT_STAMP);
	remove_dir(LINKS_DIR);
	remove_dir(HELD_DIR);
	remove_dir(PROGS_DIR);
	remove_dir(MAPS_DIR);
	if (rmdir(RL_PIN_DIR) < 0 && errno != ENOENT)
		return rl_fail_errno(err, errno, "cannot remove %s", RL_PIN_DIR);
	return 0;
}

/* Which build pinned what is there: a hash of the BPF object embedded in
 * this rlbpfd, kept beside the registry. Pins of another build are not
 * reused (their programs or map layouts may differ); they are replaced. */

static unsigned long long object_hash(void)
{
	size_t n;
	const unsigned char *p = rlbpf__elf_bytes(&n);
	unsigned long long h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static bool same_build(void)
{
	_cleanup_fclose_ FILE *f = fopen(OBJECT_STAMP, "re");
	unsigned long long h;
	return f && fscanf(f, "%llx", &h) == 1 && h == object_hash();
}

static void stamp_build(void)
{
	_cleanup_fclose_ FILE *f = fopen(OBJECT_STAMP, "we");
	if (f)
		fprintf(f, "%llx\n", object_hash());
}

static bool dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	bool any = false;
	if (!d)
		return false;
	for (struct dirent *e; (e = readdir(d));)
		any |= e->d_name[0] != '.';
	closedir(d);
	return any;
}

static bool links_pinned(void)
{
	return dir_has_entries(LINKS_DIR) || dir_has_entries(HELD_DIR);
}

static ssize_t held_index(const struct rl_agent_bpf *b, const char *prog)
{
	for (size_t i = 0; i < b->n_held; i++)
		if (strcmp(b->held[i].prog, prog) == 0)
			return (ssize_t)i;
	return -1;
}

/* Takes fd, the perf event that keeps prog attached. */
static int hold(struct rl_agent_bpf *b, const char *prog, int fd)
{
	if (b->n_held == RL_AGENT_HELD_MAX || strlen(prog) >= sizeof(b->held[0].prog)) {
		close(fd);
		return -ENOSPC;
	}
	snprintf(b->held[b->n_held].prog, sizeof(b->held[0].prog), "%s", prog);
	b->held[b->n_held++].fd = fd;
	return 0;
}

static void release(struct rl_agent_bpf *b, size_t i)
{
	close(b->held[i].fd);
	b->held[i] = b->held[--b->n_held];
}

bool rl_agent_bpf_attached(const struct rl_agent_bpf *b, const char *prog)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), LINKS_DIR "/%s", prog);
	return access(p, F_OK) == 0 || held_index(b, prog) >= 0;
}

bool rl_agent_bpf_can(const char *prog)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), PROGS_DIR "/%s", prog);
	return access(p, F_OK) == 0;
}

/* A tracepoint is a perf event of tracefs's id for it. Returns a BPF link
 * (*pinnable), which keeps the event open once pinned, or, where the kernel
 * has no BPF link for perf events (before 5.15), the event itself with prog
 * set on it: prog stays attached while the event is open. */
static int attach_tracepoint(int prog, const char *category, const char *name, bool *pinnable)
{
	char path[PATH_MAX];
	unsigned long long id;
	snprintf(path, sizeof(path), TRACEFS_EVENTS "/%s/%s/id", category, name);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(path, sizeof(path), DEBUGFS_EVENTS "/%s/%s/id", category, name);
		f = fopen(path, "re");
	}
	if (!f)
		return -errno;
	if (fscanf(f, "%llu", &id) != 1)
		return -EINVAL;
	struct perf_event_attr attr = {.type = PERF_TYPE_TRACEPOINT,
				       .size = sizeof(attr),
				       .config = id,
				       .sample_period = 1,
				       .wakeup_events = 1};
	_cleanup_close_ int event = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1,
						 PERF_FLAG_FD_CLOEXEC);
	if (event < 0)
		return -errno;
	int link = bpf_link_create(prog, event, BPF_PERF_EVENT, NULL);
	*pinnable = link >= 0;
	if (link >= 0)
		return link;
	if (ioctl(event, PERF_EVENT_IOC_SET_BPF, prog) < 0 ||
	    ioctl(event, PERF_EVENT_IOC_ENABLE, 0) < 0)
		return -errno;
	return RL_TAKE_FD(event);
}

/* "tp/CAT/NAME" or "tracepoint/CAT/NAME": the tracepoint a program is for. */
static bool tracepoint_of(const char *section, char *category, size_t len, const char **name)
{
	section += section[0] == '?'; /* not loaded by default: same tracepoint */
	const char *rest = strchr(section, '/');
	if (!rest || (strncmp(section, "tp/", 3) && strncmp(section, "tracepoint/", 11)))
		return false;
	const char *slash = strchr(rest + 1, '/');
	if (!slash || (size_t)(slash - rest - 1) >= len)
		return false;
	snprintf(category, len, "%.*s", (int)(slash - rest - 1), rest + 1);
	*name = slash + 1;
	return true;
}

/* Attaches the program prog (a fd) named name to tracepoint
 * category/tracepoint and pins the link, or holds it where it cannot be
 * pinned. */
static int attach_and_keep(struct rl_agent_bpf *b, int prog, const char *name,
			   const char *category, const char *tracepoint)
{
	char link_path[PATH_MAX];
	bool pinnable;
	int fd = attach_tracepoint(prog, category, tracepoint, &pinnable);
	if (fd < 0)
		return fd;
	if (!pinnable)
		return hold(b, name, fd);
	snprintf(link_path, sizeof(link_path), LINKS_DIR "/%s", name);
	int r = bpf_obj_pin(fd, link_path) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int attach_pinned(struct rl_agent_bpf *b, size_t i, bool on)
{
	char link[PATH_MAX], prog_path[PATH_MAX];
	snprintf(link, sizeof(link), LINKS_DIR "/%s", on_demand[i].name);
	snprintf(prog_path, sizeof(prog_path), PROGS_DIR "/%s", on_demand[i].name);
	ssize_t held = held_index(b, on_demand[i].name);
	bool attached = held >= 0 || access(link, F_OK) == 0;
	if (on == attached)
		return 0;
	if (!on && held >= 0) {
		release(b, (size_t)held);
		return 0;
	}
	if (!on)
		return unlink(link) < 0 ? -errno : 0; /* the pin held the link */
	_cleanup_close_ int prog = bpf_obj_get(prog_path);
	if (prog < 0 && errno == ENOENT)
		return 0; /* it did not attach at load: rl_agent_bpf_can() says so */
	if (prog < 0)
		return -errno;
	if (on_demand[i].syscall)
		return attach_and_keep(b, prog, on_demand[i].name, "syscalls", on_demand[i].syscall);
	_cleanup_close_ int fd = bpf_raw_tracepoint_open(NULL, prog);
	if (fd < 0)
		return -errno;
	return bpf_obj_pin(fd, link) < 0 ? -errno : 0;
}

int rl_agent_bpf_demand(struct rl_agent_bpf *b, enum rl_bpf_group group, bool on)
{
	int r = 0;
	for (size_t i = 0; i < N_ON_DEMAND; i++) {
		if (on_demand[i].group != group)
			continue;
		int ri = attach_pinned(b, i, on);
		if (ri < 0 && r == 0)
			r = ri;
	}
	return r;
}

static bool is_on_demand(const char *name)
{
	for (size_t i = 0; i < N_ON_DEMAND; i++)
		if (strcmp(name, on_demand[i].name) == 0)
			return true;
	return false;
}

static int get_pinned(const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), MAPS_DIR "/%s", name);
	return bpf_obj_get(p);
}

static int *map_slot(struct rl_agent_bpf *b, const char *name)
{
	if (!strcmp(name, "containers")) return &b->containers;
	if (!strcmp(name, "tasks")) return &b->tasks;
	if (!strcmp(name, "events")) return &b->events;
	if (!strcmp(name, "port_policy")) return &b->port_policy;
	if (!strcmp(name, "stats")) return &b->stats;
	return NULL;
}

static int reuse(struct rl_agent_bpf *b)
{
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		int fd = get_pinned(map_names[i]);
		int *slot = map_slot(b, map_names[i]);
		/* a map only left-out programs use (rl_bpf_adapt) is not pinned */
		if (fd < 0 && !(errno == ENOENT && !slot))
			return -errno;
		if (fd < 0)
			continue;
		if (slot)
			*slot = fd;
		else
			close(fd);
	}
	b->reused = true;
	return 0;
}

static int load_and_pin(struct rl_agent_bpf *b, struct rl_error *err)
{
	struct bpf_program *p;
	struct bpf_map *m;
	int r;

	b->skel = rlbpf__open();
	if (!b->skel)
		return rl_fail_errno(err, errno, "opening the BPF object built into rlbpfd failed");
	/* an older kernel: what only the eBPF memory cap needs is left out,
	 * and a limit it would hold is refused with the reason */
	char left_out[1024];
	rl_bpf_adapt(b->skel, left_out, sizeof(left_out));
	if (left_out[0])
		note(b, left_out);
	r = rlbpf__load(b->skel);
	if (r)
		return rl_fail_errno(err, r, "loading the BPF programs failed (libbpf's reason "
				     "is above); rlbpfd --probe shows what this kernel allows");
	if (mkdir(RL_PIN_DIR, 0700) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create %s", RL_PIN_DIR);
	if ((mkdir(MAPS_DIR, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(LINKS_DIR, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(PROGS_DIR, 0700) < 0 && errno != EEXIST))
		return rl_fail_errno(err, errno, "cannot create the pin directories in %s",
				     RL_PIN_DIR);
	bpf_object__for_each_map(m, b->skel->obj) {
		char path[PATH_MAX];
		int *slot = map_slot(b, bpf_map__name(m));
		if (bpf_map__type(m) == BPF_MAP_TYPE_UNSPEC || strchr(bpf_map__name(m), '.'))
			continue; /* .rodata and friends: nothing to share */
		if (!bpf_map__autocreate(m))
			continue; /* left out with its programs (rl_bpf_adapt) */
		snprintf(path, sizeof(path), MAPS_DIR "/%s", bpf_map__name(m));
		r = bpf_map__pin(m, path);
		if (r)
			return rl_fail_errno(err, r, "cannot pin map %s at %s", bpf_map__name(m), path);
		if (slot)
			*slot = dup(bpf_map__fd(m));
	}
	_cleanup_close_ int cg = b->cgroup2[0] ? open(b->cgroup2, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	bpf_object__for_each_program(p, b->skel->obj) {
		char path[PATH_MAX], category[64];
		const char *name = bpf_program__name(p), *tracepoint;
		enum bpf_attach_type t = bpf_program__expected_attach_type(p);
		bool on_demand_prog = is_on_demand(name);
		struct bpf_link *l = NULL;

		if (!bpf_program__autoload(p))
			continue;
		if (tracepoint_of(bpf_program__section_name(p), category, sizeof(category),
				  &tracepoint)) {
			r = attach_and_keep(b, bpf_program__fd(p), name, category, tracepoint);
			if (r < 0) {
				char what[160];
				snprintf(what, sizeof(what), "%s not attached (%s)", name, strerror(-r));
				note(b, what);
				continue;
			}
		} else {
			if (t == BPF_CGROUP_INET4_BIND || t == BPF_CGROUP_INET6_BIND) {
				if (cg < 0)
					continue;
				l = bpf_program__attach_cgroup(p, cg);
			} else {
				l = bpf_program__attach(p);
			}
			if (!l) {
				char what[160];
				snprintf(what, sizeof(what), "%s not attached (%s)", name, strerror(errno));
				note(b, what);
				continue;
			}
			snprintf(path, sizeof(path), LINKS_DIR "/%s", name);
			r = bpf_link__pin(l, path);
			bpf_link__destroy(l); /* the pin holds it now */
			if (r)
				return rl_fail_errno(err, r, "cannot pin link %s", path);
		}
		bool held = held_index(b, name) >= 0;
		if (!on_demand_prog && !held)
			continue;
		/* on demand: attached once to know it can be, kept for later;
		 * held: for the next agent to attach again */
		snprintf(path, sizeof(path), "%s/%s", on_demand_prog ? PROGS_DIR : HELD_DIR, name);
		if ((r = bpf_program__pin(p, path)))
			return rl_fail_errno(err, r, "cannot pin program %s", path);
	}
	if (b->n_held)
		note(b, "this kernel cannot pin a tracepoint's attachment (BPF links for perf "
			"events: Linux 5.15), so rlbpfd holds them: they stop while it restarts");
	return 0;
}

/* What an earlier agent held (HELD_DIR), attached again. */
static int reattach_held(struct rl_agent_bpf *b, struct rl_error *err)
{
	_cleanup_skel_ struct rlbpf *skel = rlbpf__open(); /* the sections, not loaded */
	DIR *d = opendir(HELD_DIR);
	int r = 0;
	if (!d)
		return errno == ENOENT ? 0 : rl_fail_errno(err, errno, "cannot read %s", HELD_DIR);
	if (!skel) {
		closedir(d);
		return rl_fail_errno(err, errno, "opening the BPF object built into rlbpfd failed");
	}
	for (struct dirent *e; r == 0 && (e = readdir(d));) {
		char path[PATH_MAX], category[64];
		const char *tracepoint;
		if (e->d_name[0] == '.')
			continue;
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, e->d_name);
		snprintf(path, sizeof(path), HELD_DIR "/%s", e->d_name);
		_cleanup_close_ int prog = bpf_obj_get(path);
		if (!p || prog < 0 ||
		    !tracepoint_of(bpf_program__section_name(p), category, sizeof(category), &tracepoint))
			r = rl_fail(err, ENOENT, "%s is not a tracepoint program of this build", path);
		else if ((r = attach_and_keep(b, prog, e->d_name, category, tracepoint)) < 0)
			rl_fail_errno(err, r, "cannot attach %s again", e->d_name);
	}
	closedir(d);
	if (r == 0 && b->n_held)
		note(b, "this kernel cannot pin a tracepoint's attachment (BPF links for perf "
			"events: Linux 5.15): attached again, held by this rlbpfd");
	return r;
}

int rl_agent_bpf_open(struct rl_agent_bpf *b, struct rl_error *err)
{
	int r;

	memset(b, 0, sizeof(*b));
	b->containers = b->tasks = b->events = b->port_policy = b->stats = -1;
	r = mounts(b, err);
	if (r < 0)
		return r;
	if (links_pinned()) {
		if (!same_build())
			note(b, "the pinned programs were another build's: replaced (their containers "
				"must register again)");
		else if (reuse(b) == 0 && reattach_held(b, err) == 0)
			return 0;
	}
	/* a half-made pin directory from a start that failed */
	rl_agent_bpf_close(b);
	rl_agent_bpf_unload(err);
	b->containers = b->tasks = b->events = b->port_policy = b->stats = -1;
	r = load_and_pin(b, err);
	if (r == 0)
		stamp_build();
	if (r < 0) {
		struct rl_error ignored;
		rl_agent_bpf_close(b);
		rl_agent_bpf_unload(&ignored);
	}
	return r;
}

void rl_agent_bpf_close(struct rl_agent_bpf *b)
{
	while (b->n_held)
		release(b, b->n_held - 1);
	int *fds[] = {&b->containers, &b->tasks, &b->events, &b->port_policy, &b->stats};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	rlbpf__destroy(b->skel);
	b->skel = NULL;
}
