#include "supervise/state_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/cleanup.h"

int rl_state_hold(const struct rl_state *st)
{
	int fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_SH) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void rl_state_wait_unheld(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0 && flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
}

void rl_state_watch_open(struct rl_state_watch *w, const struct rl_state *st)
{
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd >= 0 &&
	    inotify_add_watch(w->fd, st->dir,
			      IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF) < 0) {
		close(w->fd);
		w->fd = -1;
	}
}

void rl_state_watch_wait(struct rl_state_watch *w, int ms)
{
	struct pollfd p = {.fd = w->fd, .events = POLLIN};
	if (poll(&p, 1, ms) > 0) {
		/* what changed is read again by the caller: drop the events */
		char events[4096];
		while (read(w->fd, events, sizeof(events)) > 0)
			;
	}
}

void rl_state_watch_close(struct rl_state_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
