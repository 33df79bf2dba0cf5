/* Client side of the rlbpfd agent's local socket: a reachability check,
 * and the requests of the protocol in agent_proto.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/agent_proto.h"
#include "lib/paths.h"

/* 0 when a connect() to RL_AGENT_SOCKET succeeds (the connection is closed
 * at once), else a negative errno. `why` gets words either way: on failure
 * what is wrong and what to do ("not running: ... does not exist; start it
 * with `sudo rlbpfd`"). */
int rl_agent_ping(char *why, size_t len);

/* Same, for a socket at `path` (tests, and agents started with another
 * socket path). */
int rl_agent_ping_at(const char *path, char *why, size_t len);

/* A connection and the bytes received but not yet decoded. */
struct rl_agent_conn {
	int fd;
	/* room for many events per recv(): a trace under load reads in bulk */
	unsigned char buf[64 * 1024];
	size_t len;
	uint32_t seq;
};

/* Connects (blocking, close-on-exec). Negative errno with words in why. */
int rl_agent_connect(const char *path, struct rl_agent_conn *c, char *why, size_t len);
void rl_agent_close(struct rl_agent_conn *c);

/* Connects to RL_AGENT_SOCKET and turns the connection into the stream of
 * events that sub asks for (rl_agent_next reads them). 0, or a negative
 * errno with why; the connection is closed on failure. */
int rl_agent_subscribe(struct rl_agent_conn *c, const struct rl_msg_subscribe *sub, char *why,
		       size_t len);

/* Sends one request; waits for its reply at most timeout_ms (-1: forever).
 * Returns the agent's status (0 or negative errno, its text in why), or a
 * negative errno of the transport. */
int rl_agent_request(struct rl_agent_conn *c, uint16_t type, const void *payload, size_t plen,
		     struct rl_msg *reply, int timeout_ms, char *why, size_t len);

/* The next message from the agent: 1 with *m, 0 on timeout, -ECONNRESET
 * when the agent closed, another negative errno on a bad message. */
int rl_agent_next(struct rl_agent_conn *c, struct rl_msg *m, int timeout_ms);

/* Registers a container that has just started. Returns 0 and the agent's
 * key, or a negative errno with why (agent absent: why says so). */
struct rl_register_limits {
	uint64_t mem_cap_bytes; /* 0: none */
	uint32_t pids_limit;    /* 0: none */
	uint32_t cpu_millis;    /* 0: none */
	uint32_t flags;         /* RL_REG_* */
};
/* What the agent answered: its key, and who keeps the limits
 * (RL_ENFORCER_*). */
struct rl_register_result {
	uint64_t cid;
	uint32_t enforcer;
};
int rl_agent_register(const char *id, const char *name, pid_t init_pid, uint64_t userns_ino,
		      const struct rl_register_limits *limits, struct rl_register_result *out,
		      char *why, size_t len);
/* The same in two halves, for a start that goes on while the agent works:
 * rl_agent_register_send connects and sends (it fails only when the agent
 * cannot be reached); rl_agent_register_wait reads the answer, asking
 * again while the agent is busy, and closes the connection. Every sent
 * registration is waited for. */
struct rl_agent_registration {
	struct rl_agent_conn conn;
	struct rl_msg_register reg;
	uint32_t seq;
	int early; /* a refusal that came before the request went out, or 0 */
	char early_why[RL_MSG_TEXT];
};
int rl_agent_register_send(struct rl_agent_registration *p, const char *id, const char *name,
			   pid_t init_pid, uint64_t userns_ino,
			   const struct rl_register_limits *limits, char *why, size_t len);
int rl_agent_register_wait(struct rl_agent_registration *p, struct rl_register_result *out,
			   char *why, size_t len);

/* rlbpf exec: process pid (the caller's, already in the container's user
 * namespace) joins the container's cgroups and accounting. 0, or a
 * negative errno with why; -ENOENT when the agent does not know it. The
 * connection is made before the caller enters the container, whose mount
 * namespace has no agent socket. */
int rl_agent_join(struct rl_agent_conn *c, const char *id, pid_t pid, char *why, size_t len);

/* The agent's counters of one container (the caller's own, or any for
 * root), on a connection that may serve many such requests. Returns 0, or a
 * negative errno with why (-ENOENT: the agent does not know it). */
int rl_agent_stats(struct rl_agent_conn *c, const char *id, struct rl_msg_stats_reply *out,
		   char *why, size_t len);

/* Asks the agent to write the uid_map and gid_map of process m->pid (the
 * caller's, just unshared). 0, the agent's refusal (negative errno, its
 * words in why), or the transport's error when no agent answers:
 * -ENOENT or -ECONNREFUSED (none running), -EBADMSG (one that does not
 * know IDMAP). */
int rl_agent_idmap(const struct rl_msg_idmap *m, char *why, size_t len);

/* Whether the agent saw the container pass its memory cap: asked by its
 * supervisor once it has reaped it. False when the agent cannot tell. */
bool rl_agent_oom_killed(const char *id);
