/* `rlbpf info`: what this host lets rlbpf promise, in the manner of
 * `docker info`, ending with one WARNING line per promise that cannot be
 * kept here and what to do about it. --format json gives the same facts. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/bpf_features.h"
#include "lib/cleanup.h"
#include "cli/commands.h"
#include "runtime/host_probe.h"
#include "net/network.h"

#define MAX_FEATURES 32
#define MAX_WARNINGS 16
#define SUBID_COUNT 65536 /* what `usermod --add-subuids` hints suggest */

struct info {
	struct rl_host_facts host;
	struct rl_bpf_feature feat[MAX_FEATURES];
	size_t n_feat;
	bool feat_need_root; /* some load probes answered EPERM for lack of privilege */
	uint32_t free_subid;  /* start of a free range for the usermod hint, 0 unknown */
	char warn[MAX_WARNINGS][640];
	size_t n_warn;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rlbpf info [OPTIONS]\n"
		"\n"
		"Show what this host lets rlbpf do: kernel, cgroups, which limits can be\n"
		"enforced and by what, the rlbpfd agent, BPF features, id mapping and\n"
		"ports; then one WARNING line for each promise that cannot be kept here.\n"
		"\n"
		"Options:\n"
		"  -f, --format FORMAT   text (default) or json\n"
		"  -h, --help            show this help\n");
}

static void warn(struct info *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct info *in, const char *fmt, ...)
{
	if (in->n_warn >= MAX_WARNINGS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->warn[in->n_warn++], sizeof(in->warn[0]), fmt, ap);
	va_end(ap);
}

static const char *errname(int status)
{
	const char *n = strerrorname_np(status < 0 ? -status : status);
	return n ? n : "error";
}

static const char *enforcer_words(enum rl_enforcer e)
{
	switch (e) {
	case RL_ENFORCE_CGROUP2:
		return "cgroup v2 delegation";
	case RL_ENFORCE_AGENT_CGROUP:
		return "a cgroup of rlbpfd's";
	case RL_ENFORCE_AGENT:
		return "rlbpfd agent (eBPF)";
	case RL_ENFORCE_NONE:
		break;
	}
	return "not enforced";
}

static const char *enforcer_key(enum rl_enforcer e)
{
	switch (e) {
	case RL_ENFORCE_CGROUP2:
		return "cgroup_v2_delegation";
	case RL_ENFORCE_AGENT_CGROUP:
		return "rlbpfd_cgroup";
	case RL_ENFORCE_AGENT:
		return "rlbpfd";
	case RL_ENFORCE_NONE:
		break;
	}
	return NULL;
}

static const char *docker_flag(enum rl_resource r)
{
	switch (r) {
	case RL_RES_MEMORY:
		return "--memory";
	case RL_RES_CPU:
		return "--cpus";
	case RL_RES_PIDS:
		break;
	}
	return "--pids-limit";
}

static bool cgroup_v1ish(const struct rl_host_facts *h)
{
	return h->cgroup.layout == RL_CGROUP_V1 || h->cgroup.layout == RL_CGROUP_HYBRID;
}

/* Why nothing enforces `r`: the short reason used in the Limits block and
 * in the warning. */
static void not_enforced_reason(const struct rl_host_facts *h, enum rl_resource r, char *buf,
				size_t len)
{
	const char *agent = r != RL_RES_CPU ? " without rlbpfd" : "";
	const char *only = r != RL_RES_CPU ? "" : "; rlbpfd observes cpu time (rlbpf stats) but does not limit it";
	if (cgroup_v1ish(h))
		snprintf(buf, len, "cgroup v1%s%s", agent, only);
	else if (h->cgroup.layout == RL_CGROUP_NONE)
		snprintf(buf, len, "no cgroup2 mounted%s%s", agent, only);
	else
		snprintf(buf, len, "cgroup v2 %s controller not delegated to %s%s%s",
			 rl_resource_name(r), h->user.name, agent, only);
}

static void probe_bpf(struct info *in)
{
	in->n_feat = rl_bpf_features_probe(in->feat, MAX_FEATURES);
	if (in->n_feat > MAX_FEATURES)
		in->n_feat = MAX_FEATURES;
	if (geteuid() == 0)
		return;
	for (size_t i = 0; i < in->n_feat; i++)
		if (in->feat[i].status == -EPERM)
			in->feat_need_root = true;
}

static void collect_warnings(struct info *in)
{
	const struct rl_host_facts *h = &in->host;
	char why[256];

	if (!h->userns.allowed)
		warn(in, "unprivileged user namespaces are disabled (%s): rlbpf cannot start containers%s%s",
		     h->userns.why[0] ? h->userns.why : h->userns.err.msg,
		     h->userns.fix[0] ? "; fix: " : "", h->userns.fix);

	for (enum rl_resource r = RL_RES_MEMORY; r <= RL_RES_PIDS; r++) {
		if (rl_limit_enforcer(h, r) != RL_ENFORCE_NONE)
			continue;
		not_enforced_reason(h, r, why, sizeof(why));
		if (r == RL_RES_CPU)
			warn(in, "%s limits (%s) are not enforced: %s", rl_resource_name(r),
			     docker_flag(r), why);
		else
			/* `run` refuses these rather than ignore them */
			warn(in, "%s limits (%s) cannot be enforced, so `run` refuses them "
				 "(or takes --memory-enforce=none): %s; start rlbpfd as root",
			     rl_resource_name(r), docker_flag(r), why);
	}

	if (!h->agent.reachable)
		warn(in, "rlbpfd is not reachable, so `rlbpf trace` and `rlbpf stats` have nothing to show: %s",
		     h->agent.why);

	const struct rl_subid_facts *ids[] = {&h->subuid, &h->subgid};
	for (size_t i = 0; i < 2; i++) {
		const char *kind = i == 0 ? "uid" : "gid";
		if (ids[i]->found)
			continue;
		if (ids[i]->err.code)
			warn(in, "cannot read subordinate %s ranges: %s", kind, ids[i]->err.msg);
		else if (in->free_subid)
			warn(in,
			     "no subordinate %s range for %s: containers get a single-id map; fix: sudo usermod --add-sub%ss %" PRIu32
			     "-%" PRIu32 " %s",
			     kind, h->user.name, kind, in->free_subid,
			     in->free_subid + SUBID_COUNT - 1, h->user.name);
		else
			warn(in, "no subordinate %s range for %s in %s: containers get a single-id map",
			     kind, h->user.name, ids[i]->file);
	}

	const struct rl_helper_facts *helpers[] = {&h->newuidmap, &h->newgidmap};
	for (size_t i = 0; i < 2; i++) {
		const struct rl_helper_facts *x = helpers[i];
		if (!x->found)
			warn(in, "%s not found: containers get a single-id map; fix: sudo apt-get install uidmap",
			     x->name);
		else if (x->nosuid_mount)
			warn(in, "%s is on a nosuid mount: it cannot map ranges, containers get a single-id map",
			     x->path);
		else if (!rl_helper_usable(x))
			warn(in,
			     "%s is not setuid root and has no file capabilities: containers get a single-id map; fix: sudo chmod u+s %s",
			     x->path, x->path);
	}

	if (rl_root_mount(&h->overlay) == RL_ROOT_NONE && !h->overlay.fuse_found)
		warn(in, "%s and fuse-overlayfs is not installed: containers cannot start; fix: sudo apt-get install fuse-overlayfs",
		     !h->overlay.listed && !h->overlay.module ? "overlayfs is not available"
							   : "the kernel refuses overlayfs in a user namespace");
	else if (rl_root_mount(&h->overlay) == RL_ROOT_NONE)
		warn(in, "the kernel refuses overlayfs in a user namespace and fuse-overlayfs cannot open %s (%s): containers cannot start; fix: sudo chmod 666 %s",
		     rl_host_paths_default.dev_fuse, strerror(-h->overlay.dev_fuse.status),
		     rl_host_paths_default.dev_fuse);

	if (h->ip_unprivileged_port_start > 0 && !h->agent.reachable)
		warn(in,
		     "containers cannot bind ports below %ld (net.ipv4.ip_unprivileged_port_start) and rlbpfd is not there to grant them; fix: sudo sysctl net.ipv4.ip_unprivileged_port_start=80",
		     h->ip_unprivileged_port_start);

	if (!h->btf.ok)
		warn(in, "no kernel BTF at %s (%s): rlbpfd cannot load its CO-RE programs",
		     rl_host_paths_default.btf_vmlinux, strerror(-h->btf.status));
}

static void text_cgroup(const struct rl_host_facts *h)
{
	switch (h->cgroup.layout) {
	case RL_CGROUP_V1:
		printf("Cgroup Version: 1\n");
		break;
	case RL_CGROUP_HYBRID:
		printf("Cgroup Version: 1 (hybrid; cgroup2 at %s)\n", h->cgroup.v2_mount);
		break;
	case RL_CGROUP_V2:
		printf("Cgroup Version: 2 (at %s)\n", h->cgroup.v2_mount);
		break;
	case RL_CGROUP_NONE:
		printf("Cgroup Version: none (nothing mounted at %s)\n",
		       rl_host_paths_default.cgroup_root);
		break;
	}
	if (h->cgroup.err.code)
		printf(" (probe failed: %s)\n", h->cgroup.err.msg);
	printf("Cgroup Driver: none: rlbpf does not use cgroups to start containers\n");
}

static void text_limits(const struct rl_host_facts *h)
{
	printf("Limits:\n");
	for (enum rl_resource r = RL_RES_MEMORY; r <= RL_RES_PIDS; r++) {
		enum rl_enforcer e = rl_limit_enforcer(h, r);
		char why[256];
		switch (e) {
		case RL_ENFORCE_CGROUP2:
			printf(" %s: %s (%s)\n", rl_resource_name(r), enforcer_words(e),
			       h->delegation.cgroup);
			break;
		case RL_ENFORCE_AGENT_CGROUP: {
			enum rl_cg_ctrl c = r == RL_RES_MEMORY ? RL_CG_MEMORY
					    : r == RL_RES_PIDS ? RL_CG_PIDS
								 : RL_CG_CPU;
			printf(" %s: %s (cgroup %s, %s)\n", rl_resource_name(r), enforcer_words(e),
			       rl_cg_version(&h->cg_mounts, c), h->cg_mounts.mount[c]);
			break;
		}
		case RL_ENFORCE_AGENT:
			printf(" %s: %s\n", rl_resource_name(r), enforcer_words(e));
			break;
		case RL_ENFORCE_NONE:
			not_enforced_reason(h, r, why, sizeof(why));
			printf(" %s: not enforced (%s)\n", rl_resource_name(r), why);
			break;
		}
	}
}

static void text_bpf(const struct info *in)
{
	if (in->feat_need_root)
		printf("BPF features: run `sudo rlbpfd --probe` to probe (needs root)\n");
	else
		printf("BPF features:%s\n", in->n_feat ? "" : " none probed");
	for (size_t i = 0; i < in->n_feat; i++) {
		const struct rl_bpf_feature *b = &in->feat[i];
		if (in->feat_need_root && b->status == -EPERM)
			continue;
		if (b->status == 0 || b->status == RL_FEATURE_FALLBACK)
			printf(" %s: %s%s%s%s\n", b->name, b->status ? "fallback" : "yes",
			       b->detail[0] ? " (" : "", b->detail, b->detail[0] ? ")" : "");
		else
			printf(" %s: no (%s%s%s)\n", b->name, errname(b->status),
			       b->detail[0] ? ": " : "", b->detail);
	}
}

static const char *root_mount_name(const struct rl_overlay_facts *o)
{
	switch (rl_root_mount(o)) {
	case RL_ROOT_OVERLAY:
		return "overlayfs";
	case RL_ROOT_FUSE_OVERLAY:
		return "fuse-overlayfs";
	case RL_ROOT_NONE:
		break;
	}
	return "none";
}

/* Which of the two mounts containers' roots, and why. */
static const char *root_mount_text(const struct rl_overlay_facts *o)
{
	static char text[PATH_MAX + 256];
	const char *why = o->fuse_forced	       ? "RLBPF_OVERLAY=fuse"
			  : o->userns_trial > 0	       ? "kernel before 5.11"
			  : o->userns_trial < 0	       ? strerror(-o->userns_trial)
						       : "";
	switch (rl_root_mount(o)) {
	case RL_ROOT_OVERLAY:
		return o->userns_trial == 0 ? "overlayfs (kernel, in the user namespace)"
					    : "overlayfs (kernel 5.11+; not tried)";
	case RL_ROOT_FUSE_OVERLAY:
		snprintf(text, sizeof(text),
			 "fuse-overlayfs (%s; the kernel's overlayfs in a user namespace: %s)",
			 o->fuse_path, why);
		return text;
	case RL_ROOT_NONE:
		break;
	}
	snprintf(text, sizeof(text),
		 "none (the kernel's overlayfs in a user namespace: %s; fuse-overlayfs: %s)", why,
		 !o->fuse_found ? "not installed" : "no usable /dev/fuse");
	return text;
}

static void text_helper(const struct rl_helper_facts *x, const struct rl_host_paths *p)
{
	if (!x->found) {
		printf("%s: not found in", x->name);
		for (size_t i = 0; p->helper_dirs[i]; i++)
			printf("%s %s", i ? "," : "", p->helper_dirs[i]);
		printf("\n");
		return;
	}
	const char *how = x->nosuid_mount	   ? "on a nosuid mount: cannot gain privilege"
			  : !x->executable	   ? "not executable by this user"
			  : x->setuid_root	   ? "setuid root"
			  : x->file_caps	   ? "file capabilities"
						   : "not setuid root, no file capabilities";
	printf("%s: %s (%s)\n", x->name, x->path, how);
}

static void text_subid(const char *label, const struct rl_subid_facts *s,
		       const struct rl_user_facts *u)
{
	if (s->found)
		printf("%s: %" PRIu32 "-%" PRIu32 " (%" PRIu32 " ids, %s)\n", label, s->range.start,
		       s->range.start + s->range.count - 1, s->range.count, s->file);
	else if (s->err.code)
		printf("%s: unknown (%s)\n", label, s->err.msg);
	else
		printf("%s: none for %s in %s\n", label, u->name, s->file);
}

static void print_text(const struct info *in)
{
	const struct rl_host_facts *h = &in->host;
	const struct rl_host_paths *p = &rl_host_paths_default;

	printf("Kernel: %s\n", h->kernel);
	printf("User: %s (uid %u, gid %u)\n", h->user.name, (unsigned)h->user.uid,
	       (unsigned)h->user.gid);
	text_cgroup(h);
	text_limits(h);
	if (h->agent.reachable)
		printf("Agent: reachable (%s)\n", h->agent.why);
	else
		printf("Agent: not reachable: %s\n", h->agent.why);
	if (h->btf.ok)
		printf("BTF: yes (%s)\n", p->btf_vmlinux);
	else
		printf("BTF: no (%s: %s)\n", p->btf_vmlinux, strerror(-h->btf.status));
	text_bpf(in);
	text_helper(&h->newuidmap, p);
	text_helper(&h->newgidmap, p);
	text_subid("Subordinate UIDs", &h->subuid, &h->user);
	text_subid("Subordinate GIDs", &h->subgid, &h->user);
	if (h->userns.allowed)
		printf("User Namespaces: allowed (user.max_user_namespaces=%ld)\n",
		       h->userns.max_user_namespaces);
	else
		printf("User Namespaces: not allowed (%s)\n",
		       h->userns.why[0] ? h->userns.why : h->userns.err.msg);
	printf("Overlay FS: %s\n", h->overlay.listed	 ? "yes"
				   : h->overlay.module ? "yes (module, loaded on first mount)"
						       : "no");
	printf("Container Root: %s\n", root_mount_text(&h->overlay));
	if (h->ip_unprivileged_port_start >= 0)
		printf("net.ipv4.ip_unprivileged_port_start: %ld\n", h->ip_unprivileged_port_start);
	else
		printf("net.ipv4.ip_unprivileged_port_start: unknown (%s)\n", h->port_err.msg);
	if (h->tun.ok)
		printf("/dev/net/tun: usable\n");
	else
		printf("/dev/net/tun: not usable (%s)\n", strerror(-h->tun.status));
	char note[512];
	enum rl_net_mode mode = rl_network_default(note, sizeof(note));
	if (mode == RL_NET_SLIRP)
		printf("Network driver: slirp4netns (the default; also none and host)\n");
	else
		printf("Network driver: none (the default here; %s)\n", note);
	printf("Port driver: builtin (rlbpf supervisor, splice)\n");
	for (size_t i = 0; i < in->n_warn; i++)
		printf("WARNING: %s\n", in->warn[i]);
}

/* ---- JSON: same facts, stable snake_case keys, null for "unknown/none". */

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *json_limits(const struct rl_host_facts *h)
{
	json_t *o = json_object();
	for (enum rl_resource r = RL_RES_MEMORY; r <= RL_RES_PIDS; r++) {
		enum rl_enforcer e = rl_limit_enforcer(h, r);
		char why[256] = "";
		if (e == RL_ENFORCE_NONE)
			not_enforced_reason(h, r, why, sizeof(why));
		json_object_set_new(o, rl_resource_name(r),
				    json_pack("{s:b, s:o, s:o}", "enforced", e != RL_ENFORCE_NONE,
					      "by", str_or_null(enforcer_key(e)), "why",
					      str_or_null(why)));
	}
	return o;
}

static json_t *json_helper(const struct rl_helper_facts *x)
{
	return json_pack("{s:b, s:o, s:b, s:b, s:b, s:b, s:b}", "found", x->found, "path",
			 str_or_null(x->path), "executable", x->executable, "setuid_root",
			 x->setuid_root, "file_caps", x->file_caps, "nosuid_mount",
			 x->nosuid_mount, "usable", rl_helper_usable(x));
}

static json_t *json_subid(const struct rl_subid_facts *s)
{
	if (!s->found)
		return json_pack("{s:s, s:b, s:o}", "file", s->file, "found", false, "error",
				 str_or_null(s->err.code ? s->err.msg : NULL));
	return json_pack("{s:s, s:b, s:I, s:I}", "file", s->file, "found", true, "start",
			 (json_int_t)s->range.start, "count", (json_int_t)s->range.count);
}

static json_t *int_or_null(long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static json_t *json_bpf(const struct info *in)
{
	json_t *list = json_array();
	for (size_t i = 0; i < in->n_feat; i++) {
		const struct rl_bpf_feature *b = &in->feat[i];
		json_array_append_new(list, json_pack("{s:s, s:b, s:b, s:o, s:s}", "name", b->name,
						      "ok", b->status == 0, "fallback",
						      b->status == RL_FEATURE_FALLBACK, "error",
						      b->status < 0 ? json_string(errname(b->status))
								    : json_null(),
						      "detail", b->detail));
	}
	return json_pack("{s:b, s:o, s:o}", "needs_root", in->feat_need_root, "hint",
			 in->feat_need_root
				 ? json_string("run `sudo rlbpfd --probe` to probe (needs root)")
				 : json_null(),
			 "features", list);
}

static json_t *json_controllers(unsigned mask)
{
	json_t *a = json_array();
	for (enum rl_resource r = RL_RES_MEMORY; r <= RL_RES_PIDS; r++)
		if (mask & rl_resource_controller(r))
			json_array_append_new(a, json_string(rl_resource_name(r)));
	return a;
}

static int print_json(const struct info *in)
{
	const struct rl_host_facts *h = &in->host;
	const struct rl_host_paths *p = &rl_host_paths_default;

	json_t *version = h->cgroup.layout == RL_CGROUP_V2     ? json_integer(2)
			  : h->cgroup.layout == RL_CGROUP_NONE ? json_null()
							       : json_integer(1);
	json_t *warnings = json_array();
	for (size_t i = 0; i < in->n_warn; i++)
		json_array_append_new(warnings, json_string(in->warn[i]));

	json_auto_t *root = json_pack(
		"{s:s, s:{s:s, s:I, s:I}, s:{s:o, s:s, s:o, s:s}, s:o,"
		" s:{s:o, s:o, s:o}, s:{s:s, s:b, s:s}, s:{s:b, s:s}, s:o,"
		" s:o, s:o, s:o, s:o,"
		" s:{s:b, s:o, s:o, s:o, s:o},"
		" s:{s:b, s:b, s:b, s:b, s:s}, s:o, s:{s:s, s:b, s:o}, s:o}",
		"kernel", h->kernel,
		"user", "name", h->user.name, "uid", (json_int_t)h->user.uid, "gid",
		(json_int_t)h->user.gid,
		"cgroup", "version", version, "layout", rl_cgroup_layout_name(h->cgroup.layout),
		"cgroup2_mount", str_or_null(h->cgroup.v2_mount), "driver", "none",
		"limits", json_limits(h),
		"cgroup_v2_delegation", "cgroup", str_or_null(h->delegation.cgroup), "controllers",
		json_controllers(h->delegation.controllers), "why", str_or_null(h->delegation.why),
		"agent", "socket", p->agent_socket, "reachable", h->agent.reachable, "why",
		h->agent.why,
		"btf", "present", h->btf.ok, "path", p->btf_vmlinux,
		"bpf_features", json_bpf(in),
		"newuidmap", json_helper(&h->newuidmap),
		"newgidmap", json_helper(&h->newgidmap),
		"subuid", json_subid(&h->subuid),
		"subgid", json_subid(&h->subgid),
		"user_namespaces", "allowed", h->userns.allowed, "max_user_namespaces",
		int_or_null(h->userns.max_user_namespaces), "unprivileged_userns_clone",
		int_or_null(h->userns.unprivileged_userns_clone),
		"apparmor_restrict_unprivileged_userns", int_or_null(h->userns.apparmor_restrict),
		"why", str_or_null(h->userns.why),
		"overlay", "available", h->overlay.listed || h->overlay.module, "loaded",
		h->overlay.listed, "module", h->overlay.module, "userns_mount",
		h->overlay.userns_mount,
		"root_mount", root_mount_name(&h->overlay),
		"ip_unprivileged_port_start", int_or_null(h->ip_unprivileged_port_start),
		"tun", "path", p->tun, "usable", h->tun.ok, "error",
		h->tun.ok ? json_null() : json_string(strerror(-h->tun.status)),
		"warnings", warnings);
	char note[512];
	enum rl_net_mode mode = rl_network_default(note, sizeof(note));
	if (root)
		json_object_set_new(root, "network",
				    json_pack("{s:s, s:o, s:s}", "driver", rl_network_name(mode),
					      "why", note[0] ? json_string(note) : json_null(),
					      "port_driver", "builtin (rlbpf supervisor, splice)"));
	if (!root) {
		fprintf(stderr, "rlbpf info: cannot build the JSON output (out of memory?)\n");
		return RL_EXIT_INTERNAL;
	}
	if (json_dumpf(root, stdout, JSON_INDENT(2)) < 0 || printf("\n") < 0) {
		fprintf(stderr, "rlbpf info: cannot write the JSON output: %s\n", strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	return 0;
}

enum info_format { FORMAT_TEXT, FORMAT_JSON };

/* 0 to go on, 1 when --help was handled, or RL_EXIT_INTERNAL after one
 * line on stderr. */
static int parse_args(int argc, char **argv, enum info_format *fmt)
{
	*fmt = FORMAT_TEXT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 1;
		} else if (strncmp(a, "--format=", 9) == 0) {
			val = a + 9;
		} else if (strcmp(a, "--format") == 0 || strcmp(a, "-f") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"rlbpf info: option '%s' needs a value (text or json); see 'rlbpf info --help'\n",
					a);
				return RL_EXIT_INTERNAL;
			}
			val = argv[++i];
		} else if (a[0] == '-') {
			fprintf(stderr, "rlbpf info: unknown option '%s'; see 'rlbpf info --help'\n", a);
			return RL_EXIT_INTERNAL;
		} else {
			fprintf(stderr,
				"rlbpf info: unexpected argument '%s'; see 'rlbpf info --help'\n", a);
			return RL_EXIT_INTERNAL;
		}
		if (strcmp(val, "json") == 0 || strcmp(val, "{{json .}}") == 0) {
			*fmt = FORMAT_JSON;
		} else if (strcmp(val, "text") == 0) {
			*fmt = FORMAT_TEXT;
		} else {
			fprintf(stderr,
				"rlbpf info: unknown format '%s'; use --format json or --format text\n",
				val);
			return RL_EXIT_INTERNAL;
		}
	}
	return 0;
}

int cmd_info(int argc, char **argv)
{
	enum info_format fmt;
	int r = parse_args(argc, argv, &fmt);
	if (r)
		return r == 1 ? 0 : r;

	/* Large (paths, messages): on the heap, not the stack. */
	_cleanup_free_ struct info *in = calloc(1, sizeof(*in));
	if (!in) {
		fprintf(stderr, "rlbpf info: out of memory\n");
		return RL_EXIT_INTERNAL;
	}
	rl_host_probe(NULL, &in->host);
	probe_bpf(in);
	const char *const subid_files[] = {rl_host_paths_default.subuid,
					   rl_host_paths_default.subgid, NULL};
	struct rl_error ignored = {0};
	if (rl_subid_free_start(subid_files, SUBID_COUNT, &in->free_subid, &ignored) < 0)
		in->free_subid = 0;
	collect_warnings(in);

	if (fmt == FORMAT_JSON)
		return print_json(in);
	print_text(in);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rlbpf info: cannot write the output: %s\n", strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	return 0;
}
