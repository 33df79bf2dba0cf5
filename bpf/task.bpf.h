/* What a task is, seen from inside its container: its pid in its own pid
 * namespace, its uid in its own user namespace, the container it belongs to;
 * and the common event header built from those. */
#pragma once

/* The process (thread group) of task, numbered by its own pid namespace. */
static __always_inline __u32 rl_task_ns_tgid(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	/* numbers[] has level + 1 entries; the last is the innermost namespace,
	 * the one the task itself lives in. */
	if (bpf_core_read(&up, sizeof(up), &pid->numbers[level]))
		return 0;
	return up.nr;
}

/* How many ids a user namespace's map scans at most. The kernel allows 340
 * extents; rootless containers write two (the user, then a subuid range). */
#define RL_IDMAP_SCAN 16

/* map_id_up(): the id inside the namespace for a host (kernel) id. Up to the
 * kernel's inline extent[] count the extents sit in the map itself; beyond
 * it they live in a separate array at map->forward. */
static __always_inline __u32 rl_id_to_ns(struct uid_gid_map *map, __u32 id)
{
	__u32 nr = BPF_CORE_READ(map, nr_extents);
	__u32 inline_max = bpf_core_field_size(map->extent) /
			   sizeof(struct uid_gid_extent);
	struct uid_gid_extent *ext = nr <= inline_max ? &map->extent[0]
						      : BPF_CORE_READ(map, forward);

	for (__u32 i = 0; i < RL_IDMAP_SCAN; i++) {
		struct uid_gid_extent e;

		if (i >= nr)
			break;
		if (bpf_probe_read_kernel(&e, sizeof(e), ext + i))
			break;
		if (id >= e.lower_first && id - e.lower_first < e.count)
			return e.first + (id - e.lower_first);
	}
	return RL_ID_UNMAPPED;
}

/* The container of process tgid, or NULL when it is not in one. */
static __always_inline struct rl_container *rl_container_of(__u32 tgid, __u64 *cid)
{
	__u64 *id = bpf_map_lookup_elem(&tasks, &tgid);

	if (!id)
		return NULL;
	*cid = *id;
	return bpf_map_lookup_elem(&containers, cid);
}

/* The container of the current process, or NULL when it is not in one. */
static __always_inline struct rl_container *rl_current_container(__u64 *cid)
{
	return rl_container_of(bpf_get_current_pid_tgid() >> 32, cid);
}

/* A failed reservation is counted where the agent looks for it: in the
 * container, or for host-wide events (c == NULL) in the stats map. */
static __always_inline void rl_count_lost(struct rl_container *c)
{
	__u32 zero = 0;
	struct rl_stats *s;

	if (c) {
		__sync_fetch_and_add(&c->events_lost, 1);
		return;
	}
	s = bpf_map_lookup_elem(&stats, &zero);
	if (s)
		__sync_fetch_and_add(&s->host_events_lost, 1);
}

/* Reserves an event of the size its payload needs, zeroed, with the header
 * filled in for the current task. On a full ring buffer it counts the loss
 * in the container (c may be NULL for a host-wide event), where the agent
 * turns it into a "lost" event. */
static __always_inline struct rl_event *
rl_event_reserve_(__u32 size, __u32 type, __u64 cid, struct rl_container *c)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct rl_event *e = bpf_ringbuf_reserve(&events, size, 0);
	__u32 euid;

	if (!e) {
		rl_count_lost(c);
		return NULL;
	}
	/* ring-buffer memory is not cleared between uses: zero padding and
	 * the unused tail of strings so no stale bytes reach userspace */
	__builtin_memset(e, 0, size);
	euid = BPF_CORE_READ(task, cred, euid.val);
	e->hdr.type = type;
	e->hdr.size = size;
	e->hdr.container_id = cid;
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.host_pid = bpf_get_current_pid_tgid() >> 32;
	e->hdr.ns_pid = rl_task_ns_tgid(task);
	e->hdr.host_uid = euid;
	e->hdr.ns_uid = rl_id_to_ns(&BPF_CORE_READ(task, cred, user_ns)->uid_map, euid);
	bpf_get_current_comm(e->hdr.comm, sizeof(e->hdr.comm));
	return e;
}

/* Hands an event to the agent. Waking the agent for every event costs a
 * context switch per event (for a loop of denied binds, more than the bind
 * itself), so the ring wakes it only once an eighth of it is full; the
 * agent also drains it on its timer, which bounds the delay of a lone event
 * to one tick. */
static __always_inline void rl_event_submit(void *e)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, avail >= RL_RINGBUF_BYTES / 8 ? BPF_RB_FORCE_WAKEUP
							     : BPF_RB_NO_WAKEUP);
}

/* member names the union member of struct rl_event the payload goes in. */
#define rl_event_reserve(member, type, cid, c)                                 \
	rl_event_reserve_(RL_EVENT_SIZE(member), type, cid, c)

/* Drops a process from the tasks map, keeping the container's count. */
static __always_inline void rl_task_forget(__u32 tgid)
{
	__u64 *id = bpf_map_lookup_elem(&tasks, &tgid);
	struct rl_container *c;
	__u64 cid;

	if (!id)
		return;
	cid = *id;
	if (bpf_map_delete_elem(&tasks, &tgid))
		return; /* another CPU got there first and counted it */
	c = bpf_map_lookup_elem(&containers, &cid);
	if (c)
		__sync_fetch_and_add(&c->nr_tasks, -1);
}
