/* Readers of a container's record while it changes (the API's attach,
 * logs and wait): they wake when its directory changes instead of polling
 * it, and hold it past the container's end until they have read it. */
#pragma once
#include "supervise/state.h"

/* A shared flock of the state directory: the supervisor of an --rm
 * container removes it only once no hold is left. The fd to close, or -1
 * when the container is gone. */
int rl_state_hold(const struct rl_state *st);
/* The supervisor's side: returns once no reader holds the directory. */
void rl_state_wait_unheld(const char *dir);

/* An inotify watch of the state directory: status.json renamed in, the
 * log appended to, the directory removed. */
struct rl_state_watch {
	int fd; /* -1: none could be had; waits then only sleep */
};

void rl_state_watch_open(struct rl_state_watch *w, const struct rl_state *st);
/* Returns after a change, or after ms: the fallback for what the
 * directory does not show. */
void rl_state_watch_wait(struct rl_state_watch *w, int ms);
void rl_state_watch_close(struct rl_state_watch *w);
