/* The last steps of a container's process, inside the container, shared by
 * its init and by `exec`: rlimits, user and groups, the five capability
 * sets, no_new_privs, seccomp, the working directory, and exec. */
#pragma once
#include <stddef.h>

#include "lib/error.h"
#include "oci/spec.h"
#include "runtime/seccomp.h"

/* Before the process may leave the runtime's hands: rlimits and oom score
 * (from outside, they would race the exec). */
int rl_oci_process_limits(const struct rl_oci_process *p, struct rl_error *err);

/* args[0] through the process's own PATH, as runc's LookPath: into out,
 * or -ENOENT ("executable file not found in $PATH") or -EACCES. */
int rl_oci_process_find(const struct rl_oci_process *p, char *out, size_t len,
			struct rl_error *err);

/* Becomes p's user with p's capabilities and seccomp (NULL: none), enters
 * its cwd and execs its args. Returns only on failure, with the exit code to
 * use (126: cannot be executed, 127: not found) and err in runc's words. */
int rl_oci_process_exec(const struct rl_oci_process *p, struct rl_seccomp *seccomp,
			struct rl_error *err);
