/* rlbpf-unpack TARBALL DEST: a helper of rlbpf's, so that libarchive is
 * loaded only when an image is unpacked. Prints one error line on failure. */
#include <stdio.h>

#include "unpack.h"

int main(int argc, char **argv)
{
	struct rl_error err = {0};
	if (argc != 3) {
		fputs("usage: rlbpf-unpack TARBALL DEST (a helper of rlbpf's)\n", stderr);
		return 2;
	}
	if (rl_unpack_tar(argv[1], argv[2], &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return 0;
}
