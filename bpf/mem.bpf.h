/* Memory accounting and the memory cap, in the kernel.
 *
 * Every change of an mm's resident counters fires rss_stat. A container's
 * usage is what its processes hold, each page counted once, as the kernel's
 * memory controller charges it:
 *  - anonymous pages, per process (threads share one mm; a vfork child
 *    borrows its parent's and counts nothing), less those a forked process
 *    still shares with the process it was forked from, plus the copies
 *    that writes to such shared pages make (rl_cow_fault);
 *  - shmem (shared memory: a database's shared buffers, /dev/shm), which
 *    every process that maps it has in its RSS: counted as the most any one
 *    process of the container maps, so N processes mapping the same shared
 *    memory count it once.
 * File-backed pages (libraries, mapped files) are page cache, which the
 * kernel reclaims before it kills: they are not counted, mapped or not.
 * Nor are shmem that no process maps (a file written to a tmpfs), shmem
 * that different processes map without overlap beyond the largest of
 * them, and kernel memory.
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

/* One of an mm's resident counters (MM_ANONPAGES, MM_SHMEMPAGES, ...).
 * percpu_counter.count lags by at most the per-CPU batch, which is what
 * the rss_stat tracepoint reports too. Since 6.2, plain loads through the
 * tracepoint's trusted mm: a helper call per counter would cost more than
 * the rest of the accounting. */
static __always_inline __s64 rl_mm_pages(struct mm_struct *mm, int member)
{
	__s64 pages;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62)) {
		/* 6.1's verifier cannot follow the atomic_long_t typedef in a
		 * plain load: read it through the helper */
		struct mm_struct___pre62 *old = (void *)mm;

		pages = BPF_CORE_READ(old, rss_stat.count[member].counter);
	} else {
		pages = mm->rss_stat[member].count;
	}
	return pages < 0 ? 0 : pages;
}

/* What one process's mm adds to its container, kept on the process (its
 * thread-group leader) rather than in a map keyed by mm: the hot path is
 * one storage lookup, no hash lookups. Threads share their leader's entry,
 * so an mm is counted once per process; a vfork child, which borrows its
 * parent's mm until it execs, counts nothing (its parent's entry does). */
struct rl_proc_mem {
	__u64 cid;    /* 0: not in a container (checked again at the next mm) */
	__u64 mm;     /* the mm counted */
	__s64 pages;  /* its anonymous pages last added to the container */
	__s64 base;   /* anonymous pages its mm had from its parent when first
		       * seen (see rl_forked_copy), still shared with it */
	__s64 shmem;  /* its shmem pages at the last look */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct rl_proc_mem);
} proc_mem SEC(".maps");

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
		e->u.mem.victim_uid = e->hdr.host_uid;
	}
	e->u.mem.enforcer = RL_ENFORCER_EBPF;
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

/* The container's shmem is the most that any one of its processes maps:
 * process tgid maps `shmem` pages of it now. Moves the mark when it maps
 * more than the mark, or when it set the mark and maps less (a larger one
 * elsewhere raises it again at its next change). Returns the change in
 * pages. */
static __always_inline __s64 rl_shmem_seen(struct rl_container *c, __u32 tgid, __s64 shmem)
{
	__s64 max = c->shmem_max_pages;

	if (shmem == max || (shmem < max && c->shmem_max_tgid != tgid))
		return 0;
	if (__sync_val_compare_and_swap(&c->shmem_max_pages, max, shmem) != max)
		return 0; /* another CPU moved it: seen again at the next change */
	c->shmem_max_tgid = tgid;
	return shmem - max;
}

/* Takes process tgid's counted pages out of its container, and forgets
 * the mm. The pages it still shared from its parent are shared no more,
 * and copies the others made of them are now only as many as remain
 * shared (rl_cow_fault). */
static __always_inline void rl_proc_uncount(struct rl_proc_mem *pm, __u32 tgid)
{
	__s64 pages = __sync_lock_test_and_set(&pm->pages, 0);
	__s64 base = __sync_lock_test_and_set(&pm->base, 0);
	__u64 cid = pm->cid;
	struct rl_container *c = bpf_map_lookup_elem(&containers, &cid);
	__s64 shared, extra;

	pm->mm = 0;
	pm->shmem = 0;
	if (!c)
		return;
	shared = __sync_add_and_fetch(&c->cow_shared_pages, -base);
	extra = c->cow_extra_pages;
	if (shared < 0)
		shared = 0;
	if (extra > shared &&
	    __sync_val_compare_and_swap(&c->cow_extra_pages, extra, shared) == extra)
		pages += extra - shared;
	pages -= rl_shmem_seen(c, tgid, 0);
	__sync_fetch_and_add(&c->rss_bytes, -(pages << RL_PAGE_SHIFT));
}

/* Whether the process runs on the copy of its parent's mm that fork made:
 * it has not exec'd since (exec bumps self_exec_id; fork copies the
 * parent's into parent_exec_id). Its pages at first sight are the parent's,
 * shared copy-on-write, which the parent already counts: the kernel's
 * memory controller counts them once too. A shared page that either side
 * later writes becomes two, with no change to either RSS counter: those
 * copies are counted from the write faults (rl_cow_fault). */
static __always_inline bool rl_forked_copy(struct task_struct *leader)
{
	return leader->self_exec_id == leader->parent_exec_id;
}

/* The accounting of the current process, whose mm is mm, made at its first
 * sight of an mm (first fault, or after exec): membership is asked of the
 * tasks map once per mm, not per fault. NULL for a process that is in no
 * container and has never been. */
static __always_inline struct rl_proc_mem *rl_proc_mem_of(struct task_struct *task,
							 struct mm_struct *mm)
{
	struct rl_proc_mem *pm = bpf_task_storage_get(&proc_mem, task->group_leader, 0, 0);
	__u32 tgid;
	__u64 *member_of;
	struct rl_container *c;

	if (pm && pm->mm == (__u64)mm)
		return pm;
	tgid = bpf_get_current_pid_tgid() >> 32;
	member_of = bpf_map_lookup_elem(&tasks, &tgid);
	if (!pm) {
		if (!member_of)
			return NULL;
		pm = bpf_task_storage_get(&proc_mem, task->group_leader, 0,
					  BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!pm)
			return NULL;
	}
	if (pm->cid && pm->mm)
		rl_proc_uncount(pm, tgid);
	pm->cid = member_of ? *member_of : 0;
	pm->mm = (__u64)mm;
	pm->pages = 0;
	pm->base = 0;
	pm->shmem = 0;
	if (!pm->cid || !rl_forked_copy(task->group_leader))
		return pm;
	c = bpf_map_lookup_elem(&containers, &pm->cid);
	if (!c)
		return pm;
	pm->base = rl_mm_pages(mm, MM_ANONPAGES);
	__sync_fetch_and_add(&c->cow_shared_pages, pm->base);
	return pm;
}

/* The container's usage moved by delta pages, rising to rss bytes: keeps
 * the peak, reports pressure, and past the cap kills the allocating
 * process before its fault returns. */
static __always_inline void rl_mem_charged(__u64 cid, struct rl_container *c, __s64 delta,
					   __u64 rss)
{
	if ((__s64)rss > (__s64)c->rss_peak_bytes)
		c->rss_peak_bytes = rss;
	if (!c->mem_cap_bytes)
		return;
	if (rss <= c->mem_cap_bytes && !c->oom) {
		rl_mem_pressure(cid, c, rss);
		return;
	}
	/* Past the cap, or a member of a container that passed it: the
	 * allocating process dies before the fault returns. */
	if (delta > 0)
		bpf_send_signal(RL_SIGKILL);
	if (__sync_fetch_and_or(&c->oom, RL_OOM_PASSED) & RL_OOM_PASSED)
		return;
	c->oom_victim_pid = bpf_get_current_pid_tgid() >> 32;
	rl_mem_pressure(cid, c, rss);
	rl_mem_event(RL_EV_OOM_KILL, cid, c, rss, (__u32)(rss * 100 / c->mem_cap_bytes), true);
}

SEC("tp_btf/rss_stat")
int BPF_PROG(rl_rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	bool own = task->mm == mm;
	struct rl_proc_mem *pm;
	struct rl_container *c;
	__s64 pages, shmem, delta;
	__u64 cid, rss;

	/* The host's own processes are most of the calls: rootless
	 * containers always live in a user namespace of their own. */
	if (task->cred->user_ns->level == 0)
		return 0;
	/* a vfork child runs on its parent's mm, which the parent counts */
	if (own && task->vfork_done)
		return 0;
	if (!own) {
		pm = bpf_task_storage_get(&proc_mem, task->group_leader, 0, 0);
		/* our process let go of this mm: it exited, or exec'd */
		if (pm && pm->mm == (__u64)mm && pm->cid)
			rl_proc_uncount(pm, tgid);
		return 0; /* else reclaim and such: counted again at our next fault */
	}
	pm = rl_proc_mem_of(task, mm);
	if (!pm)
		return 0;
	cid = pm->cid;
	if (!cid)
		return 0;
	/* The counters the kernel keeps per CPU reach mm->rss_stat in
	 * batches, so most calls see no change: they stop here, before any
	 * map lookup or atomic operation. */
	pages = rl_mm_pages(mm, MM_ANONPAGES) - pm->base;
	if (pages < 0)
		pages = 0;
	shmem = rl_mm_pages(mm, MM_SHMEMPAGES);
	if (pages == pm->pages && shmem == pm->shmem)
		return 0;
	c = bpf_map_lookup_elem(&containers, &cid);
	if (!c) {
		pm->cid = 0; /* its container has ended */
		return 0;
	}
	pm->shmem = shmem;
	delta = pages - __sync_lock_test_and_set(&pm->pages, pages);
	delta += rl_shmem_seen(c, tgid, shmem);
	if (delta == 0)
		return 0;
	rss = __sync_add_and_fetch(&c->rss_bytes, delta << RL_PAGE_SHIFT);
	rl_mem_charged(cid, c, delta, rss);
	return 0;
}

/* A write fault on a page that is present: in a process of a container
 * whose forked processes still share pages, the copy-on-write copy that
 * fork left for later (X86_PF_PROT | X86_PF_WRITE | X86_PF_USER). */
#define RL_PF_COPY_ON_WRITE 0x7
#define RL_VM_SHARED 0x8 /* a shared mapping writes in place: no copy */

/* Whether the fault is in private anonymous memory, where the copy is an
 * anonymous page no counter shows. A private file mapping's copy moves a
 * page from the file counter to the anonymous one: rss_stat sees it. */
static long rl_vma_private_anon(struct task_struct *task, struct vm_area_struct *vma, void *anon)
{
	*(bool *)anon = !vma->vm_file && !(vma->vm_flags & RL_VM_SHARED);
	return 0;
}

/* Counts the copy that a write to a page shared since fork makes. In a
 * forked process the copy is its own: one page fewer of its base is
 * shared. In the process it was forked from the copy is the writer's, and
 * the page left behind is the others' alone: either way one page more, as
 * the kernel's memory controller charges it, up to the pages still shared.
 * Attached with rl_rss_stat, only while a container relies on the eBPF
 * cap. */
SEC("tp_btf/page_fault_user")
int BPF_PROG(rl_cow_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	struct task_struct *task;
	struct rl_proc_mem *pm;
	struct rl_container *c;
	bool private_anon = false;
	__u64 cid, rss;

	if ((error_code & RL_PF_COPY_ON_WRITE) != RL_PF_COPY_ON_WRITE)
		return 0;
	task = bpf_get_current_task_btf();
	if (task->cred->user_ns->level == 0 || task->vfork_done)
		return 0;
	pm = rl_proc_mem_of(task, task->mm);
	if (!pm || !pm->cid)
		return 0;
	cid = pm->cid;
	c = bpf_map_lookup_elem(&containers, &cid);
	if (!c || c->cow_shared_pages <= 0)
		return 0;
	if (bpf_find_vma(task, address, rl_vma_private_anon, &private_anon, 0) || !private_anon)
		return 0;
	if (pm->base > 0) {
		__sync_fetch_and_add(&pm->base, -1);
		__sync_fetch_and_add(&c->cow_shared_pages, -1);
		__sync_fetch_and_add(&pm->pages, 1);
	} else {
		__s64 extra = c->cow_extra_pages;

		if (extra >= c->cow_shared_pages ||
		    __sync_val_compare_and_swap(&c->cow_extra_pages, extra, extra + 1) != extra)
			return 0;
	}
	rss = __sync_add_and_fetch(&c->rss_bytes, 1 << RL_PAGE_SHIFT);
	rl_mem_charged(cid, c, 1, rss);
	return 0;
}

/* The usage and limit, in bytes, of the memory cgroup the current task
 * charges: the one whose limit it met, when the kernel's OOM killer runs
 * for a cgroup. 0s without a memory controller. */
static __always_inline void rl_memcg_of_current(__u64 *usage, __u64 *limit)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct cgroup_subsys_state *css;
	struct mem_cgroup *memcg;

	*usage = *limit = 0;
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return;
	css = BPF_CORE_READ(task, cgroups, subsys[bpf_core_enum_value(enum cgroup_subsys_id,
								      memory_cgrp_id)]);
	if (!css)
		return;
	/* the css is the memcg's first member */
	memcg = (void *)css - bpf_core_field_offset(struct mem_cgroup, css);
	*usage = (__u64)BPF_CORE_READ(memcg, memory.usage.counter) << RL_PAGE_SHIFT;
	*limit = (__u64)BPF_CORE_READ(memcg, memory.max) << RL_PAGE_SHIFT;
}

/* The kernel's OOM killer chose a victim: where a cgroup keeps the cap, this
 * is how a container's memory ends, and the trace must say so. The victim
 * is named by the tracepoint; the current task is whoever allocated, in
 * the cgroup that met its limit. The agent names the enforcer: its own
 * cgroups, the user's cgroup v2, or none (the whole host ran out). */
SEC("tp/oom/mark_victim")
int rl_oom_victim(struct trace_event_raw_mark_victim *ctx)
{
	__u32 pid = (__u32)ctx->pid;
	struct rl_event *e;
	__u64 cid, cur_cid = 0;
	struct rl_container *c = rl_container_of(pid, &cid);

	if (!c)
		return 0;
	e = rl_event_reserve(mem, RL_EV_OOM_KILL, cid, c);
	if (!e)
		return 0;
	e->u.mem.victim_host_pid = pid;
	e->u.mem.signal = RL_SIGKILL;
	e->u.mem.enforcer = RL_ENFORCER_AGENT_CGROUP; /* a kernel's: the agent refines it */
	/* an allocation of the container's own met a limit; anyone else's
	 * (the host ran out) says nothing of the container's cgroup */
	if (rl_current_container(&cur_cid) && cur_cid == cid)
		rl_memcg_of_current(&e->u.mem.rss_bytes, &e->u.mem.cap_bytes);
	if (bpf_core_field_exists(ctx->uid))
		e->u.mem.victim_uid = BPF_CORE_READ(ctx, uid);
	else
		e->u.mem.victim_uid = RL_ID_UNMAPPED;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}
