/* Feature probes. Never loaded with the agent's programs (the "?" in SEC()
 * turns autoload off); userspace/bpf_features.c loads one at a time to ask
 * the kernel whether the thing it exercises is allowed here. Each does the
 * smallest version of what a later feature will really do. */
#pragma once

/* The memory cap's hook: a BTF tracepoint that reads mm->rss_stat. */
SEC("?tp_btf/rss_stat")
int BPF_PROG(rl_probe_tpbtf, struct mm_struct *mm, int member)
{
	/* volatile: keep the read, so the verifier checks it */
	volatile __s64 pages = rl_mm_pages(mm, MM_SHMEMPAGES);

	(void)pages;
	(void)member;
	return 0;
}

/* fentry on a function that has existed under this name for years. */
SEC("?fentry/do_unlinkat")
int BPF_PROG(rl_probe_fentry)
{
	return 0;
}

/* The port policy's hook. 1 = allow the bind unchanged. */
SEC("?cgroup/bind4")
int rl_probe_bind4(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 1;
}

/* The memory cap's enforcement. Signal 0 only checks, should it ever run. */
SEC("?tp/sched/sched_process_exit")
int rl_probe_signal(void *ctx)
{
	(void)ctx;
	bpf_send_signal(0);
	return 0;
}

/* Atomics that return the old value (rl_count_new_task). */
SEC("?tp/sched/sched_process_exit")
int rl_probe_atomic_fetch(void *ctx)
{
	__u64 v = 0;

	(void)ctx;
	return (int)__sync_fetch_and_add(&v, 1);
}

/* The port policy's grant: a bind hook's 3 lets the bind past the
 * kernel's CAP_NET_BIND_SERVICE check (rl_bind_policy). */
SEC("?cgroup/bind4")
int rl_probe_bind_no_cap(struct bpf_sock_addr *ctx)
{
	(void)ctx;
	return 3;
}
