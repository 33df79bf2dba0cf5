/* The one header shared by the BPF programs (bpf/) and userspace: the events
 * the ring buffer carries and the layouts of the maps the agent reads and
 * writes. Userspace never redeclares any of these; if a layout changes, it
 * changes here and both sides are rebuilt together (the skeleton embeds the
 * object, so they cannot drift apart at run time).
 *
 * Rules that keep one layout valid on both sides:
 * - only fixed-width __u8/__u16/__u32/__u64 (and __s32/__s64) fields, no
 *   pointers, no bool, no enums as field types (their size is the compiler's
 *   choice);
 * - every struct is padded by hand to a multiple of 8 bytes, and the sizes are
 *   asserted below, so a mistake fails the build rather than the decoder.
 *
 * In BPF, vmlinux.h (included first by rlbpf.bpf.c) supplies the __u32 family;
 * in userspace <linux/types.h> does. */
#pragma once

#if defined(__bpf__) || defined(__BPF__)
/* types come from vmlinux.h */
#else
#include <linux/types.h>
#endif

#define RL_COMM_LEN 16      /* TASK_COMM_LEN */
#define RL_FILENAME_LEN 256 /* exec's filename, truncated, NUL-terminated */
#define RL_IDMAP_MAX 8      /* extents carried by one idmap event */
#define RL_ID_UNMAPPED 0xffffffffu /* a host id the container cannot name */

/* Event types. Numbers are part of the agent's protocol: append only. */
#define RL_EV_EXEC 1
#define RL_EV_SETID 2 /* "setuid" in the event table: set*uid and set*gid */
#define RL_EV_IDMAP 3
#define RL_EV_BIND_DENIED 4
#define RL_EV_BIND_GRANTED 5
#define RL_EV_MEM_PRESSURE 6
#define RL_EV_OOM_KILL 7
#define RL_EV_EXIT 8
/* Made by the agent, never by BPF: when a container's events_lost counter
 * (struct rl_container) grows, the agent reports the difference. Counting in
 * the map is exact; a BPF program that fails to reserve ring-buffer space has
 * no room to report that it failed. */
#define RL_EV_LOST 9
#define RL_EV_MAX 9

/* Every event starts with this. "host" is as the init namespaces see it,
 * "ns" as the task itself sees it (its pid and user namespaces). */
struct rl_event_header {
	__u32 type;         /* RL_EV_* */
	__u32 size;         /* bytes of the whole event, header included */
	__u64 container_id; /* key of the containers map */
	__u64 ts_ns;        /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 host_pid;     /* thread-group id in the initial pid namespace */
	__u32 ns_pid;       /* the same process in its own pid namespace */
	__u32 host_uid;     /* effective uid, as the host sees it */
	__u32 ns_uid;       /* that uid inside its user namespace, or RL_ID_UNMAPPED */
	char comm[RL_COMM_LEN];
};

struct rl_ev_exec {
	char filename[RL_FILENAME_LEN]; /* as passed to execve(), truncated */
};

/* set*uid/set*gid family: which call, and the ids before and after. */
#define RL_SETID_SETUID 1
#define RL_SETID_SETREUID 2
#define RL_SETID_SETRESUID 3
#define RL_SETID_SETFSUID 4
#define RL_SETID_SETGID 5
#define RL_SETID_SETREGID 6
#define RL_SETID_SETRESGID 7
#define RL_SETID_SETFSGID 8

struct rl_id_pair {
	__u32 ns;   /* as the container sees it, or RL_ID_UNMAPPED */
	__u32 host; /* as the host sees it */
};

struct rl_ev_setid {
	__u32 call; /* RL_SETID_*: uids for *UID calls, gids for *GID calls */
	__s32 ret;  /* the syscall's return value */
	/* [0] real, [1] effective, [2] saved set-id (fs id for setfs*id) */
	struct rl_id_pair old_id[3];
	struct rl_id_pair new_id[3];
};

#define RL_IDMAP_UID 1
#define RL_IDMAP_GID 2

struct rl_idmap_extent {
	__u32 ns_first;   /* first id inside the namespace */
	__u32 host_first; /* first id outside (in the parent namespace) */
	__u32 count;
	__u32 pad;
};

struct rl_ev_idmap {
	__u32 which;       /* RL_IDMAP_UID or RL_IDMAP_GID */
	__u32 nr_extents;  /* as written; may exceed RL_IDMAP_MAX */
	__u64 userns_ino;  /* the user namespace whose map was written */
	__u32 target_host_pid; /* whose /proc/PID/uid_map (gid_map) was written */
	__u32 pad;
	struct rl_idmap_extent extents[RL_IDMAP_MAX]; /* first RL_IDMAP_MAX */
};

struct rl_ev_bind {
	__u16 family;        /* AF_INET or AF_INET6 */
	__u16 port;          /* host byte order */
	__s32 ret;           /* bind()'s return (-EACCES for bind_denied) */
	__u8 addr[16];       /* IPv4 in the first 4 bytes, network byte order */
	__u32 unpriv_port_start; /* net.ipv4.ip_unprivileged_port_start */
	__u32 rule;          /* bind_granted: index of the policy rule; else 0 */
};

/* Who keeps a container's limits (rl_ev_mem.enforcer, inspect's
 * Rlbpf.Enforcement). */
#define RL_ENFORCER_NONE 0
#define RL_ENFORCER_EBPF 1         /* rlbpfd's eBPF cap */
#define RL_ENFORCER_AGENT_CGROUP 2 /* cgroups rlbpfd made: the kernel */
#define RL_ENFORCER_CGROUP2 3      /* the user's delegated cgroup v2: the kernel */

struct rl_ev_mem {
	__u64 rss_bytes; /* the container's memory at the time (the kernel's
			  * usage where a cgroup keeps the cap) */
	__u64 cap_bytes; /* its memory cap */
	__u32 percent;   /* mem_pressure: threshold crossed (50, 75, 90) */
	__u32 victim_host_pid; /* oom_kill: the process killed */
	__u32 victim_ns_pid;
	__u32 signal;    /* oom_kill: the signal sent (SIGKILL) */
	__u32 enforcer;  /* RL_ENFORCER_*: who acted */
	__u32 victim_uid; /* oom_kill: the victim's uid as the host sees it */
	__u32 victim_ns_uid; /* and inside (the agent fills it in) */
	__u32 pad;
};

struct rl_ev_exit {
	__u32 status; /* as waitpid() would report it: use WIFEXITED() etc. */
	__u32 flags;  /* RL_EXIT_* */
};

#define RL_EXIT_GROUP_DEAD 0x1 /* the last thread: the process is gone */

struct rl_ev_lost {
	__u64 count; /* events dropped since the previous lost event */
};

struct rl_event {
	struct rl_event_header hdr;
	union {
		struct rl_ev_exec exec;
		struct rl_ev_setid setid;
		struct rl_ev_idmap idmap;
		struct rl_ev_bind bind;  /* bind_denied, bind_granted */
		struct rl_ev_mem mem;    /* mem_pressure, oom_kill */
		struct rl_ev_exit exit;
		struct rl_ev_lost lost;
	} u;
};

/* Events are only as long as their payload: an exit does not carry an exec's
 * 256-byte filename through the ring buffer. hdr.size says how long. */
#define RL_EVENT_SIZE(member)                                                  \
	(__builtin_offsetof(struct rl_event, u) +                              \
	 sizeof(((struct rl_event *)0)->u.member))

/* ---- maps (the agent writes limits, BPF writes counters) ---- */

/* containers: key __u64 container id -> value struct rl_container. */
struct rl_container {
	/* set by the agent when it registers the container */
	__u64 mem_cap_bytes; /* 0: no cap */
	__u64 userns_ino;    /* the container's user namespace, for cross-checks */
	__u32 init_host_pid; /* the registered init, root of fork inheritance */
	__u32 pids_limit;    /* tasks (threads included) at most; 0: no limit */
	/* written by BPF; the agent only reads */
	__u64 rss_bytes;      /* resident set of its processes, each mm counted once */
	__u64 rss_peak_bytes;
	__u64 nr_tasks;       /* entries in the tasks map naming this container */
	__u64 events_lost;    /* ring-buffer reservations that failed */
	__u32 pressure_pct;   /* mem_pressure threshold it is above (0, 50, 75, 90) */
	__u32 tasks_untracked; /* forks missed: the tasks map was full */
	__u32 nr_threads;     /* live tasks, threads included (docker stats' PIDS) */
	__u32 oom;            /* RL_OOM_*: the cap was passed */
	__u64 cpu_exited_ns;  /* CPU time of its tasks that have exited */
	__u32 oom_victim_pid; /* host pid killed in the kernel when it passed */
	__u32 pids_refused;   /* tasks killed at birth by pids_limit */
	/* copy-on-write after fork, which no RSS counter shows (mem.bpf.h) */
	__s64 cow_shared_pages; /* pages forked processes still share */
	__s64 cow_extra_pages;  /* copies made by the processes they share with */
	/* shmem, counted once: the most one process maps */
	__s64 shmem_max_pages;
	__u32 shmem_max_tgid;   /* the process that maps them */
	__u32 pad;
};

#define RL_OOM_PASSED 0x1 /* set once by BPF; the agent kills the rest */
#define RL_OOM_HANDLED 0x2 /* set by the agent once it has killed the rest */

/* tasks: key __u32 host tgid -> value __u64 container id. */

/* setid_pending: key __u32 host tid -> the ids before a set*id call, kept
 * from sys_enter to sys_exit. */
struct rl_setid_pending {
	__u32 call;       /* RL_SETID_* */
	__u32 old_id[3];  /* host ids: real, effective, saved (fs for setfs*id) */
};

/* bind_pending: key __u32 host tid -> the address of a bind() below the
 * netns's unprivileged port start, kept from sys_enter to sys_exit. */
struct rl_bind_pending {
	__u16 family;
	__u16 port;
	__u32 unpriv_port_start;
	__u8 addr[16];
};

/* port_policy: which host uid may bind which privileged port without
 * CAP_NET_BIND_SERVICE. The agent fills it from /etc/rlbpf/ports.conf; a
 * group rule (@www) is expanded to its members' uids. */
struct rl_port_key {
	__u32 uid;    /* host uid */
	__u16 port;   /* host byte order */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};
/* value: __u32, the 1-based line number of the rule in ports.conf */

/* stats: one-element array of counters not tied to a container. */
struct rl_stats {
	__u64 host_events_lost; /* ring reservations failed for host events */
	__u64 pad[3];
};

#define RL_MAX_PORT_RULES 4096
#define RL_MAX_PENDING 8192
#define RL_MAX_CONTAINERS 1024
#define RL_MAX_TASKS 65536
#define RL_RINGBUF_BYTES (1u << 20)

_Static_assert(sizeof(struct rl_event_header) == 56, "event header layout");
_Static_assert(sizeof(struct rl_ev_setid) == 56, "setid layout");
_Static_assert(sizeof(struct rl_ev_idmap) == 24 + 16 * RL_IDMAP_MAX, "idmap layout");
_Static_assert(sizeof(struct rl_ev_bind) == 32, "bind layout");
_Static_assert(sizeof(struct rl_ev_mem) == 48, "mem layout");
_Static_assert(sizeof(struct rl_ev_exit) == 8, "exit layout");
_Static_assert(sizeof(struct rl_container) == 120, "container layout");
_Static_assert(sizeof(struct rl_setid_pending) == 16, "setid pending layout");
_Static_assert(sizeof(struct rl_bind_pending) == 24, "bind pending layout");
_Static_assert(sizeof(struct rl_port_key) == 8, "port key layout");
_Static_assert(__builtin_offsetof(struct rl_event, u) == 56, "payload offset");
