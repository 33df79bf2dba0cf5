/* Run-time probes of what this kernel lets rlbpf's BPF side do. Load probes
 * need privilege (root or CAP_BPF+CAP_PERFMON); without it they report
 * -EPERM and the facts that need no privilege are still probed. */
#pragma once
#include <stddef.h>

/* status of a feature the kernel lacks where rlbpf does without it in
 * another way (the detail says which) */
#define RL_FEATURE_FALLBACK 1

struct rl_bpf_feature {
	const char *name; /* stable short name, e.g. "btf", "tp_btf", "ringbuf" */
	int status;       /* 0 works, RL_FEATURE_FALLBACK, or the kernel's negative errno */
	char detail[256]; /* human words: what was tried and what came back */
};

/* Fills up to `max` entries and returns how many. */
size_t rl_bpf_features_probe(struct rl_bpf_feature *out, size_t max);

/* What a few of the agent's programs need of the kernel beyond what the
 * others do (the eBPF memory cap's: BPF task storage and
 * bpf_get_current_task_btf, Linux 5.11; bpf_find_vma, 5.17; the port
 * policy's bind hooks returning 3, 5.11). NULL when
 * prog has what it needs here, else the missing feature in words. */
const char *rl_bpf_program_unsupported(const char *prog);

struct rlbpf;
/* Fits the opened object to this kernel before its load: leaves out the
 * programs it cannot take, and the maps only they use, and picks the form
 * of what has two (rl_fork, rl_fork_plain); what was left out and why into why
 * ("" if nothing). */
void rl_bpf_adapt(struct rlbpf *skel, char *why, size_t len);

/* The skeleton destroyed at the end of its scope: _cleanup_skel_. */
void rl_bpf_skel_destroyp(struct rlbpf **skel);
#define _cleanup_skel_ __attribute__((cleanup(rl_bpf_skel_destroyp)))
