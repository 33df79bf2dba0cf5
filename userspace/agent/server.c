/* rlbpfd's loop. Every client is hostile until proven otherwise:
 * - the socket is non-blocking both ways; a client that does not read gets
 *   its events dropped (and later a "lost" event saying how many), one that
 *   does not even read its replies is disconnected: nobody stalls the loop;
 * - a request is decoded only from the bytes received (agent_proto.c), and a
 *   malformed one ends that connection, nothing else;
 * - limits: RL_MAX_CLIENTS connections, RL_MAX_CLIENTS_PER_UID per user,
 *   RL_MAX_CONTAINERS_PER_UID registrations per user, one frame at most
 *   RL_PROTO_MAX_PAYLOAD, a half-sent frame or an idle unsubscribed
 *   connection is closed after CLIENT_IDLE_SEC;
 * - authority comes from SO_PEERCRED only, never from what a client says. */
#include "agent/server.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroups.h"
#include "agent/idmap_writer.h"
#include "agent/programs.h"
#include "agent/policy.h"
#include "proto/agent_proto.h"
#include "agent/registry.h"
#include "lib/bpf_features.h"
#include "lib/cleanup.h"

#define RL_MAX_CLIENTS 128
#define RL_MAX_CLIENTS_PER_UID 16
#define RL_MAX_CONTAINERS_PER_UID 128
#define CLIENT_OUT_CAP (512u * 1024) /* queued bytes before events are dropped */
#define CLIENT_IDLE_SEC 10
#define TICK_MS 100 /* also the longest a lone event waits in the ring */
#define DEAD_GRACE_SEC 30 /* a container's init gone this long: forgotten */

#define LOG(...) (fprintf(stderr, "rlbpfd: " __VA_ARGS__), fputc('\n', stderr))

struct client {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	unsigned char in[sizeof(struct rl_msg_hdr) + RL_PROTO_MAX_PAYLOAD];
	size_t in_len;
	unsigned char *out;
	size_t out_len, out_off;
	bool subscribed;
	uint32_t sub_flags, sub_mask, n_ids;
	char ids[RL_SUB_MAX_IDS][RL_ID_LEN];
	uint64_t dropped; /* events not queued since the last lost event */
	time_t last_active;
	bool dead;
	bool pending; /* queued events not yet handed to send() */
};

/* A container's last counters, kept a while after it ended: its supervisor
 * asks whether it was OOM-killed only once it has reaped it. */
#define ENDED_KEEP 64
struct ended {
	char id[RL_ID_LEN];
	char name[RL_NAME_LEN];
	uid_t owner;
	struct rl_container last;
};

/* Cgroups of containers that ended while a process was still leaving
 * them: removed at a later tick. */
#define CG_RM_MAX 64
#define CG_RM_TICKS 600 /* one minute of tries */
struct cg_removal {
	char id[RL_ID_LEN];
	struct rl_cg_limits lim;
	unsigned tries; /* 0: slot free */
};

struct agent {
	int epfd, lfd, sfd, tfd;
	struct rl_cg_host cg;
	struct cg_removal cg_rm[CG_RM_MAX];
	/* per registry slot, -1: none. cgroup v1: the memory thresholds'
	 * eventfds; v2: memory.events and a PSI trigger (rl_cg_mem_signals) */
	int pressure_fd[RL_MAX_CONTAINERS][3];
	struct ended ended[ENDED_KEEP];
	size_t ended_next;
	struct rl_agent_bpf bpf;
	struct ring_buffer *rb;
	struct rl_registry reg;
	struct client *clients[RL_MAX_CLIENTS];
	uint64_t host_lost_seen;
	bool stop;
};

/* epoll data: small numbers are our own fds' roles (a memory cgroup's
 * thresholds from EP_PRESSURE on: registry slot x 3 + level), pointers are
 * clients */
enum { EP_LISTEN = 1, EP_SIGNAL, EP_TIMER, EP_RING, EP_PRESSURE = 0x100 };
#define EP_PRESSURE_END (EP_PRESSURE + RL_MAX_CONTAINERS * 3)
static const uint32_t pressure_levels[3] = {50, 75, 90};

static time_t now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- clients: output */

static void client_flush(struct agent *a, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			c->dead = true;
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	else if (c->out_off > CLIENT_OUT_CAP / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	struct epoll_event ev = {.events = EPOLLIN | (c->out_len ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(a->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queues a frame; false when it does not fit (the caller decides). */
static bool client_queue(struct client *c, uint16_t type, uint32_t seq, const void *p, size_t len)
{
	if (c->out_len - c->out_off + sizeof(struct rl_msg_hdr) + len > CLIENT_OUT_CAP)
		return false;
	if (c->out_len + sizeof(struct rl_msg_hdr) + len > CLIENT_OUT_CAP) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	int n = rl_proto_encode(c->out + c->out_len, CLIENT_OUT_CAP - c->out_len, type, seq, p, len);
	if (n < 0)
		return false;
	c->out_len += (size_t)n;
	return true;
}

__attribute__((format(printf, 5, 6))) static void
reply(struct agent *a, struct client *c, uint32_t seq, int status, const char *fmt, ...)
{
	struct rl_msg_reply r = {.status = status};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.text, sizeof(r.text), fmt, ap);
	va_end(ap);
	/* a client that does not read even its replies is gone for us */
	if (!client_queue(c, RL_MSG_REPLY, seq, &r, sizeof(r)))
		c->dead = true;
	else
		client_flush(a, c);
}

/* One frame into a fresh socket's empty buffer, never waited for: a busy
 * agent still tells the client why, so that a burst of starts can retry
 * instead of taking the silence for a dead agent. */
static void refuse_busy(int fd, bool all_slots)
{
	struct rl_msg_reply r = {.status = -EBUSY};
	snprintf(r.text, sizeof(r.text),
		 all_slots ? "busy: all %d connections are in use; retry, or stop some `rlbpf trace`"
			   : "busy: this user has %d connections open; retry, or stop some `rlbpf trace`",
		 all_slots ? RL_MAX_CLIENTS : RL_MAX_CLIENTS_PER_UID);
	unsigned char frame[sizeof(struct rl_msg_hdr) + sizeof(r)];
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_REPLY, 0, &r, sizeof(r));
	if (n > 0)
		(void)!send(fd, frame, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void programs_sync(struct agent *a);

static void client_close(struct agent *a, size_t i)
{
	struct client *c = a->clients[i];
	bool listened = c->subscribed;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	a->clients[i] = NULL;
	if (listened)
		programs_sync(a);
}

/* ---- events to subscribers */

static bool wants(const struct client *c, const struct rl_reg_entry *e, uint32_t type)
{
	if (!c->subscribed || c->dead)
		return false;
	if (type != RL_EV_LOST && c->sub_mask && !(c->sub_mask & (1u << type)))
		return false;
	if (c->sub_flags & RL_SUB_ALL)
		return c->uid == 0; /* checked at subscribe; again, cheaply */
	if (!e || (e->owner != c->uid && c->uid != 0))
		return false;
	if (c->n_ids == 0)
		return e->owner == c->uid;
	for (uint32_t i = 0; i < c->n_ids; i++)
		if (!strncmp(c->ids[i], e->id, RL_ID_LEN))
			return true;
	return false;
}

static void send_lost(struct agent *a, struct client *c, uint64_t count)
{
	unsigned char buf[sizeof(struct rl_event_meta) + RL_EVENT_SIZE(lost)];
	struct rl_event_meta meta = {.wall_ns = clock_ns(CLOCK_REALTIME)};
	struct rl_event ev = {0};
	(void)a;
	ev.hdr.type = RL_EV_LOST;
	ev.hdr.size = RL_EVENT_SIZE(lost);
	ev.hdr.ts_ns = clock_ns(CLOCK_MONOTONIC);
	ev.hdr.ns_uid = RL_ID_UNMAPPED;
	snprintf(ev.hdr.comm, sizeof(ev.hdr.comm), "rlbpfd");
	ev.u.lost.count = count;
	memcpy(buf, &meta, sizeof(meta));
	memcpy(buf + sizeof(meta), &ev, RL_EVENT_SIZE(lost));
	if (client_queue(c, RL_MSG_EVENT, 0, buf, sizeof(buf)))
		c->dropped = 0;
}

static void dispatch(struct agent *a, const struct rl_event_meta *meta, const struct rl_event *ev,
		     const struct rl_reg_entry *e)
{
	unsigned char buf[RL_EVENT_MSG_MAX];
	size_t len = sizeof(*meta) + ev->hdr.size;
	memcpy(buf, meta, sizeof(*meta));
	memcpy(buf + sizeof(*meta), ev, ev->hdr.size);
	for (size_t i = 0; i < RL_MAX_CLIENTS; i++) {
		struct client *c = a->clients[i];
		if (!c || !wants(c, e, ev->hdr.type))
			continue;
		if (c->dropped)
			send_lost(a, c, c->dropped);
		if (c->dropped || !client_queue(c, RL_MSG_EVENT, 0, buf, len))
			c->dropped++;
		/* sent in bulk after the ring is drained (flush_all), or now
		 * when the queue is filling up */
		if (c->out_len - c->out_off > CLIENT_OUT_CAP / 4)
			client_flush(a, c);
		else
			c->pending = true;
	}
}

static void flush_all(struct agent *a)
{
	for (size_t i = 0; i < RL_MAX_CLIENTS; i++) {
		struct client *c = a->clients[i];
		if (c && c->pending && !c->dead) {
			c->pending = false;
			client_flush(a, c);
		}
	}
}

static void fill_meta(struct rl_event_meta *m, const struct rl_reg_entry *e, uint64_t ts)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);
	memset(m, 0, sizeof(*m));
	m->wall_ns = real - (mono > ts ? mono - ts : 0);
	if (e) {
		m->owner_uid = e->owner;
		m->init_pid = e->init_pid;
		memcpy(m->id, e->id, sizeof(m->id));
		memcpy(m->name, e->name, sizeof(m->name));
	}
}

/* The pid inside its own namespace: the last NSpid field. */
static uint32_t ns_pid_of(uint32_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');
			return last ? (uint32_t)strtoul(last + 1, NULL, 10) : 0;
		}
	return 0;
}

/* Whether rlbpfd made cgroups for it. */
static bool has_cgroups(const struct rl_reg_entry *e)
{
	return e->cg.memory || e->cg.pids || e->cg.cpu_millis || e->cg.account;
}

static void kill_container(struct rl_reg_entry *e, const char *why);

static int on_ring_event(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	struct rl_event ev = {0};
	struct rl_event_meta meta;

	if (size < sizeof(ev.hdr) || size > sizeof(ev))
		return 0;
	memcpy(&ev, data, size);
	if (ev.hdr.size != size || ev.hdr.type == 0 || ev.hdr.type > RL_EV_MAX)
		return 0;
	struct rl_reg_entry *e = ev.hdr.container_id ? rl_registry_find(&a->reg, ev.hdr.container_id) : NULL;
	fill_meta(&meta, e, ev.hdr.ts_ns);
	/* every event leaves translated: the container's view from its maps */
	if (e) {
		ev.hdr.ns_uid = rl_idmap_up(&e->uid_map, ev.hdr.host_uid);
		if (ev.hdr.type == RL_EV_SETID) {
			bool gid = ev.u.setid.call >= RL_SETID_SETGID;
			const struct rl_idmap_table *t = gid ? &e->gid_map : &e->uid_map;
			for (int i = 0; i < 3; i++) {
				ev.u.setid.old_id[i].ns = rl_idmap_up(t, ev.u.setid.old_id[i].host);
				ev.u.setid.new_id[i].ns = rl_idmap_up(t, ev.u.setid.new_id[i].host);
				if (!gid && ev.u.setid.new_id[i].host == 0)
					meta.flags |= RL_META_ALERT;
			}
		}
		if (ev.hdr.host_uid == 0)
			meta.flags |= RL_META_ALERT;
	}
	if (ev.hdr.ns_pid == 0 && ev.hdr.host_pid)
		ev.hdr.ns_pid = ns_pid_of(ev.hdr.host_pid);
	if (e && ev.hdr.type == RL_EV_OOM_KILL)
		ev.u.mem.victim_ns_uid = rl_idmap_up(&e->uid_map, ev.u.mem.victim_uid);
	if (e && ev.hdr.type == RL_EV_OOM_KILL && ev.u.mem.enforcer == RL_ENFORCER_AGENT_CGROUP) {
		/* the kernel chose and killed, in the cgroup whose usage and
		 * limit BPF read: the agent's own, the user's delegated v2 one,
		 * or none with a limit (the whole host ran out) */
		bool limit = ev.u.mem.cap_bytes && ev.u.mem.cap_bytes < RL_CG_UNLIMITED;
		ev.u.mem.enforcer = !limit	    ? RL_ENFORCER_NONE
				    : has_cgroups(e) ? RL_ENFORCER_AGENT_CGROUP
						     : RL_ENFORCER_CGROUP2;
		if (!limit)
			ev.u.mem.cap_bytes = 0;
		ev.u.mem.victim_ns_pid = ns_pid_of(ev.u.mem.victim_host_pid);
	} else if (e && ev.hdr.type == RL_EV_OOM_KILL && !e->oom_handled) {
		char why[128];
		snprintf(why, sizeof(why), "its memory (%llu bytes) passed its cap (%llu bytes)",
			 (unsigned long long)ev.u.mem.rss_bytes,
			 (unsigned long long)ev.u.mem.cap_bytes);
		kill_container(e, why);
	}
	dispatch(a, &meta, &ev, e);
	return 0;
}

/* ---- periodic: lost counters, and containers that have ended */

/* The start of an event the agent makes itself (BPF never sees it): its
 * metadata, type, size, container and time; the caller fills the rest. */
static void agent_event(struct rl_event_meta *meta, struct rl_event *ev,
			const struct rl_reg_entry *e, uint32_t type, uint32_t size)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	fill_meta(meta, e, now);
	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = type;
	ev->hdr.size = size;
	ev->hdr.container_id = e ? e->cid : 0;
	ev->hdr.ts_ns = now;
}

static void synth_lost(struct agent *a, const struct rl_reg_entry *e, uint64_t count)
{
	struct rl_event_meta meta;
	struct rl_event ev;
	agent_event(&meta, &ev, e, RL_EV_LOST, RL_EVENT_SIZE(lost));
	ev.hdr.ns_uid = RL_ID_UNMAPPED;
	snprintf(ev.hdr.comm, sizeof(ev.hdr.comm), "rlbpfd");
	ev.u.lost.count = count;
	dispatch(a, &meta, &ev, e);
}

static bool init_alive(const struct rl_reg_entry *e)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)e->init_pid);
	return stat(path, &st) == 0 && st.st_ino == e->userns_ino;
}

/* The kernel's OOM killer ends a whole cgroup's worth of work; here the
 * container's pid namespace is that unit: SIGKILL to its init takes every
 * process in it along. The pidfd and the user namespace check make sure the
 * number still names the registered init. */
static void kill_container(struct rl_reg_entry *e, const char *why)
{
	int pidfd = (int)syscall(SYS_pidfd_open, e->init_pid, 0);
	if (pidfd < 0)
		return;
	if (init_alive(e) && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
		LOG("killed %.12s (%s) of uid %u: %s", e->id, e->name, (unsigned)e->owner, why);
	close(pidfd);
	e->oom_handled = true;
}

static bool listens_for(const struct agent *a, uint32_t type)
{
	for (size_t i = 0; i < RL_MAX_CLIENTS; i++) {
		const struct client *c = a->clients[i];
		if (c && c->subscribed && !c->dead && (!c->sub_mask || (c->sub_mask & (1u << type))))
			return true;
	}
	return false;
}

/* The programs that cost every process on the host run only while needed
 * (agent/programs.h): the per-fault ones while a container's memory is
 * counted by BPF (an eBPF cap, or no memory cgroup to count it); the fork
 * exits while BPF keeps a container's --pids-limit; the uid-change and
 * bind tracepoints while a trace client listens for their events. */
static void programs_sync(struct agent *a)
{
	bool need[RL_BPF_GROUPS] = {false};
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++) {
		const struct rl_reg_entry *e = &a->reg.e[i];
		struct rl_container bc;
		if (!e->used)
			continue;
		need[RL_BPF_RSS] |= !e->cg.memory && !e->cg.account;
		need[RL_BPF_PIDS] |= bpf_map_lookup_elem(a->bpf.containers, &e->cid, &bc) == 0 &&
				     bc.pids_limit;
	}
	need[RL_BPF_SETID] = listens_for(a, RL_EV_SETID);
	need[RL_BPF_BIND] = listens_for(a, RL_EV_BIND_DENIED);
	static const char *const what[RL_BPF_GROUPS] = {
		[RL_BPF_RSS] = "per-fault programs", [RL_BPF_PIDS] = "fork exit programs",
		[RL_BPF_SETID] = "uid change programs", [RL_BPF_BIND] = "bind programs"};
	for (int g = 0; g < RL_BPF_GROUPS; g++) {
		int r = rl_agent_bpf_demand(&a->bpf, g, need[g]);
		if (r < 0)
			LOG("cannot %s the %s: %s", need[g] ? "attach" : "detach", what[g],
			    strerror(-r));
	}
}

/* The kernel's counters as the agent's stats carry them. */
static void cg_counters(struct agent *a, const struct rl_reg_entry *e, struct rl_container *c)
{
	struct rl_cg_usage u;
	rl_cg_usage(&a->cg, e->id, &e->cg, &u);
	if (u.have_mem) {
		c->rss_bytes = u.mem_bytes;
		c->rss_peak_bytes = u.mem_peak_bytes;
		c->mem_cap_bytes = e->cg.memory;
	}
	if (u.have_pids) {
		c->nr_threads = u.pids;
		c->pids_limit = e->cg.pids;
	}
	if (u.have_cpu)
		c->cpu_exited_ns = u.cpu_ns;
	if (u.oom_kills)
		c->oom |= RL_OOM_PASSED;
}

/* Its final counters, then its cgroups go (now, or once the last process
 * has left them). */
static void cg_ended(struct agent *a, const struct rl_reg_entry *e, struct rl_container *last)
{
	cg_counters(a, e, last);
	last->rss_bytes = 0;
	if (rl_cg_remove(&a->cg, e->id, &e->cg) == 0)
		return;
	for (size_t i = 0; i < CG_RM_MAX; i++) {
		struct cg_removal *rm = &a->cg_rm[i];
		if (rm->tries)
			continue;
		memcpy(rm->id, e->id, sizeof(rm->id));
		rm->lim = e->cg;
		rm->tries = 1;
		return;
	}
	LOG("cannot remove the cgroups of %.12s yet, and no room to try later", e->id);
}

static void cg_removals(struct agent *a)
{
	for (size_t i = 0; i < CG_RM_MAX; i++) {
		struct cg_removal *rm = &a->cg_rm[i];
		if (!rm->tries)
			continue;
		if (rl_cg_remove(&a->cg, rm->id, &rm->lim) == 0)
			rm->tries = 0;
		else if (++rm->tries > CG_RM_TICKS) {
			LOG("gave up removing the cgroups of %.12s: a process is still in them", rm->id);
			rm->tries = 0;
		}
	}
}

static int ep_add_events(int epfd, int fd, uint32_t events, uint64_t tag);

/* mem_pressure from the kernel's own usage where a cgroup keeps the cap:
 * cgroup v1 signals each threshold's crossing on an eventfd, either way;
 * v2 signals only the limit being met and reclaim stalls, so there the
 * levels come when the kernel starts working to keep the limit. */
static void pressure_arm(struct agent *a, struct rl_reg_entry *e)
{
	size_t slot = (size_t)(e - a->reg.e);
	int *fd = a->pressure_fd[slot];
	bool v2 = a->cg.v2[RL_CG_MEMORY];
	fd[0] = fd[1] = fd[2] = -1;
	if (!e->cg.memory)
		return;
	if (v2)
		rl_cg_mem_signals(&a->cg, e->id, fd);
	else
		for (int k = 0; k < 3; k++)
			fd[k] = rl_cg_mem_threshold(&a->cg, e->id,
						    e->cg.memory / 100 * pressure_levels[k]);
	for (int k = 0; k < 3; k++)
		if (fd[k] >= 0 && ep_add_events(a->epfd, fd[k], v2 ? EPOLLPRI : EPOLLIN,
						EP_PRESSURE + slot * 3 + (uint64_t)k) < 0) {
			close(fd[k]);
			fd[k] = -1;
		}
}

static void pressure_disarm(struct agent *a, const struct rl_reg_entry *e)
{
	size_t slot = (size_t)(e - a->reg.e);
	for (int k = 0; k < 3; k++) {
		if (a->pressure_fd[slot][k] >= 0)
			close(a->pressure_fd[slot][k]); /* leaves epoll with it */
		a->pressure_fd[slot][k] = -1;
	}
}

/* One event per threshold crossed upwards, as the eBPF cap reports them;
 * going back under re-arms it. */
static void pressure_crossed(struct agent *a, uint64_t tag)
{
	size_t slot = (tag - EP_PRESSURE) / 3;
	uint64_t n;
	int fd = a->pressure_fd[slot][(tag - EP_PRESSURE) % 3];
	if (fd < 0)
		return;
	if (a->cg.v2[RL_CG_MEMORY])
		rl_cg_mem_signal_taken(fd);
	else if (read(fd, &n, sizeof(n)) < 0)
		return;
	struct rl_reg_entry *e = &a->reg.e[slot];
	if (!e->used || !e->cg.memory)
		return;
	struct rl_cg_usage u;
	uint64_t usage;
	rl_cg_usage(&a->cg, e->id, &e->cg, &u);
	usage = u.mem_raw_bytes;
	/* it met the limit since the last look: what the OOM killer or
	 * reclaim has freed since does not undo that */
	if (u.mem_at_limit > e->at_limit_seen && usage < e->cg.memory)
		usage = e->cg.memory;
	e->at_limit_seen = u.mem_at_limit;
	uint32_t level = 0;
	for (int k = 0; k < 3; k++)
		if (usage >= e->cg.memory / 100 * pressure_levels[k])
			level = pressure_levels[k];
	uint32_t was = e->pressure_pct;
	e->pressure_pct = level;
	for (int k = 0; k < 3; k++) {
		if (pressure_levels[k] <= was || pressure_levels[k] > level)
			continue;
		struct rl_event_meta meta;
		struct rl_event ev;
		agent_event(&meta, &ev, e, RL_EV_MEM_PRESSURE, RL_EVENT_SIZE(mem));
		ev.hdr.host_pid = (uint32_t)e->init_pid;
		ev.hdr.ns_pid = 1;
		ev.hdr.host_uid = e->owner;
		ev.hdr.ns_uid = rl_idmap_up(&e->uid_map, e->owner);
		ev.u.mem.rss_bytes = usage;
		ev.u.mem.cap_bytes = e->cg.memory;
		ev.u.mem.percent = pressure_levels[k];
		ev.u.mem.enforcer = RL_ENFORCER_AGENT_CGROUP;
		dispatch(a, &meta, &ev, e);
	}
	flush_all(a);
}

static void forget_container(struct agent *a, struct rl_reg_entry *e)
{
	pressure_disarm(a, e);
	struct ended *end = &a->ended[a->ended_next++ % ENDED_KEEP];
	memcpy(end->id, e->id, sizeof(end->id));
	memcpy(end->name, e->name, sizeof(end->name));
	end->owner = e->owner;
	if (bpf_map_lookup_elem(a->bpf.containers, &e->cid, &end->last) < 0)
		memset(&end->last, 0, sizeof(end->last));
	end->last.nr_threads = 0;
	end->last.rss_bytes = 0;
	if (has_cgroups(e))
		cg_ended(a, e, &end->last);
	/* stale tasks entries would otherwise point at a reused number */
	uint32_t key, next, *prev = NULL;
	while (bpf_map_get_next_key(a->bpf.tasks, prev, &next) == 0) {
		uint64_t cid;
		key = next;
		if (bpf_map_lookup_elem(a->bpf.tasks, &key, &cid) == 0 && cid == e->cid) {
			bpf_map_delete_elem(a->bpf.tasks, &key);
			prev = NULL; /* restart: deleting breaks the iteration */
			continue;
		}
		prev = &key;
	}
	bpf_map_delete_elem(a->bpf.containers, &e->cid);
	e->used = false;
	programs_sync(a);
}

static void tick(struct agent *a)
{
	bool changed = false;
	/* BPF wakes us only when the ring fills up (rl_event_submit) */
	ring_buffer__consume(a->rb);
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++) {
		struct rl_reg_entry *e = &a->reg.e[i];
		struct rl_container c;
		if (!e->used)
			continue;
		if (bpf_map_lookup_elem(a->bpf.containers, &e->cid, &c) < 0) {
			e->used = false;
			changed = true;
			continue;
		}
		/* the event woke us already, unless an agent was not running
		 * when the cap was passed */
		if ((c.oom & RL_OOM_PASSED) && !e->oom_handled)
			kill_container(e, "it passed its memory cap while the agent was away");
		if (c.events_lost > e->lost_seen) {
			synth_lost(a, e, c.events_lost - e->lost_seen);
			e->lost_seen = c.events_lost;
			changed = true;
		}
		if (init_alive(e))
			e->dead_since = 0;
		else if (!e->dead_since)
			e->dead_since = now_sec();
		/* normally the last member's exit ends it (BPF's count, or its
		 * cgroups empty); a count gone wrong (tasks that left before the
		 * programs were attached) must not keep a dead container forever */
		if (e->dead_since &&
		    (c.nr_tasks == 0 || now_sec() - e->dead_since > DEAD_GRACE_SEC ||
		     (has_cgroups(e) && !rl_cg_populated(&a->cg, e->id, &e->cg)))) {
			/* drain first: its last exits may still be in the ring */
			ring_buffer__consume(a->rb);
			forget_container(a, e);
			changed = true;
		}
	}
	cg_removals(a);
	uint32_t zero = 0;
	struct rl_stats s;
	if (bpf_map_lookup_elem(a->bpf.stats, &zero, &s) == 0 && s.host_events_lost > a->host_lost_seen) {
		synth_lost(a, NULL, s.host_events_lost - a->host_lost_seen);
		a->host_lost_seen = s.host_events_lost;
	}
	if (changed)
		rl_registry_save(&a->reg);
	flush_all(a);
	time_t now = now_sec();
	for (size_t i = 0; i < RL_MAX_CLIENTS; i++) {
		struct client *c = a->clients[i];
		if (!c)
			continue;
		if (c->dropped && c->subscribed) {
			send_lost(a, c, c->dropped);
			client_flush(a, c);
		}
		/* only marked: the loop closes dead clients after its batch of
		 * epoll events, which may still name this one */
		if (!c->subscribed && now - c->last_active > CLIENT_IDLE_SEC)
			c->dead = true;
	}
}

/* ---- the port policy */

static void report_bad_line(unsigned line, const char *why, void *ctx)
{
	LOG("%s:%u: %s; line ignored", (const char *)ctx, line, why);
}

static void load_policy(struct agent *a)
{
	_cleanup_fclose_ FILE *f = fopen(RL_PORTS_CONF, "re");
	struct rl_policy pol = {0};
	_cleanup_free_ char *text = NULL;
	size_t cap = 0;

	if (f) {
		ssize_t n = getdelim(&text, &cap, '\0', f);
		if (n < 0) {
			free(text);
			text = strdup("");
		}
	} else if (errno != ENOENT) {
		LOG("cannot read %s: %s; keeping the policy in force", RL_PORTS_CONF, strerror(errno));
		return;
	}
	if (rl_policy_parse(text ? text : "", &rl_policy_system_resolver, report_bad_line,
			    (void *)RL_PORTS_CONF, &pol) < 0) {
		LOG("out of memory parsing %s; keeping the policy in force", RL_PORTS_CONF);
		return;
	}
	/* add the new grants first, then drop the ones no longer granted, so a
	 * reload never opens a gap for a grant that stays */
	for (size_t i = 0; i < pol.n; i++)
		bpf_map_update_elem(a->bpf.port_policy, &pol.grants[i].key, &pol.grants[i].line, BPF_ANY);
	struct rl_port_key key, next, *prev = NULL;
	while (bpf_map_get_next_key(a->bpf.port_policy, prev, &next) == 0) {
		bool keep = false;
		key = next;
		for (size_t i = 0; i < pol.n && !keep; i++)
			keep = !memcmp(&pol.grants[i].key, &key, sizeof(key));
		if (!keep) {
			bpf_map_delete_elem(a->bpf.port_policy, &key);
			prev = NULL;
			continue;
		}
		prev = &key;
	}
	const char *missing = rl_bpf_program_unsupported("rl_bind4");
	LOG("port policy: %zu grants from %s%s%s%s", pol.n, RL_PORTS_CONF,
	    pol.bad_lines ? " (bad lines ignored, see above)" : "",
	    pol.n && missing ? "; not in force: this kernel lacks " : "",
	    pol.n && missing ? missing : "");
	rl_policy_free(&pol);
}

/* ---- requests */

static int read_status_uid(int procfd, uid_t *ruid)
{
	_cleanup_close_ int fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	char *u = strstr(buf, "\nUid:");
	if (!u)
		return -EIO;
	*ruid = (uid_t)strtoul(u + 5, NULL, 10);
	return 0;
}

/* The threads of process pid: their count, and their CPU time from each
 * one's schedstat (nanoseconds on the CPU, the same clock as
 * sum_exec_runtime, which the BPF side adds up for the tasks that have
 * exited). cpu_ns may be NULL. */
static unsigned scan_threads(pid_t pid, uint64_t *cpu_ns)
{
	char path[64];
	unsigned n = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	for (struct dirent *de; (de = readdir(d));) {
		char stat_path[PATH_MAX], buf[96];
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (!cpu_ns)
			continue;
		snprintf(stat_path, sizeof(stat_path), "%s/%s/schedstat", path, de->d_name);
		_cleanup_close_ int fd = open(stat_path, O_RDONLY | O_CLOEXEC);
		ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (got <= 0)
			continue;
		buf[got] = 0;
		*cpu_ns += strtoull(buf, NULL, 10);
	}
	closedir(d);
	return n;
}

static uint64_t container_cpu_ns(struct agent *a, uint64_t cid, const struct rl_container *c)
{
	uint64_t sum = c->cpu_exited_ns;
	uint32_t key, next, *prev = NULL;
	while (bpf_map_get_next_key(a->bpf.tasks, prev, &next) == 0) {
		uint64_t owner;
		key = next;
		if (bpf_map_lookup_elem(a->bpf.tasks, &key, &owner) == 0 && owner == cid)
			scan_threads((pid_t)key, &sum);
		prev = &key;
	}
	return sum;
}

/* Every process in the container's user namespace joins at once: those that
 * forked before registration would otherwise go untracked. */
/* A process of the container's that BPF did not see start (it was there
 * before registration, or entered through setns) joins its accounting. */
static void adopt_one(struct agent *a, const struct rl_reg_entry *e, pid_t pid)
{
	uint32_t k = (uint32_t)pid;
	uint64_t old;
	struct rl_container c;
	if (bpf_map_lookup_elem(a->bpf.tasks, &k, &old) == 0)
		return;
	if (bpf_map_update_elem(a->bpf.tasks, &k, &e->cid, BPF_NOEXIST) == 0 &&
	    bpf_map_lookup_elem(a->bpf.containers, &e->cid, &c) == 0) {
		/* racy against BPF's atomic adds only at registration */
		c.nr_tasks++;
		unsigned threads = scan_threads(pid, NULL);
		c.nr_threads += threads ? threads : 1;
		bpf_map_update_elem(a->bpf.containers, &e->cid, &c, BPF_EXIST);
	}
}

/* The processes forked in the container before its registration: those
 * in its user namespace and in its init's pid namespace. A user namespace
 * alone would take in every process of the engine that made it (rootless
 * Podman runs conmon and its own in the one it gives its containers). */
static void adopt_members(struct agent *a, const struct rl_reg_entry *e)
{
	char path[64];
	struct stat init_pidns;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", e->init_pid);
	if (stat(path, &init_pidns) < 0)
		return;
	DIR *d = opendir("/proc");
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		struct stat st;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		if (*end || pid == 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/ns/user", pid);
		if (stat(path, &st) < 0 || st.st_ino != e->userns_ino)
			continue;
		snprintf(path, sizeof(path), "/proc/%lu/ns/pid", pid);
		if (stat(path, &st) < 0 || st.st_ino != init_pidns.st_ino)
			continue;
		adopt_one(a, e, (pid_t)pid);
	}
	closedir(d);
}

/* The maps newuidmap/newgidmap wrote, as idmap events: the container had to
 * be started (and mapped) before it could be registered, so BPF never sees
 * that write for it; the agent reports what it read at registration. */
static void idmap_events(struct agent *a, const struct rl_reg_entry *e)
{
	const struct rl_idmap_table *maps[2] = {&e->uid_map, &e->gid_map};
	for (int w = 0; w < 2; w++) {
		struct rl_event_meta meta;
		struct rl_event ev;
		agent_event(&meta, &ev, e, RL_EV_IDMAP, RL_EVENT_SIZE(idmap));
		ev.hdr.host_pid = (uint32_t)e->init_pid;
		ev.hdr.ns_pid = 1;
		ev.hdr.host_uid = e->owner;
		ev.hdr.ns_uid = rl_idmap_up(&e->uid_map, e->owner);
		snprintf(ev.hdr.comm, sizeof(ev.hdr.comm), "newuidmap");
		if (w)
			memcpy(ev.hdr.comm, "newgidmap", 10);
		ev.u.idmap.which = w ? RL_IDMAP_GID : RL_IDMAP_UID;
		ev.u.idmap.nr_extents = maps[w]->n;
		ev.u.idmap.userns_ino = e->userns_ino;
		ev.u.idmap.target_host_pid = (uint32_t)e->init_pid;
		for (unsigned i = 0; i < maps[w]->n && i < RL_IDMAP_MAX; i++)
			ev.u.idmap.extents[i] = (struct rl_idmap_extent){
				.ns_first = maps[w]->ext[i].ns_first,
				.host_first = maps[w]->ext[i].host_first,
				.count = maps[w]->ext[i].count};
		dispatch(a, &meta, &ev, e);
	}
}

static void do_register(struct agent *a, struct client *c, const struct rl_msg *m)
{
	const struct rl_msg_register *r = &m->u.reg;
	char path[64];
	struct stat st;
	uid_t ruid = (uid_t)-1;

	snprintf(path, sizeof(path), "/proc/%u", r->init_pid);
	_cleanup_close_ int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return reply(a, c, m->hdr.seq, -ESRCH, "no process %u", r->init_pid);
	if (read_status_uid(procfd, &ruid) < 0)
		return reply(a, c, m->hdr.seq, -ESRCH, "process %u has gone", r->init_pid);
	_cleanup_close_ int nsfd = openat(procfd, "ns/user", O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || fstat(nsfd, &st) < 0)
		return reply(a, c, m->hdr.seq, -ESRCH, "cannot open the user namespace of %u",
			     r->init_pid);
	if (st.st_ino != r->userns_ino)
		return reply(a, c, m->hdr.seq, -EINVAL,
			     "process %u is not in user namespace %llu", r->init_pid,
			     (unsigned long long)r->userns_ino);
	/* membership goes by user namespace: one shared with the host would
	 * make every host process a member */
	struct stat host_ns;
	if (stat("/proc/self/ns/user", &host_ns) == 0 && host_ns.st_ino == st.st_ino &&
	    host_ns.st_dev == st.st_dev)
		return reply(a, c, m->hdr.seq, -EINVAL,
			     "process %u is in the host's user namespace, where a container cannot be "
			     "told apart from the host: give it a user namespace of its own",
			     r->init_pid);
	uid_t ns_owner;
	if (ioctl(nsfd, NS_GET_OWNER_UID, &ns_owner) < 0)
		return reply(a, c, m->hdr.seq, -EINVAL, "cannot tell who owns that user namespace");
	if (c->uid != 0 && (ruid != c->uid || ns_owner != c->uid))
		return reply(a, c, m->hdr.seq, -EPERM,
			     "process %u is not yours: you may register only your own processes "
			     "in a user namespace you own", r->init_pid);
	/* The kernel's own controllers keep limits wherever the agent can make
	 * cgroups for them; the eBPF cap only where it cannot, or when asked. */
	struct rl_cg_limits want = {.memory = r->mem_cap_bytes, .pids = r->pids_limit,
				    .cpu_millis = r->cpu_millis};
	bool limited = want.memory || want.pids || want.cpu_millis;
	char cg_why[160] = "";
	/* a container in a cgroup of its own (the user's delegated v2) must
	 * not be moved out of it: v2 has one cgroup per process */
	bool own = r->flags & RL_REG_OWN_CGROUP;
	bool by_cg = limited && !own && !(r->flags & RL_REG_EBPF) &&
		     rl_cg_can(&a->cg, &want, cg_why, sizeof(cg_why));
	/* a container whose memory no cgroup limits is still counted by one,
	 * as Docker's are, unless it asked for the eBPF cap; on cgroup v1,
	 * where the move leaves its cgroup v2 (its login session) alone, and on
	 * v2 too where the eBPF count cannot run (before 5.11): nothing else
	 * would count it */
	bool ebpf_counts = !rl_bpf_program_unsupported("rl_rss_stat");
	want.account = a->cg.have[RL_CG_MEMORY] && !own && !(r->flags & RL_REG_EBPF) &&
		       (by_cg || (!want.memory && (!a->cg.v2[RL_CG_MEMORY] || !ebpf_counts)));
	if (limited && (r->flags & RL_REG_CGROUP) && !by_cg)
		return reply(a, c, m->hdr.seq, -EOPNOTSUPP,
			     "cannot make cgroups for these limits: %s; use --memory-enforce=ebpf or auto",
			     cg_why[0] ? cg_why : "asked for the eBPF cap");
	/* a limit the kernel side cannot hold is refused, never accepted and
	 * left unenforced */
	if (by_cg)
		; /* the kernel holds them */
	else if (r->mem_cap_bytes && rl_bpf_program_unsupported("rl_rss_stat"))
		return reply(a, c, m->hdr.seq, -EOPNOTSUPP,
			     "the eBPF memory cap needs %s, which this kernel lacks; hold the "
			     "limit with a memory cgroup (--memory-enforce cgroup)%s%s",
			     rl_bpf_program_unsupported("rl_rss_stat"),
			     cg_why[0] ? ", which cannot be had here either: " : "", cg_why);
	else if (r->mem_cap_bytes && !rl_agent_bpf_can("rl_rss_stat"))
		return reply(a, c, m->hdr.seq, -EOPNOTSUPP,
			     "this agent could not attach its memory program (rl_rss_stat) on "
			     "this kernel: `rlbpfd --probe` says why");
	if (!by_cg && r->pids_limit &&
	    !((rl_agent_bpf_attached(&a->bpf, "rl_fork") || rl_agent_bpf_attached(&a->bpf, "rl_fork_plain")) &&
	      rl_agent_bpf_can("rl_exit_clone") &&
	      rl_agent_bpf_can("rl_exit_clone3")))
		return reply(a, c, m->hdr.seq, -EOPNOTSUPP,
			     "this agent could not attach its fork programs on this kernel: "
			     "`rlbpfd --probe` says why");
	struct rl_reg_entry *old = rl_registry_find_id(&a->reg, r->id);
	if (old) {
		if (old->owner != c->uid && c->uid != 0)
			return reply(a, c, m->hdr.seq, -EEXIST, "that container id is taken");
		if (old->init_pid == (pid_t)r->init_pid && init_alive(old))
			return reply(a, c, m->hdr.seq, 0, "already registered");
		forget_container(a, old);
	}
	if (c->uid != 0 && rl_registry_count_owner(&a->reg, c->uid) >= RL_MAX_CONTAINERS_PER_UID)
		return reply(a, c, m->hdr.seq, -EUSERS, "you have %d containers registered, the limit",
			     RL_MAX_CONTAINERS_PER_UID);
	struct rl_reg_entry *e = rl_registry_add(&a->reg);
	if (!e)
		return reply(a, c, m->hdr.seq, -ENOSPC, "the agent tracks %d containers, its limit",
			     RL_MAX_CONTAINERS);
	e->cid = a->reg.next_cid++;
	e->owner = ns_owner == 0 && c->uid == 0 ? ruid : ns_owner;
	e->init_pid = (pid_t)r->init_pid;
	e->userns_ino = r->userns_ino;
	memcpy(e->id, r->id, sizeof(e->id));
	memcpy(e->name, r->name, sizeof(e->name));
	if (rl_registry_read_maps(procfd, e) < 0) {
		e->used = false;
		return reply(a, c, m->hdr.seq, -EIO, "cannot read the id maps of %u", r->init_pid);
	}
	if (by_cg || want.account) {
		char why[240];
		int rc = rl_cg_create(&a->cg, e->id, &want, (pid_t)r->init_pid, c->uid, c->gid, why,
				      sizeof(why));
		if (rc < 0 && by_cg) {
			e->used = false;
			return reply(a, c, m->hdr.seq, rc, "%s", why);
		}
		if (rc == 0) {
			e->cg = want;
			pressure_arm(a, e);
		}
	}
	/* under a cgroup, BPF only counts: no cap, no limit of its own */
	struct rl_container bc = {.userns_ino = r->userns_ino, .init_host_pid = r->init_pid,
				  .mem_cap_bytes = by_cg ? 0 : r->mem_cap_bytes,
				  .pids_limit = by_cg ? 0 : r->pids_limit};
	if (bpf_map_update_elem(a->bpf.containers, &e->cid, &bc, BPF_NOEXIST) < 0) {
		int rc = -errno;
		if (has_cgroups(e))
			rl_cg_remove(&a->cg, e->id, &e->cg);
		e->used = false;
		return reply(a, c, m->hdr.seq, rc, "the containers map refused it: %s",
			     strerror(-rc));
	}
	if (r->flags & RL_REG_FRESH)
		adopt_one(a, e, e->init_pid);
	else
		adopt_members(a, e);
	programs_sync(a); /* before its command runs */
	struct rl_msg_reply ok = {.status = 0, .cid = e->cid,
				  .enforcer = by_cg ? RL_ENFORCER_AGENT_CGROUP
					  : want.memory || want.pids ? RL_ENFORCER_EBPF
								     : RL_ENFORCER_NONE};
	snprintf(ok.text, sizeof(ok.text), "registered");
	if (!client_queue(c, RL_MSG_REPLY, m->hdr.seq, &ok, sizeof(ok)))
		c->dead = true;
	/* the container waits on this answer to start: what only a restart of
	 * the agent or a subscriber needs comes after it */
	client_flush(a, c);
	rl_registry_save(&a->reg);
	idmap_events(a, e);
	flush_all(a);
	LOG("registered %.12s (%s) for uid %u: init %u, cid %llu%s", e->id, e->name,
	    (unsigned)e->owner, r->init_pid, (unsigned long long)e->cid,
	    by_cg ? ", limits in its cgroups" : limited ? ", limits by eBPF" : "");
}

/* rlbpf exec: a process of the caller's, in the container's user
 * namespace, joins its cgroups and its accounting, as in Docker. */
static void do_join(struct agent *a, struct client *c, const struct rl_msg *m)
{
	const struct rl_msg_join *j = &m->u.join;
	struct rl_reg_entry *e = rl_registry_find_id(&a->reg, j->id);
	char path[64];
	struct stat st;
	uid_t ruid = (uid_t)-1;
	if (!e)
		return reply(a, c, m->hdr.seq, -ENOENT, "container not registered");
	if (e->owner != c->uid && c->uid != 0)
		return reply(a, c, m->hdr.seq, -EPERM, "container belongs to another user");
	snprintf(path, sizeof(path), "/proc/%u", j->pid);
	_cleanup_close_ int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0 || read_status_uid(procfd, &ruid) < 0)
		return reply(a, c, m->hdr.seq, -ESRCH, "no process %u", j->pid);
	if (c->uid != 0 && ruid != c->uid)
		return reply(a, c, m->hdr.seq, -EPERM, "process %u is not yours", j->pid);
	if (fstatat(procfd, "ns/user", &st, 0) < 0 || st.st_ino != e->userns_ino)
		return reply(a, c, m->hdr.seq, -EINVAL, "process %u is not in the container's user "
			     "namespace", j->pid);
	if (has_cgroups(e)) {
		int rc = rl_cg_join(&a->cg, e->id, &e->cg, (pid_t)j->pid);
		if (rc < 0)
			return reply(a, c, m->hdr.seq, rc, "cannot move %u into the container's "
				     "cgroups: %s", j->pid, strerror(-rc));
	}
	adopt_one(a, e, (pid_t)j->pid);
	reply(a, c, m->hdr.seq, 0, "joined");
}

static void do_idmap(struct agent *a, struct client *c, const struct rl_msg *m)
{
	char why[RL_MSG_TEXT];
	int r = rl_idmap_write(c->uid, c->gid, &m->u.idmap, why, sizeof(why));
	reply(a, c, m->hdr.seq, r, "%s", r == 0 ? "mapped" : why);
}

static void do_subscribe(struct agent *a, struct client *c, const struct rl_msg *m)
{
	const struct rl_msg_subscribe *s = &m->u.sub;
	if ((s->flags & RL_SUB_ALL) && c->uid != 0)
		return reply(a, c, m->hdr.seq, -EPERM, "--all is for root only: it shows "
			     "every user's containers and the host's binds");
	for (uint32_t i = 0; i < s->n_ids; i++) {
		const struct rl_reg_entry *e = rl_registry_find_id(&a->reg, s->ids[i]);
		if (e && e->owner != c->uid && c->uid != 0)
			return reply(a, c, m->hdr.seq, -EPERM,
				     "container %.12s belongs to another user", s->ids[i]);
	}
	c->subscribed = true;
	c->sub_flags = s->flags;
	c->sub_mask = s->event_mask;
	c->n_ids = s->n_ids;
	memcpy(c->ids, s->ids, sizeof(c->ids[0]) * s->n_ids);
	programs_sync(a); /* attached before the client hears it is subscribed */
	reply(a, c, m->hdr.seq, 0, "subscribed");
}

static void fill_stats(struct rl_msg_stats_reply *r, const struct rl_container *bc)
{
	r->nr_tasks = bc->nr_tasks;
	r->events_lost = bc->events_lost;
	r->tasks_untracked = bc->tasks_untracked;
	r->rss_bytes = bc->rss_bytes;
	r->rss_peak_bytes = bc->rss_peak_bytes;
	r->mem_cap_bytes = bc->mem_cap_bytes;
	r->nr_threads = bc->nr_threads;
	r->pids_limit = bc->pids_limit;
	r->pids_refused = bc->pids_refused;
	if (bc->oom & RL_OOM_PASSED)
		r->flags |= RL_STATS_OOM_KILLED;
}

static void send_stats(struct agent *a, struct client *c, uint32_t seq,
		       const struct rl_msg_stats_reply *r)
{
	if (!client_queue(c, RL_MSG_STATS_REPLY, seq, r, sizeof(*r)))
		c->dead = true;
	client_flush(a, c);
}

/* A container that ended lately: its final counters. */
static void ended_stats(struct agent *a, struct client *c, const struct rl_msg *m)
{
	for (size_t i = 0; i < ENDED_KEEP; i++) {
		/* newest first: a restarted container ends again under its id */
		const struct ended *end = &a->ended[(a->ended_next + ENDED_KEEP - 1 - i) % ENDED_KEEP];
		if (strcmp(end->id, m->u.stats.id) != 0)
			continue;
		if (end->owner != c->uid && c->uid != 0)
			return reply(a, c, m->hdr.seq, -EPERM, "container belongs to another user");
		struct rl_msg_stats_reply r = {.owner_uid = end->owner, .flags = RL_STATS_ENDED};
		memcpy(r.id, end->id, sizeof(r.id));
		memcpy(r.name, end->name, sizeof(r.name));
		fill_stats(&r, &end->last);
		r.cpu_ns = end->last.cpu_exited_ns;
		return send_stats(a, c, m->hdr.seq, &r);
	}
	reply(a, c, m->hdr.seq, -ENOENT, "container not registered");
}

static void do_stats(struct agent *a, struct client *c, const struct rl_msg *m)
{
	const struct rl_reg_entry *e = rl_registry_find_id(&a->reg, m->u.stats.id);
	struct rl_container bc;
	if (!e)
		return ended_stats(a, c, m);
	if (e->owner != c->uid && c->uid != 0)
		return reply(a, c, m->hdr.seq, -EPERM, "container belongs to another user");
	if (bpf_map_lookup_elem(a->bpf.containers, &e->cid, &bc) < 0)
		return reply(a, c, m->hdr.seq, -ENOENT, "container has ended");
	struct rl_msg_stats_reply r = {.owner_uid = e->owner, .init_pid = (uint32_t)e->init_pid};
	memcpy(r.id, e->id, sizeof(r.id));
	memcpy(r.name, e->name, sizeof(r.name));
	r.cpu_ns = container_cpu_ns(a, e->cid, &bc);
	if (has_cgroups(e)) {
		/* the kernel's counters where it keeps them */
		uint64_t bpf_cpu = bc.cpu_exited_ns;
		cg_counters(a, e, &bc);
		if (bc.cpu_exited_ns != bpf_cpu)
			r.cpu_ns = bc.cpu_exited_ns;
		r.flags |= RL_STATS_BY_CGROUP;
	}
	fill_stats(&r, &bc);
	send_stats(a, c, m->hdr.seq, &r);
}

static void client_read(struct agent *a, struct client *c)
{
	/* a bounded share per wakeup: a client that never stops sending must
	 * not keep the loop from everyone else (epoll calls again) */
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			c->dead = true;
			return;
		}
		if (n < 0)
			return;
		c->in_len += (size_t)n;
		c->last_active = now_sec();
		for (;;) {
			struct rl_msg m;
			int used = rl_proto_decode(c->in, c->in_len, &m);
			if (used == 0)
				break;
			if (used < 0) {
				LOG("client pid %d uid %u sent a malformed message (%s); closing it",
				    (int)c->pid, (unsigned)c->uid, strerror(-used));
				reply(a, c, 0, used, "malformed message (%s); this agent speaks "
				      "protocol version %d", strerror(-used), RL_PROTO_VERSION);
				client_flush(a, c);
				c->dead = true;
				return;
			}
			switch (m.hdr.type) {
			case RL_MSG_REGISTER: do_register(a, c, &m); break;
			case RL_MSG_SUBSCRIBE: do_subscribe(a, c, &m); break;
			case RL_MSG_STATS: do_stats(a, c, &m); break;
			case RL_MSG_JOIN: do_join(a, c, &m); break;
			case RL_MSG_IDMAP: do_idmap(a, c, &m); break;
			default:
				reply(a, c, m.hdr.seq, -EBADMSG, "not a request");
				c->dead = true;
				return;
			}
			memmove(c->in, c->in + used, c->in_len - (size_t)used);
			c->in_len -= (size_t)used;
			if (c->dead)
				return;
		}
	}
}

static void accept_clients(struct agent *a)
{
	for (;;) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		size_t free_slot = RL_MAX_CLIENTS, same_uid = 0;
		for (size_t i = 0; i < RL_MAX_CLIENTS; i++) {
			if (!a->clients[i])
				free_slot = free_slot < i ? free_slot : i;
			else
				same_uid += a->clients[i]->uid == cred.uid;
		}
		if (free_slot == RL_MAX_CLIENTS || (cred.uid != 0 && same_uid >= RL_MAX_CLIENTS_PER_UID)) {
			refuse_busy(fd, free_slot == RL_MAX_CLIENTS);
			continue;
		}
		struct client *c = calloc(1, sizeof(*c));
		if (c)
			c->out = malloc(CLIENT_OUT_CAP);
		if (!c || !c->out) {
			if (c)
				free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		c->last_active = now_sec();
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c->out);
			free(c);
			close(fd);
			continue;
		}
		a->clients[free_slot] = c;
	}
}

/* ---- setup */

static bool registered_id(const char *id, void *ctx)
{
	return strlen(id) == 64 && rl_registry_find_id(ctx, id) != NULL;
}

static int listen_on(const char *path, struct rl_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return rl_fail(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot create a unix socket");
	unlink(path); /* ours: the lock says no other agent runs */
	mode_t old = umask(0);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return rl_fail_errno(err, errno, "cannot bind %s", path);
	/* anyone may connect; SO_PEERCRED decides what they may do */
	chmod(path, 0666);
	if (listen(fd, 64) < 0)
		return rl_fail_errno(err, errno, "cannot listen on %s", path);
	return RL_TAKE_FD(fd);
}

static int ep_add_events(int epfd, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int ep_add(int epfd, int fd, uint64_t tag)
{
	return ep_add_events(epfd, fd, EPOLLIN, tag);
}

int rl_agent_serve(const char *sock_path, struct rl_error *err)
{
	struct agent *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return rl_fail(err, ENOMEM, "out of memory");
	a->epfd = a->lfd = a->sfd = a->tfd = -1;
	memset(a->pressure_fd, -1, sizeof(a->pressure_fd));
	if (mkdir("/run/rlbpf", 0755) < 0 && errno != EEXIST) {
		free(a);
		return rl_fail_errno(err, errno, "cannot create /run/rlbpf");
	}
	chmod("/run/rlbpf", 0755);
	_cleanup_close_ int lock = open(RL_AGENT_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		free(a);
		return rl_fail(err, EBUSY, "another rlbpfd is running (/run/rlbpf/rlbpfd.lock is "
			       "held); stop it first");
	}
	r = rl_agent_bpf_open(&a->bpf, err);
	if (r < 0) {
		free(a);
		return r;
	}
	LOG("%s BPF programs (pinned in %s)%s%s", a->bpf.reused ? "reusing the pinned" : "loaded",
	    RL_PIN_DIR, a->bpf.notes[0] ? "; " : "", a->bpf.notes);
	rl_registry_load(&a->reg);
	rl_cg_detect(&a->cg);
	LOG("cgroups for limits: memory %s, pids %s, cpu %s",
	    a->cg.have[RL_CG_MEMORY] ? rl_cg_version(&a->cg, RL_CG_MEMORY) : "none",
	    a->cg.have[RL_CG_PIDS] ? rl_cg_version(&a->cg, RL_CG_PIDS) : "none",
	    a->cg.have[RL_CG_CPU] ? rl_cg_version(&a->cg, RL_CG_CPU) : "none");
	/* containers that ended while no agent ran leave empty cgroups */
	rl_cg_sweep(&a->cg, registered_id, &a->reg);
	programs_sync(a);
	{
		uint32_t zero = 0;
		struct rl_stats s;
		if (bpf_map_lookup_elem(a->bpf.stats, &zero, &s) == 0)
			a->host_lost_seen = s.host_events_lost;
	}
	load_policy(a);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {.it_interval = {0, TICK_MS * 1000000L}, .it_value = {0, TICK_MS * 1000000L}};
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->rb = ring_buffer__new(a->bpf.events, on_ring_event, a, NULL);
	r = 0;
	if (a->sfd < 0 || a->tfd < 0 || a->epfd < 0 || timerfd_settime(a->tfd, 0, &its, NULL) < 0)
		r = rl_fail_errno(err, errno, "cannot set up the event loop");
	else if (!a->rb)
		r = rl_fail_errno(err, errno, "cannot map the events ring buffer");
	if (r == 0)
		r = a->lfd = listen_on(sock_path, err);
	if (r >= 0 && (ep_add(a->epfd, a->lfd, EP_LISTEN) < 0 || ep_add(a->epfd, a->sfd, EP_SIGNAL) < 0 ||
		       ep_add(a->epfd, a->tfd, EP_TIMER) < 0 ||
		       ep_add(a->epfd, ring_buffer__epoll_fd(a->rb), EP_RING) < 0))
		r = rl_fail_errno(err, errno, "cannot set up the event loop");
	if (r >= 0) {
		r = 0;
		/* the thresholds of containers an earlier agent registered */
		for (size_t i = 0; i < RL_MAX_CONTAINERS; i++) {
			struct rl_reg_entry *e = &a->reg.e[i];
			if (!e->used || !has_cgroups(e))
				continue;
			struct rl_cg_usage u;
			rl_cg_usage(&a->cg, e->id, &e->cg, &u);
			e->at_limit_seen = u.mem_at_limit;
			pressure_arm(a, e);
		}
		LOG("serving %s", sock_path);
	}
	while (r == 0 && !a->stop) {
		struct epoll_event evs[32];
		int n = epoll_wait(a->epfd, evs, 32, -1);
		if (n < 0 && errno != EINTR) {
			r = rl_fail_errno(err, errno, "epoll_wait failed");
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == EP_LISTEN) {
				accept_clients(a);
			} else if (tag == EP_SIGNAL) {
				struct signalfd_siginfo si;
				while (read(a->sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						load_policy(a);
					else
						a->stop = true;
				}
			} else if (tag == EP_TIMER) {
				uint64_t ticks;
				if (read(a->tfd, &ticks, sizeof(ticks)) < 0) {
					/* nothing: the next tick comes anyway */
				}
				tick(a);
			} else if (tag >= EP_PRESSURE && tag < EP_PRESSURE_END) {
				pressure_crossed(a, tag);
			} else if (tag == EP_RING) {
				ring_buffer__consume(a->rb);
				flush_all(a);
			} else {
				struct client *c = evs[i].data.ptr;
				if (evs[i].events & (EPOLLERR | EPOLLHUP))
					c->dead = true;
				if (!c->dead && (evs[i].events & EPOLLIN))
					client_read(a, c);
				if (!c->dead && (evs[i].events & EPOLLOUT))
					client_flush(a, c);
			}
		}
		/* a client marked dead above is closed now, outside its own event */
		for (size_t i = 0; i < RL_MAX_CLIENTS; i++)
			if (a->clients[i] && a->clients[i]->dead)
				client_close(a, i);
	}
	if (a->lfd >= 0) {
		unlink(sock_path);
		close(a->lfd);
	}
	for (size_t i = 0; i < RL_MAX_CLIENTS; i++)
		if (a->clients[i])
			client_close(a, i);
	ring_buffer__free(a->rb);
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++)
		pressure_disarm(a, &a->reg.e[i]);
	rl_registry_save(&a->reg);
	if (a->sfd >= 0) close(a->sfd);
	if (a->tfd >= 0) close(a->tfd);
	if (a->epfd >= 0) close(a->epfd);
	rl_agent_bpf_close(&a->bpf);
	free(a);
	if (r == 0)
		LOG("stopped; programs and maps stay pinned in %s (rlbpfd --unload removes them)",
		    RL_PIN_DIR);
	return r;
}
