/* rlbpfd, the agent: the only privileged part of rlbpf. It loads and pins
 * the BPF object and serves RL_AGENT_SOCKET (agent_server.c); it can also
 * report what the kernel allows (--probe), load and list its BPF object
 * (--list), and remove everything it pinned (--unload). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroups.h"
#include "agent/programs.h"
#include "agent/server.h"
#include "lib/bpf_features.h"
#include "lib/error.h"
#include "lib/paths.h"
#include "rlbpf.skel.h"

#define PROG "rlbpfd"
#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTION]\n"
		"The rlbpf agent: loads rlbpf's BPF programs and serves "
		RL_AGENT_SOCKET ".\n"
		"Needs root (or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN).\n"
		"\n"
		"  --probe       print what this kernel lets rlbpf's BPF side do, "
		"then exit\n"
		"  --list        load the BPF object, list its programs and maps, "
		"unload, exit\n"
		"  --foreground  run the agent in the foreground, logging to stderr "
		"(the default)\n"
		"  --unload      remove the programs and maps pinned in " RL_PIN_DIR
		" (stop the agent first)\n"
		"  --socket PATH serve PATH instead of " RL_AGENT_SOCKET "\n"
		"  -h, --help    print this help\n"
		"\n"
		"Exit status: 0 done, 1 failed, 2 bad usage.\n");
}

/* libbpf's warnings (a verifier log, a missing BTF) are the "why" of a
 * failed load, so they go to stderr; its info and debug chatter do not. */
static int libbpf_warnings_only(enum libbpf_print_level level, const char *fmt,
				va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool has_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or the three capabilities loading and attaching need: CAP_BPF to
 * load, CAP_PERFMON for tracing programs, CAP_NET_ADMIN for cgroup/bind4. */
static int check_privilege(struct rl_error *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };

	if (geteuid() == 0)
		return 0;
	if (syscall(SYS_capget, &hdr, data) == 0 && has_cap(data, CAP_BPF) &&
	    has_cap(data, CAP_PERFMON) && has_cap(data, CAP_NET_ADMIN))
		return 0;
	return rl_fail(err, EPERM,
		       "loading BPF needs root (or CAP_BPF, CAP_PERFMON, "
		       "CAP_NET_ADMIN); run it as root");
}

static int do_probe(void)
{
	struct rl_bpf_feature f[32];
	size_t n = rl_bpf_features_probe(f, sizeof(f) / sizeof(f[0]));

	printf("%-13s %-8s %-10s %s\n", "FEATURE", "STATUS", "ERRNO", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		const char *name = f[i].status < 0 ? strerrorname_np(-f[i].status) : NULL;
		const char *status = f[i].status < 0			     ? "FAIL"
				     : f[i].status == RL_FEATURE_FALLBACK ? "FALLBACK"
									 : "OK";
		printf("%-13s %-8s %-10s %s\n", f[i].name, status,
		       f[i].status < 0 ? (name ? name : "?") : "-", f[i].detail);
	}
	fflush(stdout); /* the note belongs after the table */
	if (geteuid() != 0)
		fprintf(stderr, PROG ": not root, so load probes report EPERM; "
				"run it as root for the full picture\n");
	return 0;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* Loads the agent's programs (not the feature probes), prints them with the
 * kernel's ids as proof they are in, and unloads everything on return: no
 * links are made and nothing is pinned. */
static int do_list(struct rl_error *err)
{
	_cleanup_skel_ struct rlbpf *skel = rlbpf__open();
	struct bpf_program *p;
	struct bpf_map *m;

	if (!skel)
		return rl_fail_errno(err, errno,
				     "opening the BPF object built into " PROG
				     " failed; rebuild it (make build/bin/rlbpfd)");
	/* as the agent loads it: fitted to this kernel first */
	char left_out[1024];
	rl_bpf_adapt(skel, left_out, sizeof(left_out));
	int r = rlbpf__load(skel);
	if (r)
		return rl_fail_errno(err, r,
				     "loading the BPF programs into the kernel failed "
				     "(libbpf's reason is above); run " PROG
				     " --probe to see what this kernel allows");

	printf("programs (loaded):\n  %-16s %-32s %-12s %s\n", "NAME", "SECTION",
	       "TYPE", "ID");
	bpf_object__for_each_program(p, skel->obj) {
		if (!bpf_program__autoload(p))
			continue;
		printf("  %-16s %-32s %-12s %u\n", bpf_program__name(p),
		       bpf_program__section_name(p),
		       libbpf_bpf_prog_type_str(bpf_program__type(p)),
		       prog_id(bpf_program__fd(p)));
	}
	printf("maps:\n  %-16s %-12s %12s %s\n", "NAME", "TYPE", "MAX_ENTRIES", "ID");
	bpf_object__for_each_map(m, skel->obj)
		if (bpf_map__autocreate(m))
			printf("  %-16s %-12s %12u %u\n", bpf_map__name(m),
			       libbpf_bpf_map_type_str(bpf_map__type(m)),
			       bpf_map__max_entries(m), map_id(bpf_map__fd(m)));
	if (left_out[0])
		printf("left out on this kernel: %s\n", left_out);
	printf("not loaded (feature probes, see " PROG " --probe; and what was left out):\n");
	bpf_object__for_each_program(p, skel->obj) {
		if (bpf_program__autoload(p))
			continue;
		printf("  %-16s %-32s %s\n", bpf_program__name(p),
		       bpf_program__section_name(p),
		       libbpf_bpf_prog_type_str(bpf_program__type(p)));
	}
	return 0;
}

/* --unload: the pins, and the empty rlbpf/ cgroup directories. */
static int unload(struct rl_error *err)
{
	int r = rl_agent_bpf_unload_idle(err);
	if (r == 0) {
		struct rl_cg_host cg;
		rl_cg_detect(&cg);
		rl_cg_remove_parents(&cg);
	}
	return r;
}

int main(int argc, char **argv)
{
	enum { RUN, PROBE, LIST, UNLOAD } mode = RUN;
	const char *sock = RL_AGENT_SOCKET;
	int modes = 0;
	static const struct option opts[] = {
		{ "probe", no_argument, NULL, 'p' },
		{ "list", no_argument, NULL, 'l' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "unload", no_argument, NULL, 'u' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rl_error err = { 0 };
	int c;

	opterr = 0; /* our own one-line message, not getopt's */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': mode = PROBE; modes++; break;
		case 'l': mode = LIST; modes++; break;
		case 'f': mode = RUN; modes++; break;
		case 'u': mode = UNLOAD; modes++; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, PROG ": unknown option '%s'; see " PROG " --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'; see " PROG " --help\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (modes > 1) {
		fprintf(stderr, PROG ": --probe, --list, --foreground and --unload "
				"exclude each other; give one\n");
		return EXIT_USAGE;
	}

	/* a no-op on libbpf 1.x, where strict behaviour is the only one;
	 * it pins that down should an older libbpf ever be linked */
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	libbpf_set_print(libbpf_warnings_only);

	/* anyone may ask what the kernel allows; the answers say EPERM */
	if (mode == PROBE)
		return do_probe();

	int r = check_privilege(&err);
	if (r == 0)
		r = mode == LIST     ? do_list(&err)
		    : mode == UNLOAD ? unload(&err)
				     : rl_agent_serve(sock, &err);
	if (r < 0) {
		rl_error_print(&err, PROG);
		return 1;
	}
	return 0;
}
