/* faults: page faults and nothing else, to price what rlbpf's memory
 * accounting adds to each one. Every change of a process's resident
 * counters runs rlbpfd's rss_stat program: each fault of an anonymous page
 * does, and so does each unmap. hog cannot be that workload: it never frees,
 * so a run long enough to time would need gigabytes. faults maps a region,
 * writes one byte per page, unmaps it, and again, so its RSS stays at the
 * region's size however long it runs and the same run fits under any cap.
 * Built -static so it runs in the busybox image.
 *
 *   faults [-m MIB] [-n LOOPS]
 *
 * Prints "PAGES faults in SECONDS s: NS ns per fault" for the loop alone,
 * timed inside, so that a container's start and end are not in the figure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno == ERANGE || v < 1 || v > max) {
		fprintf(stderr, "faults: invalid %s '%s': want a whole number from 1 to %" PRIu64 "\n",
			opt, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t mib = 16, loops = 1000;
	int c;

	while ((c = getopt(argc, argv, "m:n:h")) != -1) {
		switch (c) {
		case 'm':
			if (parse_u64("-m", optarg, 1 << 20, &mib) < 0)
				return EXIT_USAGE;
			break;
		case 'n':
			if (parse_u64("-n", optarg, UINT32_MAX, &loops) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			printf("Usage: faults [-m MIB] [-n LOOPS]\n"
			       "Maps MIB MiB (default 16), writes one byte per page, unmaps it;\n"
			       "LOOPS times (default 1000). Prints the time per page fault.\n");
			return 0;
		default:
			fprintf(stderr, "faults: see 'faults -h'\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faults: unexpected argument '%s'; see 'faults -h'\n", argv[optind]);
		return EXIT_USAGE;
	}

	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t len = (size_t)mib << 20;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < loops; i++) {
		volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "faults: mmap of %" PRIu64 " MiB: %s\n", mib, strerror(errno));
			return 1;
		}
		/* One fault per base page on every host: with transparent huge
		 * pages set to "always" a fault would fill 2 MiB at once. */
		madvise((void *)p, len, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < len; off += page)
			p[off] = (char)(i + 1);
		munmap((void *)p, len);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	uint64_t faults = loops * (len / page);
	printf("%" PRIu64 " faults in %.3f s: %.1f ns per fault\n", faults, s, s * 1e9 / (double)faults);
	return 0;
}
