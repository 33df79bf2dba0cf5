/* rlbpf-runtime exec: one more process in a running container. */
#pragma once
#include "lib/error.h"

/* argv[0] is "exec". Returns the process's exit code (without --detach),
 * 0, or 1 / 126 / 127 with err set when it could not start. */
int rl_oci_cmd_exec(const char *root, int argc, char **argv, struct rl_error *err);
