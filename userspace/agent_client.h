/* Client side of the rlbpfd agent's local socket. For now only a
 * reachability check; the protocol client grows here later. */
#pragma once
#include <stddef.h>

#include "paths.h"

/* 0 when a connect() to RL_AGENT_SOCKET succeeds (the connection is closed
 * at once), else a negative errno. `why` gets words either way: on failure
 * what is wrong and what to do ("not running: ... does not exist; start it
 * with `sudo rlbpfd`"). */
int rl_agent_ping(char *why, size_t len);

/* Same, for a socket at `path` (tests, and agents started with another
 * socket path). */
int rl_agent_ping_at(const char *path, char *why, size_t len);
