/* The OCI lifecycle as runc's command line drives it: create leaves the
 * container's init waiting, stopped before the user's process; start lets
 * it go; run does both. */
#pragma once
#include <stdbool.h>

#include "lib/error.h"

struct rl_oci_create_opts {
	const char *root;           /* the state root (rl_oci_root) */
	const char *id;
	const char *bundle;         /* NULL: the current directory */
	const char *pid_file;       /* NULL: none */
	const char *console_socket; /* with process.terminal: where the pty master goes */
	int preserve_fds;           /* fds 3..3+N-1 pass to the process */
	bool no_pivot;              /* accepted: pivot_root is always used */
};

/* 0 once the init waits on start; negative errno with err otherwise (and
 * nothing left behind). */
int rl_oci_create(const struct rl_oci_create_opts *o, struct rl_error *err);
int rl_oci_start(const char *root, const char *id, struct rl_error *err);
/* create, start, and unless detach wait: returns the process's exit code
 * (128+N for a signal) or a negative errno. */
int rl_oci_run(const struct rl_oci_create_opts *o, bool detach, struct rl_error *err);
