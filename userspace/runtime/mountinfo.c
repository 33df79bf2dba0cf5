#include "runtime/mountinfo.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "lib/cleanup.h"

/* mountinfo escapes space, tab, newline and backslash as \NNN (octal). */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

bool rl_mountinfo_split(char *line, char *field[RL_MOUNTINFO_FIELDS])
{
	line[strcspn(line, "\n")] = '\0';
	char *save = NULL, *tok = strtok_r(line, " ", &save);
	int i = 0;
	for (; tok && i < 6; i++, tok = strtok_r(NULL, " ", &save))
		field[i] = tok;
	if (i < 6)
		return false;
	while (tok && strcmp(tok, "-") != 0)
		tok = strtok_r(NULL, " ", &save);
	field[6] = tok ? strtok_r(NULL, " ", &save) : NULL;
	if (!field[6])
		return false;
	unescape_octal(field[4]);
	return true;
}

unsigned long rl_mount_opts_keep_flags(const char *opts)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} kept[] = {
		{"nosuid", MS_NOSUID},	   {"nodev", MS_NODEV},		{"noexec", MS_NOEXEC},
		{"noatime", MS_NOATIME},   {"nodiratime", MS_NODIRATIME}, {"relatime", MS_RELATIME},
		{"nosymfollow", 256 /* MS_NOSYMFOLLOW, 5.10 */},
	};
	unsigned long flags = 0;
	const char *p = opts;
	while (*p) {
		size_t len = strcspn(p, ",");
		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			if (strlen(kept[i].name) == len && strncmp(p, kept[i].name, len) == 0)
				flags |= kept[i].flag;
		p += len + (p[len] == ',');
	}
	/* mountinfo names no atime mode for strictatime, and a remount without
	 * one means relatime. */
	if (!(flags & (MS_NOATIME | MS_RELATIME)))
		flags |= MS_STRICTATIME;
	return flags;
}

static bool at_or_below(const char *path, const char *target)
{
	size_t n = strlen(target);
	if (n == 1 && target[0] == '/')
		return path[0] == '/';
	return strncmp(path, target, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void rl_remounts_free(struct rl_remount *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

int rl_mountinfo_below(const char *mountinfo, const char *target, struct rl_remount **out,
		       size_t *n, struct rl_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", mountinfo);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, room = 0;
	struct rl_remount *list = NULL;
	while (getline(&line, &cap, f) >= 0) {
		char *field[RL_MOUNTINFO_FIELDS];
		if (!rl_mountinfo_split(line, field))
			continue;
		if (!at_or_below(field[4], target))
			continue;
		/* Of mounts stacked on one point only the last is seen, and a
		 * remount by path reaches only it. */
		size_t same = 0;
		while (same < *n && strcmp(list[same].path, field[4]) != 0)
			same++;
		if (same < *n) {
			list[same].flags = rl_mount_opts_keep_flags(field[5]);
			continue;
		}
		if (*n == room) {
			room = room ? 2 * room : 8;
			struct rl_remount *grown = realloc(list, room * sizeof(*list));
			if (!grown) {
				rl_remounts_free(list, *n);
				*n = 0;
				return rl_fail(err, ENOMEM, "out of memory reading %s", mountinfo);
			}
			list = grown;
		}
		list[*n] = (struct rl_remount){.path = strdup(field[4]),
					       .flags = rl_mount_opts_keep_flags(field[5])};
		if (!list[(*n)++].path) {
			rl_remounts_free(list, *n);
			*n = 0;
			return rl_fail(err, ENOMEM, "out of memory reading %s", mountinfo);
		}
	}
	bool read_error = ferror(f);
	bool found = false;
	for (size_t i = 0; i < *n && !found; i++)
		found = strcmp(list[i].path, target) == 0;
	if (read_error || !found) {
		rl_remounts_free(list, *n);
		*n = 0;
		return read_error ? rl_fail_errno(err, EIO, "cannot read %s", mountinfo)
				  : rl_fail(err, ENOENT, "nothing is mounted at %s", target);
	}
	*out = list;
	return 0;
}

int rl_remount_tree_readonly(const char *target, struct rl_error *err)
{
	/* What the caller names through /proc/self/fd is the path mountinfo uses. */
	char path[PATH_MAX];
	ssize_t len = readlink(target, path, sizeof(path) - 1);
	if (len < 0 && errno != EINVAL)
		return rl_fail_errno(err, errno, "cannot resolve %s", target);
	if (len < 0)
		snprintf(path, sizeof(path), "%s", target);
	else
		path[len] = '\0';
	struct rl_remount *mounts;
	size_t n;
	int r = rl_mountinfo_below("/proc/self/mountinfo", path, &mounts, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (mount(NULL, mounts[i].path, NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | mounts[i].flags, NULL) == 0)
			continue;
		/* Below the target, a mount whose path this user cannot walk (a
		 * 0700 directory of the host's root above it, such as
		 * /sys/kernel/debug/tracing under --network host's /sys) is out of
		 * the container's reach as well: its root has no override over
		 * files of ids its user namespace does not map. */
		if (errno == EACCES && strcmp(mounts[i].path, path) != 0)
			continue;
		r = rl_fail_errno(err, errno, "cannot make %s read-only", mounts[i].path);
	}
	rl_remounts_free(mounts, n);
	return r;
}
