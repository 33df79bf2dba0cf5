/* state, kill, delete, list, ps, features (commands.h). */
#include "oci/commands.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/signame.h"
#include "oci/agent.h"
#include "oci/cgroups.h"
#include "oci/hooks.h"
#include "oci/oom_watch.h"
#include "oci/spec.h"
#include "oci/state.h"

/* The one container id a command takes, after its options. */
static int one_id(int argc, char **argv, const char *cmd, const char **id, struct rl_error *err)
{
	if (optind >= argc)
		return rl_fail(err, EINVAL, "%s: requires a container id; see 'rlbpf-runtime %s --help'", cmd, cmd);
	*id = argv[optind++];
	return 0;
}

static void print_json(json_t *o)
{
	char *text = json_dumps(o, JSON_INDENT(2));
	if (text) {
		puts(text);
		free(text);
	}
}

/* The "oom" file Podman reads (oom_watch.h), for a caller that asks for
 * the state of a stopped container, or deletes it, after the watcher did
 * not run. */
static void note_oom(const struct rl_oci_state *st)
{
	char agent_id[65];
	if (!st->agent_limits)
		return;
	rl_oci_agent_id(st->id, agent_id);
	rl_oci_oom_note(st->bundle, agent_id);
}

int rl_oci_cmd_state(const char *root, int argc, char **argv, struct rl_error *err)
{
	const char *id = NULL;
	optind = 1;
	if (one_id(argc, argv, "state", &id, err) < 0)
		return 1;
	struct rl_oci_state st;
	if (rl_oci_state_load(root, id, &st, err) < 0)
		return 1;
	enum rl_oci_status status = rl_oci_status_of(&st);
	if (status == RL_OCI_STOPPED)
		note_oom(&st);
	json_t *o = rl_oci_state_json(&st, status);
	print_json(o);
	json_decref(o);
	rl_oci_state_free(&st);
	return 0;
}

/* The processes in the container: those in the init's pid namespace,
 * when it has its own; else the init alone. */
static size_t container_pids(const struct rl_oci_state *st, pid_t *out, size_t max)
{
	size_t n = 0;
	char path[64];
	struct stat init_ns;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", st->pid);
	if (!st->own_pidns || stat(path, &init_ns) < 0) {
		out[n++] = st->pid;
		return n;
	}
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d)) && n < max;) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		struct stat ns;
		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/pid", pid);
		if (stat(path, &ns) == 0 && ns.st_ino == init_ns.st_ino && ns.st_dev == init_ns.st_dev)
			out[n++] = (pid_t)pid;
	}
	if (d)
		closedir(d);
	return n;
}

int rl_oci_cmd_kill(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {{"all", no_argument, NULL, 'a'}, {0}};
	bool all = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+a", longopts, NULL)) != -1) {
		if (c != 'a')
			return rl_fail(err, EINVAL, "kill: unknown option; usage: kill [--all] ID [SIGNAL]"), 1;
		all = true;
	}
	const char *id = NULL;
	if (one_id(argc, argv, "kill", &id, err) < 0)
		return 1;
	int sig = SIGTERM;
	if (optind < argc && (sig = rl_signal_parse(argv[optind])) < 0)
		return rl_fail(err, EINVAL, "invalid signal %s: give a number or a name such as KILL", argv[optind]), 1;
	struct rl_oci_state st;
	if (rl_oci_state_load(root, id, &st, err) < 0)
		return 1;
	enum rl_oci_status status = rl_oci_status_of(&st);
	int r = 0;
	if (status == RL_OCI_STOPPED && !all) {
		r = rl_fail(err, ESRCH, "container not running");
	} else if (all) {
		pid_t pids[4096];
		size_t n = status == RL_OCI_STOPPED ? 0 : container_pids(&st, pids, 4096);
		for (size_t i = 0; i < n; i++)
			kill(pids[i], sig);
	} else if (kill(st.pid, sig) < 0) {
		r = rl_fail_errno(err, errno, "cannot signal the container's init");
	}
	rl_oci_state_free(&st);
	return r < 0 ? 1 : 0;
}

/* Until the init is gone (or 10 s). */
static void wait_gone(const struct rl_oci_state *st)
{
	int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (pidfd < 0)
		return;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	for (int i = 0; i < 100 && rl_oci_proc_start(st->pid) == st->pid_start; i++)
		if (poll(&p, 1, 100) > 0)
			break;
	close(pidfd);
}

int rl_oci_cmd_delete(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f", longopts, NULL)) != -1) {
		if (c != 'f')
			return rl_fail(err, EINVAL, "delete: unknown option; usage: delete [--force] ID"), 1;
		force = true;
	}
	const char *id = NULL;
	if (one_id(argc, argv, "delete", &id, err) < 0)
		return 1;
	struct rl_oci_state st;
	if (rl_oci_state_load(root, id, &st, err) < 0) {
		/* --force: a container whose create died half way loses its
		 * directory, and one that does not exist is no error, as runc */
		struct stat sb;
		if (!force)
			return 1;
		err->msg[0] = '\0';
		if (rl_oci_valid_id(id) && stat(st.dir, &sb) == 0)
			return rl_oci_state_remove(&st, err) < 0;
		return 0;
	}
	enum rl_oci_status status = rl_oci_status_of(&st);
	/* a created container never ran its process: deleting it is safe,
	 * as runc does */
	if ((status == RL_OCI_RUNNING || status == RL_OCI_PAUSED) && !force) {
		rl_oci_state_free(&st);
		return rl_fail(err, EBUSY, "cannot delete container %s that is not stopped: %s", id,
			       rl_oci_status_name(status)), 1;
	}
	if (status != RL_OCI_STOPPED) {
		pid_t pids[4096];
		size_t n = container_pids(&st, pids, 4096);
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		/* a frozen task takes its SIGKILL once thawed */
		struct rl_error ignored;
		if (status == RL_OCI_PAUSED)
			rl_oci_cgroups_freeze(st.cgroups, false, &ignored);
		wait_gone(&st);
	}
	note_oom(&st);
	rl_oci_cgroups_remove(st.cgroups);
	int r = rl_oci_state_remove(&st, err);
	struct rl_oci_spec s;
	struct rl_error hook_err = {0};
	if (rl_oci_spec_load(st.bundle, &s, &hook_err) == 0 && s.hooks[RL_HOOK_POSTSTOP].n) {
		json_t *o = rl_oci_state_json(&st, RL_OCI_STOPPED);
		_cleanup_free_ char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (rl_oci_hooks_run(&s.hooks[RL_HOOK_POSTSTOP], "poststop", text ? text : "{}", &hook_err) < 0)
			fprintf(stderr, "rlbpf-runtime: warning: %s\n", hook_err.msg);
	}
	rl_oci_spec_free(&s);
	rl_oci_state_free(&st);
	return r < 0;
}

int rl_oci_cmd_list(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'},
						 {"format", required_argument, NULL, 'f'}, {0}};
	bool quiet = false, json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qf:", longopts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = optarg[0] == 'j';
		else
			return rl_fail(err, EINVAL, "list: usage: list [--quiet] [--format table|json]"), 1;
	}
	char **ids = rl_oci_list(root);
	json_t *arr = json ? json_array() : NULL;
	if (!quiet && !json)
		printf("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (char **p = ids; p && *p; p++) {
		struct rl_oci_state st;
		struct rl_error ignored;
		if (rl_oci_state_load(root, *p, &st, &ignored) < 0)
			continue;
		enum rl_oci_status status = rl_oci_status_of(&st);
		if (quiet)
			puts(st.id);
		else if (json)
			json_array_append_new(arr, rl_oci_state_json(&st, status));
		else
			printf("%-12s %-8d %-10s %-40s %-30s %s\n", st.id,
			       status == RL_OCI_STOPPED ? 0 : st.pid, rl_oci_status_name(status), st.bundle,
			       st.created, geteuid() == 0 ? "root" : "");
		rl_oci_state_free(&st);
	}
	if (json) {
		print_json(arr);
		json_decref(arr);
	}
	for (char **p = ids; p && *p; p++)
		free(*p);
	free(ids);
	return 0;
}

int rl_oci_cmd_ps(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:", longopts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json = optarg[0] == 'j';
		else
			return rl_fail(err, EINVAL, "ps: usage: ps [--format table|json] ID"), 1;
	}
	const char *id = NULL;
	if (one_id(argc, argv, "ps", &id, err) < 0)
		return 1;
	struct rl_oci_state st;
	if (rl_oci_state_load(root, id, &st, err) < 0)
		return 1;
	pid_t pids[4096];
	size_t n = rl_oci_status_of(&st) == RL_OCI_STOPPED ? 0 : container_pids(&st, pids, 4096);
	rl_oci_state_free(&st);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_integer(pids[i]));
		char *text = json_dumps(arr, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
		json_decref(arr);
		return 0;
	}
	printf("PID\n");
	for (size_t i = 0; i < n; i++)
		printf("%d\n", pids[i]);
	return 0;
}

int rl_oci_cmd_features(const char *root, int argc, char **argv, struct rl_error *err)
{
	(void)root;
	(void)argc;
	(void)argv;
	json_t *o = json_pack(
		"{s:s, s:s, s:[s,s,s,s,s,s], s:{s:[s,s,s,s,s,s,s], s:{s:b, s:b}, s:{s:b}}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart",
		"createRuntime", "createContainer", "startContainer", "poststart", "poststop", "linux",
		"namespaces", "pid", "network", "ipc", "uts", "mount", "user", "cgroup", "cgroup",
		"v1", true, "v2", true, "seccomp", "enabled", true);
	if (!o)
		return rl_fail(err, ENOMEM, "out of memory"), 1;
	print_json(o);
	json_decref(o);
	return 0;
}

int rl_oci_cmd_unsupported(const char *root, int argc, char **argv, struct rl_error *err)
{
	(void)root;
	(void)argc;
	return rl_fail(err, EOPNOTSUPP, "%s is not supported by rlbpf-runtime: it needs CRIU, which "
		       "rlbpf-runtime does not use", argv[0]),
	       1;
}
