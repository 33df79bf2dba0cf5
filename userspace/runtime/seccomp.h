/* The container's seccomp filter, built with libseccomp. A profile is
 * validated and built before anything is created; the default filter, in
 * which nothing can be wrong, only when it is exported or loaded (a start
 * does that while the container builds its filesystem). The container
 * loads it just before exec. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"
#include "runtime/run_opts.h"

struct rl_seccomp; /* opaque; NULL means unconfined */

/* Builds the filter for the mode: the default profile (which relaxes the
 * groups Docker relaxes for added capabilities in `caps`), nothing for
 * unconfined, or a Docker-format JSON profile read from `profile_path`. */
int rl_seccomp_build(enum rl_seccomp_mode mode, const char *profile_path, uint64_t caps,
		     struct rl_seccomp **out, struct rl_error *err);

/* The same from a profile already parsed (an OCI config.json's
 * linux.seccomp, which has Docker's format); `where` names it in
 * messages. */
int rl_seccomp_build_json(json_t *profile, const char *where, struct rl_seccomp **out,
			  struct rl_error *err);

/* Loads it into the calling process. With no_new_privs false, the caller
 * must still hold CAP_SYS_ADMIN in its user namespace. */
int rl_seccomp_load(struct rl_seccomp *s, bool no_new_privs, struct rl_error *err);

/* Generating the BPF program is a few hundred microseconds of libseccomp's
 * work; these two let one process generate it while the one that loads it
 * gets on with something else. rl_seccomp_export() writes the program to
 * fd (a pipe holds the largest one the kernel takes, 32 KiB); the writer
 * closes fd after, and rl_seccomp_load_from() reads it to EOF and loads it
 * as rl_seccomp_load() would. */
int rl_seccomp_export(struct rl_seccomp *s, int fd, struct rl_error *err);
int rl_seccomp_load_from(int fd, bool no_new_privs, struct rl_error *err);

void rl_seccomp_free(struct rl_seccomp *s);
