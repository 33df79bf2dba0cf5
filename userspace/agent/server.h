/* The agent's service: the socket, its clients, the ring buffer and the
 * port policy, in one epoll loop. */
#pragma once
#include "lib/error.h"

#define RL_PORTS_CONF "/etc/rlbpf/ports.conf"

/* Runs until SIGTERM or SIGINT (0) or a failure to start (negative errno). */
int rl_agent_serve(const char *sock_path, struct rl_error *err);
