#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
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
#include <grp.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/fuse_overlay.h"
#include "lib/cleanup.h"
#include "lib/envv.h"
#include "lib/fsutil.h"
#include "runtime/passwd.h"
#include "lib/paths.h"
#include "lib/pty.h"

static void report(int sock, int exit_code, const struct rl_error *err)
{
	struct rl_child_report rep = {.exit_code = exit_code};
	snprintf(rep.msg, sizeof(rep.msg), "%s", err->msg);
	(void)!send(sock, &rep, sizeof(rep), MSG_NOSIGNAL);
}

static int loopback_up(struct rl_error *err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return rl_fail_errno(err, errno, "cannot read the loopback interface");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return rl_fail_errno(err, errno, "cannot bring up the loopback interface");
	return 0;
}

/* Searches PATH as execvp would, but in the container's environment, and
 * tells apart "not found" (127) from "found but not executable" (126). */
static int exec_command(char **argv, char **env, struct rl_error *err)
{
	const char *cmd = argv[0];
	if (strchr(cmd, '/')) {
		execve(cmd, argv, env);
		int e = errno;
		rl_fail_errno(err, e, "exec \"%s\"", cmd);
		return e;
	}
	const char *path = rl_env_get(env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int seen = ENOENT;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		char full[PATH_MAX];
		if (n > 0 && snprintf(full, sizeof(full), "%.*s/%s", (int)n, p, cmd) < (int)sizeof(full)) {
			execve(full, argv, env);
			if (errno != ENOENT && errno != ENOTDIR)
				seen = errno;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	if (seen == ENOENT)
		rl_fail(err, ENOENT, "exec \"%s\": executable file not found in $PATH", cmd);
	else
		rl_fail_errno(err, seen, "exec \"%s\"", cmd);
	return seen;
}

static int exit_code_for_exec_errno(int e)
{
	return e == ENOENT || e == ENOTDIR ? RL_EXIT_NOT_FOUND : RL_EXIT_CANNOT_EXEC;
}

static char **with_home(char **env, const char *home)
{
	if (rl_env_get(env, "HOME"))
		return env;
	size_t n = 0;
	while (env && env[n])
		n++;
	char **out = calloc(n + 2, sizeof(*out));
	if (!out)
		return env;
	memcpy(out, env, n * sizeof(*out));
	if (asprintf(&out[n], "HOME=%s", home) < 0)
		return env;
	return out;
}

static int setup_stdio(const struct rl_container_spec *s, int tty_slave, const struct rl_user *u,
		       struct rl_error *err)
{
	if (tty_slave >= 0) {
		if (setsid() < 0 || ioctl(tty_slave, TIOCSCTTY, 0) < 0)
			return rl_fail_errno(err, errno, "cannot make the terminal controlling");
		/* The user the command runs as must own its terminal, as on a login. */
		if (fchown(tty_slave, u->uid, s->mounts.tty_group ? 5 : u->gid) < 0)
			return rl_fail_errno(err, errno, "cannot hand the terminal to uid %u", u->uid);
		for (int fd = 0; fd < 3; fd++)
			if (dup2(tty_slave, fd) < 0)
				return rl_fail_errno(err, errno, "cannot attach the terminal");
		if (tty_slave > 2)
			close(tty_slave);
		return 0;
	}
	/* Out of the caller's session: a terminal the caller had stays its
	 * own, and the container cannot push keystrokes into it (TIOCSTI). */
	if (setsid() < 0 && errno != EPERM)
		return rl_fail_errno(err, errno, "cannot leave the caller's session");
	if (s->stdin_fd > 0) {
		if (dup2(s->stdin_fd, 0) < 0)
			return rl_fail_errno(err, errno, "cannot attach the container's input");
	} else if (!s->opts->interactive || s->opts->detach) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0)
			return rl_fail_errno(err, errno, "cannot point stdin at /dev/null");
		close(null);
	}
	if ((s->stdout_fd >= 0 && dup2(s->stdout_fd, 1) < 0) ||
	    (s->stderr_fd >= 0 && dup2(s->stderr_fd, 2) < 0))
		return rl_fail_errno(err, errno, "cannot attach the container's output to its log");
	return 0;
}

/* seccomp_fd: where the supervisor writes the filter program (-1: none). */
static int drop_privileges(const struct rl_container_spec *s, int seccomp_fd,
			   const struct rl_user *u, struct rl_error *err)
{
	int r = rl_caps_drop_bounding(s->caps, err);
	if (r < 0)
		return r;
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the
	 * container may be about to lose. */
	if (seccomp_fd >= 0 && !s->opts->no_new_privileges &&
	    (r = rl_seccomp_load_from(seccomp_fd, false, err)) < 0)
		return r;
	/* A single-id map has setgroups denied by the kernel. */
	if (!s->idmap->single && setgroups(u->n_groups, u->groups) < 0)
		return rl_fail_errno(err, errno, "cannot set the supplementary groups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return rl_fail_errno(err, errno,
				     "cannot switch to gid %u: it is not mapped in this container (see 'rlbpf info')",
				     u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return rl_fail_errno(err, errno,
				     "cannot switch to uid %u: it is not mapped in this container (see 'rlbpf info')",
				     u->uid);
	if ((r = rl_caps_set_final(s->caps, u->uid, err)) < 0)
		return r;
	if (s->opts->no_new_privileges) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return rl_fail_errno(err, errno, "cannot set no_new_privs");
		if (seccomp_fd >= 0 && (r = rl_seccomp_load_from(seccomp_fd, true, err)) < 0)
			return r;
	}
	/* A change of uid clears the parent-death signal; arm it again. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return 0;
}

/* Everything between clone and exec, in the new namespaces. Returns the exit
 * code to report when exec cannot be reached. */
static int child_main(const struct rl_container_spec *s, int sock, int seccomp_fd,
		      int fuse_helper, struct rl_error *err)
{
	char byte;
	/* Wait until the supervisor has written our id map (EOF: it died). */
	if (read(sock, &byte, 1) != 1)
		_exit(RL_EXIT_INTERNAL);
	int r;
	if (sethostname(s->hostname, strlen(s->hostname)) < 0)
		return rl_fail_errno(err, errno, "cannot set the host name"), RL_EXIT_INTERNAL;
	/* With the host's network there is no loopback of our own to bring up. */
	if ((s->opts->network != RL_NET_HOST && loopback_up(err) < 0) ||
	    rl_mounts_prepare(&s->mounts, fuse_helper, err) < 0)
		return RL_EXIT_INTERNAL;
	if (fuse_helper >= 0)
		close(fuse_helper);

	int tty_slave = -1;
	if (s->opts->tty) {
		char ptmx[PATH_MAX];
		int master;
		snprintf(ptmx, sizeof(ptmx), "%s/rootfs/dev/pts/ptmx", s->mounts.state_dir);
		if (rl_pty_open(ptmx, &master, &tty_slave, err) < 0)
			return RL_EXIT_INTERNAL;
		/* Set before the command runs, which may read it only once. */
		struct winsize size = {.ws_row = s->opts->tty_rows, .ws_col = s->opts->tty_cols};
		if (size.ws_row)
			ioctl(master, TIOCSWINSZ, &size);
		if ((r = rl_fd_send(sock, master)) < 0)
			return rl_fail_errno(err, -r, "cannot pass the terminal to rlbpf"),
			       RL_EXIT_INTERNAL;
		close(master);
	}
	if (rl_mounts_pivot(&s->mounts, err) < 0)
		return RL_EXIT_INTERNAL;
	/* without a filter the channel is only the gate: EOF lets us exec */
	if (!s->seccomp) {
		while (read(seccomp_fd, &byte, 1) > 0)
			;
		seccomp_fd = -1;
	}
	return rl_container_exec(s, tty_slave, seccomp_fd, err);
}

int rl_container_exec(const struct rl_container_spec *s, int tty_slave, int seccomp_fd,
		      struct rl_error *err)
{
	struct rl_user u;
	if (rl_user_resolve(s->user, "/etc/passwd", "/etc/group", &u, err) < 0)
		return RL_EXIT_INTERNAL;
	const char *workdir = s->workdir && s->workdir[0] ? s->workdir : "/";
	/* Docker creates a missing working directory, as root. */
	if (rl_mkdir_p(workdir, 0755, err) < 0)
		return RL_EXIT_INTERNAL;
	if (setup_stdio(s, tty_slave, &u, err) < 0 || drop_privileges(s, seccomp_fd, &u, err) < 0)
		return RL_EXIT_INTERNAL;
	if (chdir(workdir) < 0)
		return rl_fail_errno(err, errno, "cannot enter working directory %s", workdir),
		       RL_EXIT_INTERNAL;
	char **env = with_home(s->env, u.home);

	if (s->opts->init) {
		pid_t cmd = fork();
		if (cmd < 0)
			return rl_fail_errno(err, errno, "cannot start the command under --init"),
			       RL_EXIT_INTERNAL;
		if (cmd > 0) {
			/* --init never execs: it keeps nothing of the supervisor's. */
			close_range(3, ~0U, 0);
			_exit(rl_init_loop(cmd));
		}
	}
	int e = exec_command(s->argv, env, err);
	return exit_code_for_exec_errno(e);
}

int rl_container_start(const struct rl_container_spec *s, struct rl_container *c,
		       struct rl_error *err)
{
	*c = (struct rl_container){.pid = -1, .userns_fd = -1, .netns_fd = -1, .pty_master = -1,
				   .exit_code = RL_EXIT_INTERNAL, .slirp = {.pid = -1, .exit_fd = -1}};
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return rl_fail_errno(err, errno, "cannot create the setup channel");
	_cleanup_close_ int sock = sp[0];
	/* The supervisor generates the seccomp program while the container
	 * builds its filesystem, in parallel, and hands it over in a pipe,
	 * whose end is also the container's leave to exec. */
	int prog[2] = {-1, -1};
	if (pipe2(prog, O_CLOEXEC) < 0) {
		int e = errno;
		close(sp[1]);
		return rl_fail_errno(err, e, "cannot create the seccomp channel");
	}
	_cleanup_close_ int prog_w = prog[1];
	/* --network host keeps ours: no network namespace of its own. */
	const unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS |
				    CLONE_NEWIPC |
				    (s->opts->network == RL_NET_HOST ? 0 : CLONE_NEWNET);
	/* connected ahead: the map is then one round trip to rlbpfd */
	struct rl_agent_conn *agent = rl_idmap_connect(s->idmap);
	/* where the root will be fuse-overlayfs, its server runs outside */
	int fuse_helper = rl_fuse_overlay_expected()
				  ? rl_fuse_helper_start(s->mounts.lower, s->mounts.state_dir,
							 s->mounts.discard_upper)
				  : -1;
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (fuse_helper >= 0 && pid != 0)
		close(fuse_helper);
	if (pid < 0) {
		int e = errno;
		rl_idmap_disconnect(agent);
		close(sp[1]);
		close(prog[0]);
		return rl_fail_errno(err, e,
				     "cannot create the container's namespaces; run 'rlbpf setup' to check user namespaces");
	}
	if (pid == 0) {
		close(sp[0]);
		close(prog_w);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Whatever the caller had open must not reach the container: an fd
		 * of a host directory would be a way out of its root. */
		rl_cloexec_from(3);
		/* The supervisor blocked its signals for signalfd; ours are default. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		struct rl_error child_err = {0};
		int code = child_main(s, sp[1], prog[0], fuse_helper, &child_err);
		report(sp[1], code, &child_err);
		_exit(code);
	}
	close(sp[1]);
	close(prog[0]);
	c->pid = pid;

	/* The map is all the container waits for before it builds its
	 * filesystem; the rest is done meanwhile, before the gate opens. */
	int r = rl_idmap_apply_on(s->idmap, agent, pid, err);
	rl_idmap_disconnect(RL_TAKE(agent));
	if (r == 0 && write(sock, "m", 1) != 1)
		r = rl_fail_errno(err, errno, "the container died before setup");
	/* Held now: a command that exits at once takes its namespaces along,
	 * and the published ports' forwarder needs this one. (The container
	 * cannot end before the gate but by failing its setup.) */
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", pid);
	c->userns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (r == 0 && c->userns_fd < 0)
		r = rl_fail_errno(err, errno, "cannot hold the user namespace");
	if (s->opts->network != RL_NET_HOST) {
		snprintf(ns, sizeof(ns), "/proc/%d/ns/net", pid);
		c->netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	}
	/* The network is up before the command runs: it may use it at once.
	 * slirp4netns joins the user namespace, so the map comes first. */
	if (r == 0 && s->opts->network == RL_NET_SLIRP)
		r = rl_slirp_start(pid, s->opts->allow_host_loopback, s->mounts.state_dir, &c->slirp,
				   err);
	bool created = false;
	if (r == 0 && s->on_created)
		created = (r = s->on_created(pid, c->userns_fd, s->hooks_ctx, err)) == 0;
	if (r == 0 && s->seccomp)
		r = rl_seccomp_export(s->seccomp, prog_w, err);
	if (created && s->before_exec) {
		struct rl_error later;
		int rb = s->before_exec(s->hooks_ctx, r == 0 ? err : &later);
		if (r == 0)
			r = rb;
	}
	/* A container that must not go on never gets past the gate. */
	if (r < 0)
		kill(pid, SIGKILL);
	/* EOF ends the program and opens the gate. */
	close(RL_TAKE_FD(prog_w));

	if (r == 0 && s->opts->tty) {
		/* A child that fails before it has a terminal sends its report. */
		struct rl_child_report rep;
		int fd = rl_fd_recv_or(sock, &rep, sizeof(rep));
		if (fd >= 0) {
			c->pty_master = fd;
		} else if (fd == -EBADMSG) {
			rep.msg[sizeof(rep.msg) - 1] = '\0';
			c->exit_code = rep.exit_code;
			r = rl_fail(err, EINVAL, "%s", rep.msg);
		} else if (fd != -EPIPE) {
			r = rl_fail_errno(err, -fd, "cannot receive the terminal");
		}
	}
	if (r == 0) {
		/* EOF means exec happened; a report means it did not. */
		struct rl_child_report rep;
		ssize_t n = recv(sock, &rep, sizeof(rep), 0);
		if (n == (ssize_t)sizeof(rep)) {
			rep.msg[sizeof(rep.msg) - 1] = '\0';
			c->exit_code = rep.exit_code;
			r = rl_fail(err, EINVAL, "%s", rep.msg);
		} else if (n < 0) {
			r = rl_fail_errno(err, errno, "lost the container during setup");
		}
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rl_slirp_stop(&c->slirp);
		if (c->netns_fd >= 0)
			close(RL_TAKE_FD(c->netns_fd));
		if (c->pty_master >= 0)
			close(c->pty_master);
		c->pid = -1;
		c->pty_master = -1;
	}
	return r;
}
