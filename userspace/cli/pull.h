/* Pulling an image from a registry into the user's store (pull.c), for
 * `rlbpf pull` and for `run`/`create`, which pull a missing image. */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "lib/error.h"

struct rl_pull_args {
	const char *ref;      /* NAME[:TAG|@DIGEST] */
	const char *platform; /* OS/ARCH[/VARIANT], or NULL: this machine's */
	bool quiet;
	bool tls_verify;
};

/* Pulls a->ref: Docker's progress and status lines on out (stdout for
 * pull, stderr for run), then the image's full name. 0, or a negative
 * errno with err's one line. */
int rl_pull(const struct rl_pull_args *a, FILE *out, struct rl_error *err);
