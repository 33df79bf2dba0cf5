/* The agent's hold on the kernel side: the BPF object loaded, its programs
 * attached and everything pinned under /sys/fs/bpf/rlbpf, or, when an
 * earlier agent left it pinned, the same maps opened again so tracking and
 * enforcement never stop while the agent restarts. */
#pragma once
#include <stdbool.h>

#include "lib/error.h"

#define RL_PIN_DIR "/sys/fs/bpf/rlbpf"
#define RL_AGENT_LOCK "/run/rlbpf/rlbpfd.lock" /* held while an agent runs */

struct rlbpf;

/* Attachments that cannot be pinned: before Linux 5.15 a tracepoint
 * program is attached by its perf event, which only a process can hold. */
#define RL_AGENT_HELD_MAX 40

struct rl_agent_bpf {
	struct rlbpf *skel; /* NULL when the pinned programs were reused */
	bool reused;
	int containers, tasks, events, port_policy, stats; /* map fds */
	char cgroup2[64];   /* where bind4/bind6 are attached; "" if not */
	char notes[2048];   /* what was degraded, for the log */
	struct {
		char prog[32];
		int fd; /* the perf event that holds prog attached */
	} held[RL_AGENT_HELD_MAX];
	size_t n_held;
};

/* Mounts bpffs (and tracefs, cgroup2) when missing, then reuses the pins or
 * loads, attaches and pins. Tracepoint programs whose attachment cannot be
 * pinned are pinned as programs under RL_PIN_DIR/held and attached again by
 * every agent that starts: they run while an agent does. */
int rl_agent_bpf_open(struct rl_agent_bpf *b, struct rl_error *err);
void rl_agent_bpf_close(struct rl_agent_bpf *b);
/* Whether program prog (its name in bpf/) is attached: pinned under
 * RL_PIN_DIR/links by this agent or an earlier one, or held by this one. */
bool rl_agent_bpf_attached(const struct rl_agent_bpf *b, const char *prog);
/* Programs attached only while something needs them, by group: the
 * per-fault ones of the eBPF memory cap (while a container's memory is
 * counted by BPF), the fork exits that kill a task born past an eBPF
 * --pids-limit, and the syscall tracepoints of uid changes and denied binds
 * (while a trace client listens for those events). Each attaches at load,
 * to prove it can, and is then pinned as a program; rl_agent_bpf_can(prog)
 * says whether prog got that far. rl_agent_bpf_demand attaches or detaches
 * a group: 0 or the first negative errno. */
enum rl_bpf_group { RL_BPF_RSS, RL_BPF_PIDS, RL_BPF_SETID, RL_BPF_BIND, RL_BPF_GROUPS };
bool rl_agent_bpf_can(const char *prog);
int rl_agent_bpf_demand(struct rl_agent_bpf *b, enum rl_bpf_group group, bool on);
/* Removes every pin: the programs detach once nothing holds them. */
int rl_agent_bpf_unload(struct rl_error *err);
/* The same for `rlbpfd --unload`: refused (-EBUSY) while an agent runs. */
int rl_agent_bpf_unload_idle(struct rl_error *err);
