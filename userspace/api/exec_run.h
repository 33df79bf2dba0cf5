/* An exec's process as the service runs it: started with its stdio on a
 * pseudo-terminal or on pipes, then relayed to the client's hijacked
 * socket until it exits, and reaped. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"

/* What the process gets: a terminal (Tty, of rows x cols when not 0), or
 * pipes for the streams the client attaches (the others: /dev/null). */
struct rl_exec_stdio {
	bool tty, in, out, err;
	unsigned short rows, cols;
};

/* The service's ends: in, out and err are -1 where nothing is attached;
 * with a terminal, in and out are copies of its master, term. */
struct rl_exec_io {
	pid_t pid;
	int pidfd; /* readable once it has exited */
	int term;  /* the terminal's master, for resize; -1 without Tty */
	int in, out, err;
};

/* Starts path with argv (not through a shell): with a terminal, in a
 * session of its own whose controlling terminal it is, in raw mode (the
 * process relays a terminal of its own). 0, or -errno with err. */
int rl_exec_spawn(const char *path, char *const argv[], const struct rl_exec_stdio *how,
		  struct rl_exec_io *io, struct rl_error *err);

/* Relays until the process has exited and its output is read: early
 * (what the client sent with its request), then sock's bytes, to its
 * stdin (the client's half-close is its stdin's end), its
 * output to sock, raw with a terminal, else in Docker's multiplexed
 * frames. sock -1 (detached), or a client that goes away: the output is
 * read and dropped; a client gone gets the process SIGHUP, and SIGKILL
 * after grace_s seconds. Reaps it and closes in, out, err and pidfd (not
 * term: the caller's, for resize). Its exit code, 128+N for signal N. */
int rl_exec_relay(struct rl_exec_io *io, int sock, const char *early, size_t early_len, bool tty,
		  int grace_s);
