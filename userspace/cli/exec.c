/* rlbpf exec [-i] [-t] [-u USER] [-e K=V] [-w DIR] CONTAINER COMMAND...
 * Joins every namespace of the running container and starts COMMAND with
 * the same capabilities, no_new_privs and seccomp policy as its init: the
 * container's own `run` options are parsed again from its record. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "lib/cleanup.h"
#include "cli/commands.h"
#include "runtime/container.h"
#include "lib/pty.h"
#include "supervise/state.h"
#include "supervise/status.h"
#include "supervise/supervise.h"
#include "supervise/trace_register.h"

struct exec_opts {
	bool interactive, tty;
	const char *user, *workdir;
	char **env; /* -e, as given */
	size_t n_env;
	char **cmd;
};

static void usage(FILE *out)
{
	fputs("Usage: rlbpf exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
	      "\n"
	      "Run a command in a running container, in all of its namespaces, with the\n"
	      "same capabilities, no-new-privileges and seccomp policy as its init.\n"
	      "\n"
	      "Options:\n"
	      "  -e, --env KEY=VALUE  set an environment variable\n"
	      "  -i, --interactive    keep stdin open\n"
	      "  -t, --tty            allocate a pseudo-terminal\n"
	      "  -u, --user UID[:GID] run as this user (default: the container's)\n"
	      "  -w, --workdir DIR    working directory (default: the container's)\n"
	      "  -h, --help           show this help\n",
	      out);
}

static int parse(int argc, char **argv, struct exec_opts *o, const char **ref)
{
	static const struct option longs[] = {
		{"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
		{"user", required_argument, NULL, 'u'},  {"env", required_argument, NULL, 'e'},
		{"workdir", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:itu:e:w:h", longs, NULL)) != -1) {
		switch (c) {
		case 'i': o->interactive = true; break;
		case 't': o->tty = true; break;
		case 'u': o->user = optarg; break;
		case 'w':
			if (optarg[0] != '/') {
				fprintf(stderr, "rlbpf exec: invalid --workdir '%s': the path must be absolute\n", optarg);
				return -1;
			}
			o->workdir = optarg;
			break;
		case 'e':
			if (!optarg[0] || optarg[0] == '=') {
				fprintf(stderr, "rlbpf exec: invalid --env '%s': use KEY=VALUE\n", optarg);
				return -1;
			}
			o->env = realloc(o->env, (o->n_env + 1) * sizeof(*o->env));
			if (!o->env)
				return -1;
			o->env[o->n_env++] = optarg;
			break;
		case 'h': usage(stdout); return 1;
		default:
			fprintf(stderr, "rlbpf exec: %s '%s'; see 'rlbpf exec --help'\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return -1;
		}
	}
	if (argc - optind < 2) {
		fputs("rlbpf exec: give a container and a command; see 'rlbpf exec --help'\n", stderr);
		return -1;
	}
	*ref = argv[optind];
	o->cmd = argv + optind + 1;
	return 0;
}

/* The container's Env, then -e (a KEY=VALUE replaces the same KEY). */
static char **exec_env(json_t *config, const struct exec_opts *o)
{
	json_t *env = json_object_get(json_object_get(config, "Config"), "Env");
	size_t n = json_array_size(env);
	char **out = calloc(n + o->n_env + 2, sizeof(*out));
	size_t used = 0;
	for (size_t i = 0; out && i < n; i++) {
		const char *kv = json_string_value(json_array_get(env, i));
		if (kv && strchr(kv, '='))
			out[used++] = (char *)kv;
	}
	for (size_t i = 0; out && i < o->n_env; i++) {
		size_t key = strcspn(o->env[i], "=");
		size_t j = 0;
		while (j < used && !(strncmp(out[j], o->env[i], key) == 0 && out[j][key] == '='))
			j++;
		out[j] = o->env[i];
		if (j == used)
			used++;
	}
	if (out && o->tty)
		out[used++] = "TERM=xterm";
	return out;
}

/* Enters the container: user namespace first (it owns the others), then
 * the rest, then its root directory. */
static int enter(pid_t pid, struct rl_error *err)
{
	static const struct {
		const char *name;
		int type;
	} order[] = {
		{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
		{"net", CLONE_NEWNET},	 {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
	};
	int fds[6];
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	_cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, order[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
	int r = 0;
	for (size_t i = 0; i < 6; i++) {
		/* A namespace the container shares with us (the host's network
		 * with --network host) is ours already, and joining it again from
		 * inside the container's user namespace would be refused. */
		struct stat theirs, ours;
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/ns/%s", order[i].name);
		if (fds[i] >= 0 && fstat(fds[i], &theirs) == 0 && stat(self, &ours) == 0 &&
		    theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
			close(fds[i]);
			continue;
		}
		if (r == 0 && (fds[i] < 0 || setns(fds[i], order[i].type) < 0))
			r = rl_fail_errno(err, errno, "cannot enter the container's %s namespace",
					  order[i].name);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (r == 0 && (root < 0 || fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0))
		r = rl_fail_errno(err, errno, "cannot enter the container's root");
	return r;
}

/* Whether rlbpfd's cgroups keep any of the container's limits. */
static bool kept_by_agent_cgroup(json_t *config)
{
	json_t *enf = json_object_get(config, "Enforcement");
	const char *keys[] = {"Memory", "Pids", "Cpu"};
	for (size_t i = 0; i < 3; i++) {
		const char *by = json_string_value(json_object_get(enf, keys[i]));
		if (by && strcmp(by, "agent-cgroup") == 0)
			return true;
	}
	return false;
}

static int exec_in(const struct rl_status *s, json_t *config, struct exec_opts *eo,
		   struct rl_error *err, int *code)
{
	/* The container's own options, exactly as its init got them. */
	json_t *args = json_object_get(config, "RunArgs");
	size_t n = json_array_size(args);
	_cleanup_free_ char **run_argv = calloc(n + 2, sizeof(*run_argv));
	if (!run_argv)
		return rl_fail(err, ENOMEM, "out of memory");
	run_argv[0] = "run";
	struct rl_join *agent = NULL;
	for (size_t i = 0; i < n; i++)
		run_argv[i + 1] = (char *)(json_string_value(json_array_get(args, i)) ?: "");
	struct rl_run_opts ro;
	int r = rl_run_opts_parse((int)n + 1, run_argv, &ro, err);
	if (r != 0) {
		rl_run_opts_free(&ro);
		return r < 0 ? r : rl_fail(err, EINVAL, "the container's record is damaged");
	}
	ro.tty = eo->tty;
	ro.interactive = eo->interactive;
	ro.detach = false;
	ro.init = false;
	uint64_t caps = 0;
	struct rl_seccomp *seccomp = NULL;
	struct rl_idmap idmap;
	_cleanup_free_ char **env = exec_env(config, eo);
	json_t *cfg = json_object_get(config, "Config");
	const char *user = json_string_value(json_object_get(cfg, "User"));
	const char *workdir = json_string_value(json_object_get(cfg, "WorkingDir"));
	if ((r = rl_caps_resolve(ro.cap_add, ro.n_cap_add, ro.cap_drop, ro.n_cap_drop, &caps, err)) < 0 ||
	    (r = rl_seccomp_build(ro.seccomp, ro.seccomp_profile, caps, &seccomp, err)) < 0 ||
	    (r = rl_idmap_plan(&idmap, err)) < 0 || !env)
		goto env_out;
	/* The command joins the container's cgroups and accounting before it
	 * runs, as in Docker; the agent is reached from outside. */
	const char *id = json_string_value(json_object_get(config, "Id"));
	bool limited = kept_by_agent_cgroup(config);
	char why[256] = "";
	agent = rl_join_open(why, sizeof(why));
	if (!agent && limited) {
		r = rl_fail(err, EAGAIN, "the container's limits are kept by rlbpfd, which is not reachable (%s): the command would escape them", why);
		goto out;
	}
	if ((r = enter(s->pid, err)) < 0) {
env_out:
		if (!env && r == 0)
			r = rl_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	struct rl_container_spec spec = {
		.opts = &ro,
		.idmap = &idmap,
		.mounts = {.tty_group = !idmap.single && idmap.subgid.count >= 5},
		.user = eo->user ? eo->user : user,
		.workdir = eo->workdir ? eo->workdir : workdir,
		.env = env,
		.argv = eo->cmd,
		.caps = caps,
		.seccomp = seccomp,
		.stdout_fd = -1,
		.stderr_fd = -1,
	};
	int master = -1, slave = -1, sp[2] = {-1, -1}, prog[2] = {-1, -1}, go[2] = {-1, -1};
	if (eo->tty && (r = rl_pty_open("/dev/pts/ptmx", &master, &slave, err)) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    (seccomp && pipe2(prog, O_CLOEXEC) < 0) || pipe2(go, O_CLOEXEC) < 0) {
		r = rl_fail_errno(err, errno, "cannot prepare the command");
		goto out_fds;
	}
	pid_t child = fork();
	if (child < 0) {
		r = rl_fail_errno(err, errno, "cannot start the command");
		goto out_fds;
	}
	if (child == 0) {
		/* The seccomp program ends at EOF: no copy of its writer may stay here. */
		close(sp[0]);
		/* Nothing of the caller's may reach the container. */
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		if (prog[1] >= 0)
			close(prog[1]);
		if (master >= 0)
			close(master);
		close(go[1]);
		/* until it has joined the container's cgroups: EOF */
		char b;
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		close(go[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		struct rl_error child_err = {0};
		struct rl_child_report rep = {
			.exit_code = rl_container_exec(&spec, slave, prog[0], &child_err)};
		snprintf(rep.msg, sizeof(rep.msg), "%s", child_err.msg);
		(void)!send(sp[1], &rep, sizeof(rep), MSG_NOSIGNAL);
		_exit(rep.exit_code);
	}
	close(sp[1]);
	sp[1] = -1;
	close(go[0]);
	go[0] = -1;
	if (agent && id) {
		int jr = rl_join(agent, id, child, why, sizeof(why));
		if (jr < 0 && (limited || jr != -ENOENT)) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
			r = rl_fail(err, -jr, "cannot put the command under the container's limits: rlbpfd %s", why);
			goto out_fds;
		}
	}
	close(go[1]);
	go[1] = -1;
	if (prog[0] >= 0) {
		close(prog[0]);
		prog[0] = -1;
		rl_seccomp_export(seccomp, prog[1], err);
		close(prog[1]);
		prog[1] = -1;
	}
	if (slave >= 0) {
		close(slave);
		slave = -1;
	}
	struct rl_child_report rep;
	if (recv(sp[0], &rep, sizeof(rep), 0) == (ssize_t)sizeof(rep)) {
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		waitpid(child, NULL, 0);
		*code = rep.exit_code;
		r = rl_fail(err, EINVAL, "%s", rep.msg);
		goto out_fds;
	}
	*code = rl_supervise(child, master, eo->interactive, NULL);
out_fds:
	for (int *fd = (int[]){master, slave, sp[0], sp[1], prog[0], prog[1], go[0], go[1]}, i = 0; i < 8; i++)
		if (fd[i] >= 0)
			close(fd[i]);
out:
	rl_join_close(agent);
	rl_seccomp_free(seccomp);
	rl_run_opts_free(&ro);
	return r;
}

int cmd_exec(int argc, char **argv)
{
	struct exec_opts eo = {0};
	const char *ref;
	int r = parse(argc, argv, &eo, &ref);
	if (r != 0) {
		free(eo.env);
		return r > 0 ? 0 : RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_state st;
	struct rl_status s;
	json_t *config = NULL;
	int code = RL_EXIT_INTERNAL;
	if (rl_state_find(ref, &st, &err) < 0 || rl_status_read(&st, &s, &err) < 0) {
		rl_error_print(&err, "rlbpf exec");
		free(eo.env);
		return code;
	}
	if (s.state != RL_RUNNING) {
		fprintf(stderr, "rlbpf exec: container %s is not running; start it with 'rlbpf restart %s'\n",
			ref, ref);
		free(eo.env);
		return code;
	}
	sigset_t handled;
	rl_supervise_signals(&handled);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	if (rl_state_config(&st, &config, &err) < 0 || exec_in(&s, config, &eo, &err, &code) < 0)
		rl_error_print(&err, "rlbpf exec");
	json_decref(config);
	free(eo.env);
	return code;
}
