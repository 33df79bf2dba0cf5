/* Memory accounting and the memory cap, in the kernel.
 *
 * Every change of an mm's resident counters fires rss_stat. For an mm that
 * belongs to a container, the difference since the last time is added to the
 * container's rss_bytes: a container's usage is the sum of its mms, each
 * counted once however many processes share it (vfork, CLONE_VM). What is
 * counted is what the kernel calls RSS: anonymous, file-backed and shmem
 * pages mapped by the container's processes (get_mm_rss()); page cache that
 * no process maps and kernel memory are not, which is the difference from a
 * cgroup's memory.usage_in_bytes.
 *
 * When the sum passes the cap, the allocating process gets SIGKILL at once,
 * from the tracepoint, before its fault returns; any member that allocates
 * after that gets the same; and the oom_kill event wakes the agent, which
 * kills the rest. No cgroup is needed, so this holds on cgroup v1. */
#pragma once

#define RL_PAGE_SHIFT 12 /* x86_64, the only target bpf/vmlinux.h describes */
#define RL_SIGKILL 9

/* Before 6.2, mm->rss_stat was a struct of atomic_long_t; since, it is an
 * array of percpu_counter. The ___pre62 flavours let CO-RE pick. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[NR_MM_COUNTERS];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* Resident pages: file + anon + shmem. percpu_counter.count lags by at most
 * the per-CPU batch, which is what the rss_stat tracepoint reports too. */
static __always_inline __s64 rl_mm_rss_pages(struct mm_struct *mm)
{
	__s64 pages;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		struct mm_struct___pre62 *old = (void *)mm;

		pages = BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter) +
			BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter) +
			BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
	} else {
		pages = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count) +
			BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
	}
	return pages < 0 ? 0 : pages;
}

static __always_inline void rl_mem_event(__u32 type, __u64 cid, struct rl_container *c,
					 __u64 rss, __u32 percent, bool killed)
{
	struct rl_event *e = rl_event_reserve(mem, type, cid, c);

	if (!e)
		return;
	e->u.mem.rss_bytes = rss;
	e->u.mem.cap_bytes = c->mem_cap_bytes;
	e->u.mem.percent = percent;
	if (killed) {
		e->u.mem.victim_host_pid = e->hdr.host_pid;
		e->u.mem.victim_ns_pid = e->hdr.ns_pid;
		e->u.mem.signal = RL_SIGKILL;
	}
	/* the agent acts on an oom_kill: wake it now, not at its next tick */
	bpf_ringbuf_submit(e, type == RL_EV_OOM_KILL ? BPF_RB_FORCE_WAKEUP : 0);
}

static __always_inline __u32 rl_pressure_level(__u64 rss, __u64 cap)
{
	if (rss * 100 >= cap * 90)
		return 90;
	if (rss * 100 >= cap * 75)
		return 75;
	if (rss * 100 >= cap * 50)
		return 50;
	return 0;
}

/* One mem_pressure event per threshold crossed upwards; going back under a
 * threshold re-arms it, silently. */
static __always_inline void rl_mem_pressure(__u64 cid, struct rl_container *c, __u64 rss)
{
	__u32 level = rl_pressure_level(rss, c->mem_cap_bytes);
	__u32 was = c->pressure_pct;

	if (level == was || __sync_val_compare_and_swap(&c->pressure_pct, was, level) != was)
		return; /* unchanged, or another CPU reports it */
	if (level < was)
		return;
	if (was < 50)
		rl_mem_event(RL_EV_MEM_PRESSURE, cid, c, rss, 50, false);
	if (was < 75 && level >= 75)
		rl_mem_event(RL_EV_MEM_PRESSURE, cid, c, rss, 75, false);
	if (level >= 90)
		rl_mem_event(RL_EV_MEM_PRESSURE, cid, c, rss, 90, false);
}

/* Takes an mm's pages out of the container they were counted in. */
static __always_inline void rl_mm_uncount(__u64 key, struct rl_mm *m)
{
	struct rl_container *c = bpf_map_lookup_elem(&containers, &m->cid);
	__s64 pages = __sync_lock_test_and_set(&m->pages, 0);

	if (c)
		__sync_fetch_and_add(&c->rss_bytes, -(pages << RL_PAGE_SHIFT));
	bpf_map_delete_elem(&mms, &key);
}

/* The mm's entry for the current task's container: a host process's mm is
 * not counted; another container's or a dead mm's entry at the same address
 * is taken over. */
static __always_inline struct rl_mm *rl_mm_of_current(__u64 key, __u64 pgd, __u64 *cid,
						     struct rl_container **c)
{
	struct rl_mm fresh = {.pgd = pgd};
	struct rl_mm *m;

	*c = rl_current_container(cid);
	if (!*c)
		return NULL;
	m = bpf_map_lookup_elem(&mms, &key);
	if (m && m->cid == *cid && m->pgd == pgd)
		return m;
	if (m)
		rl_mm_uncount(key, m);
	fresh.cid = *cid;
	bpf_map_update_elem(&mms, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mms, &key);
}

SEC("tp_btf/rss_stat")
int BPF_PROG(rl_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 key = (__u64)mm, pgd = (__u64)BPF_CORE_READ(mm, pgd), cid, rss;
	bool own = BPF_CORE_READ(task, mm) == mm;
	struct rl_container *c;
	struct rl_mm *m;
	__s64 pages, delta;

	if (own) {
		m = rl_mm_of_current(key, pgd, &cid, &c);
		if (!m)
			return 0;
	} else {
		/* reclaim, another process's access, or the mm's teardown at
		 * exit or exec: only an mm already counted matters */
		m = bpf_map_lookup_elem(&mms, &key);
		if (!m)
			return 0;
		cid = m->cid;
		c = bpf_map_lookup_elem(&containers, &cid);
		if (!c || m->pgd != pgd || BPF_CORE_READ(mm, mm_users.counter) == 0) {
			/* no user left: it is being torn down, and the
			 * per-CPU remainders may never reach the count */
			rl_mm_uncount(key, m);
			return 0;
		}
	}
	pages = rl_mm_rss_pages(mm);
	delta = pages - __sync_lock_test_and_set(&m->pages, pages);
	if (delta == 0)
		return 0;
	rss = __sync_add_and_fetch(&c->rss_bytes, delta << RL_PAGE_SHIFT);
	if ((__s64)rss > (__s64)c->rss_peak_bytes)
		c->rss_peak_bytes = rss;
	if (!c->mem_cap_bytes)
		return 0;
	if (rss <= c->mem_cap_bytes && !c->oom) {
		rl_mem_pressure(cid, c, rss);
		return 0;
	}
	/* Past the cap, or a member of a container that passed it: the
	 * allocating process dies before the fault returns. */
	if (own && delta > 0)
		bpf_send_signal(RL_SIGKILL);
	if (__sync_fetch_and_or(&c->oom, RL_OOM_PASSED) & RL_OOM_PASSED)
		return 0;
	c->oom_victim_pid = own ? bpf_get_current_pid_tgid() >> 32 : 0;
	rl_mem_pressure(cid, c, rss);
	rl_mem_event(RL_EV_OOM_KILL, cid, c, rss, (__u32)(rss * 100 / c->mem_cap_bytes), own);
	return 0;
}
