/* Maps: the containers the agent registered, which host processes belong to
 * them, and the ring buffer events leave by. Layouts live in events.h. */
#pragma once

/* container id -> limits set by the agent and counters kept by BPF */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct rl_container);
} containers SEC(".maps");

/* host tgid -> container id. The agent inserts a container's init; every
 * process forked from a member is a member (sched.bpf.h). Keyed by process,
 * not thread, so a container with many threads costs one entry per process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_TASKS);
	__type(key, __u32);
	__type(value, __u64);
} tasks SEC(".maps");

/* host tid of a task born past its container's pids_limit -> its container;
 * it is killed when it first returns to user space (sched.bpf.h). LRU: a
 * task that never gets there leaves nothing behind for good. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RL_MAX_PENDING);
	__type(key, __u32);
	__type(value, __u64);
} pids_refused SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RL_RINGBUF_BYTES);
} events SEC(".maps");

/* host tid -> ids before a set*id call (setid.bpf.h). LRU: a task killed
 * between enter and exit leaves an entry that ages out instead of leaking. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RL_MAX_PENDING);
	__type(key, __u32);
	__type(value, struct rl_setid_pending);
} setid_pending SEC(".maps");

/* host tid -> address of a privileged bind() in flight (bind.bpf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, RL_MAX_PENDING);
	__type(key, __u32);
	__type(value, struct rl_bind_pending);
} bind_pending SEC(".maps");

/* (host uid, port, proto) -> ports.conf line that grants it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RL_MAX_PORT_RULES);
	__type(key, struct rl_port_key);
	__type(value, __u32);
} port_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_stats);
} stats SEC(".maps");
