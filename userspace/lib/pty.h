/* -t: a pseudo-terminal made inside the container's own devpts (so the
 * container sees /dev/pts/0), its master passed back to the supervisor. */
#pragma once
#include <stdbool.h>
#include <termios.h>

#include "lib/error.h"

/* Opens a pty pair from the ptmx at `ptmx_path`. */
int rl_pty_open(const char *ptmx_path, int *master, int *slave, struct rl_error *err);

/* Passes an fd over a unix socket, and receives one (-errno on failure). */
int rl_fd_send(int sock, int fd);
int rl_fd_recv(int sock);

/* Receives either an fd, or a message of exactly len bytes into `other`
 * (then -EBADMSG); -EPIPE at EOF. */
int rl_fd_recv_or(int sock, void *other, size_t len);

/* Puts a terminal in raw mode, saving its settings for rl_term_restore. */
int rl_term_raw(int fd, struct termios *saved);
void rl_term_restore(int fd, const struct termios *saved);

/* Copies the window size of terminal `from` to `to`; quiet when not a tty. */
void rl_pty_copy_winsize(int from, int to);
