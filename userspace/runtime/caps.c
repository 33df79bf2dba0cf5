#include "runtime/caps.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define CAP_BIT(c) (UINT64_C(1) << (c))

/* Indexed by number so that a name can never drift from its value; the
 * macro keeps the spelling in one place. */
#define NAME(c) [CAP_##c] = "CAP_" #c
static const char *const cap_names[] = {
	NAME(CHOWN),
	NAME(DAC_OVERRIDE),
	NAME(DAC_READ_SEARCH),
	NAME(FOWNER),
	NAME(FSETID),
	NAME(KILL),
	NAME(SETGID),
	NAME(SETUID),
	NAME(SETPCAP),
	NAME(LINUX_IMMUTABLE),
	NAME(NET_BIND_SERVICE),
	NAME(NET_BROADCAST),
	NAME(NET_ADMIN),
	NAME(NET_RAW),
	NAME(IPC_LOCK),
	NAME(IPC_OWNER),
	NAME(SYS_MODULE),
	NAME(SYS_RAWIO),
	NAME(SYS_CHROOT),
	NAME(SYS_PTRACE),
	NAME(SYS_PACCT),
	NAME(SYS_ADMIN),
	NAME(SYS_BOOT),
	NAME(SYS_NICE),
	NAME(SYS_RESOURCE),
	NAME(SYS_TIME),
	NAME(SYS_TTY_CONFIG),
	NAME(MKNOD),
	NAME(LEASE),
	NAME(AUDIT_WRITE),
	NAME(AUDIT_CONTROL),
	NAME(SETFCAP),
	NAME(MAC_OVERRIDE),
	NAME(MAC_ADMIN),
	NAME(SYSLOG),
	NAME(WAKE_ALARM),
	NAME(BLOCK_SUSPEND),
	NAME(AUDIT_READ),
	NAME(PERFMON),
	NAME(BPF),
	NAME(CHECKPOINT_RESTORE),
};
#undef NAME

#define N_CAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))
_Static_assert(sizeof(cap_names) / sizeof(cap_names[0]) <= 64,
	       "capability sets are 64-bit masks");

uint64_t rl_caps_docker_default(void)
{
	return CAP_BIT(CAP_CHOWN) | CAP_BIT(CAP_DAC_OVERRIDE) | CAP_BIT(CAP_FSETID) |
	       CAP_BIT(CAP_FOWNER) | CAP_BIT(CAP_MKNOD) | CAP_BIT(CAP_NET_RAW) |
	       CAP_BIT(CAP_SETGID) | CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETFCAP) |
	       CAP_BIT(CAP_SETPCAP) | CAP_BIT(CAP_NET_BIND_SERVICE) |
	       CAP_BIT(CAP_SYS_CHROOT) | CAP_BIT(CAP_KILL) | CAP_BIT(CAP_AUDIT_WRITE);
}

const char *rl_cap_name(int cap)
{
	if (cap < 0 || cap >= N_CAP_NAMES)
		return NULL;
	return cap_names[cap];
}

/* The highest capability the running kernel knows. libcap probes it when it
 * is loaded (without needing /proc, which a container may not have mounted
 * yet), so this is cheap and safe at any point of container setup. */
static int kernel_last_cap(void)
{
	int bits = (int)cap_max_bits();
	if (bits <= 0)
		bits = CAP_LAST_CAP + 1;
	if (bits > 64)
		bits = 64;
	return bits - 1;
}

static uint64_t kernel_all_caps(void)
{
	int last = kernel_last_cap();
	return last >= 63 ? UINT64_MAX : CAP_BIT(last + 1) - 1;
}

enum { PARSED_ALL = -1 };

/* Accepts what Docker accepts: "chown", "CAP_CHOWN", "Cap_Chown", or "all"
 * alone. Sets *cap to the number, or PARSED_ALL. */
static int parse_cap(const char *name, const char *option, bool adding, int *cap,
		     struct rl_error *err)
{
	const char *shown = name ? name : "";
	if (!name)
		name = "";
	if (strcasecmp(name, "ALL") == 0) {
		*cap = PARSED_ALL;
		return 0;
	}
	const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;
	for (int c = 0; c < N_CAP_NAMES; c++) {
		if (!cap_names[c] || strcasecmp(bare, cap_names[c] + 4) != 0)
			continue;
		if (adding && c > kernel_last_cap())
			return rl_fail(err, EINVAL,
				       "capability \"%s\" in %s is not supported by this "
				       "kernel (it knows capabilities up to %s); remove it "
				       "or run on a newer kernel",
				       shown, option, rl_cap_name(kernel_last_cap()));
		*cap = c;
		return 0;
	}
	return rl_fail(err, EINVAL,
		       "unknown capability \"%s\" in %s; see capabilities(7) for names",
		       shown, option);
}

/* Resolves one option's list into a mask; *all says whether ALL was named. */
static int parse_list(char *const *names, size_t n, const char *option, bool adding,
		      uint64_t *mask, bool *all, struct rl_error *err)
{
	*mask = 0;
	*all = false;
	for (size_t i = 0; i < n; i++) {
		int cap = PARSED_ALL;
		int r = parse_cap(names[i], option, adding, &cap, err);
		if (r < 0)
			return r;
		if (cap == PARSED_ALL)
			*all = true;
		else
			*mask |= CAP_BIT(cap);
	}
	return 0;
}

int rl_caps_resolve(char *const *add, size_t n_add, char *const *drop, size_t n_drop,
		    uint64_t *out, struct rl_error *err)
{
	uint64_t add_mask, drop_mask;
	bool add_all, drop_all;
	int r = parse_list(add, n_add, "--cap-add", true, &add_mask, &add_all, err);
	if (r < 0)
		return r;
	r = parse_list(drop, n_drop, "--cap-drop", false, &drop_mask, &drop_all, err);
	if (r < 0)
		return r;

	uint64_t all = kernel_all_caps();
	uint64_t caps;
	/* Docker's order: --cap-add ALL wins over everything but the named
	 * drops; --cap-drop ALL leaves exactly the named adds; otherwise the
	 * default minus the drops plus the adds (so an add beats a drop). */
	if (add_all)
		caps = all & ~drop_mask;
	else if (drop_all)
		caps = add_mask;
	else
		caps = (rl_caps_docker_default() & ~drop_mask) | add_mask;
	*out = caps & all;
	return 0;
}

static const char *cap_label(int cap, char *buf, size_t size)
{
	const char *name = rl_cap_name(cap);
	if (name)
		return name;
	snprintf(buf, size, "capability %d", cap);
	return buf;
}

int rl_caps_drop_bounding(uint64_t caps, struct rl_error *err)
{
	/* Without this the uid change would wipe the permitted set, and
	 * rl_caps_set_final() could not give container root its caps back. */
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return rl_fail_errno(err, errno,
				     "keep capabilities across the uid change (PR_SET_KEEPCAPS)");

	int last = kernel_last_cap();
	for (int c = 0; c <= last; c++) {
		if (caps & CAP_BIT(c))
			continue;
		/* Already gone (a nested container): dropping again would need
		 * CAP_SETPCAP for nothing. */
		if (prctl(PR_CAPBSET_READ, (long)c, 0L, 0L, 0L) == 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, (long)c, 0L, 0L, 0L) < 0) {
			int e = errno;
			char buf[32];
			return rl_fail(err, e,
				       "drop %s from the container's bounding set: %s; "
				       "the container's setup needs CAP_SETPCAP in its user "
				       "namespace at this point",
				       cap_label(c, buf, sizeof(buf)), strerror(e));
		}
	}
	return 0;
}

static void cap_freep(cap_t *c)
{
	if (*c)
		cap_free(*c);
}

int rl_caps_set_final(uint64_t caps, uid_t container_uid, struct rl_error *err)
{
	/* Ambient caps would survive exec into an unprivileged uid, which is
	 * exactly what Docker's model says a non-root user must not get.
	 * EINVAL means the kernel predates ambient caps: nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L) < 0 &&
	    errno != EINVAL)
		return rl_fail_errno(err, errno,
				     "clear the ambient capabilities (PR_CAP_AMBIENT)");

	__attribute__((cleanup(cap_freep))) cap_t state = cap_init();
	if (!state)
		return rl_fail_errno(err, errno, "allocate a capability state");

	if (container_uid == 0) {
		cap_value_t list[64];
		int n = 0;
		int last = kernel_last_cap();
		for (int c = 0; c <= last; c++)
			if (caps & CAP_BIT(c))
				list[n++] = c;
		if (n > 0 && (cap_set_flag(state, CAP_EFFECTIVE, n, list, CAP_SET) < 0 ||
			      cap_set_flag(state, CAP_PERMITTED, n, list, CAP_SET) < 0))
			return rl_fail_errno(err, errno, "build the container's capability set");
	}

	if (cap_set_proc(state) < 0) {
		int e = errno;
		return rl_fail(err, e,
			       "set the container's capabilities (capset): %s; the "
			       "requested set must be within what the container's setup "
			       "still holds",
			       strerror(e));
	}

	/* From here on a uid change must drop everything, as it would for
	 * any ordinary process. */
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0)
		return rl_fail_errno(err, errno, "reset PR_SET_KEEPCAPS");
	return 0;
}
