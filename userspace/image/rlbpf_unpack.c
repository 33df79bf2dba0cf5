/* rlbpf-unpack: rlbpf's image loader, a helper so that rlbpf itself never
 * loads libarchive, libcrypto and the compression libraries. rlbpf starts
 * it inside a user namespace with the caller's full mapping, so that files
 * get their owners in the subordinate range and nothing else is writable.
 *
 *   rlbpf-unpack load [--fetcher PID] INPUT OUTDIR
 *
 * --fetcher: INPUT is a layout that rlbpf-pull (PID) is still filling.
 * Prints one error line on failure; see image_loader.h for what it writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/loader.h"

int main(int argc, char **argv)
{
	struct rl_error err = {0};
	long fetcher = 0;
	int at = 2; /* INPUT */
	if (argc == 6 && strcmp(argv[2], "--fetcher") == 0) {
		char *end;
		fetcher = strtol(argv[3], &end, 10);
		if (*end || fetcher <= 0)
			fetcher = -1;
		at = 4;
	}
	if (argc != at + 2 || strcmp(argv[1], "load") != 0 || fetcher < 0) {
		fputs("usage: rlbpf-unpack load [--fetcher PID] INPUT OUTDIR (a helper of rlbpf's)\n", stderr);
		return 2;
	}
	if (rl_image_load_fetched(argv[at], argv[at + 1], (pid_t)fetcher, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}
