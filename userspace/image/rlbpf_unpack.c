/* rlbpf-unpack: rlbpf's image loader, a helper so that rlbpf itself never
 * loads libarchive, libcrypto and the compression libraries. rlbpf starts
 * it inside a user namespace with the caller's full mapping, so that files
 * get their owners in the subordinate range and nothing else is writable.
 *
 *   rlbpf-unpack load INPUT OUTDIR
 *
 * Prints one error line on failure; see image_loader.h for what it writes. */
#include <stdio.h>
#include <string.h>

#include "image/loader.h"

int main(int argc, char **argv)
{
	struct rl_error err = {0};
	if (argc != 4 || strcmp(argv[1], "load") != 0) {
		fputs("usage: rlbpf-unpack load INPUT OUTDIR (a helper of rlbpf's)\n", stderr);
		return 2;
	}
	if (rl_image_load_into(argv[2], argv[3], &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}
