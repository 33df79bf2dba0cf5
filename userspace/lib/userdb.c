#include "lib/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"

#define GETENT "/usr/bin/getent"
#define CACHE 16

struct entry {
	bool used, found;
	uid_t uid;
	char name[64];
	char home[PATH_MAX];
};

/* A passwd line "name:pw:uid:gid:gecos:home:shell" for uid, into e. */
static bool parse_line(char *line, uid_t uid, struct entry *e)
{
	char *f[7];
	int n = 0;
	for (char *p = line; n < 7; n++) {
		f[n] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (n < 5)
		return false;
	char *end;
	errno = 0;
	unsigned long u = strtoul(f[2], &end, 10);
	if (errno || end == f[2] || *end || u != (unsigned long)uid)
		return false;
	f[5][strcspn(f[5], "\n")] = '\0';
	if (!f[0][0] || snprintf(e->name, sizeof(e->name), "%s", f[0]) >= (int)sizeof(e->name))
		return false;
	snprintf(e->home, sizeof(e->home), "%s", f[5]);
	return true;
}

static bool from_file(uid_t uid, struct entry *e)
{
	_cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (f && getline(&line, &cap, f) > 0)
		if (line[0] != '#' && line[0] != '+' && line[0] != '-' && parse_line(line, uid, e))
			return true;
	return false;
}

/* getent passwd UID: NSS in a process that may load its modules. */
static bool from_getent(uid_t uid, struct entry *e)
{
	char arg[16], out[PATH_MAX + 256];
	int p[2];
	if (access(GETENT, X_OK) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return false;
	snprintf(arg, sizeof(arg), "%u", (unsigned)uid);
	char *const argv[] = {GETENT, "passwd", arg, NULL};
	char *const envp[] = {"PATH=/usr/bin:/bin", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		if (dup2(p[1], 1) == 1)
			execve(GETENT, argv, envp);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	for (ssize_t n; pid > 0 && len < sizeof(out) - 1 &&
			(n = read(p[0], out + len, sizeof(out) - 1 - len)) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	out[len] = '\0';
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && parse_line(out, uid, e);
}

int rl_userdb_lookup(uid_t uid, char *name, size_t name_len, char *home, size_t home_len)
{
	static struct entry cache[CACHE];
	struct entry *e = &cache[uid % CACHE];
	if (!e->used || e->uid != uid) {
		*e = (struct entry){.used = true, .uid = uid};
		e->found = from_file(uid, e) || from_getent(uid, e);
	}
	if (!e->found)
		return -ENOENT;
	if (name)
		snprintf(name, name_len, "%s", e->name);
	if (home)
		snprintf(home, home_len, "%s", e->home);
	return 0;
}
