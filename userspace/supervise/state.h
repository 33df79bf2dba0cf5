/* A container's state directory: $RUNTIME/containers/<64-hex id>/ with its
 * name, record, overlay upper and work dirs, the mount point of its root,
 * and the /etc files rlbpf writes for it. */
#pragma once
#include <limits.h>
#include <jansson.h>
#include <stdbool.h>

#include "lib/error.h"

struct rl_state {
	char id[65];
	char name[130];
	char dir[PATH_MAX];
};

/* Allocates an id and a unique name (`name`, or a random readable one when
 * NULL) under a lock, and lays out the directory. On failure nothing stays. */
int rl_state_create(const char *name, struct rl_state *st, struct rl_error *err);

/* Writes hostname, hosts and resolv.conf for the container. */
int rl_state_write_etc(const struct rl_state *st, const char *hostname, struct rl_error *err);

/* Writes config.json (a JSON text) atomically. */
int rl_state_record(const struct rl_state *st, const char *json_text, struct rl_error *err);

/* Removes the directory. Files the container made as other uids belong to
 * the subordinate range, so with a held user-namespace fd the removal runs
 * inside that namespace. */
int rl_state_remove(const struct rl_state *st, int userns_fd, struct rl_error *err);

/* Calls fn for each container of the caller's; stops at fn's first non-zero
 * return and returns it. A missing containers directory means none. */
int rl_state_each(int (*fn)(const struct rl_state *st, void *ctx), void *ctx,
		  struct rl_error *err);

/* Finds a container as Docker does: full id, then name, then an id prefix
 * that only one container has. */
int rl_state_find(const char *ref, struct rl_state *st, struct rl_error *err);

/* Reads config.json, the record `run` wrote. */
int rl_state_config(const struct rl_state *st, json_t **out, struct rl_error *err);

/* Takes the container's own lock (STATE/lock): its supervisor holds it
 * from creation until the end, so that a second start, or a removal during
 * a start, cannot happen. Returns the fd holding it, or -EBUSY (with err
 * set) when someone holds it. */
int rl_state_lock(const struct rl_state *st, struct rl_error *err);

