/* `rlbpf run`'s side of tracing: registering a container with the agent as
 * soon as it has started. */
#pragma once
#include <sys/types.h>

#include "state.h"

/* Registers the container whose init is host pid `pid`, in the user
 * namespace held by userns_fd. Never fails the run: when the agent is
 * absent or refuses, it says once (until tracing works again) that
 * tracing is off and why, on stderr. */
void rl_trace_register(const struct rl_state *st, pid_t pid, int userns_fd);
