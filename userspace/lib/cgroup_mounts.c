/* Finding the cgroup hierarchies (cgroup_mounts.h). */
#include "lib/cgroup_mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"

static const char *const ctrl_name[RL_CG_N] = {"memory", "pids", "cpu", "cpuacct"};

/* Whether the comma-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool rl_cg_list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

int rl_cg_read(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

int rl_cg_write(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	return write(fd, text, n) == (ssize_t)n ? 0 : -errno;
}

void rl_cg_detect_from(struct rl_cg_host *h, const char *mountinfo, const char *v2_dir)
{
	memset(h, 0, sizeof(*h));
	_cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
	char line[4096], v2_mount[128] = "";
	while (f && fgets(line, sizeof(line), f)) {
		char mnt[256], fstype[64], opts[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2 || strlen(mnt) >= 100)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			if (!v2_mount[0])
				snprintf(v2_mount, sizeof(v2_mount), "%s", mnt);
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		for (int c = 0; c < RL_CG_N; c++) {
			if (h->have[c] || !has_word(opts, ctrl_name[c]))
				continue;
			h->have[c] = true;
			snprintf(h->mount[c], sizeof(h->mount[c]), "%s", mnt);
		}
	}
	if (v2_mount[0]) {
		char path[PATH_MAX], ctrls[512] = "";
		snprintf(path, sizeof(path), "%s/cgroup.controllers", v2_dir ? v2_dir : v2_mount);
		_cleanup_fclose_ FILE *c = fopen(path, "re");
		if (c && !fgets(ctrls, sizeof(ctrls), c))
			ctrls[0] = 0;
		for (int i = 0; i < RL_CG_N; i++) {
			if (h->have[i] || !rl_cg_list_has(ctrls, ctrl_name[i]))
				continue;
			h->have[i] = h->v2[i] = true;
			snprintf(h->mount[i], sizeof(h->mount[i]), "%s", v2_mount);
		}
	}
	if (h->have[RL_CG_CPU] && h->v2[RL_CG_CPU] && !h->have[RL_CG_CPUACCT]) {
		h->have[RL_CG_CPUACCT] = h->v2[RL_CG_CPUACCT] = true;
		memcpy(h->mount[RL_CG_CPUACCT], h->mount[RL_CG_CPU], sizeof(h->mount[0]));
	}
	if (h->have[RL_CG_MEMORY] && !h->v2[RL_CG_MEMORY]) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", h->mount[RL_CG_MEMORY]);
		h->memsw = access(path, F_OK) == 0;
	}
}

void rl_cg_detect(struct rl_cg_host *h)
{
	rl_cg_detect_from(h, "/proc/self/mountinfo", NULL);
}

const char *rl_cg_version(const struct rl_cg_host *h, enum rl_cg_ctrl c)
{
	return !h->have[c] ? "" : h->v2[c] ? "v2" : "v1";
}

