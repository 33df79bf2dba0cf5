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

struct rl_agent_bpf {
	struct rlbpf *skel; /* NULL when the pinned programs were reused */
	bool reused;
	int containers, tasks, events, port_policy, stats; /* map fds */
	char cgroup2[64];   /* where bind4/bind6 are attached; "" if not */
	char notes[512];    /* what was degraded, for the log */
};

/* Mounts bpffs (and tracefs, cgroup2) when missing, then reuses the pins or
 * loads, attaches and pins. */
int rl_agent_bpf_open(struct rl_agent_bpf *b, struct rl_error *err);
void rl_agent_bpf_close(struct rl_agent_bpf *b);
/* Whether program prog (its name in bpf/) is attached: pinned under
 * RL_PIN_DIR/links by this agent or an earlier one. */
bool rl_agent_bpf_attached(const char *prog);
/* The per-fault programs (rl_rss_stat on every change of any process's
 * RSS, rl_cow_fault on every write fault) are attached only while a
 * container needs them (an eBPF cap, or memory counted without a cgroup),
 * from their pinned programs. rl_agent_bpf_rss_usable says whether
 * rl_rss_stat attached at load (an eBPF cap can be had);
 * rl_agent_bpf_rss(on) attaches or detaches both, 0 or a negative errno. */
bool rl_agent_bpf_rss_usable(void);
int rl_agent_bpf_rss(bool on);
/* Removes every pin: the programs detach once nothing holds them. */
int rl_agent_bpf_unload(struct rl_error *err);
/* The same for `rlbpfd --unload`: refused (-EBUSY) while an agent runs. */
int rl_agent_bpf_unload_idle(struct rl_error *err);
