/* Capabilities of the container's processes, Docker's way: a default set,
 * --cap-add/--cap-drop by name (with or without CAP_, any case, or ALL). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

/* Docker's default: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID
 * SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
uint64_t rl_caps_docker_default(void);

/* default - drop + add, in Docker's order of precedence. Unknown names fail
 * with a message naming them. */
int rl_caps_resolve(char *const *add, size_t n_add, char *const *drop, size_t n_drop,
		    uint64_t *out, struct rl_error *err);

/* "CAP_CHOWN" for 0; NULL when out of range. */
const char *rl_cap_name(int cap);

/* Before the uid change: drops every capability outside `caps` from the
 * bounding set and keeps the permitted set across setuid. */
int rl_caps_drop_bounding(uint64_t caps, struct rl_error *err);

/* After the uid change: root in the container gets `caps` effective and
 * permitted; any other uid gets none (as Docker). Inheritable and ambient
 * are cleared. */
int rl_caps_set_final(uint64_t caps, uid_t container_uid, struct rl_error *err);
