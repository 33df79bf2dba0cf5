#include "proto/agent_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "lib/cleanup.h"

/* Words for a failed connect(): the user wants to know whether the agent is
 * simply not started, died and left its socket, or is there but closed to
 * them, and what to do in each case. */
static int explain(int code, const char *path, char *why, size_t len)
{
	switch (code) {
	case ENOENT:
		snprintf(why, len, "not running: %s does not exist; start it with `sudo rlbpfd`",
			 path);
		break;
	case ECONNREFUSED:
		snprintf(why, len,
			 "not running: %s exists but nothing listens on it (an agent that "
			 "stopped left it behind); start it with `sudo rlbpfd`",
			 path);
		break;
	case EACCES:
	case EPERM:
		snprintf(why, len,
			 "not allowed: this user may not connect to %s (%s); the agent's "
			 "socket and its directory must be open to users, ask whoever runs rlbpfd",
			 path, strerror(code));
		break;
	case EAGAIN:
		snprintf(why, len,
			 "busy: %s has a full connection backlog; the agent is stuck or "
			 "overloaded, restart it with `sudo rlbpfd`",
			 path);
		break;
	case ENOTSOCK:
	case ENOTDIR:
	case EPROTOTYPE:
		snprintf(why, len,
			 "not an agent socket: %s is something else (%s); stop whatever "
			 "created it and start `sudo rlbpfd`",
			 path, strerror(code));
		break;
	default:
		snprintf(why, len, "cannot connect to %s: %s", path, strerror(code));
		break;
	}
	return -code;
}

int rl_agent_ping_at(const char *path, char *why, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, len, "socket path too long for AF_UNIX: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* Non-blocking: a wedged agent must not hang `rlbpf info`. */
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(why, len, "cannot create a unix socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		return explain(errno, path, why, len);
	snprintf(why, len, "listening on %s", path);
	return 0;
}

int rl_agent_ping(char *why, size_t len)
{
	return rl_agent_ping_at(RL_AGENT_SOCKET, why, len);
}

int rl_agent_connect(const char *path, struct rl_agent_conn *c, char *why, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, len, "socket path too long for AF_UNIX: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(why, len, "cannot create a unix socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return explain(errno, path, why, len);
	c->fd = RL_TAKE_FD(fd);
	return 0;
}

void rl_agent_close(struct rl_agent_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int rl_agent_next(struct rl_agent_conn *c, struct rl_msg *m, int timeout_ms)
{
	for (;;) {
		int used = rl_proto_decode(c->buf, c->len, m);
		if (used < 0)
			return used;
		if (used > 0) {
			memmove(c->buf, c->buf + used, c->len - (size_t)used);
			c->len -= (size_t)used;
			return 1;
		}
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				return -EINTR;
			return -errno;
		}
		c->len += (size_t)n;
	}
}

/* Sends one request. 1: the agent already answered (a refusal, such as
 * busy, can close the connection before the request is sent; its answer
 * says more than EPIPE), in reply; 0: sent; negative errno: neither. */
static int request_send(struct rl_agent_conn *c, uint16_t type, const void *payload, size_t plen,
			struct rl_msg *reply, char *why, size_t len)
{
	unsigned char frame[sizeof(struct rl_msg_hdr) + RL_PROTO_MAX_PAYLOAD];
	int n = rl_proto_encode(frame, sizeof(frame), type, ++c->seq, payload, plen);
	if (n < 0) {
		snprintf(why, len, "request too large");
		return n;
	}
	int r = send_all(c->fd, frame, (size_t)n);
	if (r == 0)
		return 0;
	if (rl_agent_next(c, reply, 0) == 1 && reply->hdr.type == RL_MSG_REPLY)
		return 1;
	snprintf(why, len, "cannot send to the agent: %s", strerror(-r));
	return r;
}

static int reply_status(const struct rl_msg *reply, char *why, size_t len)
{
	snprintf(why, len, "%s", reply->u.reply.text);
	return reply->u.reply.status < 0 ? reply->u.reply.status : -EPROTO;
}

/* The answer to request seq: 0 for a message of another type (in reply),
 * else the REPLY's status with its text in why. */
static int request_wait(struct rl_agent_conn *c, uint32_t seq, struct rl_msg *reply,
			int timeout_ms, char *why, size_t len)
{
	for (;;) {
		int r = rl_agent_next(c, reply, timeout_ms);
		if (r == 0) {
			snprintf(why, len, "the agent did not answer within %d ms", timeout_ms);
			return -ETIMEDOUT;
		}
		if (r < 0) {
			snprintf(why, len, "the agent's answer was unreadable: %s", strerror(-r));
			return r;
		}
		if (reply->hdr.type == RL_MSG_EVENT)
			continue; /* not ours to handle here */
		if (reply->hdr.seq != seq && reply->hdr.seq != 0)
			continue;
		if (reply->hdr.type == RL_MSG_REPLY) {
			snprintf(why, len, "%s", reply->u.reply.text);
			return reply->u.reply.status;
		}
		return 0;
	}
}

int rl_agent_request(struct rl_agent_conn *c, uint16_t type, const void *payload, size_t plen,
		     struct rl_msg *reply, int timeout_ms, char *why, size_t len)
{
	int r = request_send(c, type, payload, plen, reply, why, len);
	if (r == 1)
		return reply_status(reply, why, len);
	return r < 0 ? r : request_wait(c, c->seq, reply, timeout_ms, why, len);
}

/* a wedged agent must not hold up a container's start for long */
#define REGISTER_TIMEOUT_MS 3000

static void register_result(const struct rl_msg *reply, struct rl_register_result *out)
{
	if (out)
		*out = (struct rl_register_result){.cid = reply->u.reply.cid,
						   .enforcer = reply->u.reply.enforcer};
}

static int register_once(const struct rl_msg_register *reg, struct rl_register_result *out,
			 char *why, size_t len)
{
	struct rl_agent_conn c;
	struct rl_msg reply;
	int r = rl_agent_connect(RL_AGENT_SOCKET, &c, why, len);
	if (r < 0)
		return r;
	r = rl_agent_request(&c, RL_MSG_REGISTER, reg, sizeof(*reg), &reply, REGISTER_TIMEOUT_MS,
			     why, len);
	if (r == 0)
		register_result(&reply, out);
	rl_agent_close(&c);
	return r;
}

/* A burst of starts can fill this user's connections for a moment: the
 * agent says busy, and a few short waits see the burst through. */
static int register_retrying(const struct rl_msg_register *reg, struct rl_register_result *out,
			     char *why, size_t len)
{
	long waited_ms = 0;
	for (long pause_ms = 5;; pause_ms = pause_ms < 200 ? pause_ms * 2 : 200) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = pause_ms * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		waited_ms += pause_ms;
		int r = register_once(reg, out, why, len);
		if (r != -EBUSY || waited_ms >= 3000)
			return r;
	}
}

int rl_agent_register_send(struct rl_agent_registration *p, const char *id, const char *name,
			   pid_t init_pid, uint64_t userns_ino,
			   const struct rl_register_limits *limits, char *why, size_t len)
{
	struct rl_msg reply;
	memset(&p->reg, 0, sizeof(p->reg));
	p->reg.init_pid = (uint32_t)init_pid;
	p->reg.userns_ino = userns_ino;
	if (limits) {
		p->reg.mem_cap_bytes = limits->mem_cap_bytes;
		p->reg.pids_limit = limits->pids_limit;
		p->reg.cpu_millis = limits->cpu_millis;
		p->reg.flags = limits->flags;
	}
	snprintf(p->reg.id, sizeof(p->reg.id), "%s", id);
	snprintf(p->reg.name, sizeof(p->reg.name), "%s", name);
	p->early = 0;
	int r = rl_agent_connect(RL_AGENT_SOCKET, &p->conn, why, len);
	if (r < 0)
		return r;
	r = request_send(&p->conn, RL_MSG_REGISTER, &p->reg, sizeof(p->reg), &reply, why, len);
	if (r < 0) {
		rl_agent_close(&p->conn);
		return r;
	}
	p->seq = p->conn.seq;
	if (r == 1)
		p->early = reply_status(&reply, p->early_why, sizeof(p->early_why));
	return 0;
}

int rl_agent_register_wait(struct rl_agent_registration *p, struct rl_register_result *out,
			   char *why, size_t len)
{
	struct rl_msg reply;
	int r;
	if (p->early) {
		snprintf(why, len, "%s", p->early_why);
		r = p->early;
	} else {
		r = request_wait(&p->conn, p->seq, &reply, REGISTER_TIMEOUT_MS, why, len);
		if (r == 0)
			register_result(&reply, out);
	}
	rl_agent_close(&p->conn);
	return r == -EBUSY ? register_retrying(&p->reg, out, why, len) : r;
}

int rl_agent_register(const char *id, const char *name, pid_t init_pid, uint64_t userns_ino,
		      const struct rl_register_limits *limits, struct rl_register_result *out,
		      char *why, size_t len)
{
	struct rl_agent_registration *p = malloc(sizeof(*p));
	if (!p) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	int r = rl_agent_register_send(p, id, name, init_pid, userns_ino, limits, why, len);
	if (r == 0)
		r = rl_agent_register_wait(p, out, why, len);
	free(p);
	return r;
}

int rl_agent_join(struct rl_agent_conn *c, const char *id, pid_t pid, char *why, size_t len)
{
	struct rl_msg reply;
	struct rl_msg_join req = {.pid = (uint32_t)pid};
	snprintf(req.id, sizeof(req.id), "%s", id);
	return rl_agent_request(c, RL_MSG_JOIN, &req, sizeof(req), &reply, 3000, why, len);
}

int rl_agent_stats(struct rl_agent_conn *c, const char *id, struct rl_msg_stats_reply *out,
		   char *why, size_t len)
{
	struct rl_msg_stats req = {0};
	struct rl_msg reply;
	snprintf(req.id, sizeof(req.id), "%s", id);
	int r = rl_agent_request(c, RL_MSG_STATS, &req, sizeof(req), &reply, 3000, why, len);
	if (r < 0)
		return r;
	if (reply.hdr.type != RL_MSG_STATS_REPLY) {
		snprintf(why, len, "the agent answered STATS with message type %u", reply.hdr.type);
		return -EPROTO;
	}
	*out = reply.u.stats_reply;
	return 0;
}

bool rl_agent_oom_killed(const char *id)
{
	struct rl_agent_conn c;
	struct rl_msg_stats_reply st;
	char why[300];
	if (rl_agent_connect(RL_AGENT_SOCKET, &c, why, sizeof(why)) < 0)
		return false;
	bool oom = rl_agent_stats(&c, id, &st, why, sizeof(why)) == 0 &&
		   (st.flags & RL_STATS_OOM_KILLED);
	rl_agent_close(&c);
	return oom;
}

int rl_agent_subscribe(struct rl_agent_conn *c, const struct rl_msg_subscribe *sub, char *why,
		       size_t len)
{
	struct rl_msg reply;
	int r = rl_agent_connect(RL_AGENT_SOCKET, c, why, len);
	if (r < 0)
		return r;
	r = rl_agent_request(c, RL_MSG_SUBSCRIBE, sub, RL_SUBSCRIBE_SIZE(sub->n_ids), &reply, 5000,
			     why, len);
	if (r < 0)
		rl_agent_close(c);
	return r;
}

int rl_agent_idmap(const struct rl_msg_idmap *m, char *why, size_t len)
{
	struct rl_agent_conn c;
	struct rl_msg reply;
	int r = rl_agent_connect(RL_AGENT_SOCKET, &c, why, len);
	if (r < 0)
		return r;
	r = rl_agent_request(&c, RL_MSG_IDMAP, m, sizeof(*m), &reply, 3000, why, len);
	rl_agent_close(&c);
	return r;
}
