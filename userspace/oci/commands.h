/* rlbpf-runtime's commands other than the lifecycle's and exec: each takes
 * the state root and its own arguments (argv[0] is the command), prints
 * what runc prints, and returns an exit code, with err set on failure. */
#pragma once
#include "lib/error.h"

int rl_oci_cmd_state(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_kill(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_delete(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_list(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_ps(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_features(const char *root, int argc, char **argv, struct rl_error *err);
/* checkpoint, restore: refused. */
int rl_oci_cmd_unsupported(const char *root, int argc, char **argv, struct rl_error *err);
