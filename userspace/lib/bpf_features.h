/* Run-time probes of what this kernel lets rlbpf's BPF side do. Load probes
 * need privilege (root or CAP_BPF+CAP_PERFMON); without it they report
 * -EPERM and the facts that need no privilege are still probed. */
#pragma once
#include <stddef.h>

struct rl_bpf_feature {
	const char *name; /* stable short name, e.g. "btf", "tp_btf", "ringbuf" */
	int status;       /* 0 works, negative errno as the kernel answered */
	char detail[160]; /* human words: what was tried and what came back */
};

/* Fills up to `max` entries and returns how many. */
size_t rl_bpf_features_probe(struct rl_bpf_feature *out, size_t max);
