// SPDX-License-Identifier: GPL-2.0
/* rlbpf's BPF side: one object, one skeleton (build/bpf/rlbpf.skel.h). The
 * concerns live in the *.bpf.h sections below, mirroring the event table in
 * DESIGN.md; they share the maps and helpers declared first. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "events.h"

/* GPL: bpf_probe_read_kernel, bpf_send_signal and tp_btf need it. */
char LICENSE[] SEC("license") = "GPL";

#include "maps.bpf.h"
#include "task.bpf.h"
#include "mem.bpf.h"
#include "sched.bpf.h"
#include "setid.bpf.h"
#include "bind.bpf.h"
#include "probes.bpf.h"
