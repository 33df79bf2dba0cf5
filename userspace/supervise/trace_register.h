/* `rlbpf run`'s side of tracing: registering a container with the agent as
 * soon as it has started. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "runtime/resource_limits.h"
#include "supervise/state.h"

/* Registers the container whose init is host pid `pid`, in the user
 * namespace held by userns_fd, with its limits; limits->by_agent says who
 * keeps them afterwards. When the limits need the agent
 * (rl_limits_for_agent) and it is absent or refuses, returns a negative
 * errno with err saying why and how to get them. Otherwise never fails the
 * run: when the agent is absent or refuses, it says once (until tracing
 * works again) that tracing is off and why, on stderr.
 * In two halves, so that the container builds its filesystem while the
 * agent works: _send asks, _wait takes the answer and frees r. Every
 * registration sent (*r not NULL) is waited for, before the command runs. */
struct rl_trace_registration;
int rl_trace_register_send(const struct rl_state *st, pid_t pid, int userns_fd,
			   const struct rl_limits *limits, struct rl_trace_registration **r,
			   struct rl_error *err);
int rl_trace_register_wait(struct rl_trace_registration *r, struct rl_limits *limits,
			   struct rl_error *err);

/* rlbpf exec's side: a connection to the agent, made before entering the
 * container (whose mount namespace has no agent socket), and the request
 * that puts a process started in the container into its cgroups and
 * accounting. rl_join_open returns NULL with why when the agent is away. */
struct rl_join;
struct rl_join *rl_join_open(char *why, size_t len);
int rl_join(struct rl_join *j, const char *id, pid_t pid, char *why, size_t len);
void rl_join_close(struct rl_join *j);

/* Whether the agent saw the container pass its memory cap (agent_client.h's
 * rl_agent_oom_killed, for callers that cannot include the BPF layouts). */
bool rl_trace_oom_killed(const char *id);
