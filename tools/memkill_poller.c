/* memkill_poller: the userspace way to cap memory, as earlyoom and the like
 * do it, kept as a reference for `make bench`: run a command, read its VmRSS
 * from /proc every interval (default 100 ms), SIGKILL it once it is past the
 * cap. Whatever the command allocates between two reads is beyond anyone's
 * reach, which is the overshoot rlbpf's in-kernel cap is measured against.
 *
 *   memkill_poller [-i MS] [-l LOG] CAP COMMAND [ARG...]
 *
 * CAP is in bytes, or with a k, m or g suffix (KiB, MiB, GiB). It watches the
 * one process it starts. LOG (default stderr) gets one line per event, with
 * CLOCK_REALTIME in nanoseconds so that other clocks of the same run can be
 * set against it:
 *   poll NS RSS_KIB   each read of VmRSS
 *   kill NS RSS_KIB   the read that found it past the cap; SIGKILL sent
 *   exit NS STATUS    the process is gone (its pidfd turned readable)
 * Exits with the command's status: its exit code, or 128+N for signal N. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 125

static void usage(FILE *out)
{
	fprintf(out, "Usage: memkill_poller [-i MS] [-l LOG] CAP COMMAND [ARG...]\n"
		     "Runs COMMAND, reads its VmRSS every MS milliseconds (default 100)\n"
		     "and kills it with SIGKILL once it is past CAP (bytes, or k/m/g).\n");
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (*s < '0' || *s > '9' || errno == ERANGE)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* VmRSS of pid in KiB; -1 once it has no memory left to read (exiting). */
static long vmrss_kib(int status_dir_fd)
{
	char buf[4096];
	int fd = openat(status_dir_fd, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *p = strstr(buf, "\nVmRSS:");
	return p ? strtol(p + 7, NULL, 10) : -1;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL;
	long interval_ms = 100;
	int c;

	while ((c = getopt(argc, argv, "+i:l:h")) != -1) {
		switch (c) {
		case 'i': {
			char *end = NULL;
			interval_ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || interval_ms < 1 || interval_ms > 60000) {
				fprintf(stderr, "memkill_poller: invalid -i '%s': want 1 to 60000 ms\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'l':
			log_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	uint64_t cap;
	if (argc - optind < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (parse_size(argv[optind], &cap) < 0) {
		fprintf(stderr, "memkill_poller: invalid cap '%s': want bytes, or a number with k, m or g\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	FILE *log = stderr;
	if (log_path && !(log = fopen(log_path, "we"))) {
		fprintf(stderr, "memkill_poller: cannot open %s: %s\n", log_path, strerror(errno));
		return EXIT_USAGE;
	}
	/* Each line is out at once: a log cut short must still say what happened. */
	setvbuf(log, NULL, _IOLBF, 0);

	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "memkill_poller: fork: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	if (pid == 0) {
		execvp(argv[optind + 1], argv + optind + 1);
		fprintf(stderr, "memkill_poller: cannot run %s: %s\n", argv[optind + 1], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	signal(SIGINT, SIG_IGN); /* the command gets Ctrl-C; we reap and report */

	/* A pidfd both tells of the death the moment it happens (poll) and
	 * keeps a reused pid from being killed by mistake. The /proc directory
	 * is held open for the same reason. */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pidfd < 0 || dirfd < 0) {
		fprintf(stderr, "memkill_poller: cannot watch %d: %s\n", (int)pid, strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return EXIT_USAGE;
	}

	/* Ticks on a fixed schedule, so that a slow read does not stretch the
	 * interval: this is the best a poller of this period can do. */
	const int64_t period = interval_ms * 1000000;
	int64_t next = now_ns(CLOCK_MONOTONIC);
	bool killed = false;
	for (;;) {
		int64_t wait_ns = next - now_ns(CLOCK_MONOTONIC);
		struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
		int timeout = wait_ns > 0 ? (int)((wait_ns + 999999) / 1000000) : 0;
		int r = poll(&pfd, 1, timeout);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "memkill_poller: poll: %s\n", strerror(errno));
			kill(pid, SIGKILL);
			break;
		}
		if (r > 0)
			break; /* it died */
		if (now_ns(CLOCK_MONOTONIC) < next)
			continue;
		next += period;
		if (killed)
			continue;
		long kib = vmrss_kib(dirfd);
		int64_t t = now_ns(CLOCK_REALTIME);
		if (kib >= 0 && (uint64_t)kib * 1024 > cap) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			fprintf(log, "kill %" PRId64 " %ld\n", t, kib);
			killed = true;
		} else {
			fprintf(log, "poll %" PRId64 " %ld\n", t, kib);
		}
	}
	int64_t died = now_ns(CLOCK_REALTIME);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "memkill_poller: waitpid: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
	}
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(log, "exit %" PRId64 " %d\n", died, status);
	return status;
}
