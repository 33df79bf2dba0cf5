/* The oom file for Podman (oom_watch.h). */
#include "oci/oom_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "proto/agent_client.h"

static void write_oom_file(int bundle)
{
	int fd = openat(bundle, "oom", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* The file, if the agent says the container was killed for memory. */
static void mark_if_killed(int bundle, const char *agent_id)
{
	if (rl_agent_oom_killed(agent_id))
		write_oom_file(bundle);
}

void rl_oci_oom_note(const char *bundle_path, const char *agent_id)
{
	_cleanup_close_ int bundle = open(bundle_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (bundle >= 0)
		mark_if_killed(bundle, agent_id);
}

/* The watcher's whole life: an oom_kill of the container writes the file
 * at once; its init's end is the last chance (an event the agent had not
 * yet sent), after which there is nothing left to watch. */
static _Noreturn void watch(struct rl_agent_conn *c, int pidfd, int bundle, const char *agent_id)
{
	bool agent = true;
	for (;;) {
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = c->fd, .events = POLLIN}};
		if (poll(p, agent ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (agent && p[1].revents) {
			struct rl_msg m;
			int r;
			while ((r = rl_agent_next(c, &m, 0)) == 1)
				if (m.hdr.type == RL_MSG_EVENT && m.u.event.ev.hdr.type == RL_EV_OOM_KILL) {
					write_oom_file(bundle);
					_exit(0);
				}
			if (r < 0)
				agent = false;
		}
		if (p[0].revents) {
			mark_if_killed(bundle, agent_id);
			_exit(0);
		}
	}
}

void rl_oci_oom_watch(pid_t init, const char *bundle_path, const char *agent_id)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	_cleanup_close_ int bundle = open(bundle_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pidfd < 0 || bundle < 0)
		return;
	struct rl_agent_conn *c = malloc(sizeof(*c));
	if (!c)
		return;
	/* subscribed before create returns: no kill can come before it */
	struct rl_msg_subscribe sub = {.event_mask = 1u << RL_EV_OOM_KILL, .n_ids = 1};
	snprintf(sub.ids[0], sizeof(sub.ids[0]), "%s", agent_id);
	char why[300];
	if (rl_agent_subscribe(c, &sub, why, sizeof(why)) < 0) {
		free(c);
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		/* orphaned at once: the caller (conmon, a subreaper) reaps it,
		 * and it holds none of the caller's pipes or terminal */
		setsid();
		if (fork() != 0)
			_exit(0);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		int top = c->fd > pidfd ? c->fd : pidfd;
		top = top > bundle ? top : bundle;
		for (int fd = 3; fd < top; fd++)
			if (fd != c->fd && fd != pidfd && fd != bundle)
				close(fd);
		close_range((unsigned)top + 1, ~0U, 0);
		(void)!chdir("/");
		prctl(PR_SET_NAME, "rlbpf-oomwatch");
		signal(SIGPIPE, SIG_IGN);
		watch(c, pidfd, bundle, agent_id);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
	rl_agent_close(c);
	free(c);
}
