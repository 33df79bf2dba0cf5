/* /etc/subuid and /etc/subgid, read as shadow's tools read them (subid.h). */
#include "lib/subid.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

/* A whole field of decimal digits that fits in 32 bits. (uint32_t)-1 is
 * refused too: the kernel never maps it. */
static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v >= UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Splits "owner:start:count" in place; false for anything else. */
static bool parse_line(char *line, const char **owner, struct rl_id_range *r)
{
	line[strcspn(line, "\n")] = '\0';
	char *c1 = strchr(line, ':');
	if (!c1 || c1 == line)
		return false;
	char *c2 = strchr(c1 + 1, ':');
	if (!c2 || strchr(c2 + 1, ':'))
		return false;
	*c1 = *c2 = '\0';
	uint32_t start, count;
	if (!parse_u32(c1 + 1, &start) || !parse_u32(c2 + 1, &count) || count == 0)
		return false;
	/* The last id of the range must itself be mappable. */
	if ((uint64_t)start + count > UINT32_MAX)
		return false;
	*owner = line;
	r->start = start;
	r->count = count;
	return true;
}

static bool owner_matches(const char *owner, const char *user, uint32_t id)
{
	uint32_t n;
	if (user && strcmp(owner, user) == 0)
		return true;
	return parse_u32(owner, &n) && n == id;
}

int rl_subid_ranges(const char *path, const char *user, uint32_t id, struct rl_id_range *out,
		    size_t max, struct rl_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return rl_fail(err, ENOENT, "%s does not exist", path);
		return rl_fail_errno(err, errno, "cannot read %s", path);
	}
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, n = 0;
	errno = 0;
	while (n < max && getline(&line, &cap, f) >= 0) {
		const char *owner;
		struct rl_id_range r;
		if (parse_line(line, &owner, &r) && owner_matches(owner, user, id))
			out[n++] = r;
		errno = 0;
	}
	if (ferror(f))
		return rl_fail_errno(err, errno ? errno : EIO, "cannot read %s", path);
	if (n == 0)
		return rl_fail(err, ENOENT, "no range for %s (uid %" PRIu32 ") in %s", user ? user : "?",
			       id, path);
	return (int)n;
}

int rl_subid_lookup(const char *path, const char *user, uint32_t id, struct rl_id_range *out,
		    struct rl_error *err)
{
	int n = rl_subid_ranges(path, user, id, out, 1, err);
	return n < 0 ? n : 0;
}

