/* rlbpf top CONTAINER: the container's processes, each seen from the host
 * and from the container: the uid-translation view. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "cli/commands.h"
#include "lib/fsutil.h"
#include "supervise/state.h"
#include "supervise/status.h"
#include "lib/userdb.h"
#include "runtime/container_file.h"
#include "runtime/passwd.h"

/* One line of a uid_map: ids [inside, inside+count) are outside+. */
struct map_extent {
	unsigned long inside, outside, count;
};

static size_t read_uid_map(pid_t pid, struct map_extent *m, size_t max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	size_t n = 0;
	while (f && n < max && fscanf(f, "%lu %lu %lu", &m[n].inside, &m[n].outside, &m[n].count) == 3)
		n++;
	return n;
}

static long to_container_uid(const struct map_extent *m, size_t n, unsigned long host)
{
	for (size_t i = 0; i < n; i++)
		if (host >= m[i].outside && host - m[i].outside < m[i].count)
			return (long)(m[i].inside + host - m[i].outside);
	return -1;
}

struct proc_view {
	pid_t pid, cpid;
	unsigned long uid;
	double cpu_seconds;
	char cmd[256];
};

static bool read_proc(pid_t pid, struct proc_view *p)
{
	char path[64], buf[4096];
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (rl_read_file(path, buf, sizeof(buf), NULL) < 0)
		return false;
	const char *uid = strstr(buf, "\nUid:");
	const char *nspid = strstr(buf, "\nNSpid:");
	if (!uid || !nspid)
		return false;
	p->uid = strtoul(uid + 5, NULL, 10);
	/* The last NSpid field is the pid in the innermost namespace. */
	const char *end = strchr(nspid + 1, '\n');
	const char *last = end;
	while (last > nspid && last[-1] != '\t' && last[-1] != ' ')
		last--;
	p->cpid = (pid_t)strtol(last, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (rl_read_file(path, buf, sizeof(buf), NULL) < 0)
		return false;
	const char *rp = strrchr(buf, ')');
	unsigned long utime = 0, stime = 0;
	int field = 2;
	for (const char *q = rp; q && *q; q++)
		if (*q == ' ') {
			field++;
			if (field == 14)
				utime = strtoul(q + 1, NULL, 10);
			else if (field == 15) {
				stime = strtoul(q + 1, NULL, 10);
				break;
			}
		}
	p->cpu_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int n = rl_read_file(path, p->cmd, sizeof(p->cmd), NULL);
	/* Arguments are the container's words: no escape sequences reach our terminal. */
	for (int i = 0; i < n - 1; i++)
		if (p->cmd[i] == '\0')
			p->cmd[i] = ' ';
		else if ((unsigned char)p->cmd[i] < 0x20 || p->cmd[i] == 0x7f)
			p->cmd[i] = '?';
	return n > 0;
}

static bool same_pid_ns(pid_t pid, const struct stat *ns)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

int cmd_top(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("Usage: rlbpf top CONTAINER\n\n"
		     "One row per process of the container: PID on the host, CPID in the\n"
		     "container, USER as the container names it, HUSER as the host does,\n"
		     "TIME used and COMMAND.");
		return 0;
	}
	if (argc != 2) {
		fputs("rlbpf top: give exactly one container; see 'rlbpf top --help'\n", stderr);
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_state st;
	struct rl_status s;
	if (rl_state_find(argv[1], &st, &err) < 0 || rl_status_read(&st, &s, &err) < 0) {
		rl_error_print(&err, "rlbpf top");
		return RL_EXIT_INTERNAL;
	}
	if (s.state != RL_RUNNING) {
		fprintf(stderr, "rlbpf top: container %s is not running\n", argv[1]);
		return RL_EXIT_INTERNAL;
	}
	char ns_path[64];
	struct stat ns;
	snprintf(ns_path, sizeof(ns_path), "/proc/%d/ns/pid", (int)s.pid);
	if (stat(ns_path, &ns) < 0) {
		fprintf(stderr, "rlbpf top: cannot see container %s's processes: %s\n", argv[1],
			strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	/* The container's own /etc/passwd, as its PID 1 sees it. */
	_cleanup_free_ char *passwd = NULL;
	rl_container_file_read(s.pid, "/etc/passwd", 4u << 20, &passwd);
	struct map_extent map[16];
	size_t n_map = read_uid_map(s.pid, map, 16);

	printf("%-8s %-6s %-10s %-12s %-9s %s\n", "PID", "CPID", "USER", "HUSER", "TIME", "COMMAND");
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d));) {
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		struct proc_view p;
		if (pid <= 0 || !same_pid_ns(pid, &ns) || !read_proc(pid, &p))
			continue;
		char user[64], huser[64];
		long cuid = to_container_uid(map, n_map, p.uid);
		if (cuid < 0)
			snprintf(user, sizeof(user), "?");
		else if (!rl_passwd_name(passwd, (uid_t)cuid, user, sizeof(user)))
			snprintf(user, sizeof(user), "%ld", cuid);
		if (rl_userdb_lookup((uid_t)p.uid, huser, sizeof(huser), NULL, 0) < 0)
			snprintf(huser, sizeof(huser), "%lu", p.uid);
		int secs = (int)p.cpu_seconds;
		printf("%-8d %-6d %-10s %-12s %02d:%02d:%02d %s\n", (int)p.pid, (int)p.cpid, user, huser,
		       secs / 3600, secs / 60 % 60, secs % 60, p.cmd);
	}
	if (d)
		closedir(d);
	return 0;
}
