#include "agent_client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cleanup.h"

/* Words for a failed connect(): the user wants to know whether the agent is
 * simply not started, died and left its socket, or is there but closed to
 * them, and what to do in each case. */
static int explain(int code, const char *path, char *why, size_t len)
{
	switch (code) {
	case ENOENT:
		snprintf(why, len, "not running: %s does not exist; start it with `sudo rlbpfd`",
			 path);
		break;
	case ECONNREFUSED:
		snprintf(why, len,
			 "not running: %s exists but nothing listens on it (an agent that "
			 "stopped left it behind); start it with `sudo rlbpfd`",
			 path);
		break;
	case EACCES:
	case EPERM:
		snprintf(why, len,
			 "not allowed: this user may not connect to %s (%s); the agent's "
			 "socket and its directory must be open to users, ask whoever runs rlbpfd",
			 path, strerror(code));
		break;
	case EAGAIN:
		snprintf(why, len,
			 "busy: %s has a full connection backlog; the agent is stuck or "
			 "overloaded, restart it with `sudo rlbpfd`",
			 path);
		break;
	case ENOTSOCK:
	case ENOTDIR:
	case EPROTOTYPE:
		snprintf(why, len,
			 "not an agent socket: %s is something else (%s); stop whatever "
			 "created it and start `sudo rlbpfd`",
			 path, strerror(code));
		break;
	default:
		snprintf(why, len, "cannot connect to %s: %s", path, strerror(code));
		break;
	}
	return -code;
}

int rl_agent_ping_at(const char *path, char *why, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, len, "socket path too long for AF_UNIX: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	/* Non-blocking: a wedged agent must not hang `rlbpf info`. */
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(why, len, "cannot create a unix socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		return explain(errno, path, why, len);
	snprintf(why, len, "listening on %s", path);
	return 0;
}

int rl_agent_ping(char *why, size_t len)
{
	return rl_agent_ping_at(RL_AGENT_SOCKET, why, len);
}
