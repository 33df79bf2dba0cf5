/* The agent's wire protocol, shared by rlbpfd and rlbpf: framing, message
 * layouts, and a decoder that trusts nothing it is given.
 *
 * Framing: every message is a 16-byte header (struct rl_msg_hdr: magic
 * "RLBP", version, type, payload length, sequence number) followed by
 * exactly `len` payload bytes. Integers are in host byte order (a local
 * socket: both ends run on this machine). Payloads are fixed layouts per
 * type, so the decoder checks lengths exactly, strings for a NUL inside their
 * field, ids for hex, and flags for unknown bits; anything else is refused
 * before a field is looked at. A peer that speaks another version gets an
 * error reply naming both versions, then the connection is closed. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define RL_PROTO_MAGIC 0x50424c52u /* "RLBP" in little-endian memory */
#define RL_PROTO_VERSION 1
#define RL_PROTO_MAX_PAYLOAD 4096 /* bigger frames are refused unread */

/* Requests (client -> agent) */
#define RL_MSG_REGISTER 1
#define RL_MSG_SUBSCRIBE 2
#define RL_MSG_STATS 3
#define RL_MSG_JOIN 4
#define RL_MSG_IDMAP 5
/* Answers and events (agent -> client) */
#define RL_MSG_REPLY 0x81
#define RL_MSG_EVENT 0x82
#define RL_MSG_STATS_REPLY 0x83

#define RL_ID_LEN 72    /* container id: 64 hex digits, NUL-padded */
#define RL_NAME_LEN 128 /* container name, NUL-terminated */
#define RL_MSG_TEXT 240 /* reply text */
#define RL_SUB_MAX_IDS 16

struct rl_msg_hdr {
	uint32_t magic;   /* RL_PROTO_MAGIC */
	uint16_t version; /* RL_PROTO_VERSION */
	uint16_t type;    /* RL_MSG_* */
	uint32_t len;     /* payload bytes after this header */
	uint32_t seq;     /* chosen by the requester, echoed in the reply */
};

/* REGISTER: make a running container known. The agent checks that init_pid
 * is a process of the caller's, in a user namespace the caller owns, with
 * this inode. */
#define RL_REG_EBPF 0x1   /* --memory-enforce=ebpf: the eBPF cap, never a cgroup */
#define RL_REG_CGROUP 0x2 /* --memory-enforce=cgroup: a cgroup, or refuse */
#define RL_REG_OWN_CGROUP 0x4 /* it has a cgroup of its own (delegated v2): make none */
/* init has started no process yet (it waits for the answer): no search of
 * the host's processes for members. Said wrongly, only the caller's own
 * processes stay out of its own container's accounting. */
#define RL_REG_FRESH 0x8
#define RL_REG_FLAGS (RL_REG_EBPF | RL_REG_CGROUP | RL_REG_OWN_CGROUP | RL_REG_FRESH)
struct rl_msg_register {
	uint32_t init_pid;  /* host pid of the container's init */
	uint32_t flags;     /* RL_REG_*; not both EBPF and CGROUP */
	uint64_t userns_ino;
	char id[RL_ID_LEN];     /* rlbpf's 64-hex container id */
	char name[RL_NAME_LEN]; /* its name */
	uint64_t mem_cap_bytes; /* --memory; 0: none. RL_MEM_CAP_MIN at least */
	uint32_t pids_limit;    /* --pids-limit; 0: none */
	uint32_t cpu_millis;    /* --cpus x 1000; 0: none */
};
#define RL_MEM_CAP_MIN (6ULL << 20)
#define RL_CPU_MILLIS_MAX (1024u * 1000) /* 1024 cpus */
#define RL_PIDS_LIMIT_MAX 4194304 /* PID_MAX_LIMIT */

/* SUBSCRIBE: turn this connection into a stream of EVENT messages. With
 * n_ids == 0, the caller's containers, those registered later included;
 * RL_SUB_ALL (root only) every event on the host. */
#define RL_SUB_ALL 0x1
#define RL_SUB_FLAGS RL_SUB_ALL
struct rl_msg_subscribe {
	uint32_t flags;
	uint32_t event_mask; /* bit (1 << RL_EV_*); 0 means all; lost always */
	uint32_t n_ids;      /* <= RL_SUB_MAX_IDS entries follow */
	uint32_t pad;
	char ids[RL_SUB_MAX_IDS][RL_ID_LEN];
};
#define RL_SUBSCRIBE_SIZE(n) (offsetof(struct rl_msg_subscribe, ids) + (size_t)(n)*RL_ID_LEN)

/* STATS: the counters of one container */
struct rl_msg_stats {
	char id[RL_ID_LEN];
};

/* JOIN: a process of the caller's, started in a registered container's
 * user namespace (rlbpf exec), joins its cgroups and its accounting. */
struct rl_msg_join {
	uint32_t pid;  /* host pid */
	uint32_t pad;  /* 0 */
	char id[RL_ID_LEN];
};

/* IDMAP: the agent writes the uid_map and gid_map of a process of the
 * caller's that has just made its user namespace, with the checks that
 * newuidmap and newgidmap make, so that no setuid helper runs per
 * container. Each line maps `count` ids from `inner` (in the namespace) to
 * `outer` (on the host). */
#define RL_IDMAP_MAX_LINES 5 /* the kernel's limit before 4.15 */
struct rl_idmap_line {
	uint32_t inner, outer, count;
};
struct rl_msg_idmap {
	uint32_t pid;   /* host pid */
	uint32_t n_uid; /* 1..RL_IDMAP_MAX_LINES */
	uint32_t n_gid;
	uint32_t pad;   /* 0 */
	struct rl_idmap_line uid[RL_IDMAP_MAX_LINES], gid[RL_IDMAP_MAX_LINES];
};

struct rl_msg_reply {
	int32_t status; /* 0, or a negative errno */
	uint32_t enforcer; /* REGISTER: RL_ENFORCER_* that keeps its limits */
	uint64_t cid;   /* REGISTER: the agent's key for the container */
	char text[RL_MSG_TEXT]; /* what went wrong, and what to do */
};

#define RL_STATS_OOM_KILLED 0x1 /* it passed its memory cap and was killed */
#define RL_STATS_ENDED 0x2      /* its last process is gone; counters are final */
#define RL_STATS_BY_CGROUP 0x4  /* the counters are the kernel's, from its cgroups */
struct rl_msg_stats_reply {
	char id[RL_ID_LEN];
	char name[RL_NAME_LEN];
	uint32_t owner_uid;
	uint32_t init_pid;
	uint64_t nr_tasks;        /* processes */
	uint64_t events_lost;
	uint64_t tasks_untracked;
	uint64_t rss_bytes;
	uint64_t rss_peak_bytes;
	uint64_t mem_cap_bytes;   /* 0: none */
	uint64_t cpu_ns;          /* CPU time of all its tasks, live and exited */
	uint32_t nr_threads;      /* tasks, threads included */
	uint32_t pids_limit;      /* 0: none */
	uint32_t flags;           /* RL_STATS_* */
	uint32_t pids_refused;    /* tasks killed at birth by pids_limit */
};

/* EVENT: what the agent knows about the container, then the BPF event with
 * every id already translated (the container's view filled in). */
#define RL_META_ALERT 0x1 /* host uid 0 inside a rootless container */
struct rl_event_meta {
	uint64_t wall_ns;       /* CLOCK_REALTIME of the event */
	uint32_t owner_uid;     /* who registered the container; 0 for host events */
	uint32_t init_pid;      /* its init's host pid; 0 for host events */
	uint32_t flags;         /* RL_META_* */
	uint32_t pad;
	char id[RL_ID_LEN];     /* "" for host events */
	char name[RL_NAME_LEN];
};
#define RL_EVENT_MSG_MIN (sizeof(struct rl_event_meta) + sizeof(struct rl_event_header))
#define RL_EVENT_MSG_MAX (sizeof(struct rl_event_meta) + sizeof(struct rl_event))

/* A decoded message. */
struct rl_msg {
	struct rl_msg_hdr hdr;
	union {
		struct rl_msg_register reg;
		struct rl_msg_subscribe sub;
		struct rl_msg_stats stats;
		struct rl_msg_join join;
		struct rl_msg_idmap idmap;
		struct rl_msg_reply reply;
		struct rl_msg_stats_reply stats_reply;
		struct {
			struct rl_event_meta meta;
			struct rl_event ev;
		} event;
	} u;
};

_Static_assert(sizeof(struct rl_msg_hdr) == 16, "header layout");
_Static_assert(sizeof(struct rl_msg_register) == 232, "register layout");
_Static_assert(sizeof(struct rl_msg_stats_reply) == 280, "stats reply layout");
_Static_assert(sizeof(struct rl_msg_reply) == 256, "reply layout");
_Static_assert(sizeof(struct rl_msg_idmap) == 136, "idmap layout");
_Static_assert(sizeof(struct rl_event_meta) == 224, "meta layout");
_Static_assert(RL_SUBSCRIBE_SIZE(RL_SUB_MAX_IDS) <= RL_PROTO_MAX_PAYLOAD, "subscribe fits");
_Static_assert(RL_EVENT_MSG_MAX <= RL_PROTO_MAX_PAYLOAD, "event fits");

/* Decodes one message from the start of buf. Returns the number of bytes it
 * used (> 0) with *out filled; 0 when buf holds only part of a message (read
 * more); a negative errno when the bytes can never be a valid message:
 * -EPROTO bad magic, -EPROTONOSUPPORT another version, -EMSGSIZE a length
 * over the limit, -EBADMSG a payload that breaks its type's rules (wrong
 * size, unknown type or flags, unterminated string, bad id). */
int rl_proto_decode(const void *buf, size_t len, struct rl_msg *out);

/* Encodes a message of `type` with `payload` into buf; returns the frame's
 * size, or -EMSGSIZE when it does not fit in cap or the protocol's limit. */
int rl_proto_encode(void *buf, size_t cap, uint16_t type, uint32_t seq,
		    const void *payload, size_t len);

/* 1 when s is exactly 64 lowercase hex digits followed by NULs to RL_ID_LEN */
int rl_proto_valid_id(const char *s);

/* The event type's name in the trace ("exec", "setuid", "bind_denied", ...),
 * or NULL for an unknown type. */
const char *rl_event_name(uint32_t type);
/* The --events word that selects a type ("exec", "setuid", "idmap", "bind",
 * "mem", "oom", "exit"), or NULL for lost/unknown. */
const char *rl_event_group(uint32_t type);
/* Who keeps a memory limit, as inspect and the trace name it
 * (RL_ENFORCER_*): "none", "ebpf", "agent-cgroup", "cgroup2". */
const char *rl_enforcer_name(uint32_t enforcer);
/* Parses a comma-separated --events list into a mask of (1 << RL_EV_*);
 * -EINVAL with the bad word copied to bad. */
int rl_event_mask_parse(const char *list, uint32_t *mask, char *bad, size_t badlen);
