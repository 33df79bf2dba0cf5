/* The supervisor of a detached container: it keeps the container's output
 * in its log, passes signals on, and waits for the end. */
#pragma once
#include <sys/types.h>

#include "supervise/supervise.h"

/* Runs until PID 1 of the container exits; returns Docker's exit code.
 * out_fd/err_fd are the read ends of the container's stdout and stderr
 * (-1 when it has a terminal, whose master pty_master is then read as
 * stdout). Signals from rl_supervise_signals() must be blocked. */
int rl_supervise_logged(pid_t pid, int out_fd, int err_fd, int pty_master, int logfd,
			const struct rl_poll_hook *hook);
