#include "passwd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

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

/* Looks up a passwd entry by name (or by uid when name is NULL). */
static bool find_passwd(const char *path, const char *name, uid_t uid, struct rl_user *u)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[1024];
	while (f && fgets(line, sizeof(line), f)) {
		char *fl[7];
		unsigned id, gid;
		if (split(line, fl, 7) < 7 || !parse_id(fl[2], &id) || !parse_id(fl[3], &gid))
			continue;
		if (name ? strcmp(fl[0], name) != 0 : id != uid)
			continue;
		u->uid = id;
		u->gid = gid;
		snprintf(u->home, sizeof(u->home), "%s", fl[5][0] ? fl[5] : "/");
		return true;
	}
	return false;
}

static bool find_group(const char *path, const char *name, gid_t *gid)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char *fl[4];
		unsigned id;
		if (split(line, fl, 4) < 3 || !parse_id(fl[2], &id) || strcmp(fl[0], name) != 0)
			continue;
		*gid = id;
		return true;
	}
	return false;
}

/* Groups that list `name` as a member. */
static void add_member_groups(const char *path, const char *name, struct rl_user *u)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f) && u->n_groups < RL_MAX_GROUPS) {
		char *fl[4];
		unsigned id;
		if (split(line, fl, 4) < 4 || !parse_id(fl[2], &id))
			continue;
		for (char *m = strtok(fl[3], ","); m; m = strtok(NULL, ","))
			if (strcmp(m, name) == 0 && id != u->gid) {
				u->groups[u->n_groups++] = id;
				break;
			}
	}
}

int rl_user_resolve(const char *spec, const char *passwd_path, const char *group_path,
		    struct rl_user *out, struct rl_error *err)
{
	*out = (struct rl_user){.home = "/"};
	if (!spec) {
		find_passwd(passwd_path, NULL, 0, out);
		out->uid = 0;
		out->gid = 0;
		return 0;
	}
	char user[128], *group = NULL;
	if (snprintf(user, sizeof(user), "%s", spec) >= (int)sizeof(user))
		return rl_fail(err, EINVAL, "user '%s' is too long", spec);
	if ((group = strchr(user, ':')))
		*group++ = '\0';

	unsigned id;
	if (parse_id(user, &id)) {
		/* A number needs no entry; an entry, when there is one, gives the group. */
		if (!find_passwd(passwd_path, NULL, id, out))
			out->gid = 0;
		out->uid = id;
	} else {
		if (!find_passwd(passwd_path, user, 0, out))
			return rl_fail(err, ENOENT,
				       "unable to find user %s: no matching entries in the container's /etc/passwd; use a number",
				       user);
		add_member_groups(group_path, user, out);
	}
	if (group) {
		gid_t gid;
		if (parse_id(group, &id))
			out->gid = id;
		else if (find_group(group_path, group, &gid))
			out->gid = gid;
		else
			return rl_fail(err, ENOENT,
				       "unable to find group %s: no matching entries in the container's /etc/group; use a number",
				       group);
	}
	return 0;
}
