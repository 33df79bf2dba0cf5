/* Privileged binds. bind_denied: the syscalls tracepoints pair sys_enter_bind
 * (the address, read from the caller's memory) with sys_exit_bind (-EACCES),
 * host-wide, for ports below the caller's netns's ip_unprivileged_port_start;
 * attached only while a trace client listens for bind events, as the setid
 * programs are.
 * bind_granted: a cgroup/bind4 and bind6 program on the cgroup2 root lets a
 * bind through without CAP_NET_BIND_SERVICE when the port policy grants the
 * port to the caller's host uid. */
#pragma once

#define RL_AF_INET 2
#define RL_AF_INET6 10
#define RL_EACCES 13
#define RL_PRIV_PORT_MAX 1024 /* the kernel's default ip_unprivileged_port_start */
/* bpf_sock_addr's return: allow, and skip the CAP_NET_BIND_SERVICE check */
#define RL_BIND_ALLOW 1
#define RL_BIND_NO_CAP 2

SEC("tp/syscalls/sys_enter_bind")
int rl_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	const void *uaddr = (const void *)ctx->args[1];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rl_bind_pending p = {};
	__u16 port_be;
	int start;

	/* port first: most binds are of port 0 (an ephemeral port), and leave
	 * before anything else is read (sin_port and sin6_port are both at 2) */
	if (bpf_probe_read_user(&port_be, sizeof(port_be), uaddr + 2) || port_be == 0)
		return 0;
	p.port = bpf_ntohs(port_be);
	if (bpf_probe_read_user(&p.family, sizeof(p.family), uaddr))
		return 0;
	if (p.family != RL_AF_INET && p.family != RL_AF_INET6)
		return 0;
	start = BPF_CORE_READ(task, nsproxy, net_ns, ipv4.sysctl_ip_prot_sock);
	/* only binds that need the privilege are worth the map update */
	if (p.port == 0 || start <= 0 || p.port >= start)
		return 0;
	p.unpriv_port_start = start;
	if (p.family == RL_AF_INET)
		bpf_probe_read_user(p.addr, 4, uaddr + 4);
	else
		bpf_probe_read_user(p.addr, 16, uaddr + 8);
	bpf_map_update_elem(&bind_pending, &tid, &p, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_bind")
int rl_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rl_bind_pending *pp = bpf_map_lookup_elem(&bind_pending, &tid);
	struct rl_bind_pending p;
	struct rl_container *c;
	struct rl_event *e;
	__u64 cid = 0;

	if (!pp)
		return 0;
	p = *pp;
	bpf_map_delete_elem(&bind_pending, &tid);
	if (ctx->ret != -RL_EACCES)
		return 0;
	c = rl_current_container(&cid);
	if (!c)
		cid = 0; /* a host process: root's `trace --all` sees it */
	e = rl_event_reserve(bind, RL_EV_BIND_DENIED, cid, c);
	if (!e)
		return 0;
	e->u.bind.family = p.family;
	e->u.bind.port = p.port;
	e->u.bind.ret = ctx->ret;
	__builtin_memcpy(e->u.bind.addr, p.addr, sizeof(p.addr));
	e->u.bind.unpriv_port_start = p.unpriv_port_start;
	rl_event_submit(e);
	return 0;
}

/* cgroup programs may not call bpf_get_current_task(), so this event's
 * header is filled from the helpers they have; the agent adds the
 * container-side pid and uid. */
static __always_inline int rl_bind_policy(struct bpf_sock_addr *ctx, __u16 family)
{
	__u64 uid_gid = bpf_get_current_uid_gid();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct rl_port_key key = {
		.uid = (__u32)uid_gid,
		.port = bpf_ntohs((__u16)ctx->user_port),
		.proto = ctx->protocol,
	};
	struct rl_container *c = NULL;
	struct rl_event *e;
	__u64 cid = 0, *id;
	__u32 *rule;

	if (key.port == 0 || key.port >= RL_PRIV_PORT_MAX)
		return RL_BIND_ALLOW;
	rule = bpf_map_lookup_elem(&port_policy, &key);
	if (!rule)
		return RL_BIND_ALLOW; /* default: the kernel's own check decides */
	id = bpf_map_lookup_elem(&tasks, &tgid);
	if (id) {
		cid = *id;
		c = bpf_map_lookup_elem(&containers, &cid);
		if (!c)
			cid = 0;
	}
	e = bpf_ringbuf_reserve(&events, RL_EVENT_SIZE(bind), 0);
	if (!e) {
		rl_count_lost(c);
	} else {
		__builtin_memset(e, 0, RL_EVENT_SIZE(bind));
		e->hdr.type = RL_EV_BIND_GRANTED;
		e->hdr.size = RL_EVENT_SIZE(bind);
		e->hdr.container_id = cid;
		e->hdr.ts_ns = bpf_ktime_get_ns();
		e->hdr.host_pid = tgid;
		e->hdr.host_uid = key.uid;
		e->hdr.ns_uid = RL_ID_UNMAPPED;
		bpf_get_current_comm(e->hdr.comm, sizeof(e->hdr.comm));
		e->u.bind.family = family;
		e->u.bind.port = key.port;
		e->u.bind.rule = *rule;
		if (family == RL_AF_INET) {
			__u32 a = ctx->user_ip4;
			__builtin_memcpy(e->u.bind.addr, &a, 4);
		} else {
			__u32 a[4];
			a[0] = ctx->user_ip6[0];
			a[1] = ctx->user_ip6[1];
			a[2] = ctx->user_ip6[2];
			a[3] = ctx->user_ip6[3];
			__builtin_memcpy(e->u.bind.addr, a, 16);
		}
		e->u.bind.unpriv_port_start = RL_PRIV_PORT_MAX;
		rl_event_submit(e);
	}
	return RL_BIND_ALLOW | RL_BIND_NO_CAP;
}

SEC("cgroup/bind4")
int rl_bind4(struct bpf_sock_addr *ctx)
{
	return rl_bind_policy(ctx, RL_AF_INET);
}

SEC("cgroup/bind6")
int rl_bind6(struct bpf_sock_addr *ctx)
{
	return rl_bind_policy(ctx, RL_AF_INET6);
}
