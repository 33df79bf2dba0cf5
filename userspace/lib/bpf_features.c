/* Run-time probes of what this kernel lets rlbpf's BPF side do.
 *
 * Each probe asks the kernel the smallest question that decides a feature,
 * preferably by loading the program that feature will really use (the
 * skeleton's "?"-sections, bpf/probes.bpf.h), and records the kernel's answer
 * as 0 or a negative errno plus a sentence saying what was tried. Everything a
 * probe loads is unloaded before it returns; nothing is pinned or mounted. */
#include "lib/bpf_features.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/cleanup.h"
#include "rlbpf.skel.h"

#define BTF_VMLINUX "/sys/kernel/btf/vmlinux"
#define KPROBE_PMU "/sys/bus/event_source/devices/kprobe"
#define BPFFS_DIR "/sys/fs/bpf"

#define PRIV_HINT "needs root or CAP_BPF+CAP_PERFMON"

struct probe_ctx {
	/* 0 when the bpf() syscall loads a trivial program for this caller;
	 * otherwise its errno, and load probes report it without trying:
	 * libbpf's helper probe would otherwise guess "supported" on EPERM. */
	int load_err;
};

typedef int (*probe_fn)(const struct probe_ctx *ctx, char *detail, size_t len);

void rl_bpf_skel_destroyp(struct rlbpf **skel)
{
	rlbpf__destroy(*skel); /* NULL-safe */
}

static int drop_libbpf_output(enum libbpf_print_level level, const char *fmt,
			      va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Writes the detail and passes status through, so probes end with
 * `return say(status, detail, len, "...")`. */
__attribute__((format(printf, 4, 5))) static int
say(int status, char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
	return status;
}

static int not_tried(const struct probe_ctx *ctx, char *detail, size_t len)
{
	return say(ctx->load_err, detail, len,
		   "not tried: bpf() refuses to load any program for this "
		   "caller (%s); " PRIV_HINT,
		   strerror(-ctx->load_err));
}

/* A two-instruction tracepoint program: the kernel's plain answer to
 * "may this caller load BPF at all", errno included (libbpf's probes fold
 * every failure into "unsupported"). */
static int trivial_load(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "rl_trivial", "GPL",
			       insns, sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* The kernel features only some programs need: each program is left out
 * where one of its needs is missing, with the maps it alone uses. */
enum need { NEED_TASK_STORAGE, NEED_TASK_BTF, NEED_FIND_VMA, NEED_BIND_NO_CAP,
	    NEED_ATOMIC_FETCH, N_NEEDS };

static const char *const need_words[N_NEEDS] = {
	[NEED_TASK_STORAGE] = "BPF task storage (Linux 5.11)",
	[NEED_TASK_BTF] = "bpf_get_current_task_btf (Linux 5.11)",
	[NEED_FIND_VMA] = "bpf_find_vma (Linux 5.17)",
	[NEED_BIND_NO_CAP] = "bind hooks that lift CAP_NET_BIND_SERVICE (Linux 5.11)",
	[NEED_ATOMIC_FETCH] = "atomics that return the old value (Linux 5.12)",
};

static const struct {
	const char *prog;
	unsigned needs; /* 1 << enum need */
} program_needs[] = {
	{"rl_rss_stat", 1u << NEED_TASK_STORAGE | 1u << NEED_TASK_BTF},
	{"rl_cow_fault", 1u << NEED_TASK_STORAGE | 1u << NEED_TASK_BTF | 1u << NEED_FIND_VMA},
	{"rl_fork", 1u << NEED_ATOMIC_FETCH},
	{"rl_bind4", 1u << NEED_BIND_NO_CAP},
	{"rl_bind6", 1u << NEED_BIND_NO_CAP},
};

/* Maps that only programs of program_needs use. */
static const char *const maps_of_needy[] = {"proc_mem"};

static int load_one(const char *prog);

static bool have(enum need n)
{
	/* asked once: the answer does not change while we run */
	static int known[N_NEEDS]; /* 0 unknown, 1 yes, -1 no */
	if (!known[n]) {
		/* a "no" is an answer here, not an error for libbpf to narrate */
		libbpf_print_fn_t saved = libbpf_set_print(drop_libbpf_output);
		int r;
		if (n == NEED_TASK_STORAGE)
			r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_TASK_STORAGE, NULL);
		else if (n == NEED_BIND_NO_CAP || n == NEED_ATOMIC_FETCH)
			r = load_one(n == NEED_BIND_NO_CAP ? "rl_probe_bind_no_cap"
							   : "rl_probe_atomic_fetch") == 0;
		else
			r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
						    n == NEED_TASK_BTF ? BPF_FUNC_get_current_task_btf
								       : BPF_FUNC_find_vma,
						    NULL);
		libbpf_set_print(saved);
		known[n] = r == 1 ? 1 : -1;
	}
	return known[n] > 0;
}

const char *rl_bpf_program_unsupported(const char *prog)
{
	for (size_t i = 0; i < sizeof(program_needs) / sizeof(program_needs[0]); i++) {
		if (strcmp(program_needs[i].prog, prog))
			continue;
		for (enum need n = 0; n < N_NEEDS; n++)
			if ((program_needs[i].needs & 1u << n) && !have(n))
				return need_words[n];
	}
	return NULL;
}

void rl_bpf_adapt(struct rlbpf *skel, char *why, size_t len)
{
	struct bpf_object *obj = skel->obj;
	struct bpf_program *p;
	bool needy_maps_used = false;
	why[0] = '\0';
	bpf_object__for_each_program(p, obj) {
		const char *missing = rl_bpf_program_unsupported(bpf_program__name(p));
		bool needy = false;
		for (size_t i = 0; i < sizeof(program_needs) / sizeof(program_needs[0]); i++)
			needy |= !strcmp(program_needs[i].prog, bpf_program__name(p));
		if (!missing) {
			needy_maps_used |= needy && bpf_program__autoload(p);
			continue;
		}
		if (!bpf_program__autoload(p))
			continue;
		bpf_program__set_autoload(p, false);
		size_t used = strlen(why);
		snprintf(why + used, len - used, "%s%s left out: this kernel lacks %s",
			 used ? "; " : "", bpf_program__name(p), missing);
	}
	/* rl_fork's other form: one of the two counts each fork */
	if (have(NEED_ATOMIC_FETCH))
		bpf_program__set_autoload(skel->progs.rl_fork_plain, false);
	for (size_t i = 0; !needy_maps_used && i < sizeof(maps_of_needy) / sizeof(maps_of_needy[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, maps_of_needy[i]);
		if (m)
			bpf_map__set_autocreate(m, false);
	}
}

/* Opens the rlbpf object and loads it. prog == NULL: the agent's programs as
 * the object declares them; else only that program and no maps (the probes
 * use none, so no 1 MiB ring buffer is made just to ask a question). */
static int open_and_load(const char *prog, struct rlbpf **out)
{
	_cleanup_skel_ struct rlbpf *skel = rlbpf__open();
	if (!skel)
		return errno ? -errno : -ENOMEM;

	if (prog) {
		struct bpf_program *p;
		struct bpf_map *m;
		bool found = false;

		bpf_object__for_each_program(p, skel->obj) {
			bool mine = strcmp(bpf_program__name(p), prog) == 0;
			bpf_program__set_autoload(p, mine);
			found |= mine;
		}
		if (!found)
			return -ENOENT; /* would load nothing and "succeed" */
		/* .rodata stays: libbpf fills and freezes it whatever we say */
		bpf_object__for_each_map(m, skel->obj)
			if (!strstr(bpf_map__name(m), ".rodata"))
				bpf_map__set_autocreate(m, false);
	} else {
		char left_out[1024];
		rl_bpf_adapt(skel, left_out, sizeof(left_out));
	}
	int r = rlbpf__load(skel);
	if (r)
		return r < 0 ? r : -r;
	*out = RL_TAKE(skel);
	return 0;
}

static int load_one(const char *prog)
{
	_cleanup_skel_ struct rlbpf *skel = NULL;
	return open_and_load(prog, &skel);
}

static bool fs_is(const char *path, unsigned long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (unsigned long)st.f_type == magic;
}

static const char *tracefs_dir(void)
{
	if (fs_is("/sys/kernel/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/tracing";
	if (fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC))
		return "/sys/kernel/debug/tracing";
	return NULL;
}

static const char *cgroup2_dir(void)
{
	/* hybrid hosts mount it beside v1; unified hosts at the top */
	if (fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup/unified";
	if (fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		return "/sys/fs/cgroup";
	return NULL;
}

/* ---- the probes, in table order ---- */

static int probe_btf(const struct probe_ctx *ctx, char *d, size_t n)
{
	(void)ctx;
	_cleanup_close_ int fd = open(BTF_VMLINUX, O_RDONLY | O_CLOEXEC);
	unsigned char magic[2];
	struct stat st;

	int e = errno;

	if (fd < 0)
		return say(-e, d, n,
			   "cannot open " BTF_VMLINUX ": %s; CO-RE needs a kernel "
			   "built with CONFIG_DEBUG_INFO_BTF",
			   strerror(e));
	ssize_t got = read(fd, magic, sizeof(magic));
	if (got < 0) {
		e = errno;
		return say(-e, d, n, "cannot read " BTF_VMLINUX ": %s", strerror(e));
	}
	/* BTF_MAGIC 0xeB9F, little-endian on the hosts rlbpf targets */
	if (got != 2 || magic[0] != 0x9f || magic[1] != 0xeb)
		return say(-EINVAL, d, n,
			   BTF_VMLINUX " does not start with the BTF magic");
	if (fstat(fd, &st) < 0) {
		e = errno;
		return say(-e, d, n, "cannot stat " BTF_VMLINUX ": %s", strerror(e));
	}
	return say(0, d, n, BTF_VMLINUX " readable, %lld KiB of kernel BTF",
		   (long long)st.st_size / 1024);
}

static int probe_bpf_syscall(const struct probe_ctx *ctx, char *d, size_t n)
{
	int r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);

	if (r == 1)
		return say(0, d, n, "bpf(BPF_PROG_LOAD) of a trivial tracepoint "
				    "program succeeded");
	if (ctx->load_err)
		return say(ctx->load_err, d, n,
			   "bpf(BPF_PROG_LOAD) of a trivial tracepoint program: "
			   "%s; " PRIV_HINT,
			   strerror(-ctx->load_err));
	return say(r < 0 ? r : -EOPNOTSUPP, d, n,
		   "libbpf's tracepoint program-type probe failed (%d) though a "
		   "trivial load worked",
		   r);
}

static int probe_ringbuf(const struct probe_ctx *ctx, char *d, size_t n)
{
	(void)ctx;
	int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (r == 1)
		return say(0, d, n, "created and freed a BPF_MAP_TYPE_RINGBUF map");

	/* ask again ourselves to learn why: libbpf only says yes or no */
	int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rl_probe", 0, 0,
				(unsigned)sysconf(_SC_PAGESIZE), NULL);
	if (fd >= 0) {
		close(fd);
		return say(-EOPNOTSUPP, d, n,
			   "libbpf's ring-buffer probe failed (%d) though a "
			   "direct create worked", r);
	}
	int e = errno;
	return say(-e, d, n, "creating a BPF_MAP_TYPE_RINGBUF map: %s%s",
		   strerror(e),
		   e == EPERM ? "; " PRIV_HINT : e == EINVAL ? " (kernel < 5.8?)" : "");
}

static int probe_tracepoint(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);

	_cleanup_skel_ struct rlbpf *skel = NULL;
	int r = open_and_load(NULL, &skel);
	if (r)
		return say(r, d, n, "loading the sched fork/exec/exit programs: "
				    "%s (the verifier or libbpf refused them)",
			   strerror(-r));
	if (!tracefs_dir())
		return say(0, d, n, "loaded the sched fork/exec/exit programs; "
				    "not attached: tracefs is not mounted");

	/* attach one, to know attaching works; rl_exec only reports tasks in
	 * the (empty) tasks map, so this changes nothing while attached */
	struct bpf_link *link = bpf_program__attach(skel->progs.rl_exec);
	if (!link) {
		int e = errno;
		return say(-e, d, n, "loaded the sched programs, but attaching "
				     "tp/sched/sched_process_exec failed: %s",
			   strerror(e));
	}
	bpf_link__destroy(link);
	return say(0, d, n, "loaded the sched fork/exec/exit programs and "
			    "attached sched_process_exec");
}

static int probe_tracefs(const struct probe_ctx *ctx, char *d, size_t n)
{
	(void)ctx;
	const char *dir = tracefs_dir();
	if (dir)
		return say(0, d, n, "tracefs mounted at %s; tp/ programs can be "
				    "attached", dir);
	return say(-ENOENT, d, n,
		   "tracefs not mounted, so tp/ programs cannot be attached: "
		   "mount -t tracefs tracefs /sys/kernel/tracing");
}

static int probe_tp_btf(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	int r = load_one("rl_probe_tpbtf");
	if (r)
		return say(r, d, n, "loading tp_btf/rss_stat (CO-RE read of "
				    "mm->rss_stat): %s",
			   strerror(-r));
	return say(0, d, n, "loaded tp_btf/rss_stat reading mm->rss_stat via CO-RE");
}

static int probe_fentry(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	int r = load_one("rl_probe_fentry");
	if (r)
		return say(r, d, n, "loading fentry/do_unlinkat: %s; optional, "
				    "rlbpf uses tracepoints instead",
			   strerror(-r));
	return say(0, d, n, "loaded fentry/do_unlinkat");
}

static int probe_kprobe(const struct probe_ctx *ctx, char *d, size_t n)
{
	(void)ctx;
	if (access(KPROBE_PMU, F_OK) == 0)
		return say(0, d, n, "kprobe PMU present at " KPROBE_PMU);
	int e = errno;
	return say(-e, d, n, "no kprobe PMU at " KPROBE_PMU " (%s); optional, "
			     "rlbpf uses tracepoints instead",
		   strerror(e));
}

static int probe_cgroup_bind4(const struct probe_ctx *ctx, char *d, size_t n)
{
	const char *cg = cgroup2_dir();

	if (ctx->load_err)
		return not_tried(ctx, d, n);
	int r = load_one("rl_probe_bind4");
	if (r)
		return say(r, d, n, "loading cgroup/bind4: %s%s; cgroup2 %s %s",
			   strerror(-r), r == -EPERM ? " (needs CAP_NET_ADMIN)" : "",
			   cg ? "at" : "not mounted", cg ? cg : "");
	if (!cg)
		return say(-ENOENT, d, n, "loaded cgroup/bind4, but no cgroup2 "
					  "mount to attach it to (looked at "
					  "/sys/fs/cgroup/unified, /sys/fs/cgroup)");
	return say(0, d, n, "loaded cgroup/bind4; cgroup2 at %s to attach it to", cg);
}

static int probe_send_signal(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	int r = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
					BPF_FUNC_send_signal, NULL);
	if (r != 1)
		return say(r < 0 ? r : -EOPNOTSUPP, d, n,
			   "the verifier does not offer bpf_send_signal to "
			   "tracepoint programs (kernel < 5.3?)");
	r = load_one("rl_probe_signal");
	if (r)
		return say(r, d, n, "bpf_send_signal offered, but loading a "
				    "tracepoint calling it failed: %s",
			   strerror(-r));
	return say(0, d, n, "bpf_send_signal allowed in tracepoint programs; "
			    "a program calling it loaded");
}

static int probe_bpffs(const struct probe_ctx *ctx, char *d, size_t n)
{
	(void)ctx;
	struct statfs st;

	if (statfs(BPFFS_DIR, &st) < 0) {
		int e = errno;
		return say(-e, d, n, "statfs " BPFFS_DIR ": %s", strerror(e));
	}
	if ((unsigned long)st.f_type != BPF_FS_MAGIC)
		return say(-ENOENT, d, n,
			   "no bpf filesystem at " BPFFS_DIR ", so nothing can be "
			   "pinned: mount -t bpf bpf " BPFFS_DIR);
	return say(0, d, n, "bpf filesystem mounted at " BPFFS_DIR);
}

/* The eBPF memory cap's needs (program_needs): without them its programs
 * are left out (rl_bpf_leave_out_unsupported), and said so here. */
static int probe_need(const struct probe_ctx *ctx, enum need need, const char *use,
		      const char *without, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	if (have(need))
		return say(0, d, n, "%s: %s", need_words[need], use);
	return say(-EOPNOTSUPP, d, n, "no %s: %s", need_words[need], without);
}

#define NO_EBPF_CAP "the eBPF memory cap is left out, and memory limits are cgroups' alone"

static int probe_task_storage(const struct probe_ctx *ctx, char *d, size_t n)
{
	return probe_need(ctx, NEED_TASK_STORAGE, "the eBPF memory cap keeps each process's count "
			  "in it", NO_EBPF_CAP, d, n);
}

static int probe_task_btf(const struct probe_ctx *ctx, char *d, size_t n)
{
	return probe_need(ctx, NEED_TASK_BTF, "the eBPF memory cap reads the faulting task with it",
			  NO_EBPF_CAP, d, n);
}

static int probe_find_vma(const struct probe_ctx *ctx, char *d, size_t n)
{
	return probe_need(ctx, NEED_FIND_VMA, "the eBPF memory cap counts copy-on-write copies with it",
			  "rl_cow_fault is left out, and the cap counts no page that fork "
			  "shared and a write copied (a cgroup counts them)", d, n);
}

static int probe_bind_no_cap(const struct probe_ctx *ctx, char *d, size_t n)
{
	return probe_need(ctx, NEED_BIND_NO_CAP, "the port policy grants ports with them",
			  "rl_bind4 and rl_bind6 are left out: "
			  "the port policy cannot grant ports below the sysctl", d, n);
}

static int probe_atomic_fetch(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	if (have(NEED_ATOMIC_FETCH))
		return say(0, d, n, "%s: --pids-limit's count at each fork", need_words[NEED_ATOMIC_FETCH]);
	return say(RL_FEATURE_FALLBACK, d, n,
		   "no %s: rl_fork_plain counts each fork for --pids-limit with a plain add "
		   "and a read (two forks at one instant may both be refused at the limit)",
		   need_words[NEED_ATOMIC_FETCH]);
}

/* A BPF link for a perf event (Linux 5.15) is what lets a tracepoint's
 * attachment be pinned. Asked with no event at all: a kernel that knows the
 * link type rejects the fd (EBADF), one that does not, the type (EINVAL). */
static int probe_perf_link(const struct probe_ctx *ctx, char *d, size_t n)
{
	if (ctx->load_err)
		return not_tried(ctx, d, n);
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	_cleanup_close_ int prog = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "rl_perf_link", "GPL",
						 insns, sizeof(insns) / sizeof(insns[0]), NULL);
	if (prog < 0)
		return say(-errno, d, n, "loading a trivial tracepoint program: %s", strerror(errno));
	int link = bpf_link_create(prog, -1, BPF_PERF_EVENT, NULL);
	int e = link < 0 ? errno : 0;
	if (link >= 0)
		close(link);
	if (e == EBADF)
		return say(0, d, n, "BPF links for perf events (Linux 5.15): tracepoint "
			   "attachments are pinned and outlive rlbpfd");
	return say(RL_FEATURE_FALLBACK, d, n,
		   "no BPF link for perf events (Linux 5.15; %s): rlbpfd holds its "
		   "tracepoints' perf events, and they stop while it restarts",
		   strerror(e));
}

static const struct {
	const char *name;
	probe_fn fn;
} probes[] = {
	{ "btf", probe_btf },
	{ "bpf_syscall", probe_bpf_syscall },
	{ "ringbuf", probe_ringbuf },
	{ "tracepoint", probe_tracepoint },
	{ "tracefs", probe_tracefs },
	{ "tp_btf", probe_tp_btf },
	{ "fentry", probe_fentry },
	{ "kprobe", probe_kprobe },
	{ "cgroup_bind4", probe_cgroup_bind4 },
	{ "send_signal", probe_send_signal },
	{ "bpffs", probe_bpffs },
	{ "task_storage", probe_task_storage },
	{ "task_btf", probe_task_btf },
	{ "find_vma", probe_find_vma },
	{ "bind_no_cap", probe_bind_no_cap },
	{ "atomic_fetch", probe_atomic_fetch },
	{ "perf_link", probe_perf_link },
};

size_t rl_bpf_features_probe(struct rl_bpf_feature *out, size_t max)
{
	size_t count = sizeof(probes) / sizeof(probes[0]);
	if (count > max)
		count = max;
	if (!count)
		return 0;

	/* libbpf narrates failures on stderr; here failure is an answer, and
	 * the detail strings say it once. Restored before returning. */
	libbpf_print_fn_t saved = libbpf_set_print(drop_libbpf_output);
	struct probe_ctx ctx = { .load_err = trivial_load() };

	for (size_t i = 0; i < count; i++) {
		out[i].name = probes[i].name;
		out[i].detail[0] = '\0';
		out[i].status = probes[i].fn(&ctx, out[i].detail, sizeof(out[i].detail));
	}
	libbpf_set_print(saved);
	return count;
}
