/* The supervisor of a detached container: it keeps the container's output
 * in its log, passes signals on, and waits for the end. */
#pragma once
#include <sys/types.h>

#include "supervise/supervise.h"

/* A detached container's ends, as its supervisor holds them: out_fd and
 * err_fd read its stdout and stderr (-1 when it has a terminal, whose
 * master is then read as stdout); stdin_fd writes its stdin (-1: none);
 * attach_fd listens for whoever attaches (attach_socket.h; -1: none). */
struct rl_detached_io {
	int out_fd, err_fd, pty_master, stdin_fd, attach_fd, logfd;
};

/* Runs until PID 1 of the container exits; returns Docker's exit code.
 * Signals from rl_supervise_signals() must be blocked. */
int rl_supervise_logged(pid_t pid, struct rl_detached_io *io, const struct rl_poll_hook *hook);
