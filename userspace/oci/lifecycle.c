/* create, start and run (lifecycle.h).
 *
 * create forks a short-lived child that joins the namespaces config.json
 * names by path and clones the container's init into the new ones; the
 * child exits at once, so the init is an orphan that the caller's
 * subreaper (conmon, containerd's shim) inherits, as with runc. The init
 * and create talk over a socket pair in steps:
 *   create writes the id maps, then "go"; the init becomes root of its user
 *   namespace and mounts the root and the spec's mounts, then says
 *   "mounted"; create runs the prestart and createRuntime hooks, then
 *   "go"; the init runs createContainer hooks, pivots, masks, sets sysctl
 *   and hostname, makes the terminal (its master passed back), finds the
 *   program, and says "ready" (or why it cannot). create then hands the
 *   master to --console-socket, writes the pid file and state, and exits.
 * The init waits for start by opening exec.fifo for writing, which blocks
 * until start opens it for reading. */
#include "oci/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/pty.h"
#include "oci/agent.h"
#include "oci/cgroups.h"
#include "oci/console.h"
#include "oci/hooks.h"
#include "oci/process.h"
#include "oci/rootfs.h"
#include "oci/spec.h"
#include "oci/state.h"
#include "runtime/seccomp.h"

/* One step's word from the init: 0 and on, or an error to report. */
struct init_msg {
	int code; /* 0: the step is done; else the exit code it would give */
	char msg[sizeof(((struct rl_error *)0)->msg)];
};

static int ns_clone_flag(enum rl_oci_ns_type t)
{
	static const int flags[RL_OCI_NS_N] = {
		[RL_OCI_NS_PID] = CLONE_NEWPID,	    [RL_OCI_NS_NET] = CLONE_NEWNET,
		[RL_OCI_NS_IPC] = CLONE_NEWIPC,	    [RL_OCI_NS_UTS] = CLONE_NEWUTS,
		[RL_OCI_NS_MOUNT] = CLONE_NEWNS,    [RL_OCI_NS_USER] = CLONE_NEWUSER,
		[RL_OCI_NS_CGROUP] = CLONE_NEWCGROUP,
	};
	return flags[t];
}

static void send_msg(int sock, int code, const char *text)
{
	struct init_msg m = {.code = code};
	snprintf(m.msg, sizeof(m.msg), "%s", text ? text : "");
	(void)!send(sock, &m, sizeof(m), MSG_NOSIGNAL);
}

/* The next step's word from the init; EOF or a short read means it died. */
static int recv_msg(int sock, const char *step, struct rl_error *err)
{
	struct init_msg m;
	ssize_t n = recv(sock, &m, sizeof(m), 0);
	if (n != (ssize_t)sizeof(m))
		return rl_fail(err, ECHILD, "the container's init died before it was %s", step);
	if (m.code) {
		m.msg[sizeof(m.msg) - 1] = '\0';
		return rl_fail(err, m.code == RL_EXIT_NOT_FOUND ? ENOENT
				    : m.code == RL_EXIT_CANNOT_EXEC ? EACCES
								     : EINVAL,
			       "%s", m.msg);
	}
	return 0;
}

static bool wait_go(int sock)
{
	char c;
	return read(sock, &c, 1) == 1;
}

/* The terminal: a pty of the container's own devpts, its slave our
 * controlling terminal and stdio, its master passed back to create. */
static int make_terminal(const struct rl_oci_process *p, int sock, struct rl_error *err)
{
	int master, slave;
	const char *ptmx = access("/dev/pts/ptmx", F_OK) == 0 ? "/dev/pts/ptmx" : "/dev/ptmx";
	if (rl_pty_open(ptmx, &master, &slave, err) < 0)
		return -1;
	if (p->rows || p->cols) {
		struct winsize ws = {.ws_row = p->rows, .ws_col = p->cols};
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return rl_fail_errno(err, errno, "cannot make the terminal controlling");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return rl_fail_errno(err, errno, "cannot attach the terminal");
	if (slave > 2)
		close(slave);
	int r = rl_fd_send(sock, master);
	close(master);
	return r < 0 ? rl_fail_errno(err, -r, "cannot pass the terminal back") : 0;
}

/* Everything the init does before it waits on start; err says why not. */
static int init_setup(const struct rl_oci_spec *s, int sock, bool host_root, struct rl_error *err)
{
	int r;
	if (!wait_go(sock))
		return rl_fail(err, ECHILD, "create went away");
	/* root of a user namespace of its own (after its maps), or joined */
	if (s->ns[RL_OCI_NS_USER].want && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return rl_fail_errno(err, errno, "cannot become root of the container's user namespace");
	if (s->ns[RL_OCI_NS_MOUNT].want &&
	    (r = rl_oci_rootfs_prepare(s, host_root, err)) < 0)
		return r;
	send_msg(sock, 0, NULL);
	if (!wait_go(sock))
		return rl_fail(err, ECHILD, "create went away");
	if (s->hooks[RL_HOOK_CREATE_CONTAINER].n) {
		/* the hooks read the state; the init cannot build it: create
		 * sent it along with "go" */
		char state[8192];
		ssize_t n = recv(sock, state, sizeof(state) - 1, 0);
		state[n > 0 ? n : 0] = '\0';
		if ((r = rl_oci_hooks_run(&s->hooks[RL_HOOK_CREATE_CONTAINER], "createContainer", state, err)) < 0)
			return r;
	}
	if (s->ns[RL_OCI_NS_MOUNT].want && (r = rl_oci_rootfs_enter(s, err)) < 0)
		return r;

	if (setsid() < 0 && errno != EPERM)
		return rl_fail_errno(err, errno, "cannot start a session");
	if (s->process.terminal && make_terminal(&s->process, sock, err) < 0)
		return -1;
	if ((r = rl_oci_process_limits(&s->process, err)) < 0)
		return r;
	/* without a mount namespace the root is entered after start (below),
	 * and the program found then */
	char exe[PATH_MAX];
	if (s->ns[RL_OCI_NS_MOUNT].want &&
	    (r = rl_oci_process_find(&s->process, exe, sizeof(exe), err)) < 0)
		return r;
	return 0;
}

static int exit_code_of(int r)
{
	return r == -ENOENT ? RL_EXIT_NOT_FOUND : r == -EACCES ? RL_EXIT_CANNOT_EXEC : RL_EXIT_INTERNAL;
}

static void init_main(const struct rl_oci_spec *s, int sock, int fifo, struct rl_seccomp *sc,
		      bool host_root, const char *start_state)
{
	struct rl_error err = {0};
	int r = init_setup(s, sock, host_root, &err);
	if (r < 0) {
		send_msg(sock, exit_code_of(r), err.msg);
		_exit(exit_code_of(r));
	}
	send_msg(sock, 0, NULL);
	close(sock);
	/* blocks until start opens the fifo */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fifo);
	int w = open(path, O_WRONLY | O_CLOEXEC);
	if (w < 0 || write(w, "0", 1) != 1)
		_exit(RL_EXIT_INTERNAL);
	/* w stays open until exec closes it: start waits for that EOF, so
	 * that a signal sent once start has returned reaches the program,
	 * not this init (whose PID 1 drops what it does not handle) */
	close(fifo);
	/* without a mount namespace of its own the host's mounts stay as they
	 * are: the root is entered with chroot, as runc does, once exec.fifo
	 * (a host path) has done its work */
	if (!s->ns[RL_OCI_NS_MOUNT].want && (chroot(s->root) < 0 || chdir("/") < 0)) {
		fprintf(stderr, "rlbpf-runtime: cannot enter the root %s: %s\n", s->root, strerror(errno));
		_exit(RL_EXIT_INTERNAL);
	}
	if (s->hooks[RL_HOOK_START_CONTAINER].n &&
	    rl_oci_hooks_run(&s->hooks[RL_HOOK_START_CONTAINER], "startContainer", start_state, &err) < 0) {
		fprintf(stderr, "rlbpf-runtime: %s\n", err.msg);
		_exit(RL_EXIT_INTERNAL);
	}
	int code = rl_oci_process_exec(&s->process, sc, &err);
	fprintf(stderr, "rlbpf-runtime: %s\n", err.msg);
	_exit(code);
}

/* Joins the namespaces given by path, the user namespace first (the others
 * belong to it), the pid namespace last (it applies to children only). */
static int join_namespaces(const struct rl_oci_spec *s, struct rl_error *err)
{
	static const enum rl_oci_ns_type order[] = {RL_OCI_NS_USER, RL_OCI_NS_IPC, RL_OCI_NS_UTS,
						    RL_OCI_NS_NET,  RL_OCI_NS_CGROUP, RL_OCI_NS_MOUNT,
						    RL_OCI_NS_PID};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct rl_oci_ns *ns = &s->ns[order[i]];
		if (!ns->want || !ns->path)
			continue;
		_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return rl_fail_errno(err, errno, "cannot open the %s namespace %s",
					     rl_oci_ns_name(order[i]), ns->path);
		if (setns(fd, ns_clone_flag(order[i])) < 0)
			return rl_fail_errno(err, errno, "cannot join the %s namespace %s",
					     rl_oci_ns_name(order[i]), ns->path);
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct rl_oci_idmap *m, size_t n,
		     struct rl_error *err)
{
	char path[64], text[4096];
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof(text); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%u %u %u\n", m[i].container,
					m[i].host, m[i].size);
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return rl_fail_errno(err, errno, "cannot write the container's %s (%s)", file,
				     "a rootless caller may map only its own ids");
	return 0;
}

/* The host id that container id 0 maps to; the caller's own when none. */
static unsigned host_id_of_root(const struct rl_oci_idmap *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].container == 0)
			return m[i].host;
	return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct rl_error *err)
{
	char tmp[PATH_MAX], text[32];
	int n = snprintf(text, sizeof(text), "%d", pid);
	if (snprintf(tmp, sizeof(tmp), "%s.rlbpf-tmp", path) >= (int)sizeof(tmp))
		return rl_fail(err, ENAMETOOLONG, "pid file path too long");
	if (rl_write_file(tmp, text, (size_t)n, 0644, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return rl_fail_errno(err, e, "cannot write the pid file %s", path);
	}
	return 0;
}

/* Passes the pty master to whoever listens on the console socket. */
static int send_console(const char *sock_path, int master, struct rl_error *err)
{
	int conn = rl_oci_console_connect(sock_path, err);
	if (conn < 0)
		return conn;
	int r = rl_oci_console_send(conn, master, sock_path, err);
	close(conn);
	return r;
}

static char *state_text(const struct rl_oci_state *st, enum rl_oci_status status)
{
	json_t *o = rl_oci_state_json(st, status);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

static int create_in(const struct rl_oci_create_opts *o, struct rl_oci_spec *s,
		     struct rl_oci_state *st, struct rl_error *err)
{
	int r;
	/* uid 0 of a user namespace is not the host's root: no mknod */
	bool host_root = rl_oci_host_root();
	struct rl_seccomp *sc = NULL;
	if (s->seccomp && (r = rl_seccomp_build_json(s->seccomp, "config.json linux.seccomp", &sc, err)) < 0)
		return r;
	char fifo_path[PATH_MAX];
	snprintf(fifo_path, sizeof(fifo_path), "%s/exec.fifo", st->dir);
	_cleanup_close_ int fifo = open(fifo_path, O_PATH | O_CLOEXEC);
	if (fifo < 0) {
		rl_seccomp_free(sc);
		return rl_fail_errno(err, errno, "cannot open %s", fifo_path);
	}
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		rl_seccomp_free(sc);
		return rl_fail_errno(err, errno, "cannot create the setup channel");
	}
	_cleanup_close_ int sock = sp[0];
	_cleanup_free_ char *start_state = state_text(st, RL_OCI_RUNNING);
	unsigned long flags = 0;
	for (int t = 0; t < RL_OCI_NS_N; t++)
		if (s->ns[t].want && !s->ns[t].path)
			flags |= (unsigned long)ns_clone_flag(t);

	pid_t stage1 = fork();
	if (stage1 < 0) {
		close(sp[1]);
		rl_seccomp_free(sc);
		return rl_fail_errno(err, errno, "cannot fork");
	}
	if (stage1 == 0) {
		close(sock);
		struct rl_error e = {0};
		if (join_namespaces(s, &e) < 0) {
			send_msg(sp[1], RL_EXIT_INTERNAL, e.msg);
			_exit(1);
		}
		pid_t init = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
		if (init < 0) {
			rl_fail_errno(&e, errno, "cannot create the container's namespaces");
			send_msg(sp[1], RL_EXIT_INTERNAL, e.msg);
			_exit(1);
		}
		if (init == 0) {
			/* the caller's fds stay out, but for --preserve-fds */
			rl_cloexec_from(3 + (unsigned)o->preserve_fds);
			for (int fd = 3; fd < 3 + o->preserve_fds; fd++)
				fcntl(fd, F_SETFD, 0);
			fcntl(sp[1], F_SETFD, FD_CLOEXEC);
			fcntl(fifo, F_SETFD, FD_CLOEXEC);
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			init_main(s, sp[1], fifo, sc, host_root, start_state ? start_state : "{}");
		}
		struct init_msg m = {.code = 0};
		snprintf(m.msg, sizeof(m.msg), "%d", init);
		(void)!send(sp[1], &m, sizeof(m), MSG_NOSIGNAL);
		_exit(0);
	}
	close(sp[1]);
	rl_seccomp_free(sc);
	struct init_msg m;
	ssize_t got = recv(sock, &m, sizeof(m), 0);
	waitpid(stage1, NULL, 0);
	if (got != (ssize_t)sizeof(m))
		return rl_fail(err, ECHILD, "the container could not be created");
	m.msg[sizeof(m.msg) - 1] = '\0';
	if (m.code)
		return rl_fail(err, EINVAL, "%s", m.msg);
	st->pid = (pid_t)atoi(m.msg);
	st->pid_start = rl_oci_proc_start(st->pid);
	st->own_pidns = s->ns[RL_OCI_NS_PID].want && !s->ns[RL_OCI_NS_PID].path;
	/* from here on a failure kills the init */
	if (s->ns[RL_OCI_NS_USER].want && !s->ns[RL_OCI_NS_USER].path) {
		if (!host_root) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/setgroups", st->pid);
			(void)rl_write_file(path, "deny", 4, 0644, err);
		}
		if ((r = write_map(st->pid, "uid_map", s->uid_map, s->n_uid_map, err)) < 0 ||
		    (r = write_map(st->pid, "gid_map", s->gid_map, s->n_gid_map, err)) < 0)
			return r;
		/* the init opens exec.fifo as the container's root, which is
		 * another uid on the host */
		if (fchownat(AT_FDCWD, fifo_path, host_id_of_root(s->uid_map, s->n_uid_map),
			     host_id_of_root(s->gid_map, s->n_gid_map), 0) < 0)
			return rl_fail_errno(err, errno, "cannot hand %s to the container's root", fifo_path);
	}
	bool own_cgroups = rl_oci_cgroups_own(s);
	if (own_cgroups && (r = rl_oci_cgroups_apply(s, st->pid, &st->cgroups, err)) < 0)
		return r;
	if ((r = rl_oci_agent_register(s, st, own_cgroups, err)) < 0)
		return r;
	if (write(sock, "g", 1) != 1 || (r = recv_msg(sock, "mounted", err)) < 0)
		return r < 0 ? r : rl_fail(err, ECHILD, "the container's init died");
	/* the (older) prestart hooks see the container as created, as
	 * runtime-tools checks; the create* hooks see it being created */
	_cleanup_free_ char *creating = state_text(st, RL_OCI_CREATING);
	_cleanup_free_ char *created = state_text(st, RL_OCI_CREATED);
	if ((r = rl_oci_hooks_run(&s->hooks[RL_HOOK_PRESTART], "prestart", created ? created : "{}", err)) < 0 ||
	    (r = rl_oci_hooks_run(&s->hooks[RL_HOOK_CREATE_RUNTIME], "createRuntime", creating ? creating : "{}", err)) < 0)
		return r;
	if (write(sock, "g", 1) != 1)
		return rl_fail(err, ECHILD, "the container's init died before its mounts were done");
	if (s->hooks[RL_HOOK_CREATE_CONTAINER].n && creating)
		(void)!send(sock, creating, strlen(creating), MSG_NOSIGNAL);
	if (s->process.terminal) {
		struct init_msg why;
		int master = rl_fd_recv_or(sock, &why, sizeof(why));
		if (master == -EBADMSG) {
			why.msg[sizeof(why.msg) - 1] = '\0';
			return rl_fail(err, EINVAL, "%s", why.msg);
		}
		if (master < 0)
			return rl_fail(err, ECHILD, "the container's init died before its terminal was made");
		if (!o->console_socket) {
			close(master);
			return rl_fail(err, EINVAL, "process.terminal is true: give --console-socket");
		}
		r = send_console(o->console_socket, master, err);
		close(master);
		if (r < 0)
			return r;
	}
	if ((r = recv_msg(sock, "ready", err)) < 0)
		return r;
	if (o->pid_file && (r = write_pid_file(o->pid_file, st->pid, err)) < 0)
		return r;
	return rl_oci_state_save(st, err);
}

int rl_oci_create(const struct rl_oci_create_opts *o, struct rl_error *err)
{
	char bundle[PATH_MAX];
	if (!rl_oci_valid_id(o->id))
		return rl_fail(err, EINVAL, "invalid container id %s: use letters, digits, _ + - and .", o->id);
	if (!realpath(o->bundle ? o->bundle : ".", bundle))
		return rl_fail_errno(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
	if (o->console_socket && o->console_socket[0] != '/')
		return rl_fail(err, EINVAL, "--console-socket must be an absolute path");
	struct rl_oci_spec s;
	int r = rl_oci_spec_load(bundle, &s, err);
	if (r < 0) {
		rl_oci_spec_free(&s);
		return r;
	}
	if (s.process.terminal && !o->console_socket) {
		rl_oci_spec_free(&s);
		return rl_fail(err, EINVAL, "process.terminal is true: give --console-socket");
	}
	struct rl_oci_state st;
	if ((r = rl_oci_state_new(o->root, o->id, &st, err)) < 0) {
		rl_oci_spec_free(&s);
		return r;
	}
	snprintf(st.bundle, sizeof(st.bundle), "%s", bundle);
	st.annotations = json_incref(json_object_get(s.json, "annotations"));
	r = create_in(o, &s, &st, err);
	if (r < 0) {
		if (st.pid > 0) {
			kill(st.pid, SIGKILL);
			/* gone before its cgroups can go */
			for (int i = 0; i < 100 && rl_oci_proc_start(st.pid); i++)
				usleep(10000);
		}
		rl_oci_cgroups_remove(st.cgroups);
		struct rl_error ignored;
		rl_oci_state_remove(&st, &ignored);
	}
	rl_oci_state_free(&st);
	rl_oci_spec_free(&s);
	return r;
}

int rl_oci_start(const char *root, const char *id, struct rl_error *err)
{
	struct rl_oci_state st;
	int r = rl_oci_state_load(root, id, &st, err);
	if (r < 0)
		return r;
	enum rl_oci_status status = rl_oci_status_of(&st);
	if (status != RL_OCI_CREATED) {
		rl_oci_state_free(&st);
		return rl_fail(err, EINVAL, status == RL_OCI_RUNNING ? "cannot start an already running container"
								       : "cannot start a container that has stopped");
	}
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", st.dir);
	_cleanup_close_ int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	if (fd < 0) {
		rl_oci_state_free(&st);
		return rl_fail_errno(err, errno, "cannot open %s", fifo);
	}
	/* the init writes one byte once it has the fifo open; if it died
	 * instead, its pidfd says so */
	char c;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
		if (poll(p, pidfd >= 0 ? 2 : 1, 100) < 0 && errno != EINTR)
			break;
		if (read(fd, &c, 1) == 1)
			break;
		if ((p[1].revents & POLLIN) || rl_oci_proc_start(st.pid) != st.pid_start) {
			rl_oci_state_free(&st);
			return rl_fail(err, ECHILD, "cannot start a container that has stopped");
		}
	}
	/* the init's end closes at its exec (or its death) */
	for (int waited = 0; waited < 10000; waited += 10) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10) > 0 && read(fd, &c, 1) == 0)
			break;
	}
	unlink(fifo);
	/* poststart: failures are the caller's to see, the container runs on */
	struct rl_oci_spec s;
	struct rl_error hook_err = {0};
	if (rl_oci_spec_load(st.bundle, &s, &hook_err) == 0 && s.hooks[RL_HOOK_POSTSTART].n) {
		_cleanup_free_ char *text = state_text(&st, RL_OCI_RUNNING);
		if (rl_oci_hooks_run(&s.hooks[RL_HOOK_POSTSTART], "poststart", text ? text : "{}", &hook_err) < 0)
			fprintf(stderr, "rlbpf-runtime: warning: %s\n", hook_err.msg);
	}
	rl_oci_spec_free(&s);
	rl_oci_state_free(&st);
	return 0;
}

int rl_oci_run(const struct rl_oci_create_opts *o, bool detach, struct rl_error *err)
{
	/* the init, orphaned by create's child, comes back to us */
	if (!detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	int r = rl_oci_create(o, err);
	if (r < 0)
		return r;
	struct rl_oci_state st;
	if ((r = rl_oci_start(o->root, o->id, err)) < 0 ||
	    (r = rl_oci_state_load(o->root, o->id, &st, err)) < 0)
		return r;
	pid_t pid = st.pid;
	rl_oci_state_free(&st);
	if (detach)
		return 0;
	int status = 0;
	for (;;) {
		pid_t w = waitpid(-1, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return rl_fail_errno(err, errno, "lost the container's init");
	}
	/* as runc run: the container is gone with its process */
	if (rl_oci_state_load(o->root, o->id, &st, err) == 0) {
		struct rl_error ignored;
		rl_oci_state_remove(&st, &ignored);
		rl_oci_state_free(&st);
	}
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
