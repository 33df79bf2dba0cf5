/* `rlbpf setup [check]`: each rootless prerequisite as
 *   OK   <what>
 *   FAIL <what>: <why>
 *        fix: <exact command>
 * plus HINT lines for things that help but are not required. Exit 0 only
 * when every required check holds, else 1; bad arguments 125. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "cli/commands.h"
#include "runtime/host_probe.h"

#define SUBID_COUNT 65536 /* room for every id an image may use, nobody included */

struct report {
	int required; /* required checks run */
	int failed;   /* of those, failed */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rlbpf setup [check]\n"
		"\n"
		"Check that this host and user can run rootless containers, and say how\n"
		"to fix what is missing. Each prerequisite is one line: OK or FAIL with\n"
		"the reason and the exact command that fixes it; HINT lines are optional\n"
		"improvements and do not fail the check.\n"
		"\n"
		"Actions:\n"
		"  check        run the checks (the default)\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 when every required check passes, 1 otherwise.\n");
}

static void ok(struct report *rep, bool required, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ok(struct report *rep, bool required, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("OK   ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	rep->required += required;
}

/* "FAIL what: why" (a required check) or "HINT what: why" (not counted);
 * the caller may follow with fix(). */
static void not_ok(struct report *rep, bool required, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void not_ok(struct report *rep, bool required, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %s: ", required ? "FAIL" : "HINT", what);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	if (required) {
		rep->required++;
		rep->failed++;
	}
}

static void fix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fix(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("     fix: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static void check_uidmap(struct report *rep, const struct rl_host_facts *h,
			 const struct rl_host_paths *p)
{
	const char *what = "uidmap installed";
	if (h->newuidmap.found && h->newgidmap.found) {
		ok(rep, true, "%s (%s, %s)", what, h->newuidmap.path, h->newgidmap.path);
	} else {
		char dirs[256] = "";
		for (size_t i = 0, n = 0; p->helper_dirs[i]; i++) {
			int w = snprintf(dirs + n, sizeof(dirs) - n, "%s%s", i ? ", " : "",
					 p->helper_dirs[i]);
			if (w < 0 || (size_t)w >= sizeof(dirs) - n)
				break;
			n += (size_t)w;
		}
		not_ok(rep, true, what, "%s%s%s not found in %s",
		       h->newuidmap.found ? "" : "newuidmap",
		       !h->newuidmap.found && !h->newgidmap.found ? " and " : "",
		       h->newgidmap.found ? "" : "newgidmap", dirs);
		fix("sudo apt-get install uidmap");
	}

	const struct rl_helper_facts *helpers[] = {&h->newuidmap, &h->newgidmap};
	for (size_t i = 0; i < 2; i++) {
		const struct rl_helper_facts *x = helpers[i];
		char hwhat[64];
		snprintf(hwhat, sizeof(hwhat), "%s setuid root", x->name);
		if (rl_helper_usable(x)) {
			if (x->setuid_root)
				ok(rep, true, "%s (%s)", hwhat, x->path);
			else
				ok(rep, true, "%s (%s has file capabilities instead)", hwhat, x->path);
		} else if (!x->found) {
			not_ok(rep, true, hwhat, "not installed");
			fix("sudo apt-get install uidmap");
		} else if (x->nosuid_mount) {
			not_ok(rep, true, hwhat,
			       "%s is on a nosuid mount, so setuid and file capabilities are ignored",
			       x->path);
			fix("sudo mount -o remount,suid \"$(findmnt -no TARGET -T %s)\"", x->path);
		} else if (!x->executable) {
			not_ok(rep, true, hwhat, "%s is not executable by this user", x->path);
			fix("sudo chmod 4755 %s", x->path);
		} else {
			not_ok(rep, true, hwhat,
			       "%s is neither setuid root nor has file capabilities: it cannot map ranges",
			       x->path);
			fix("sudo chown root:root %s && sudo chmod u+s %s", x->path, x->path);
		}
	}
}

static void check_subids(struct report *rep, const struct rl_host_facts *h,
			 const struct rl_host_paths *p)
{
	uint32_t start = 0;
	const char *const files[] = {p->subuid, p->subgid, NULL};
	struct rl_error ferr = {0};
	int fr = rl_subid_free_start(files, SUBID_COUNT, &start, &ferr);
	uint32_t end = start + SUBID_COUNT - 1;
	/* One command for both files when both lack a range, so they line up. */
	bool both = !h->subuid.found && !h->subgid.found && !h->subuid.err.code &&
		    !h->subgid.err.code;

	const struct rl_subid_facts *ids[] = {&h->subuid, &h->subgid};
	for (size_t i = 0; i < 2; i++) {
		const char *kind = i == 0 ? "uid" : "gid";
		const struct rl_subid_facts *s = ids[i];
		char what[128];
		snprintf(what, sizeof(what), "sub%s range for %s", kind, h->user.name);
		if (s->found) {
			ok(rep, true, "%s: %" PRIu32 "-%" PRIu32 " (%" PRIu32 " ids)", what,
			   s->range.start, s->range.start + s->range.count - 1, s->range.count);
			if (s->range.count < SUBID_COUNT)
				not_ok(rep, false, what,
				       "only %" PRIu32 " ids: container %ss from %" PRIu32
				       " up (nobody is 65534) stay unmapped",
				       s->range.count, kind, s->range.count);
			continue;
		}
		if (s->err.code) {
			not_ok(rep, true, what, "%s", s->err.msg);
			continue;
		}
		not_ok(rep, true, what, "no line for %s in %s: containers get a single-id map",
		       h->user.name, s->file);
		if (fr < 0)
			fix("pick a free range by hand: %s", ferr.msg);
		else if (both && i == 1)
			fix("the usermod command above adds both ranges");
		else if (both)
			fix("sudo usermod --add-subuids %" PRIu32 "-%" PRIu32 " --add-subgids %" PRIu32
			    "-%" PRIu32 " %s",
			    start, end, start, end, h->user.name);
		else
			fix("sudo usermod --add-sub%ss %" PRIu32 "-%" PRIu32 " %s", kind, start, end,
			    h->user.name);
	}
}

static void check_userns(struct report *rep, const struct rl_host_facts *h)
{
	const char *what = "unprivileged user namespaces enabled";
	if (h->userns.allowed) {
		ok(rep, true, "%s (user.max_user_namespaces=%ld)", what,
		   h->userns.max_user_namespaces);
		return;
	}
	not_ok(rep, true, what, "%s", h->userns.why[0] ? h->userns.why : h->userns.err.msg);
	if (h->userns.fix[0])
		fix("%s", h->userns.fix);
}

static void check_overlay(struct report *rep, const struct rl_host_facts *h,
			  const struct rl_host_paths *p)
{
	const char *what = "overlayfs available";
	if (h->overlay.err.code) {
		not_ok(rep, true, what, "%s", h->overlay.err.msg);
	} else if (!h->overlay.listed && !h->overlay.module) {
		not_ok(rep, true, what, "not in %s and no overlay module for kernel %s",
		       p->filesystems, h->kernel);
		fix("sudo modprobe overlay");
	} else if (!h->overlay.userns_mount && rl_root_mount(&h->overlay) == RL_ROOT_FUSE_OVERLAY) {
		ok(rep, true, "container roots by fuse-overlayfs (%s): kernel %s is older than 5.11 "
		   "and cannot mount overlayfs in a user namespace", h->overlay.fuse_path, h->kernel);
	} else if (!h->overlay.userns_mount) {
		not_ok(rep, true, what,
		       "kernel %s is older than 5.11 and cannot mount overlayfs in a user namespace, "
		       "and fuse-overlayfs %s", h->kernel,
		       !h->overlay.fuse_found ? "is not installed" : "cannot open /dev/fuse");
		fix(!h->overlay.fuse_found ? "sudo apt-get install fuse-overlayfs"
					   : "sudo chmod 0666 /dev/fuse");
	} else {
		ok(rep, true, "%s%s", what,
		   h->overlay.listed ? "" : " (as a module, loaded on first mount)");
	}
}

static void hints(struct report *rep, const struct rl_host_facts *h,
		  const struct rl_host_paths *p)
{
	long port = h->ip_unprivileged_port_start;
	if (port < 0) {
		not_ok(rep, false, "privileged ports", "%s", h->port_err.msg);
	} else if (port > 80) {
		not_ok(rep, false, "ports below 1024",
		       "net.ipv4.ip_unprivileged_port_start is %ld: binding port 80 in a container fails with EACCES unless rlbpfd grants it",
		       port);
		fix("sudo sysctl net.ipv4.ip_unprivileged_port_start=80");
	} else {
		ok(rep, false, "containers can bind ports from %ld up", port);
	}

	if (h->tun.ok) {
		ok(rep, false, "%s usable (user-mode networking)", p->tun);
	} else {
		int e = -h->tun.status;
		char what[PATH_MAX + 80];
		snprintf(what, sizeof(what), "%s not usable by %s", p->tun, h->user.name);
		not_ok(rep, false, what, "%s: user-mode networking (slirp4netns, pasta) needs it",
		       strerror(e));
		if (e == ENOENT)
			fix("sudo modprobe tun");
		else
			fix("sudo chmod 0666 %s", p->tun);
	}

	if (h->user.uid == 0)
		not_ok(rep, false, "running as root",
		       "these checks describe root; run `rlbpf setup` as the user who will run containers");
}

static int run_check(void)
{
	const struct rl_host_paths *p = &rl_host_paths_default;
	_cleanup_free_ struct rl_host_facts *h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "rlbpf setup: out of memory\n");
		return RL_EXIT_INTERNAL;
	}
	rl_host_probe(p, h);

	struct report rep = {0};
	check_uidmap(&rep, h, p);
	check_subids(&rep, h, p);
	check_userns(&rep, h);
	check_overlay(&rep, h, p);
	hints(&rep, h, p);

	if (rep.failed)
		printf("%d of %d required checks failed: run the fix commands above, then `rlbpf setup` again\n",
		       rep.failed, rep.required);
	else
		printf("all %d required checks passed\n", rep.required);
	/* the docker CLI (and compose, IDEs, CI runners) through the API */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/')
		printf("for the docker CLI: run `rlbpf system service &` (or enable the rlbpf.socket "
		       "user unit), then\n  export DOCKER_HOST=unix://%s/rlbpf.sock\n", xdg);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rlbpf setup: cannot write the output: %s\n", strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	return rep.failed ? 1 : 0;
}

int cmd_setup(int argc, char **argv)
{
	bool have_action = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (a[0] == '-') {
			fprintf(stderr, "rlbpf setup: unknown option '%s'; see 'rlbpf setup --help'\n",
				a);
			return RL_EXIT_INTERNAL;
		}
		if (have_action) {
			fprintf(stderr,
				"rlbpf setup: unexpected argument '%s'; see 'rlbpf setup --help'\n", a);
			return RL_EXIT_INTERNAL;
		}
		if (strcmp(a, "check") != 0) {
			fprintf(stderr,
				"rlbpf setup: unknown action '%s'; the only action is 'check'; see 'rlbpf setup --help'\n",
				a);
			return RL_EXIT_INTERNAL;
		}
		have_action = true;
	}
	return run_check();
}
