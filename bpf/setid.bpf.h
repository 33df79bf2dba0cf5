/* The set*uid/set*gid family, for container tasks: the ids before the call
 * (sys_enter) and after it (sys_exit), both read from the task's creds, so
 * they are host ids whatever the call's arguments meant. The agent translates
 * them into the container's view through its uid_map/gid_map. Classic
 * syscall tracepoints (kprobes, fentry and BPF LSM may all be missing);
 * while one is attached every system call on the host takes the kernel's
 * slow path, so rlbpfd attaches these only while a trace client listens
 * for setuid events (agent/programs.c). */
#pragma once

static __always_inline void rl_setid_ids(__u32 call, __u32 ids[3])
{
	struct task_struct *task = (void *)bpf_get_current_task();
	const struct cred *cred = BPF_CORE_READ(task, cred);

	switch (call) {
	case RL_SETID_SETGID:
	case RL_SETID_SETREGID:
	case RL_SETID_SETRESGID:
		ids[0] = BPF_CORE_READ(cred, gid.val);
		ids[1] = BPF_CORE_READ(cred, egid.val);
		ids[2] = BPF_CORE_READ(cred, sgid.val);
		break;
	case RL_SETID_SETFSGID:
		ids[0] = BPF_CORE_READ(cred, gid.val);
		ids[1] = BPF_CORE_READ(cred, egid.val);
		ids[2] = BPF_CORE_READ(cred, fsgid.val);
		break;
	case RL_SETID_SETFSUID:
		ids[0] = BPF_CORE_READ(cred, uid.val);
		ids[1] = BPF_CORE_READ(cred, euid.val);
		ids[2] = BPF_CORE_READ(cred, fsuid.val);
		break;
	default:
		ids[0] = BPF_CORE_READ(cred, uid.val);
		ids[1] = BPF_CORE_READ(cred, euid.val);
		ids[2] = BPF_CORE_READ(cred, suid.val);
		break;
	}
}

static __always_inline int rl_setid_enter(__u32 call)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rl_setid_pending p = { .call = call };
	__u64 cid;

	/* host processes are not traced: only container members pay */
	if (!rl_current_container(&cid))
		return 0;
	rl_setid_ids(call, p.old_id);
	bpf_map_update_elem(&setid_pending, &tid, &p, BPF_ANY);
	return 0;
}

static __always_inline int rl_setid_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rl_setid_pending *p = bpf_map_lookup_elem(&setid_pending, &tid);
	struct rl_setid_pending old;
	__u32 now[3];
	struct rl_container *c;
	struct rl_event *e;
	__u64 cid;

	if (!p)
		return 0;
	old = *p;
	bpf_map_delete_elem(&setid_pending, &tid);
	c = rl_current_container(&cid);
	if (!c)
		return 0;
	rl_setid_ids(old.call, now);
	e = rl_event_reserve(setid, RL_EV_SETID, cid, c);
	if (!e)
		return 0;
	e->u.setid.call = old.call;
	e->u.setid.ret = ret;
	for (int i = 0; i < 3; i++) {
		/* the agent fills .ns from the container's map */
		e->u.setid.old_id[i].host = old.old_id[i];
		e->u.setid.old_id[i].ns = RL_ID_UNMAPPED;
		e->u.setid.new_id[i].host = now[i];
		e->u.setid.new_id[i].ns = RL_ID_UNMAPPED;
	}
	rl_event_submit(e);
	return 0;
}

#define RL_SETID_PROGS(name, CALL)                                             \
	SEC("tp/syscalls/sys_enter_" #name)                                    \
	int rl_enter_##name(struct trace_event_raw_sys_enter *ctx)             \
	{                                                                      \
		return rl_setid_enter(CALL);                                   \
	}                                                                      \
	SEC("tp/syscalls/sys_exit_" #name)                                     \
	int rl_exit_##name(struct trace_event_raw_sys_exit *ctx)               \
	{                                                                      \
		return rl_setid_exit(ctx->ret);                                \
	}

RL_SETID_PROGS(setuid, RL_SETID_SETUID)
RL_SETID_PROGS(setreuid, RL_SETID_SETREUID)
RL_SETID_PROGS(setresuid, RL_SETID_SETRESUID)
RL_SETID_PROGS(setfsuid, RL_SETID_SETFSUID)
RL_SETID_PROGS(setgid, RL_SETID_SETGID)
RL_SETID_PROGS(setregid, RL_SETID_SETREGID)
RL_SETID_PROGS(setresgid, RL_SETID_SETRESGID)
RL_SETID_PROGS(setfsgid, RL_SETID_SETFSGID)
