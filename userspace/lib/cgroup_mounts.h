/* Where the cgroup controllers rlbpf limits with live on this host: in a
 * cgroup v1 hierarchy of their own, or in the cgroup2 hierarchy (a v2-only
 * host, or a hybrid host whose v1 lacks the controller). Read from
 * mountinfo; root can make cgroups in any of them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* cpuacct counts what cpu limits; on v2 both are the cpu controller's. */
enum rl_cg_ctrl { RL_CG_MEMORY, RL_CG_PIDS, RL_CG_CPU, RL_CG_CPUACCT, RL_CG_N };

/* Where each controller lives on this host. */
struct rl_cg_host {
	bool have[RL_CG_N];
	bool v2[RL_CG_N];
	char mount[RL_CG_N][128]; /* the hierarchy's mount point */
	bool memsw;               /* v1 swap accounting: memory.memsw.* exist */
};

/* Reads /proc/self/mountinfo (and the cgroup2 root's controllers). A
 * controller not found is simply absent. */
void rl_cg_detect(struct rl_cg_host *h);
/* Same, from given files: tests. */
void rl_cg_detect_from(struct rl_cg_host *h, const char *mountinfo, const char *v2_controllers_dir);

/* A cgroup file, read whole into buf (NUL-terminated; the bytes read, or a
 * negative errno) or written in one write(), as cgroupfs wants. */
int rl_cg_read(const char *path, char *buf, size_t len);
int rl_cg_write(const char *path, const char *text);
/* Whether a space-separated list (cgroup.controllers) names word. */
bool rl_cg_list_has(const char *list, const char *word);

/* "v1" or "v2" for the controller, "" when absent: `info`. */
const char *rl_cg_version(const struct rl_cg_host *h, enum rl_cg_ctrl c);
