#include "runtime/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/seccomp_cache.h"
#include "lib/cleanup.h"

struct rl_seccomp {
	scmp_filter_ctx ctx; /* NULL: the default filter for caps, not built yet */
	uint64_t caps;
};

#define CAP_BIT(c) (UINT64_C(1) << (c))

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_ctx_ __attribute__((cleanup(ctx_releasep)))

/* jansson ships the cleanup helper (json_auto_t uses it). */

/* libseccomp folds kernel errors into -ECANCELED unless told otherwise;
 * callers of rlbpf deserve the real reason (EACCES, EINVAL, ...). */
static int new_filter(uint32_t default_action, scmp_filter_ctx *out, struct rl_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(default_action);
	if (!ctx)
		return rl_fail(err, EINVAL,
			       "create the seccomp filter: libseccomp refused the default "
			       "action 0x%x; check that libseccomp supports it",
			       default_action);
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	*out = ctx;
	return 0;
}

/* Like Docker, the filter also covers the native arch's compat ABIs: a
 * filter without them would kill every 32-bit binary (bad-arch action)
 * instead of applying the same rules to it. */
static void add_compat_arches(scmp_filter_ctx ctx)
{
	static const struct {
		uint32_t native, compat[2];
	} compat[] = {
		{SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
		{SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM, 0}},
		{SCMP_ARCH_S390X, {SCMP_ARCH_S390, 0}},
		{SCMP_ARCH_MIPS64, {SCMP_ARCH_MIPS, SCMP_ARCH_MIPS64N32}},
		{SCMP_ARCH_MIPSEL64, {SCMP_ARCH_MIPSEL, SCMP_ARCH_MIPSEL64N32}},
	};
	uint32_t native = seccomp_arch_native();
	for (size_t i = 0; i < sizeof(compat) / sizeof(compat[0]); i++) {
		if (compat[i].native != native)
			continue;
		for (size_t j = 0; j < 2 && compat[i].compat[j]; j++)
			/* A missing compat arch only costs those binaries. */
			(void)seccomp_arch_add(ctx, compat[i].compat[j]);
	}
}

/* s390 swaps clone's first two arguments; everywhere else flags come first. */
static unsigned clone_flags_arg(void)
{
	uint32_t native = seccomp_arch_native();
	return native == SCMP_ARCH_S390X || native == SCMP_ARCH_S390 ? 1 : 0;
}

/* ---- the built-in profile ---------------------------------------------- */

enum block_kind {
	BLOCK_ALL,      /* every call fails */
	BLOCK_NS_FLAGS, /* only calls asking for a new namespace fail */
};

struct blocked_syscall {
	const char *name;
	uint64_t relaxed_by; /* holding any of these caps lifts the block; 0: never */
	int errno_ret;
	enum block_kind kind;
};

#define BY(c) CAP_BIT(CAP_##c)
#define NEVER 0

/* Docker's default profile, inverted: Docker allows a long list and denies
 * the rest, we allow by default and deny what Docker leaves out for a
 * container with the default caps. Each line names the caps that make
 * Docker allow the syscall again. ptrace and clock_adjtime stay allowed, as
 * in Docker: since 4.8 ptrace cannot step around seccomp, and the kernel
 * itself checks CAP_SYS_TIME before clock_adjtime changes anything. */
static const struct blocked_syscall default_blocks[] = {
	{"acct", BY(SYS_PACCT), EPERM, BLOCK_ALL},
	{"add_key", NEVER, EPERM, BLOCK_ALL},
	{"bpf", BY(SYS_ADMIN) | BY(BPF), EPERM, BLOCK_ALL},
	{"clock_settime", BY(SYS_TIME), EPERM, BLOCK_ALL},
	{"clock_settime64", BY(SYS_TIME), EPERM, BLOCK_ALL},
	{"clone", BY(SYS_ADMIN), EPERM, BLOCK_NS_FLAGS},
	/* clone3 hides its flags behind a pointer seccomp cannot read;
	 * ENOSYS makes libc fall back to clone, where the flags are visible. */
	{"clone3", BY(SYS_ADMIN), ENOSYS, BLOCK_ALL},
	{"create_module", NEVER, EPERM, BLOCK_ALL},
	{"delete_module", BY(SYS_MODULE), EPERM, BLOCK_ALL},
	{"fanotify_init", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"finit_module", BY(SYS_MODULE), EPERM, BLOCK_ALL},
	{"fsconfig", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"fsmount", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"fsopen", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"fspick", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"get_kernel_syms", NEVER, EPERM, BLOCK_ALL},
	{"get_mempolicy", BY(SYS_NICE), EPERM, BLOCK_ALL},
	{"init_module", BY(SYS_MODULE), EPERM, BLOCK_ALL},
	{"ioperm", BY(SYS_RAWIO), EPERM, BLOCK_ALL},
	{"iopl", BY(SYS_RAWIO), EPERM, BLOCK_ALL},
	{"kcmp", BY(SYS_PTRACE), EPERM, BLOCK_ALL},
	{"kexec_file_load", NEVER, EPERM, BLOCK_ALL},
	{"kexec_load", NEVER, EPERM, BLOCK_ALL},
	{"keyctl", NEVER, EPERM, BLOCK_ALL},
	{"lookup_dcookie", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"mbind", BY(SYS_NICE), EPERM, BLOCK_ALL},
	{"mount", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"mount_setattr", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"move_mount", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"move_pages", BY(SYS_NICE), EPERM, BLOCK_ALL},
	{"name_to_handle_at", BY(SYS_ADMIN) | BY(DAC_READ_SEARCH), EPERM, BLOCK_ALL},
	{"nfsservctl", NEVER, EPERM, BLOCK_ALL},
	{"open_by_handle_at", BY(DAC_READ_SEARCH), EPERM, BLOCK_ALL},
	{"open_tree", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"perf_event_open", BY(SYS_ADMIN) | BY(PERFMON), EPERM, BLOCK_ALL},
	{"pidfd_getfd", BY(SYS_PTRACE), EPERM, BLOCK_ALL},
	{"pivot_root", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"process_madvise", BY(SYS_PTRACE), EPERM, BLOCK_ALL},
	{"process_vm_readv", BY(SYS_PTRACE), EPERM, BLOCK_ALL},
	{"process_vm_writev", BY(SYS_PTRACE), EPERM, BLOCK_ALL},
	{"query_module", NEVER, EPERM, BLOCK_ALL},
	{"quotactl", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"quotactl_fd", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"reboot", BY(SYS_BOOT), EPERM, BLOCK_ALL},
	{"request_key", NEVER, EPERM, BLOCK_ALL},
	{"set_mempolicy", BY(SYS_NICE), EPERM, BLOCK_ALL},
	{"set_mempolicy_home_node", BY(SYS_NICE), EPERM, BLOCK_ALL},
	{"setns", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"settimeofday", BY(SYS_TIME), EPERM, BLOCK_ALL},
	{"stime", BY(SYS_TIME), EPERM, BLOCK_ALL},
	{"swapoff", NEVER, EPERM, BLOCK_ALL},
	{"swapon", NEVER, EPERM, BLOCK_ALL},
	{"_sysctl", NEVER, EPERM, BLOCK_ALL},
	{"sysfs", NEVER, EPERM, BLOCK_ALL},
	{"syslog", BY(SYSLOG) | BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"umount", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"umount2", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"unshare", BY(SYS_ADMIN), EPERM, BLOCK_ALL},
	{"uselib", NEVER, EPERM, BLOCK_ALL},
	{"userfaultfd", NEVER, EPERM, BLOCK_ALL},
	{"ustat", NEVER, EPERM, BLOCK_ALL},
	{"vhangup", BY(SYS_TTY_CONFIG), EPERM, BLOCK_ALL},
	{"vm86", NEVER, EPERM, BLOCK_ALL},
	{"vm86old", NEVER, EPERM, BLOCK_ALL},
};
#undef BY
#undef NEVER

static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
	CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static int add_default_block(scmp_filter_ctx ctx, const struct blocked_syscall *b, int nr,
			     struct rl_error *err)
{
	uint32_t action = SCMP_ACT_ERRNO((uint32_t)b->errno_ret);
	int r = 0;
	if (b->kind == BLOCK_ALL) {
		r = seccomp_rule_add(ctx, action, nr, 0);
	} else {
		/* libseccomp has no "masked not-equal", so one rule per flag:
		 * rules on one syscall are ORed. */
		unsigned arg = clone_flags_arg();
		for (size_t i = 0; r == 0 && i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]);
		     i++) {
			struct scmp_arg_cmp cmp = {
				.arg = arg,
				.op = SCMP_CMP_MASKED_EQ,
				.datum_a = clone_ns_flags[i],
				.datum_b = clone_ns_flags[i],
			};
			r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
		}
	}
	if (r < 0)
		return rl_fail(err, -r,
			       "build the default seccomp profile: libseccomp rejected the "
			       "rule for %s: %s; use --security-opt seccomp=unconfined to "
			       "run without it",
			       b->name, strerror(-r));
	return 0;
}

static int build_default(uint64_t caps, scmp_filter_ctx *out, struct rl_error *err)
{
	_cleanup_ctx_ scmp_filter_ctx ctx = NULL;
	int r = new_filter(SCMP_ACT_ALLOW, &ctx, err);
	if (r < 0)
		return r;
	add_compat_arches(ctx);

	for (size_t i = 0; i < sizeof(default_blocks) / sizeof(default_blocks[0]); i++) {
		const struct blocked_syscall *b = &default_blocks[i];
		if (b->relaxed_by & caps)
			continue;
		int nr = seccomp_syscall_resolve_name(b->name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* this libseccomp has never heard of it */
		r = add_default_block(ctx, b, nr, err);
		if (r < 0)
			return r;
	}
	*out = RL_TAKE(ctx);
	return 0;
}

/* ---- Docker-format JSON profiles ----------------------------------------- */

struct profile {
	const char *path;
	uint64_t caps;
	const char *go_arch; /* the native arch as Docker names it in "arches" */
	unsigned kernel_major, kernel_minor;
	scmp_filter_ctx ctx;
	uint32_t default_action;
	struct rl_error *err;
};

/* Every profile error is one line: the file, the field, what is wrong. */
__attribute__((format(printf, 2, 3))) static int bad(const struct profile *p, const char *fmt,
						     ...)
{
	char what[448];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return rl_fail(p->err, EINVAL, "seccomp profile %s: %s", p->path, what);
}

#define ACTION_NAMES                                                           \
	"SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, " \
	"SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG"

enum action_data { DATA_NONE, DATA_ERRNO, DATA_TRACE };

static const struct {
	const char *name;
	uint32_t action;
	enum action_data data;
} actions[] = {
	{"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, DATA_NONE},
	{"SCMP_ACT_ERRNO", 0, DATA_ERRNO},
	{"SCMP_ACT_KILL", SCMP_ACT_KILL, DATA_NONE},
	{"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, DATA_NONE},
	{"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, DATA_NONE},
	{"SCMP_ACT_TRAP", SCMP_ACT_TRAP, DATA_NONE},
	{"SCMP_ACT_TRACE", 0, DATA_TRACE},
	{"SCMP_ACT_LOG", SCMP_ACT_LOG, DATA_NONE},
};

/* An optional unsigned integer field; *present says whether it was there. */
static int get_uint(const struct profile *p, json_t *obj, const char *key, const char *where,
		    uint64_t max, bool *present, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return bad(p, "%s%s: must be an integer from 0 to %" PRIu64, where, key, max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* `where` is the path of the object holding the fields, e.g. "syscalls[3]."
 * (empty at the top level), so that errors name the exact field. */
static int parse_action(const struct profile *p, json_t *obj, const char *action_key,
			const char *errno_key, const char *where, uint32_t *out)
{
	json_t *v = json_object_get(obj, action_key);
	if (!v)
		return bad(p, "%s%s: missing; set it to one of " ACTION_NAMES, where,
			   action_key);
	if (!json_is_string(v))
		return bad(p, "%s%s: must be a string, one of " ACTION_NAMES, where,
			   action_key);
	const char *name = json_string_value(v);

	bool has_ret;
	uint64_t ret = EPERM; /* what runc uses when errnoRet is absent */
	int r = get_uint(p, obj, errno_key, where, 0xffff, &has_ret, &ret);
	if (r < 0)
		return r;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(name, actions[i].name) != 0)
			continue;
		switch (actions[i].data) {
		case DATA_NONE:
			*out = actions[i].action;
			break;
		case DATA_ERRNO:
			*out = SCMP_ACT_ERRNO((uint32_t)ret);
			break;
		case DATA_TRACE:
			*out = SCMP_ACT_TRACE((uint32_t)ret);
			break;
		}
		return 0;
	}
	if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		return bad(p, "%s%s: SCMP_ACT_NOTIFY needs a seccomp agent, which rlbpf does "
			      "not have; use one of " ACTION_NAMES,
			   where, action_key);
	return bad(p, "%s%s: unknown action \"%s\"; use one of " ACTION_NAMES, where,
		   action_key, name);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 when unknown. */
static uint32_t arch_token(const char *name)
{
	if (strncasecmp(name, "SCMP_ARCH_", 10) == 0)
		name += 10;
	char lower[32];
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(lower))
		return 0;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	return seccomp_arch_resolve_name(lower);
}

static int add_arch_list(struct profile *p, json_t *list, const char *where)
{
	if (!json_is_array(list))
		return bad(p, "%s: must be an array of names like \"SCMP_ARCH_X86_64\"", where);
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v))
			return bad(p, "%s[%zu]: must be a string like \"SCMP_ARCH_X86_64\"",
				   where, i);
		uint32_t arch = arch_token(json_string_value(v));
		if (arch == 0)
			continue; /* unknown to this libseccomp: its syscalls can't run here */
		int r = seccomp_arch_add(p->ctx, arch);
		if (r < 0 && r != -EEXIST)
			return rl_fail(p->err, -r,
				       "seccomp profile %s: %s[%zu]: cannot add %s to the "
				       "filter: %s; remove it from the profile",
				       p->path, where, i, json_string_value(v), strerror(-r));
	}
	return 0;
}

static int parse_arches(struct profile *p, json_t *root)
{
	json_t *list = json_object_get(root, "architectures");
	json_t *map = json_object_get(root, "archMap");
	/* null and [] mean "not given", as they do for Docker. */
	if (json_is_null(list) || (json_is_array(list) && json_array_size(list) == 0))
		list = NULL;
	if (json_is_null(map) || (json_is_array(map) && json_array_size(map) == 0))
		map = NULL;
	if (list && map)
		return bad(p, "both \"architectures\" and \"archMap\" are set; keep only one");
	if (list)
		return add_arch_list(p, list, "architectures");
	if (!map)
		return 0;
	if (!json_is_array(map))
		return bad(p, "archMap: must be an array of {\"architecture\": ..., "
			      "\"subArchitectures\": [...]}");
	/* Docker uses only the entry for the arch it runs on. */
	size_t i;
	json_t *e;
	json_array_foreach(map, i, e)
	{
		json_t *arch = json_object_get(e, "architecture");
		if (!json_is_object(e) || !json_is_string(arch))
			return bad(p, "archMap[%zu].architecture: must be a string like "
				      "\"SCMP_ARCH_X86_64\"",
				   i);
		json_t *subs = json_object_get(e, "subArchitectures");
		char where[64];
		snprintf(where, sizeof(where), "archMap[%zu].subArchitectures", i);
		if (subs && !json_is_array(subs))
			return bad(p, "%s: must be an array of names", where);
		if (arch_token(json_string_value(arch)) != seccomp_arch_native())
			continue;
		if (subs) {
			int r = add_arch_list(p, subs, where);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
	{"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	{"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
	{"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

#define OP_NAMES                                                               \
	"SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, "     \
	"SCMP_CMP_GE or SCMP_CMP_MASKED_EQ"

/* Far more than any real profile uses on one syscall, and enough to keep
 * the conditions on the stack. */
#define MAX_ARGS 16

static int parse_args(const struct profile *p, json_t *entry, size_t idx,
		      struct scmp_arg_cmp *conds, unsigned *n)
{
	*n = 0;
	json_t *args = json_object_get(entry, "args");
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args))
		return bad(p, "syscalls[%zu].args: must be an array of {\"index\", \"value\", "
			      "\"valueTwo\", \"op\"}",
			   idx);
	if (json_array_size(args) > MAX_ARGS)
		return bad(p, "syscalls[%zu].args: more than %d conditions; split the entry",
			   idx, MAX_ARGS);
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a)
	{
		char where[64];
		snprintf(where, sizeof(where), "syscalls[%zu].args[%zu].", idx, i);
		if (!json_is_object(a))
			return bad(p, "syscalls[%zu].args[%zu]: must be an object", idx, i);
		bool present;
		uint64_t index = 0, value = 0, value_two = 0;
		int r = get_uint(p, a, "index", where, 5, &present, &index);
		if (r < 0)
			return r;
		if (!present)
			return bad(p, "%sindex: missing; give the argument number, 0 to 5",
				   where);
		r = get_uint(p, a, "value", where, INT64_MAX, &present, &value);
		if (r < 0)
			return r;
		r = get_uint(p, a, "valueTwo", where, INT64_MAX, &present, &value_two);
		if (r < 0)
			return r;

		json_t *op = json_object_get(a, "op");
		if (!json_is_string(op))
			return bad(p, "%sop: %s; use one of " OP_NAMES, where,
				   op ? "must be a string" : "missing");
		size_t k;
		for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
			if (strcmp(json_string_value(op), ops[k].name) == 0)
				break;
		if (k == sizeof(ops) / sizeof(ops[0]))
			return bad(p, "%sop: unknown operator \"%s\"; use one of " OP_NAMES,
				   where, json_string_value(op));
		/* For MASKED_EQ Docker's "value" is the mask and "valueTwo" the
		 * expected result, the same order as libseccomp's. */
		conds[(*n)++] = (struct scmp_arg_cmp){
			.arg = (unsigned)index,
			.op = ops[k].op,
			.datum_a = value,
			.datum_b = value_two,
		};
	}
	return 0;
}

/* Docker checks "caps" against names like "CAP_SYS_ADMIN"; a name we do not
 * know cannot be held, as in Docker. */
static bool holds_cap(uint64_t caps, const char *name)
{
	const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
	for (int c = 0; c < 64; c++) {
		const char *known = rl_cap_name(c);
		if (known && strcasecmp(bare, known + 4) == 0)
			return (caps & CAP_BIT(c)) != 0;
	}
	return false;
}

static int parse_kernel_version(const char *s, unsigned *major, unsigned *minor)
{
	return sscanf(s, "%u.%u", major, minor) == 2 ? 0 : -1;
}

/* One "includes" or "excludes" object: *matches says whether the container
 * has everything it lists (Docker: all caps, the arch, at least minKernel). */
static int filter_matches(const struct profile *p, json_t *entry, const char *key, size_t idx,
			  bool include, bool *matches)
{
	json_t *f = json_object_get(entry, key);
	*matches = include; /* an absent filter includes and excludes nothing */
	if (!f || json_is_null(f))
		return 0;
	if (!json_is_object(f))
		return bad(p, "syscalls[%zu].%s: must be an object", idx, key);

	bool all = true, any = false;
	json_t *caps = json_object_get(f, "caps");
	if (caps && !json_is_null(caps)) {
		if (!json_is_array(caps))
			return bad(p, "syscalls[%zu].%s.caps: must be an array of capability "
				      "names",
				   idx, key);
		size_t i;
		json_t *v;
		json_array_foreach(caps, i, v)
		{
			if (!json_is_string(v))
				return bad(p, "syscalls[%zu].%s.caps[%zu]: must be a string like "
					      "\"CAP_SYS_ADMIN\"",
					   idx, key, i);
			bool held = holds_cap(p->caps, json_string_value(v));
			all &= held;
			any |= held;
		}
	}

	json_t *arches = json_object_get(f, "arches");
	if (arches && !json_is_null(arches)) {
		if (!json_is_array(arches))
			return bad(p, "syscalls[%zu].%s.arches: must be an array of names like "
				      "\"amd64\"",
				   idx, key);
		bool here = false;
		size_t i;
		json_t *v;
		json_array_foreach(arches, i, v)
		{
			if (!json_is_string(v))
				return bad(p, "syscalls[%zu].%s.arches[%zu]: must be a string like "
					      "\"amd64\"",
					   idx, key, i);
			here |= p->go_arch && strcmp(json_string_value(v), p->go_arch) == 0;
		}
		if (json_array_size(arches) > 0) {
			all &= here;
			any |= here;
		}
	}

	json_t *min = json_object_get(f, "minKernel");
	if (min && !json_is_null(min)) {
		unsigned major, minor;
		if (!json_is_string(min) ||
		    parse_kernel_version(json_string_value(min), &major, &minor) < 0)
			return bad(p, "syscalls[%zu].%s.minKernel: must be a version string "
				      "like \"4.8\"",
				   idx, key);
		bool newer = p->kernel_major > major ||
			     (p->kernel_major == major && p->kernel_minor >= minor);
		all &= newer;
		any |= newer;
	}

	*matches = include ? all : any;
	return 0;
}

static int add_profile_rule(const struct profile *p, size_t idx, const char *name,
			    uint32_t action, const struct scmp_arg_cmp *conds, unsigned n)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* as Docker: profiles list syscalls of every arch and kernel */

	/* libseccomp cannot AND two conditions on one argument; runc then
	 * adds each condition as its own rule, which Docker profiles expect. */
	bool split = false;
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			split |= conds[i].arg == conds[j].arg;

	int r = 0;
	if (!split)
		r = seccomp_rule_add_array(p->ctx, action, nr, n, conds);
	for (unsigned i = 0; split && r == 0 && i < n; i++)
		r = seccomp_rule_add_array(p->ctx, action, nr, 1, &conds[i]);
	if (r < 0)
		return rl_fail(p->err, -r,
			       "seccomp profile %s: syscalls[%zu]: libseccomp rejected the rule "
			       "for %s: %s; check its action and args",
			       p->path, idx, name, strerror(-r));
	return 0;
}

static int parse_syscall_entry(struct profile *p, json_t *entry, size_t idx)
{
	if (!json_is_object(entry))
		return bad(p, "syscalls[%zu]: must be an object", idx);

	json_t *names = json_object_get(entry, "names");
	json_t *name = json_object_get(entry, "name");
	if (names && name)
		return bad(p, "syscalls[%zu]: both \"name\" and \"names\" are set; keep only "
			      "\"names\"",
			   idx);
	if (!names && !name)
		return bad(p, "syscalls[%zu].names: missing; list the syscalls the entry is "
			      "for",
			   idx);
	if (name && !json_is_string(name))
		return bad(p, "syscalls[%zu].name: must be a string", idx);
	if (names) {
		if (!json_is_array(names))
			return bad(p, "syscalls[%zu].names: must be an array of syscall names",
				   idx);
		size_t i;
		json_t *v;
		json_array_foreach(names, i, v)
		{
			if (!json_is_string(v))
				return bad(p, "syscalls[%zu].names[%zu]: must be a string (a "
					      "syscall name)",
					   idx, i);
		}
	}

	char where[40];
	snprintf(where, sizeof(where), "syscalls[%zu].", idx);
	uint32_t action;
	int r = parse_action(p, entry, "action", "errnoRet", where, &action);
	if (r < 0)
		return r;

	struct scmp_arg_cmp conds[MAX_ARGS];
	unsigned n_conds;
	r = parse_args(p, entry, idx, conds, &n_conds);
	if (r < 0)
		return r;

	bool included, excluded;
	r = filter_matches(p, entry, "includes", idx, true, &included);
	if (r < 0)
		return r;
	r = filter_matches(p, entry, "excludes", idx, false, &excluded);
	if (r < 0)
		return r;

	/* Everything is validated above, whether or not the entry applies, so
	 * that a broken profile fails the same way for every set of caps.
	 * libseccomp refuses rules that repeat the default action. */
	if (!included || excluded || action == p->default_action)
		return 0;

	if (name)
		return add_profile_rule(p, idx, json_string_value(name), action, conds, n_conds);
	size_t i;
	json_t *v;
	json_array_foreach(names, i, v)
	{
		r = add_profile_rule(p, idx, json_string_value(v), action, conds, n_conds);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *native_go_arch(void)
{
	static const struct {
		uint32_t arch;
		const char *go;
	} names[] = {
		{SCMP_ARCH_X86_64, "amd64"},    {SCMP_ARCH_X86, "386"},
		{SCMP_ARCH_AARCH64, "arm64"},   {SCMP_ARCH_ARM, "arm"},
		{SCMP_ARCH_S390X, "s390x"},     {SCMP_ARCH_S390, "s390"},
		{SCMP_ARCH_PPC64LE, "ppc64le"}, {SCMP_ARCH_PPC64, "ppc64"},
		{SCMP_ARCH_MIPS64, "mips64"},   {SCMP_ARCH_MIPSEL64, "mips64le"},
		{SCMP_ARCH_MIPS, "mips"},       {SCMP_ARCH_MIPSEL, "mipsle"},
		{SCMP_ARCH_RISCV64, "riscv64"},
	};
	uint32_t native = seccomp_arch_native();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].arch == native)
			return names[i].go;
	return NULL;
}

static int load_json(const char *path, json_t **out, struct rl_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return rl_fail(err, errno,
			       "seccomp profile %s: cannot open it: %s; give the path of a "
			       "readable Docker-format JSON profile",
			       path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rl_fail(err, errno, "seccomp profile %s: cannot stat it: %s", path,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return rl_fail(err, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
			       "seccomp profile %s: not a regular file; give the path of a "
			       "Docker-format JSON profile",
			       path);

	json_error_t jerr;
	json_t *root = json_loadfd(fd, 0, &jerr);
	if (!root)
		return rl_fail(err, EINVAL,
			       "seccomp profile %s: not valid JSON: %s at line %d column %d",
			       path, jerr.text, jerr.line, jerr.column);
	*out = root;
	return 0;
}

/* A profile already parsed; `path` names it in messages. */
static int build_from_json(json_t *root, const char *path, uint64_t caps, scmp_filter_ctx *out,
			   struct rl_error *err)
{
	int r;
	struct profile p = {
		.path = path,
		.caps = caps,
		.go_arch = native_go_arch(),
		.err = err,
	};
	struct utsname uts;
	if (uname(&uts) == 0)
		(void)parse_kernel_version(uts.release, &p.kernel_major, &p.kernel_minor);

	if (!json_is_object(root))
		return bad(&p, "the top level must be a JSON object with \"defaultAction\"");
	r = parse_action(&p, root, "defaultAction", "defaultErrnoRet", "", &p.default_action);
	if (r < 0)
		return r;

	json_t *syscalls = json_object_get(root, "syscalls");
	if (syscalls && !json_is_null(syscalls) && !json_is_array(syscalls))
		return bad(&p, "syscalls: must be an array of rules");

	_cleanup_ctx_ scmp_filter_ctx ctx = NULL;
	r = new_filter(p.default_action, &ctx, err);
	if (r < 0)
		return r;
	p.ctx = ctx;

	r = parse_arches(&p, root);
	if (r < 0)
		return r;

	size_t i;
	json_t *entry;
	json_array_foreach(syscalls, i, entry)
	{
		r = parse_syscall_entry(&p, entry, i);
		if (r < 0)
			return r;
	}
	*out = RL_TAKE(ctx);
	return 0;
}

static int build_profile(const char *path, uint64_t caps, scmp_filter_ctx *out,
			 struct rl_error *err)
{
	if (!path || !*path)
		return rl_fail(err, EINVAL,
			       "seccomp profile: no file given; use --security-opt "
			       "seccomp=PROFILE.json");

	_cleanup_json_ json_t *root = NULL;
	int r = load_json(path, &root, err);
	if (r < 0)
		return r;
	return build_from_json(root, path, caps, out, err);
}

/* The filter built into *ctx handed out as an rl_seccomp. */
static int hand_out(scmp_filter_ctx *ctx, struct rl_seccomp **out, struct rl_error *err)
{
	struct rl_seccomp *s = calloc(1, sizeof(*s));
	if (!s)
		return rl_fail(err, ENOMEM, "seccomp: out of memory");
	s->ctx = RL_TAKE(*ctx);
	*out = s;
	return 0;
}

/* ---- public API ------------------------------------------------------------ */

int rl_seccomp_build_json(json_t *profile, const char *where, struct rl_seccomp **out,
			  struct rl_error *err)
{
	*out = NULL;
	_cleanup_ctx_ scmp_filter_ctx ctx = NULL;
	int r = build_from_json(profile, where, 0, &ctx, err);
	return r < 0 ? r : hand_out(&ctx, out, err);
}

int rl_seccomp_build(enum rl_seccomp_mode mode, const char *profile_path, uint64_t caps,
		     struct rl_seccomp **out, struct rl_error *err)
{
	*out = NULL;
	_cleanup_ctx_ scmp_filter_ctx ctx = NULL;
	int r;
	switch (mode) {
	case RL_SECCOMP_UNCONFINED:
		return 0;
	case RL_SECCOMP_DEFAULT:
		/* nothing in it can be wrong: built when it is needed, by
		 * built(), while the container builds its filesystem */
		if (!(*out = calloc(1, sizeof(**out))))
			return rl_fail(err, ENOMEM, "seccomp: out of memory");
		(*out)->caps = caps;
		return 0;
	case RL_SECCOMP_PROFILE:
		r = build_profile(profile_path, caps, &ctx, err);
		break;
	default:
		return rl_fail(err, EINVAL, "seccomp: unknown mode %d", (int)mode);
	}
	return r < 0 ? r : hand_out(&ctx, out, err);
}

static int built(struct rl_seccomp *s, struct rl_error *err)
{
	return s->ctx ? 0 : build_default(s->caps, &s->ctx, err);
}

static int export_ctx(void *ctx, int fd)
{
	return seccomp_export_bpf(ctx, fd);
}

int rl_seccomp_export(struct rl_seccomp *s, int fd, struct rl_error *err)
{
	char key[512];
	bool cacheable = !s->ctx && rl_seccomp_cache_key(s->caps, key, sizeof(key)) == 0;
	int r = cacheable ? rl_seccomp_cache_send(key, fd) : 0;
	if (r == 1)
		return 0;
	if (r < 0)
		return rl_fail(err, -r, "hand over the seccomp filter: %s", strerror(-r));
	if ((r = built(s, err)) < 0)
		return r;
	if (cacheable && rl_seccomp_cache_store(key, export_ctx, s->ctx) == 0 &&
	    (r = rl_seccomp_cache_send(key, fd)) != 0)
		return r < 0 ? rl_fail(err, -r, "hand over the seccomp filter: %s", strerror(-r)) : 0;
	r = seccomp_export_bpf(s->ctx, fd);
	if (r < 0)
		return rl_fail(err, -r, "generate the seccomp filter: %s", strerror(-r));
	return 0;
}

/* Reads a whole program from fd, to EOF. */
static int read_program(int fd, struct sock_fprog *prog, struct rl_error *err)
{
	/* Two more than the kernel takes, to see a program that is too long. */
	size_t cap = (BPF_MAXINSNS + 2) * sizeof(struct sock_filter), len = 0;
	struct sock_filter *insns = malloc(cap);
	if (!insns)
		return rl_fail(err, ENOMEM, "load the seccomp filter: out of memory");
	for (;;) {
		ssize_t n = read(fd, (char *)insns + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(insns);
			return rl_fail_errno(err, e, "load the seccomp filter: read the program");
		}
		len += (size_t)n;
		if (n == 0 || len == cap)
			break;
	}
	if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		free(insns);
		return rl_fail(err, EINVAL, "load the seccomp filter: bad program (%zu bytes)", len);
	}
	prog->filter = insns;
	prog->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}

int rl_seccomp_load_from(int fd, bool no_new_privs, struct rl_error *err)
{
	struct sock_fprog prog;
	int r = read_program(fd, &prog, err);
	if (r < 0)
		return r;
	/* What seccomp_load does with our attributes (no TSYNC, LOG or SSB
	 * flags), without generating the program again. */
	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = -errno;
	else if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		r = -errno;
	free(prog.filter);
	if ((r == -EACCES || r == -EPERM) && !no_new_privs)
		return rl_fail(err, -r,
			       "load the seccomp filter: %s; without no_new_privs "
			       "the container needs CAP_SYS_ADMIN in its user "
			       "namespace at this point",
			       strerror(-r));
	if (r < 0)
		return rl_fail(err, -r,
			       "load the seccomp filter: %s; check that the kernel has "
			       "CONFIG_SECCOMP_FILTER, or use --security-opt "
			       "seccomp=unconfined",
			       strerror(-r));
	return 0;
}

int rl_seccomp_load(struct rl_seccomp *s, bool no_new_privs, struct rl_error *err)
{
	if (!s)
		return 0;
	int r = built(s, err);
	if (r < 0)
		return r;
	r = seccomp_attr_set(s->ctx, SCMP_FLTATR_CTL_NNP, no_new_privs ? 1 : 0);
	if (r < 0)
		return rl_fail(err, -r, "load the seccomp filter: set no_new_privs: %s",
			       strerror(-r));
	r = seccomp_load(s->ctx);
	if (r < 0) {
		if (!no_new_privs && (r == -EACCES || r == -EPERM))
			return rl_fail(err, -r,
				       "load the seccomp filter: %s; without no_new_privs "
				       "the container needs CAP_SYS_ADMIN in its user "
				       "namespace at this point",
				       strerror(-r));
		return rl_fail(err, -r,
			       "load the seccomp filter: %s; check that the kernel has "
			       "CONFIG_SECCOMP_FILTER, or use --security-opt "
			       "seccomp=unconfined",
			       strerror(-r));
	}
	return 0;
}

void rl_seccomp_free(struct rl_seccomp *s)
{
	if (!s)
		return;
	if (s->ctx)
		seccomp_release(s->ctx);
	free(s);
}
