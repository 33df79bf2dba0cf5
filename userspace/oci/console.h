/* --console-socket: where a container's pty master goes, in one message,
 * as runc sends it (conmon and containerd's shim listen there). */
#pragma once
#include "lib/error.h"

/* Connects to the socket; an fd, or a negative errno with err. Made before
 * entering a container, whose mounts hide the path. */
int rl_oci_console_connect(const char *path, struct rl_error *err);

/* Sends master over a connection; no answer is awaited. */
int rl_oci_console_send(int conn, int master, const char *path, struct rl_error *err);
