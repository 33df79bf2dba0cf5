#include "runtime/passwd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/printable.h"

static bool parse_id(const char *s, unsigned *out)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno || v >= UINT_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Splits a colon-separated line in place; returns the field count. */
static int split(char *line, char **fields, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; n < max;) {
		fields[n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return n;
}

typedef bool entry_fn(char **fields, int n, void *ctx);

/* Calls fn on each line of colon-separated text, split into at most max
 * fields, until it returns true. Lines of any length are read whole. */
static bool each_line(FILE *f, int max, entry_fn *fn, void *ctx)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) >= 0) {
		char *fields[8];
		int n = split(line, fields, max);
		if (fn(fields, n, ctx))
			return true;
	}
	return false;
}

/* As each_line, on a file that must be a regular one (the container's to
 * plant). */
static bool each_entry(const char *path, int max, entry_fn *fn, void *ctx)
{
	_cleanup_fclose_ FILE *f = rl_fopen_regular(path);
	return each_line(f, max, fn, ctx);
}

struct passwd_query {
	const char *name; /* by name, or by uid when NULL */
	uid_t uid;
	struct rl_user *out;
	char found_name[128];
};

static bool match_passwd(char **fl, int n, void *ctx)
{
	struct passwd_query *q = ctx;
	unsigned id, gid;
	if (n < 7 || !parse_id(fl[2], &id) || !parse_id(fl[3], &gid))
		return false;
	if (q->name ? strcmp(fl[0], q->name) != 0 : id != q->uid)
		return false;
	q->out->uid = id;
	q->out->gid = gid;
	snprintf(q->out->home, sizeof(q->out->home), "%s", fl[5][0] ? fl[5] : "/");
	snprintf(q->found_name, sizeof(q->found_name), "%s", fl[0]);
	return true;
}

struct group_query {
	const char *name;
	gid_t gid;
};

static bool match_group(char **fl, int n, void *ctx)
{
	struct group_query *q = ctx;
	unsigned id;
	if (n < 3 || !parse_id(fl[2], &id) || strcmp(fl[0], q->name) != 0)
		return false;
	q->gid = id;
	return true;
}

struct member_query {
	const char *name;
	struct rl_user *out;
};

/* Adds each group that lists the user as a member; never stops early. */
static bool add_if_member(char **fl, int n, void *ctx)
{
	struct member_query *q = ctx;
	struct rl_user *u = q->out;
	unsigned id;
	if (n < 4 || !parse_id(fl[2], &id) || id == u->gid || u->n_groups >= RL_MAX_GROUPS)
		return false;
	char *save = NULL;
	for (char *m = strtok_r(fl[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, q->name) == 0) {
			u->groups[u->n_groups++] = id;
			break;
		}
	return false;
}

int rl_user_resolve(const char *spec, const char *passwd_path, const char *group_path,
		    struct rl_user *out, struct rl_error *err)
{
	*out = (struct rl_user){.home = "/"};
	if (spec && !spec[0])
		spec = NULL; /* an image's empty User is root */
	char user[128] = "0", *group = NULL;
	if (spec && snprintf(user, sizeof(user), "%s", spec) >= (int)sizeof(user))
		return rl_fail(err, EINVAL, "user '%s' is too long", spec);
	if ((group = strchr(user, ':')))
		*group++ = '\0';

	struct passwd_query q = {.out = out};
	unsigned id;
	if (parse_id(user, &id)) {
		/* A number needs no entry; an entry, when there is one, gives the
		 * group, the home and the supplementary groups. */
		q.uid = id;
		if (!each_entry(passwd_path, 7, match_passwd, &q) || !spec)
			out->gid = 0; /* no -u: root's group, whatever the entry says */
		out->uid = id;
	} else {
		q.name = user;
		if (!each_entry(passwd_path, 7, match_passwd, &q))
			return rl_fail(err, ENOENT,
				       "unable to find user %s: no matching entries in the container's /etc/passwd; use a number",
				       user);
	}
	if (group) {
		struct group_query g = {.name = group};
		if (parse_id(group, &id))
			out->gid = id;
		else if (each_entry(group_path, 4, match_group, &g))
			out->gid = g.gid;
		else
			return rl_fail(err, ENOENT,
				       "unable to find group %s: no matching entries in the container's /etc/group; use a number",
				       group);
	}
	/* As Docker: the groups that list the user, but never the primary one. */
	if (q.found_name[0]) {
		struct member_query m = {.name = q.found_name, .out = out};
		each_entry(group_path, 4, add_if_member, &m);
	}
	return 0;
}

bool rl_passwd_name(const char *passwd, uid_t uid, char *name, size_t len)
{
	if (!passwd || !*passwd || !len)
		return false;
	struct rl_user user;
	struct passwd_query q = {.uid = uid, .out = &user};
	_cleanup_fclose_ FILE *f = fmemopen((void *)passwd, strlen(passwd), "r");
	if (!each_line(f, 7, match_passwd, &q))
		return false;
	rl_printable_copy(name, q.found_name, len - 1);
	return true;
}
