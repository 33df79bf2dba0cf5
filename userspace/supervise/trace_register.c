/* Registration of a started container with rlbpfd (trace_register.h). The
 * note that tracing is off is said once, not on every run: a marker in the
 * user's runtime directory remembers it was said, and goes when the agent
 * answers again. */
#include "supervise/trace_register.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/agent_client.h"
#include "lib/paths.h"

struct rl_trace_registration {
	struct rl_agent_registration agent;
	bool needed;
};

static struct rl_register_limits wanted(const struct rl_limits *limits)
{
	struct rl_register_limits want = {0};
	if (rl_limits_for_agent(limits))
		want = (struct rl_register_limits){
			.mem_cap_bytes = limits->memory,
			.pids_limit = limits->pids_limit,
			.flags = limits->enforce == RL_CHOOSE_EBPF     ? RL_REG_EBPF
				 : limits->enforce == RL_CHOOSE_CGROUP ? RL_REG_CGROUP
								       : 0};
	if (limits->by_cgroup2)
		want.flags |= RL_REG_OWN_CGROUP;
	/* asked before the container may exec: its init has forked nothing */
	want.flags |= RL_REG_FRESH;
	/* --cpus has no eBPF enforcer: a cgroup of the agent's, or nothing */
	if (limits->nano_cpus && !limits->by_cgroup2 && limits->enforce != RL_CHOOSE_NONE)
		want.cpu_millis = (uint32_t)(limits->nano_cpus / 1000000);
	return want;
}

/* What the agent's answer r (with why) means for the run. */
static int registered(int r, const char *why, const struct rl_limits *limits,
		      struct rl_error *err)
{
	char marker[PATH_MAX], dir[PATH_MAX - 32];
	struct rl_error ignored;
	if (r < 0 && rl_limits_for_agent(limits)) {
		char msg[sizeof(err->msg)];
		/* EOPNOTSUPP: a running agent that cannot hold the limit here */
		rl_limits_refusal(limits, why, r == -EOPNOTSUPP, msg, sizeof(msg));
		return rl_fail(err, -r, "%s", msg);
	}
	if (rl_runtime_dir(dir, sizeof(dir), &ignored) < 0)
		return 0;
	snprintf(marker, sizeof(marker), "%s/tracing-off-noted", dir);
	if (r == 0) {
		unlink(marker);
		return 0;
	}
	/* the container was over before the agent looked: nothing to trace,
	 * and nothing wrong with tracing */
	if (r == -ESRCH)
		return 0;
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0; /* said before (or cannot remember it: stay quiet) */
	close(fd);
	fprintf(stderr, "rlbpf run: tracing is off (said once; `rlbpf info` tells the same): "
			"rlbpfd %s\n", why);
	return 0;
}

int rl_trace_register_send(const struct rl_state *st, pid_t pid, int userns_fd,
			   const struct rl_limits *limits, struct rl_trace_registration **out,
			   struct rl_error *err)
{
	char why[300];
	struct stat ns;
	bool needed = rl_limits_for_agent(limits);
	struct rl_register_limits want = wanted(limits);
	*out = NULL;
	if (userns_fd < 0 || fstat(userns_fd, &ns) < 0)
		return needed ? rl_fail_errno(err, errno, "cannot see the container's user namespace")
			      : 0;
	struct rl_trace_registration *t = malloc(sizeof(*t));
	if (!t)
		return rl_fail(err, ENOMEM, "out of memory");
	int r = rl_agent_register_send(&t->agent, st->id, st->name, pid, ns.st_ino, &want, why,
				       sizeof(why));
	if (r < 0) {
		free(t);
		return registered(r, why, limits, err);
	}
	*out = t;
	return 0;
}

int rl_trace_register_wait(struct rl_trace_registration *t, struct rl_limits *limits,
			   struct rl_error *err)
{
	char why[300];
	struct rl_register_result got = {0};
	if (!t)
		return 0;
	int r = rl_agent_register_wait(&t->agent, &got, why, sizeof(why));
	free(t);
	if (r == 0)
		limits->by_agent = got.enforcer;
	return registered(r, why, limits, err);
}

struct rl_join {
	struct rl_agent_conn conn;
};

struct rl_join *rl_join_open(char *why, size_t len)
{
	struct rl_join *j = malloc(sizeof(*j));
	if (!j) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (rl_agent_connect(RL_AGENT_SOCKET, &j->conn, why, len) < 0) {
		free(j);
		return NULL;
	}
	return j;
}

int rl_join(struct rl_join *j, const char *id, pid_t pid, char *why, size_t len)
{
	return rl_agent_join(&j->conn, id, pid, why, len);
}

void rl_join_close(struct rl_join *j)
{
	if (!j)
		return;
	rl_agent_close(&j->conn);
	free(j);
}

bool rl_trace_oom_killed(const char *id)
{
	return rl_agent_oom_killed(id);
}
