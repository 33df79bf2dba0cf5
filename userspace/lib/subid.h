/* Subordinate id ranges: /etc/subuid and /etc/subgid, "owner:start:count"
 * lines keyed by user name or uid, read as shadow's tools read them. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define SUBUID_PATH "/etc/subuid"
#define SUBGID_PATH "/etc/subgid"

struct rl_id_range {
	uint32_t start, count;
};

/* First range in an /etc/subuid-format file for `user` (by name) or `id`
 * (by number). 0 found, -ENOENT none, other negative errno on I/O error.
 * Malformed lines are skipped, as shadow's tools do. */
int rl_subid_lookup(const char *path, const char *user, uint32_t id, struct rl_id_range *out,
		    struct rl_error *err);

/* Every range of theirs, at most max, in file order: their count, -ENOENT
 * for none, or another negative errno. */
int rl_subid_ranges(const char *path, const char *user, uint32_t id, struct rl_id_range *out,
		    size_t max, struct rl_error *err);
