/* The supervisor's side of a running container: forwards signals, relays a
 * terminal, reaps, and turns the ending into Docker's exit code. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/poll_hook.h"

struct pollfd;

/* Polls the supervisor's own fds (own[0..n_own)) and, until the container
 * has exited, the hook's; runs the hook. Returns poll's result. */
int rl_supervise_poll(struct pollfd *own, size_t n_own, const struct rl_poll_hook *hook,
		      int timeout);

/* Signals the supervisor handles. Block them before the container is
 * created so none is lost; the container unblocks them before exec. */
void rl_supervise_signals(sigset_t *set);

/* Runs until the container's PID 1 exits; returns its exit code, or 128+N
 * when signal N killed it. pty_master is -1 without -t. */
int rl_supervise(pid_t pid, int pty_master, bool interactive, const struct rl_poll_hook *hook);
