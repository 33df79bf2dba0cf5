/* exec: one more process in a container (exec.h). It joins the init's
 * namespaces (the user namespace first when it is not ours), forks into its
 * pid namespace, joins rlbpfd's cgroups when the agent keeps the
 * container's limits, and becomes the process config.json's or
 * --process's describes, with the container's seccomp. */
#include "oci/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/pty.h"
#include "oci/agent.h"
#include "oci/cgroups.h"
#include "oci/console.h"
#include "oci/process.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "proto/agent_client.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

struct exec_opts {
	const char *process_file, *pid_file, *console_socket, *cwd, *user;
	char **env;
	size_t n_env;
	char **caps;
	size_t n_caps;
	bool detach, tty, tty_given, no_new_privs;
	int preserve_fds;
};

struct child_word {
	int code;
	char msg[sizeof(((struct rl_error *)0)->msg)];
};

static const struct {
	const char *name;
	int flag;
} ns_files[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
		{"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID},       {"cgroup", CLONE_NEWCGROUP},
		{"mnt", CLONE_NEWNS}};
#define N_NS (sizeof(ns_files) / sizeof(ns_files[0]))

/* fds of the init's namespaces that differ from ours, -1 for the rest. */
static int open_namespaces(pid_t pid, int fds[N_NS], struct rl_error *err)
{
	for (size_t i = 0; i < N_NS; i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		fds[i] = -1;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, ns_files[i].name);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_files[i].name);
		if (stat(theirs, &a) < 0) {
			if (errno == ENOENT && strcmp(ns_files[i].name, "cgroup") == 0)
				continue;
			return rl_fail_errno(err, errno, "cannot see the container's %s namespace", ns_files[i].name);
		}
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fds[i] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return rl_fail_errno(err, errno, "cannot open the container's %s namespace", ns_files[i].name);
	}
	return 0;
}

static int parse_user(const char *s, struct rl_oci_process *p, struct rl_error *err)
{
	char *end;
	unsigned long uid = strtoul(s, &end, 10), gid = p->gid;
	if (end == s || (*end && *end != ':'))
		return rl_fail(err, EINVAL, "--user takes UID[:GID] as numbers, not %s", s);
	if (*end == ':') {
		char *g = end + 1;
		gid = strtoul(g, &end, 10);
		if (end == g || *end)
			return rl_fail(err, EINVAL, "--user takes UID[:GID] as numbers, not %s", s);
	}
	p->uid = (uint32_t)uid;
	p->gid = (uint32_t)gid;
	return 0;
}

static char **strv_dup_append(char **base, char **more, size_t n_more)
{
	size_t n = 0;
	while (base && base[n])
		n++;
	char **out = calloc(n + n_more + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = strdup(base[i]);
	for (size_t i = 0; i < n_more; i++)
		out[n + i] = strdup(more[i]);
	return out;
}

/* The process to run: --process's file, or the container's own process
 * with the command line's args and overrides, as runc builds it. */
static int build_process(const struct exec_opts *o, const struct rl_oci_spec *s, int argc,
			 char **argv, struct rl_oci_process *p, struct rl_error *err)
{
	if (o->process_file) {
		json_error_t jerr;
		json_t *obj = json_load_file(o->process_file, 0, &jerr);
		if (!obj)
			return rl_fail(err, EINVAL, "--process %s: %s", o->process_file, jerr.text);
		int r = rl_oci_process_parse(obj, p, err);
		json_decref(obj);
		return r;
	}
	if (optind >= argc)
		return rl_fail(err, EINVAL, "exec: give the command to run after the container id, or --process FILE");
	memset(p, 0, sizeof(*p));
	const struct rl_oci_process *base = &s->process;
	p->uid = base->uid;
	p->gid = base->gid;
	memcpy(p->caps, base->caps, sizeof(p->caps));
	p->no_new_privileges = base->no_new_privileges || o->no_new_privs;
	p->terminal = o->tty_given ? o->tty : false;
	p->args = strv_dup_append(NULL, argv + optind, (size_t)(argc - optind));
	p->env = strv_dup_append(base->env, o->env, o->n_env);
	p->cwd = strdup(o->cwd ? o->cwd : base->cwd);
	if (base->n_gids) {
		p->gids = calloc(base->n_gids, sizeof(*p->gids));
		if (p->gids)
			memcpy(p->gids, base->gids, base->n_gids * sizeof(*p->gids));
		p->n_gids = p->gids ? base->n_gids : 0;
	}
	if (!p->args || !p->env || !p->cwd)
		return rl_fail(err, ENOMEM, "out of memory");
	if (o->user && parse_user(o->user, p, err) < 0)
		return -EINVAL;
	for (size_t i = 0; i < o->n_caps; i++) {
		bool known = false;
		for (int c = 0; c < 64 && !known; c++) {
			const char *n = rl_cap_name(c);
			if (n && strcmp(n, o->caps[i]) == 0) {
				for (int set = 0; set < RL_OCI_CAPS_N; set++)
					if (set != RL_OCI_AMBIENT)
						p->caps[set] |= UINT64_C(1) << c;
				known = true;
			}
		}
		if (!known)
			return rl_fail(err, EINVAL, "--cap: unknown capability %s", o->caps[i]);
	}
	return 0;
}

/* The pid file, written through its directory opened before entering the
 * container. */
static int write_pid_at(int dirfd, const char *name, pid_t pid, struct rl_error *err)
{
	char text[32], tmp[NAME_MAX + 1];
	int n = snprintf(text, sizeof(text), "%d", pid);
	snprintf(tmp, sizeof(tmp), ".%.200s.rlbpf-tmp", name);
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)n) != n || renameat(dirfd, tmp, dirfd, name) < 0)
		return rl_fail_errno(err, errno, "cannot write the pid file %s", name);
	return 0;
}

static void child(struct rl_oci_process *p, struct rl_seccomp *sc, int sock)
{
	struct rl_error err = {0};
	struct child_word w = {0};
	char go;
	if (read(sock, &go, 1) != 1)
		_exit(RL_EXIT_INTERNAL);
	if (setsid() < 0 && errno != EPERM)
		goto fail;
	if (p->terminal) {
		int master, slave;
		const char *ptmx = access("/dev/pts/ptmx", F_OK) == 0 ? "/dev/pts/ptmx" : "/dev/ptmx";
		if (rl_pty_open(ptmx, &master, &slave, &err) < 0)
			goto fail;
		if (ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 ||
		    dup2(slave, 2) < 0) {
			rl_fail_errno(&err, errno, "cannot attach the terminal");
			goto fail;
		}
		if (rl_fd_send(sock, master) < 0) {
			rl_fail(&err, EPIPE, "cannot pass the terminal back");
			goto fail;
		}
		close(master);
		close(slave);
	}
	if (rl_oci_process_limits(p, &err) < 0)
		goto fail;
	char exe[PATH_MAX];
	int r = rl_oci_process_find(p, exe, sizeof(exe), &err);
	if (r < 0) {
		w.code = r == -EACCES ? RL_EXIT_CANNOT_EXEC : RL_EXIT_NOT_FOUND;
		snprintf(w.msg, sizeof(w.msg), "%s", err.msg);
		(void)!send(sock, &w, sizeof(w), MSG_NOSIGNAL);
		_exit(w.code);
	}
	close(sock); /* close-on-exec would do; EOF before exec is our "fine" */
	w.code = rl_oci_process_exec(p, sc, &err);
	fprintf(stderr, "rlbpf-runtime: %s\n", err.msg);
	_exit(w.code);
fail:
	w.code = RL_EXIT_INTERNAL;
	snprintf(w.msg, sizeof(w.msg), "%s", err.msg);
	(void)!send(sock, &w, sizeof(w), MSG_NOSIGNAL);
	_exit(w.code);
}

static int exec_in(const struct exec_opts *o, const struct rl_oci_state *st,
		   const struct rl_oci_spec *s, struct rl_oci_process *p, struct rl_error *err)
{
	int r;
	int ns[N_NS];
	struct rl_seccomp *sc = NULL;
	/* made before entering the container, whose mounts hide the paths */
	struct rl_agent_conn agent = {.fd = -1};
	char why[300], agent_id[65];
	_cleanup_close_ int console = -1, pid_dir = -1, sock = -1;
	_cleanup_free_ char *pid_name = NULL;
	pid_t pid = -1;
	int *cgroup_procs = NULL;
	for (size_t i = 0; i < N_NS; i++)
		ns[i] = -1;
	if ((r = open_namespaces(st->pid, ns, err)) < 0)
		goto out;
	if (s->seccomp && (r = rl_seccomp_build_json(s->seccomp, "config.json linux.seccomp", &sc, err)) < 0)
		goto out;
	if (st->cgroups && !(cgroup_procs = rl_oci_cgroups_open(st->cgroups, err))) {
		r = -(err->code ? err->code : EIO);
		goto out;
	}
	if (p->terminal && !o->console_socket) {
		r = rl_fail(err, EINVAL, "--tty needs --console-socket");
		goto out;
	}
	if (p->terminal && (console = rl_oci_console_connect(o->console_socket, err)) < 0) {
		r = console;
		goto out;
	}
	if (o->pid_file) {
		_cleanup_free_ char *copy = strdup(o->pid_file);
		char *slash = copy ? strrchr(copy, '/') : NULL;
		pid_name = strdup(slash ? slash + 1 : o->pid_file);
		if (slash)
			*slash = '\0';
		pid_dir = open(slash ? (copy[0] ? copy : "/") : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pid_dir < 0 || !pid_name || !pid_name[0]) {
			r = rl_fail_errno(err, errno, "cannot open the pid file's directory for %s", o->pid_file);
			goto out;
		}
	}
	if (st->agent_limits && rl_agent_connect(RL_AGENT_SOCKET, &agent, why, sizeof(why)) < 0) {
		r = rl_fail(err, ECONNREFUSED, "the container's limits are kept by rlbpfd, which %s: "
			    "an exec would escape them", why);
		goto out;
	}
	for (size_t i = 0; i < N_NS; i++)
		if (ns[i] >= 0 && setns(ns[i], ns_files[i].flag) < 0) {
			r = rl_fail_errno(err, errno, "cannot join the container's %s namespace", ns_files[i].name);
			goto out;
		}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		r = rl_fail_errno(err, errno, "cannot create the setup channel");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = rl_fail_errno(err, errno, "cannot fork into the container");
		close(sp[0]);
		close(sp[1]);
		goto out;
	}
	if (pid == 0) {
		close(sp[0]);
		for (int fd = 3; fd < 3 + o->preserve_fds; fd++)
			fcntl(fd, F_SETFD, 0);
		child(p, sc, sp[1]);
	}
	close(sp[1]);
	sock = sp[0];
	r = cgroup_procs ? rl_oci_cgroups_join(RL_TAKE(cgroup_procs), pid, err) : 0;
	if (r == 0 && st->agent_limits) {
		rl_oci_agent_id(st->id, agent_id);
		if (rl_agent_join(&agent, agent_id, pid, why, sizeof(why)) < 0)
			r = rl_fail(err, EPERM, "rlbpfd did not take the process into the container's limits: %s", why);
	}
	if (r == 0 && write(sock, "g", 1) != 1)
		r = rl_fail(err, ECHILD, "the process died before it started");
	if (r == 0 && p->terminal) {
		struct child_word w;
		int master = rl_fd_recv_or(sock, &w, sizeof(w));
		if (master == -EBADMSG) {
			w.msg[sizeof(w.msg) - 1] = '\0';
			r = rl_fail(err, EINVAL, "%s", w.msg);
		} else if (master < 0) {
			r = rl_fail(err, ECHILD, "the process died before its terminal was made");
		} else {
			r = rl_oci_console_send(console, master, o->console_socket, err);
			close(master);
		}
	}
	if (r == 0) {
		struct child_word w;
		ssize_t n = recv(sock, &w, sizeof(w), 0);
		if (n == (ssize_t)sizeof(w)) {
			w.msg[sizeof(w.msg) - 1] = '\0';
			r = rl_fail(err, w.code == RL_EXIT_NOT_FOUND ? ENOENT : w.code == RL_EXIT_CANNOT_EXEC ? EACCES : EINVAL,
				    "%s", w.msg);
		}
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	if (pid_name && (r = write_pid_at(pid_dir, pid_name, pid, err)) < 0)
		goto out;
	if (o->detach)
		goto out;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = rl_fail_errno(err, errno, "lost the process");
			goto out;
		}
	r = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
out:
	if (cgroup_procs)
		rl_oci_cgroups_join(cgroup_procs, 0, err); /* closes them */
	rl_seccomp_free(sc);
	if (agent.fd >= 0)
		rl_agent_close(&agent);
	for (size_t i = 0; i < N_NS; i++)
		if (ns[i] >= 0)
			close(ns[i]);
	return r;
}

int rl_oci_cmd_exec(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {
		{"process", required_argument, NULL, 'p'}, {"detach", no_argument, NULL, 'd'},
		{"pid-file", required_argument, NULL, 'P'}, {"tty", no_argument, NULL, 't'},
		{"console-socket", required_argument, NULL, 'c'}, {"cwd", required_argument, NULL, 'w'},
		{"env", required_argument, NULL, 'e'},	    {"user", required_argument, NULL, 'u'},
		{"cap", required_argument, NULL, 'C'},	    {"no-new-privs", no_argument, NULL, 'n'},
		{"preserve-fds", required_argument, NULL, 'F'},
		{"process-label", required_argument, NULL, 'L'},
		{"apparmor", required_argument, NULL, 'A'}, {0},
	};
	struct exec_opts o = {0};
	_cleanup_free_ char **env = calloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **caps = calloc((size_t)argc + 1, sizeof(char *));
	o.env = env;
	o.caps = caps;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:dP:tc:w:e:u:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.process_file = optarg; break;
		case 'd': o.detach = true; break;
		case 'P': o.pid_file = optarg; break;
		case 't': o.tty = o.tty_given = true; break;
		case 'c': o.console_socket = optarg; break;
		case 'w': o.cwd = optarg; break;
		case 'e':
			if (!strchr(optarg, '='))
				return rl_fail(err, EINVAL, "--env takes KEY=VALUE, not %s", optarg), 1;
			o.env[o.n_env++] = optarg;
			break;
		case 'u': o.user = optarg; break;
		case 'C': o.caps[o.n_caps++] = optarg; break;
		case 'n': o.no_new_privs = true; break;
		case 'F': o.preserve_fds = atoi(optarg); break;
		case 'L':
		case 'A':
			if (optarg[0])
				return rl_fail(err, EOPNOTSUPP, "exec: rlbpf-runtime applies no LSM labels or profiles"), 1;
			break;
		default:
			return rl_fail(err, EINVAL, "exec: unknown option; usage: exec [options] ID COMMAND [ARG...]"), 1;
		}
	}
	if (o.preserve_fds < 0 || o.preserve_fds > 1024)
		return rl_fail(err, EINVAL, "--preserve-fds takes a number from 0 to 1024"), 1;
	if (optind >= argc)
		return rl_fail(err, EINVAL, "exec: requires a container id"), 1;
	const char *id = argv[optind++];
	struct rl_oci_state st;
	if (rl_oci_state_load(root, id, &st, err) < 0)
		return 1;
	int r;
	struct rl_oci_spec s;
	struct rl_oci_process p = {0};
	memset(&s, 0, sizeof(s));
	enum rl_oci_status status = rl_oci_status_of(&st);
	if (status == RL_OCI_STOPPED)
		r = rl_fail(err, ESRCH, "cannot exec in a stopped container");
	else if (status == RL_OCI_PAUSED)
		r = rl_fail(err, EBUSY, "cannot exec in a paused container: resume it first");
	else if ((r = rl_oci_spec_load(st.bundle, &s, err)) == 0 &&
		 (r = build_process(&o, &s, argc, argv, &p, err)) == 0)
		r = exec_in(&o, &st, &s, &p, err);
	rl_oci_process_free(&p);
	rl_oci_spec_free(&s);
	rl_oci_state_free(&st);
	if (r < 0)
		return r == -ENOENT ? RL_EXIT_NOT_FOUND : r == -EACCES ? RL_EXIT_CANNOT_EXEC : 1;
	return r;
}
