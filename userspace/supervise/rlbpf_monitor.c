/* rlbpf-monitor: what a detached container's supervisor becomes once the
 * container runs. rlbpf execs it in place (same process, so the container
 * stays its child), so that the long-lived part is a small static program
 * instead of the whole CLI: it keeps the log, passes signals on, records
 * the end, and removes the container for --rm.
 *
 * rlbpf-monitor STATE_DIR PID OUT_FD ERR_FD PTY_FD LOG_FD USERNS_FD RM
 *               [slirp=PID:EXIT_FD] [netns=FD] [stdin=FD] [attach=FD]
 *               [PROTO/CTRPORT=LISTEN_FD...]
 * It also serves the published ports (portfwd.c) and ends slirp4netns. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/agent_client.h"
#include "runtime/cgroup2.h"
#include "supervise/detach.h"
#include "lib/fsutil.h"
#include "net/network.h"
#include "net/portfwd.h"
#include "supervise/state.h"
#include "supervise/state_watch.h"
#include "supervise/status.h"

static int number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v >= -1 && v <= INT_MAX ? (int)v : -2;
}

int main(int argc, char **argv)
{
	int n[7];
	for (int i = 0; argc >= 9 && i < 7; i++)
		n[i] = number(argv[i + 2]);
	if (argc < 9 || n[0] <= 0 || n[1] < -1 || n[2] < -1 || n[3] < -1 || n[4] < 0 ||
	    n[5] < -1 || n[6] < 0) {
		fputs("rlbpf-monitor: a helper of rlbpf's, started by 'rlbpf run -d'\n", stderr);
		return 2;
	}
	struct rl_slirp slirp = {.pid = -1, .exit_fd = -1};
	int netns_fd = -1;
	struct rl_detached_io io = {.out_fd = n[1], .err_fd = n[2], .pty_master = n[3],
				    .logfd = n[4], .stdin_fd = -1, .attach_fd = -1};
	size_t n_ports = 0;
	struct rl_port ports[argc];
	int port_fds[argc];
	for (int i = 9; i < argc; i++) {
		int pid, fd;
		const char *eq = strchr(argv[i], '=');
		if (sscanf(argv[i], "slirp=%d:%d", &pid, &fd) == 2) {
			slirp = (struct rl_slirp){.pid = pid, .exit_fd = fd};
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		} else if (sscanf(argv[i], "netns=%d", &fd) == 1 && fd >= 0) {
			netns_fd = fd;
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		} else if (sscanf(argv[i], "stdin=%d", &fd) == 1 && fd >= 0) {
			io.stdin_fd = fd;
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		} else if (sscanf(argv[i], "attach=%d", &fd) == 1 && fd >= 0) {
			io.attach_fd = fd;
			fcntl(fd, F_SETFD, FD_CLOEXEC);
		} else if (eq && rl_port_from_arg(argv[i], &ports[n_ports]) == 0 &&
			   (fd = number(eq + 1)) >= 0) {
			fcntl(fd, F_SETFD, FD_CLOEXEC);
			port_fds[n_ports++] = fd;
		} else {
			fprintf(stderr, "rlbpf-monitor: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	struct rl_state st = {0};
	if (snprintf(st.dir, sizeof(st.dir), "%s", argv[1]) >= (int)sizeof(st.dir))
		return 2;
	const char *base = strrchr(argv[1], '/');
	snprintf(st.id, sizeof(st.id), "%.64s", base ? base + 1 : argv[1]);
	snprintf(st.name, sizeof(st.name), "%.64s", st.id);

	struct rl_portfwd *pf = NULL;
	struct rl_poll_hook hook;
	if (n_ports) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/ports.log", st.dir);
		int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		struct rl_error err = {0};
		/* Without forwarding the container still runs; the log says why.
		 * The forwarder owns what it gets: the user namespace is ours to
		 * keep for --rm, so it gets a copy. */
		int userns = n[5] >= 0 ? fcntl(n[5], F_DUPFD_CLOEXEC, 3) : -1;
		int why = logfd >= 0 ? fcntl(logfd, F_DUPFD_CLOEXEC, 3) : -1;
		if (rl_portfwd_new(userns, netns_fd, logfd, ports, port_fds, n_ports, &pf, &err) < 0 &&
		    why >= 0)
			dprintf(why, "%s\n", err.msg);
		if (why >= 0)
			close(why);
		if (pf)
			hook = rl_portfwd_hook(pf);
	}
	int code = rl_supervise_logged(n[0], &io, pf ? &hook : NULL);
	/* No client is served after the end, and the network goes with it. */
	rl_portfwd_free(pf);
	rl_slirp_stop(&slirp);
	/* SIGKILL is what a container past its memory cap dies of */
	bool oom = rl_cgroup2_finish(st.dir);
	/* OOMKilled whenever the kernel's OOM killer ended a task in it */
	rl_status_record_exit(&st, code, oom || rl_agent_oom_killed(st.id));
	if (n[6]) {
		struct rl_error err = {0};
		/* An attach still reading the log, or a wait not yet told the
		 * exit code, keeps the record until it is done. */
		rl_state_wait_unheld(st.dir);
		rl_remove_tree_as_owner(st.dir, n[5], &err);
	}
	return code;
}
