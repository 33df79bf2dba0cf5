/* maxrss: runs a command and reports the largest resident set any process
 * under it reached, so that memory limits enforced in different ways (a
 * container's cap, a cgroup, a userspace killer) are measured by one yard
 * stick: the kernel's own high-water mark, not each enforcer's account.
 *
 *   maxrss [-o FILE] COMMAND [ARG...]
 *
 * Writes "MAXRSS_KIB STATUS" on one line to FILE (default stderr), where
 * STATUS is the command's exit code, or 128+N if signal N killed it, and
 * exits with STATUS.
 *
 * getrusage(RUSAGE_CHILDREN) after the wait is the maximum over every
 * descendant reaped below us: a parent that reaps a child takes the larger
 * of its own and the child's figure, and passes it up when it is reaped in
 * turn. A process that its parent never reaps (one reparented to an init)
 * is not counted, which is why the command must wait for what it starts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 125

static void usage(FILE *out)
{
	fprintf(out, "Usage: maxrss [-o FILE] COMMAND [ARG...]\n"
		     "Runs COMMAND and writes \"MAXRSS_KIB STATUS\": the peak resident\n"
		     "set of any process reaped below it, and its exit status.\n");
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	int c;

	while ((c = getopt(argc, argv, "+o:h")) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* Opened before the command runs, so a bad path costs no run. */
	FILE *out = stderr;
	if (out_path && !(out = fopen(out_path, "we"))) {
		fprintf(stderr, "maxrss: cannot open %s: %s\n", out_path, strerror(errno));
		return EXIT_USAGE;
	}

	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "maxrss: fork: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "maxrss: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	/* Ctrl-C reaches the command (same process group); we must outlive it
	 * to reap it and report. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "maxrss: waitpid: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
	}
	struct rusage ru;
	if (getrusage(RUSAGE_CHILDREN, &ru) < 0) {
		fprintf(stderr, "maxrss: getrusage: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	/* ru_maxrss is in KiB on Linux. */
	fprintf(out, "%ld %d\n", ru.ru_maxrss, status);
	if (fclose(out) != 0) {
		fprintf(stderr, "maxrss: cannot write %s: %s\n", out_path ? out_path : "stderr",
			strerror(errno));
		return EXIT_USAGE;
	}
	return status;
}
