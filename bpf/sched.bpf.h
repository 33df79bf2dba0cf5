/* Membership by fork inheritance, and the exec and exit events. Classic
 * tracepoints (tp/sched/...), not tp_btf: they work on every kernel rlbpf
 * supports, and these three carry all we need. */
#pragma once

/* do_exit() may have ended the whole group (include/linux/sched/signal.h;
 * not in BTF, unchanged since 2.6). */
#define RL_SIGNAL_GROUP_EXIT 0x00000004

/* sched_process_fork fires for new threads too, and the classic tracepoint
 * does not say which. A new thread is appended to the parent's thread group
 * (signal->thread_head); a new process starts a group of its own. If another
 * thread of the parent clones at the same instant, a thread can be taken for
 * a process: it then gets a tasks entry of its own, which rl_exit() removes
 * when that thread exits, so the map and nr_tasks stay consistent. */
static __always_inline bool rl_is_new_thread(__u32 child_tid)
{
	struct task_struct *cur = (void *)bpf_get_current_task();
	struct list_head *last = BPF_CORE_READ(cur, signal, thread_head.prev);
	struct task_struct *t = container_of(last, struct task_struct, thread_node);

	return BPF_CORE_READ(t, pid) == (int)child_tid;
}

/* Counts a new task, and marks it to die at birth when it takes its
 * container past --pids-limit: a tracepoint cannot make fork fail, but the
 * child can be killed before it runs a single instruction of its own.
 * fetch: this kernel takes atomics that return the old value (5.12); a
 * program holding one loads nowhere else, so each form is a program. */
static __always_inline void rl_count_new_task(struct rl_container *c, __u64 cid, __u32 child,
					      bool fetch)
{
	__u32 n;

	if (fetch) {
		n = __sync_add_and_fetch(&c->nr_threads, 1);
	} else {
		/* two forks at one instant may both see the later count */
		__sync_fetch_and_add(&c->nr_threads, 1);
		n = c->nr_threads;
	}
	if (c->pids_limit && n > c->pids_limit) {
		bpf_map_update_elem(&pids_refused, &child, &cid, BPF_ANY);
		__sync_fetch_and_add(&c->pids_refused, 1);
	}
}

static __always_inline int rl_forked(struct trace_event_raw_sched_process_fork *ctx, bool fetch)
{
	/* the tracepoint runs in the parent */
	__u32 child = ctx->child_pid;
	__u64 cid;
	struct rl_container *c = rl_current_container(&cid);

	if (!c)
		return 0;
	rl_count_new_task(c, cid, child, fetch);
	if (rl_is_new_thread(child))
		return 0;
	/* the pid is brand new, so an entry under it is stale: an exit we
	 * missed (say, before the programs were attached). Forget it with
	 * its count, rather than let the child inherit the wrong container. */
	rl_task_forget(child);
	if (bpf_map_update_elem(&tasks, &child, &cid, BPF_NOEXIST) == 0)
		__sync_fetch_and_add(&c->nr_tasks, 1);
	else
		/* tasks map full: this process escapes tracking; say so */
		__sync_fetch_and_add(&c->tasks_untracked, 1);
	return 0;
}

SEC("tp/sched/sched_process_fork")
int rl_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	return rl_forked(ctx, true);
}

/* rl_fork for kernels before 5.12; the agent loads one of the two. */
SEC("tp/sched/sched_process_fork")
int rl_fork_plain(struct trace_event_raw_sched_process_fork *ctx)
{
	return rl_forked(ctx, false);
}

/* A child returns from fork, vfork, clone or clone3 through these, with 0:
 * the first moment it is current, and the last before its own code runs.
 * Syscall tracepoints slow every system call on the host while attached,
 * so rlbpfd attaches these only while a container's --pids-limit is kept
 * here (agent/programs.c). */
static __always_inline int rl_child_returns(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (ret != 0 || !bpf_map_lookup_elem(&pids_refused, &tid))
		return 0;
	bpf_map_delete_elem(&pids_refused, &tid);
	bpf_send_signal_thread(RL_SIGKILL);
	return 0;
}

SEC("tp/syscalls/sys_exit_clone")
int rl_exit_clone(struct trace_event_raw_sys_exit *ctx)
{
	return rl_child_returns(ctx->ret);
}

SEC("tp/syscalls/sys_exit_clone3")
int rl_exit_clone3(struct trace_event_raw_sys_exit *ctx)
{
	return rl_child_returns(ctx->ret);
}

SEC("tp/syscalls/sys_exit_fork")
int rl_exit_fork(struct trace_event_raw_sys_exit *ctx)
{
	return rl_child_returns(ctx->ret);
}

SEC("tp/syscalls/sys_exit_vfork")
int rl_exit_vfork(struct trace_event_raw_sys_exit *ctx)
{
	return rl_child_returns(ctx->ret);
}

SEC("tp/sched/sched_process_exec")
int rl_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct rl_container *c;
	struct rl_event *e;
	__u64 cid;

	c = rl_current_container(&cid);
	if (!c)
		return 0;
	e = rl_event_reserve(exec, RL_EV_EXEC, cid, c);
	if (!e)
		return 0;
	/* __data_loc: low 16 bits are the offset of the string in the record */
	bpf_probe_read_kernel_str(e->u.exec.filename, sizeof(e->u.exec.filename),
				  (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	rl_event_submit(e);
	return 0;
}

static __always_inline bool
rl_group_dead(struct trace_event_raw_sched_process_exit *ctx,
	      struct task_struct *task)
{
	/* 6.16+ passes it; before, signal->live has already been decremented
	 * when the tracepoint fires */
	if (bpf_core_field_exists(ctx->group_dead))
		return ctx->group_dead;
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}

SEC("tp/sched/sched_process_exit")
int rl_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct rl_container *c;
	struct rl_event *e;
	__u64 cid;

	c = rl_current_container(&cid);
	if (c) {
		/* what docker stats calls PIDS, and the CPU time that would
		 * otherwise leave with the task */
		__sync_fetch_and_add(&c->nr_threads, -1);
		__sync_fetch_and_add(&c->cpu_exited_ns, BPF_CORE_READ(task, se.sum_exec_runtime));
	}
	if (tid != tgid)
		rl_task_forget(tid); /* a thread taken for a process at fork */
	if (!rl_group_dead(ctx, task))
		return 0;
	c = rl_current_container(&cid);
	if (!c) {
		rl_task_forget(tgid); /* its container is gone: just clean up */
		return 0;
	}
	e = rl_event_reserve(exit, RL_EV_EXIT, cid, c);
	if (e) {
		/* what wait() will report: wait_task_zombie()'s choice */
		if (BPF_CORE_READ(task, signal, flags) & RL_SIGNAL_GROUP_EXIT)
			e->u.exit.status = BPF_CORE_READ(task, signal, group_exit_code);
		else
			e->u.exit.status = BPF_CORE_READ(task, exit_code);
		e->u.exit.flags = RL_EXIT_GROUP_DEAD;
		rl_event_submit(e);
	}
	rl_task_forget(tgid);
	return 0;
}
