/* pause, resume and update: changes to a running container through the
 * cgroups rlbpf-runtime made for it (cgroups.h). A container without them
 * (rootless, its limits with rlbpfd or none) gets a one-line refusal that
 * says why. Each takes the state root and its arguments (argv[0] is the
 * command) and returns an exit code, with err set on failure. */
#pragma once
#include "lib/error.h"

int rl_oci_cmd_pause(const char *root, int argc, char **argv, struct rl_error *err);
int rl_oci_cmd_resume(const char *root, int argc, char **argv, struct rl_error *err);

/* update [--resources FILE|-] [--memory N] [--memory-swap N]
 * [--memory-reservation N] [--pids-limit N] [--cpu-quota N] [--cpu-period N]
 * [--cpu-shares N] [--cpuset-cpus S] [--cpuset-mems S] ID: the file holds
 * linux.resources' shape (containerd's shim passes it on stdin). */
int rl_oci_cmd_update(const char *root, int argc, char **argv, struct rl_error *err);
