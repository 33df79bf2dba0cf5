/* Published ports (-p), the way rootlesskit's "builtin" driver does it:
 * the unprivileged CLI binds the host ports before the container starts, the
 * container's supervisor accepts, and for each client connects a socket
 * made inside the container's network namespace to 127.0.0.1:CONTAINERPORT;
 * the bytes move with splice() through a pipe, never through user space. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "net/netspec.h"
#include "lib/poll_hook.h"

/* Binds and listens on each port's host address (fds[i] for ports[i]).
 * EACCES below net.ipv4.ip_unprivileged_port_start and EADDRINUSE get one
 * message naming the port and every way out. On failure nothing is open. */
int rl_ports_listen(const struct rl_port *ports, size_t n, int *fds, struct rl_error *err);

/* "0.0.0.0:8080->80/tcp", as docker ps shows it. */
void rl_port_text(const struct rl_port *p, char *buf, size_t len);

/* "tcp/80" <-> port; used on rlbpf-monitor's command line. */
int rl_port_from_arg(const char *arg, struct rl_port *p);

struct rl_portfwd;

/* Forwards from the listening fds into the container's network namespace
 * netns_fd, entered through its user namespace userns_fd. It owns all
 * these fds and logfd from now on, also on failure. Each client is logged,
 * with its address, as one line to logfd. */
int rl_portfwd_new(int userns_fd, int netns_fd, int logfd, const struct rl_port *ports,
		   const int *fds, size_t n, struct rl_portfwd **out, struct rl_error *err);
struct rl_poll_hook rl_portfwd_hook(struct rl_portfwd *pf);
void rl_portfwd_free(struct rl_portfwd *pf);
