/* A detached container's input, handed out to whoever attaches: the
 * supervisor listens on STATE_DIR/attach and gives each client of the same
 * uid the container's stdin (a pipe's write end, given once: the first
 * client's end of input is the container's) or its terminal's master,
 * where the client writes and sets the window size itself. The container's
 * output stays in its log. */
#pragma once
#include <stdbool.h>

#include "lib/error.h"

#define RL_ATTACH_SOCKET "attach"

/* The listening socket in state_dir (non-blocking, close-on-exec). */
int rl_attach_listen(const char *state_dir, struct rl_error *err);

/* Accepts one client and sends it *stdin_fd, else pty_master. A pipe is
 * given once: *stdin_fd is closed and set to -1 after. Returns whether the
 * socket still has something to give. */
bool rl_attach_serve(int listen_fd, int *stdin_fd, int pty_master);

/* A client: the container's input into *fd, and whether it is a terminal.
 * -ENOENT or -ECONNREFUSED when the container serves none (not started,
 * ended, or its stdin was given already). */
int rl_attach_connect(const char *state_dir, int *fd, bool *tty, struct rl_error *err);
