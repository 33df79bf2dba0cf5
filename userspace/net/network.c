#include "net/network.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

#define TUN "/dev/net/tun"

void rl_slirp_find(char *path, size_t len)
{
	const char *env = getenv("PATH");
	const char *dirs = env && env[0] ? env : "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = dirs; *p;) {
		size_t n = strcspn(p, ":");
		if (n && snprintf(path, len, "%.*s/slirp4netns", (int)n, p) < (int)len &&
		    access(path, X_OK) == 0)
			return;
		p += n + (p[n] == ':');
	}
	snprintf(path, len, "%s", access("/usr/bin/slirp4netns", X_OK) == 0 ? "/usr/bin/slirp4netns" : "");
}

void rl_slirp_unusable(char *why, size_t len)
{
	char path[PATH_MAX];
	rl_slirp_find(path, sizeof(path));
	if (!path[0]) {
		snprintf(why, len,
			 "slirp4netns is not installed (install it: sudo apt-get install slirp4netns)");
		return;
	}
	/* Opening it is the test: access() would not see an LSM's refusal. */
	int fd = open(TUN, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			snprintf(why, len,
				 "%s is not usable by this user (%s); Debian's usual mode allows it: sudo chmod 0666 %s",
				 TUN, strerror(e), TUN);
		else
			snprintf(why, len, "%s cannot be opened (%s); load the tun module: sudo modprobe tun",
				 TUN, strerror(e));
		return;
	}
	close(fd);
	why[0] = '\0';
}

enum rl_net_mode rl_network_default(char *note, size_t len)
{
	char why[384];
	rl_slirp_unusable(why, sizeof(why));
	if (!why[0]) {
		note[0] = '\0';
		return RL_NET_SLIRP;
	}
	snprintf(note, len,
		 "no outbound network for this container (--network none): %s; or pass --network none to silence this",
		 why);
	return RL_NET_NONE;
}

const char *rl_network_name(enum rl_net_mode mode)
{
	switch (mode) {
	case RL_NET_HOST: return "host";
	case RL_NET_SLIRP: return "slirp4netns";
	default: return "none";
	}
}

int rl_network_write_etc(const char *state_dir, enum rl_net_mode mode, struct rl_error *err)
{
	char path[PATH_MAX + 16];
	if (mode == RL_NET_SLIRP) {
		/* slirp4netns answers DNS at 10.0.2.3 with the host's resolvers,
		 * which also covers a host resolver on 127.0.0.53. */
		static const char text[] = "nameserver " RL_SLIRP_DNS "\n";
		snprintf(path, sizeof(path), "%s/resolv.conf", state_dir);
		return rl_write_file(path, text, sizeof(text) - 1, 0644, err);
	}
	if (mode == RL_NET_HOST) {
		/* The host's names, as Docker gives a host-network container. */
		char hosts[8192];
		int n = rl_read_file("/etc/hosts", hosts, sizeof(hosts), NULL);
		if (n <= 0)
			return 0;
		snprintf(path, sizeof(path), "%s/hosts", state_dir);
		return rl_write_file(path, hosts, (size_t)n, 0644, err);
	}
	return 0;
}

int rl_slirp_start(pid_t pid, bool allow_host_loopback, const char *state_dir,
		   struct rl_slirp *s, struct rl_error *err)
{
	*s = (struct rl_slirp){.pid = -1, .exit_fd = -1};
	char bin[PATH_MAX];
	rl_slirp_find(bin, sizeof(bin));
	if (!bin[0])
		return rl_fail(err, ENOENT,
			       "--network slirp4netns: slirp4netns is not installed; install it (sudo apt-get install slirp4netns) or use --network none");
	int ready[2], exitp[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot create a pipe for slirp4netns");
	if (pipe2(exitp, O_CLOEXEC) < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		return rl_fail_errno(err, e, "cannot create a pipe for slirp4netns");
	}
	_cleanup_close_ int ready_r = ready[0];
	_cleanup_close_ int exit_r = exitp[0];
	char log[PATH_MAX + 32], userns[64], netns[64], ready_arg[32], exit_arg[32];
	snprintf(log, sizeof(log), "%s/slirp4netns.log", state_dir);
	snprintf(userns, sizeof(userns), "--userns-path=/proc/%d/ns/user", (int)pid);
	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)pid);
	/* Fixed numbers in the child, where dup2 puts them. */
	snprintf(ready_arg, sizeof(ready_arg), "--ready-fd=3");
	snprintf(exit_arg, sizeof(exit_arg), "--exit-fd=4");
	char *argv[12];
	int a = 0;
	argv[a++] = "slirp4netns";
	argv[a++] = "--configure";
	argv[a++] = "--mtu=65520";
	if (!allow_host_loopback)
		argv[a++] = "--disable-host-loopback";
	argv[a++] = ready_arg;
	argv[a++] = exit_arg;
	argv[a++] = userns;
	argv[a++] = "--netns-type=path";
	argv[a++] = netns;
	argv[a++] = "tap0";
	argv[a] = NULL;
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(ready[1]);
		close(exitp[1]);
		if (logfd >= 0)
			close(logfd);
		return rl_fail_errno(err, e, "cannot start slirp4netns");
	}
	if (child == 0) {
		/* Dies with us even if the exit pipe were somehow kept open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Its own session: a ^C at our terminal is for the container,
		 * not for its network. */
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(logfd >= 0 ? logfd : null, 1) < 0 ||
		    dup2(logfd >= 0 ? logfd : null, 2) < 0 || dup2(ready[1], 3) < 0 ||
		    dup2(exit_r, 4) < 0)
			_exit(127);
		execv(bin, argv);
		_exit(127);
	}
	close(ready[1]);
	if (logfd >= 0)
		close(logfd);
	s->pid = child;
	s->exit_fd = exitp[1];
	/* slirp4netns writes "1" once tap0 is up; EOF means it died. */
	struct pollfd p = {.fd = ready_r, .events = POLLIN};
	char c = 0;
	int n = poll(&p, 1, 10000);
	if (n == 1 && read(ready_r, &c, 1) == 1 && c == '1')
		return 0;
	char tail[256] = "";
	int got = rl_read_file(log, tail, sizeof(tail), NULL);
	if (got > 0) {
		tail[strcspn(tail, "\n")] = '\0';
	}
	rl_slirp_stop(s);
	return rl_fail(err, EIO, "slirp4netns %s (%s); see %s, or use --network none",
		       n == 0 ? "did not configure the network within 10 s" : "failed to start",
		       tail[0] ? tail : "no output", log);
}

void rl_slirp_stop(struct rl_slirp *s)
{
	if (s->exit_fd >= 0)
		close(RL_TAKE_FD(s->exit_fd));
	/* It would exit on the closed pipe, in its own time: the container's
	 * end waits for this, and it keeps nothing worth a clean exit. */
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
}
