/* hog: grows its resident memory row by row so memory limits can be seen
 * working (or not). Each row is an array of uint64 values; every value is
 * written so every page is really faulted in: RSS grows by the row size,
 * not just the virtual size. Built -static so it runs in the busybox image.
 *
 *   hog [-r VALUES] [-n ROWS] [-p MS] [-f] [-s] [-R READERS]
 *
 * With -f, a child forked once the rows are full writes every value again:
 * each page it writes is copied (copy-on-write), so the two processes hold
 * twice the rows although neither one's RSS grows at the fork.
 * With -s the rows are shared memory (shmem), and -R forks READERS children
 * that each map every page of them at the same time: each one's RSS holds
 * all the rows, though the memory is there once.
 *
 * Prints one line per row, flushed, so a killed hog shows how far it got. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

struct hog_opts {
	uint64_t row;   /* values per row */
	uint64_t rows;  /* 0 = forever */
	uint64_t pause; /* milliseconds between rows */
	bool fork_copy; /* -f: a forked child rewrites the rows */
	bool shm;       /* -s: rows in shared memory */
	uint64_t readers; /* -R: children that map every row at once */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hog [OPTIONS]\n"
		"Allocates rows of uint64 values and writes every one, so resident\n"
		"memory really grows; prints one line per row and \"done\" at the end.\n"
		"\n"
		"  -r, --row VALUES   values per row (default 500000, 8 bytes each)\n"
		"  -n, --rows COUNT   rows to allocate (default 20; 0 = until killed)\n"
		"  -p, --pause MS     milliseconds to wait between rows (default 100)\n"
		"  -f, --fork-copy    then fork a child that writes every value again,\n"
		"                     so each page is copied; exits as the child did\n"
		"  -s, --shm          rows in shared memory (shmem) instead of the heap\n"
		"  -R, --readers N    then fork N children that read every row and hold\n"
		"                     them all at once (needs --shm and --rows)\n"
		"  -h, --help         show this help\n");
}

/* A whole decimal number in [min, max]; anything else is a usage error. */
static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *s == '+' || *end != '\0' || errno == ERANGE ||
	    v < min || v > max) {
		fprintf(stderr,
			"hog: invalid %s value '%s': want a whole number from %" PRIu64
			" to %" PRIu64 "\n",
			opt, s, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static void pause_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	/* Restart after a signal handler (a debugger, SIGCONT) so the pause holds. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

#define MAX_COPIED_ROWS 1024

/* The child writes every value of every row, one copied page at a time;
 * the parent reports and exits as the child ended (128 + signal when it was
 * killed, as a shell does). */
static int fork_and_copy(uint64_t **rows, uint64_t nrows, uint64_t row)
{
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "hog: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		for (uint64_t i = 0; i < nrows; i++) {
			for (uint64_t j = 0; j < row; j++)
				rows[i][j] ^= 1;
			__asm__ volatile("" : : "r"(rows[i]) : "memory");
			printf("copied row %" PRIu64 "\n", i + 1);
			fflush(stdout);
		}
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "hog: waitpid: %s\n", strerror(errno));
			return 1;
		}
	if (WIFSIGNALED(status)) {
		printf("the copying child was killed by signal %d\n", WTERMSIG(status));
		fflush(stdout);
		return 128 + WTERMSIG(status);
	}
	printf("done\n");
	return fflush(stdout) == 0 ? WEXITSTATUS(status) : 1;
}

static uint64_t *shm_row(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Each reader maps every page of the rows by reading it, says so on
 * `ready`, and holds them until the parent closes `hold`; so all of them
 * map the rows at once. The parent exits as the first failed reader did. */
static int fork_readers(uint64_t **rows, uint64_t nrows, uint64_t row, uint64_t readers)
{
	int ready[2], hold[2];
	if (pipe(ready) < 0 || pipe(hold) < 0) {
		fprintf(stderr, "hog: pipe: %s\n", strerror(errno));
		return 1;
	}
	for (uint64_t k = 0; k < readers; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "hog: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid)
			continue;
		close(hold[1]);
		volatile uint64_t sum = 0;
		for (uint64_t i = 0; i < nrows; i++)
			for (uint64_t j = 0; j < row; j += 512) /* one value per page */
				sum += rows[i][j];
		char c = 1;
		if (write(ready[1], &c, 1) != 1 || read(hold[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	uint64_t n = 0;
	char c;
	while (n < readers && read(ready[0], &c, 1) == 1)
		n++;
	printf("%" PRIu64 " readers map the rows\n", n);
	fflush(stdout);
	close(hold[1]);
	int rc = 0, status;
	while (wait(&status) > 0)
		if (rc == 0 && WIFSIGNALED(status))
			rc = 128 + WTERMSIG(status);
		else if (rc == 0 && WEXITSTATUS(status))
			rc = WEXITSTATUS(status);
	if (rc == 0)
		printf("done\n");
	return fflush(stdout) == 0 ? rc : 1;
}

int main(int argc, char **argv)
{
	struct hog_opts o = {.row = 500000, .rows = 20, .pause = 100};
	static const struct option longopts[] = {
		{"row", required_argument, NULL, 'r'},
		{"rows", required_argument, NULL, 'n'},
		{"pause", required_argument, NULL, 'p'},
		{"fork-copy", no_argument, NULL, 'f'},
		{"shm", no_argument, NULL, 's'},
		{"readers", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	/* A row must be addressable as one allocation. */
	const uint64_t max_row = (SIZE_MAX / sizeof(uint64_t)) / 2;

	opterr = 0; /* one line of our own words instead of getopt's */
	int c;
	while ((c = getopt_long(argc, argv, ":r:n:p:fsR:h", longopts, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case 'r':
			r = parse_u64("--row", optarg, 1, max_row, &o.row);
			break;
		case 'n':
			r = parse_u64("--rows", optarg, 0, UINT64_MAX, &o.rows);
			break;
		case 'p':
			r = parse_u64("--pause", optarg, 0, 86400000, &o.pause);
			break;
		case 'f':
			o.fork_copy = true;
			break;
		case 's':
			o.shm = true;
			break;
		case 'R':
			r = parse_u64("--readers", optarg, 1, 64, &o.readers);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "hog: option '%s' needs a value; see 'hog --help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt) /* a short one, maybe inside a group like -rx */
				fprintf(stderr, "hog: unknown option '-%c'; see 'hog --help'\n",
					optopt);
			else
				fprintf(stderr, "hog: unknown option '%s'; see 'hog --help'\n",
					argv[optind - 1]);
			return EXIT_USAGE;
		}
		if (r < 0)
			return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "hog: unexpected argument '%s'; see 'hog --help'\n", argv[optind]);
		return EXIT_USAGE;
	}

	bool keep_rows = o.fork_copy || o.readers;
	if (keep_rows && (o.rows == 0 || o.rows > MAX_COPIED_ROWS)) {
		fprintf(stderr, "hog: --fork-copy and --readers need --rows from 1 to %d\n",
			MAX_COPIED_ROWS);
		return EXIT_USAGE;
	}
	if (o.readers && !o.shm) {
		fprintf(stderr, "hog: --readers needs --shm\n");
		return EXIT_USAGE;
	}
	const size_t row_bytes = (size_t)o.row * sizeof(uint64_t);
	uint64_t *rows[MAX_COPIED_ROWS];
	double total = 0;
	for (uint64_t i = 1; o.rows == 0 || i <= o.rows; i++) {
		/* Rows are never freed: holding them is the point. */
		uint64_t *v = o.shm ? shm_row(row_bytes) : malloc(row_bytes);
		if (!v) {
			fprintf(stderr, "hog: row %" PRIu64 ": cannot allocate %zu bytes: %s\n", i,
				row_bytes, strerror(errno));
			return 1;
		}
		/* Distinct non-zero values, so no page stays the shared zero page
		 * and nothing could merge them. */
		for (uint64_t j = 0; j < o.row; j++)
			v[j] = (i << 40) ^ (j + 1);
		/* The compiler must not drop stores to memory nobody reads. */
		__asm__ volatile("" : : "r"(v) : "memory");

		if (keep_rows)
			rows[i - 1] = v;
		total += (double)row_bytes;
		printf("row %" PRIu64 ": %" PRIu64 " values, %.1f MiB total\n", i, o.row,
		       total / (1024.0 * 1024.0));
		fflush(stdout);
		if (o.rows == 0 || i < o.rows)
			pause_ms(o.pause);
	}
	if (o.fork_copy)
		return fork_and_copy(rows, o.rows, o.row);
	if (o.readers)
		return fork_readers(rows, o.rows, o.row, o.readers);
	printf("done\n");
	return fflush(stdout) == 0 ? 0 : 1;
}
