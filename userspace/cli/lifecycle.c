/* rlbpf stop, kill, wait, rm, restart: changing a container's life from the
 * outside. Signals go straight to the container's PID 1 (the caller owns
 * its user namespace); the end is recorded by its supervisor. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli/commands.h"
#include "lib/signame.h"
#include "supervise/state.h"
#include "supervise/status.h"

/* Waits until the process is gone, at most timeout_ms (-1: no limit).
 * True when it is gone. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	close(fd);
	return n > 0;
}

/* Common shape of these commands: options, then one or more containers. */
struct cmd_opts {
	const char *name;
	const char *usage;
	const char *flags; /* the short options this command takes */
	int timeout;    /* stop, restart: -t SECONDS */
	int signal;     /* kill: -s */
	bool force;     /* rm -f */
};

static int bad_usage(const struct cmd_opts *c, const char *what, const char *arg)
{
	fprintf(stderr, "rlbpf %s: %s '%s'; see 'rlbpf %s --help'\n", c->name, what, arg, c->name);
	return -1;
}

/* Parses the options of `c->name`; returns optind, 0 after --help, -1 on error. */
static int parse(struct cmd_opts *c, int argc, char **argv)
{
	static const struct option longs[] = {
		{"time", required_argument, NULL, 't'},
		{"timeout", required_argument, NULL, 't'},
		{"signal", required_argument, NULL, 's'},
		{"force", no_argument, NULL, 'f'},
		{"volumes", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int opt;
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:t:s:fvh", longs, NULL)) != -1) {
		char *end;
		if (opt != 'h' && opt != ':' && opt != '?' && !strchr(c->flags, opt))
			return bad_usage(c, "unknown option", argv[optind - 1]);
		switch (opt) {
		case 't':
			c->timeout = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || c->timeout < 0 || c->timeout > 86400)
				return bad_usage(c, "-t takes whole seconds (0 to 86400), not", optarg);
			break;
		case 's':
			if ((c->signal = rl_signal_parse(optarg)) < 0)
				return bad_usage(c, "unknown signal", optarg);
			break;
		case 'f': c->force = true; break;
		case 'v': break; /* rlbpf makes no anonymous volumes: nothing more to remove */
		case 'h': printf("%s", c->usage); return 0;
		case ':': return bad_usage(c, "missing value for", argv[optind - 1]);
		default: return bad_usage(c, "unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage(c, "no container given:", "CONTAINER");
	return optind;
}

static int find_running(const char *ref, struct rl_state *st, struct rl_status *s,
			struct rl_error *err)
{
	int r = rl_state_find(ref, st, err);
	return r < 0 ? r : rl_status_read(st, s, err);
}

/* Sends SIGTERM (or sig), then SIGKILL after `timeout` seconds, and waits
 * for the supervisor to have recorded the end. */
static void stop_container(const struct rl_status *s, int sig, int timeout)
{
	if (s->state != RL_RUNNING)
		return;
	if (kill(s->pid, sig) == 0 && !wait_gone(s->pid, timeout * 1000))
		kill(s->pid, SIGKILL);
	wait_gone(s->supervisor, -1);
}

/* Runs `each` on every container named; exit 125 if any failed. */
static int for_each_ref(struct cmd_opts *c, int first, int argc, char **argv,
			int (*each)(struct cmd_opts *c, const char *ref, const struct rl_state *st,
				  struct rl_status *s, struct rl_error *err))
{
	int code = 0;
	for (int i = first; i < argc; i++) {
		struct rl_error err = {0};
		struct rl_state st;
		struct rl_status s;
		if (find_running(argv[i], &st, &s, &err) < 0 || each(c, argv[i], &st, &s, &err) < 0) {
			char prefix[64];
			snprintf(prefix, sizeof(prefix), "rlbpf %s", c->name);
			rl_error_print(&err, prefix);
			code = RL_EXIT_INTERNAL;
		}
	}
	return code;
}

static int stop_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		   struct rl_status *s, struct rl_error *err)
{
	(void)st;
	(void)err;
	stop_container(s, SIGTERM, c->timeout);
	printf("%s\n", ref);
	return 0;
}

static int kill_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		   struct rl_status *s, struct rl_error *err)
{
	(void)st;
	if (s->state != RL_RUNNING)
		return rl_fail(err, EINVAL, "container %s is not running", ref);
	if (kill(s->pid, c->signal) < 0)
		return rl_fail_errno(err, errno, "cannot signal container %s", ref);
	printf("%s\n", ref);
	return 0;
}

static int wait_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		   struct rl_status *s, struct rl_error *err)
{
	(void)c;
	(void)ref;
	if (s->state == RL_RUNNING) {
		wait_gone(s->supervisor, -1);
		/* --rm: the supervisor removed the state, and with it the status. */
		int r = rl_status_read(st, s, err);
		if (r < 0)
			return r;
	}
	printf("%d\n", s->exit_code);
	return 0;
}

static int rm_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		   struct rl_status *s, struct rl_error *err)
{
	if (s->state == RL_RUNNING && !c->force)
		return rl_fail(err, EBUSY,
			       "cannot remove container %s: it is running; stop it first or use 'rlbpf rm -f'",
			       ref);
	stop_container(s, SIGKILL, 0);
	/* Held by a supervisor that is still starting it: not ours to remove. */
	int lock = rl_state_lock(st, err);
	if (lock < 0)
		return lock;
	int r = rl_state_remove(st, -1, err);
	close(lock);
	if (r < 0)
		return r;
	printf("%s\n", ref);
	return 0;
}

static int restart_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		   struct rl_status *s, struct rl_error *err)
{
	stop_container(s, SIGTERM, c->timeout);
	int r = rl_run_again(st, err);
	if (r < 0)
		return r;
	printf("%s\n", ref);
	return 0;
}

/* Docker's start: a created or exited container runs again from its
 * record; a running one is left as it is. */
static int start_one(struct cmd_opts *c, const char *ref, const struct rl_state *st,
		     struct rl_status *s, struct rl_error *err)
{
	(void)c;
	if (s->state != RL_RUNNING) {
		int r = rl_run_again(st, err);
		if (r < 0)
			return r;
	}
	printf("%s\n", ref);
	return 0;
}

/* Parses the options, then applies `each` to every container named. */
static int lifecycle_main(struct cmd_opts c, int argc, char **argv,
			  int (*each)(struct cmd_opts *c, const char *ref, const struct rl_state *st,
				  struct rl_status *s, struct rl_error *err))
{
	int first = parse(&c, argc, argv);
	if (first <= 0)
		return first < 0 ? RL_EXIT_INTERNAL : 0;
	return for_each_ref(&c, first, argc, argv, each);
}

int cmd_start(int argc, char **argv)
{
	struct cmd_opts c = {.name = "start", .flags = "",
			     .usage = "Usage: rlbpf start CONTAINER...\n"
				      "Start created or stopped containers, in the background.\n"};
	return lifecycle_main(c, argc, argv, start_one);
}

int cmd_stop(int argc, char **argv)
{
	struct cmd_opts c = {.name = "stop", .flags = "t", .timeout = 10,
			     .usage = "Usage: rlbpf stop [-t SECONDS] CONTAINER...\n"
				      "  -t, --time SECONDS  wait this long after SIGTERM before SIGKILL (default 10)\n"};
	return lifecycle_main(c, argc, argv, stop_one);
}

int cmd_kill(int argc, char **argv)
{
	struct cmd_opts c = {.name = "kill", .flags = "s", .signal = SIGKILL,
			     .usage = "Usage: rlbpf kill [-s SIGNAL] CONTAINER...\n"
				      "  -s, --signal SIGNAL  the signal to send, by name or number (default KILL)\n"};
	return lifecycle_main(c, argc, argv, kill_one);
}

int cmd_wait(int argc, char **argv)
{
	struct cmd_opts c = {.name = "wait", .flags = "",
			     .usage = "Usage: rlbpf wait CONTAINER...\n"
				      "  Blocks until each container stops, then prints its exit code.\n"};
	return lifecycle_main(c, argc, argv, wait_one);
}

int cmd_rm(int argc, char **argv)
{
	struct cmd_opts c = {.name = "rm", .flags = "fv",
			     .usage = "Usage: rlbpf rm [-f] [-v] CONTAINER...\n"
				      "  -f, --force  kill a running container first; -v, --volumes: accepted (no anonymous volumes)\n"};
	return lifecycle_main(c, argc, argv, rm_one);
}

int cmd_restart(int argc, char **argv)
{
	struct cmd_opts c = {.name = "restart", .flags = "t", .timeout = 10,
			     .usage = "Usage: rlbpf restart [-t SECONDS] CONTAINER...\n"
				      "  -t, --time SECONDS  wait this long after SIGTERM before SIGKILL (default 10)\n"};
	return lifecycle_main(c, argc, argv, restart_one);
}
