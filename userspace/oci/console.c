#include "oci/console.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/pty.h"

int rl_oci_console_connect(const char *path, struct rl_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return rl_fail(err, ENAMETOOLONG, "console socket path too long: %s", path);
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return rl_fail(err, e, "cannot connect to the console socket %s: %s", path, strerror(e));
	}
	return fd;
}

int rl_oci_console_send(int conn, int master, const char *path, struct rl_error *err)
{
	int r = rl_fd_send(conn, master);
	return r < 0 ? rl_fail(err, -r, "cannot send the terminal to %s: %s", path, strerror(-r)) : 0;
}
