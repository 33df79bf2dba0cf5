/* A poll loop's extension point: a module that owns fds of its own (the
 * published ports' listeners, net/portfwd.c) serves them inside the loop
 * of whoever runs one (the supervisor). */
#pragma once
#include <stddef.h>

struct pollfd;

/* More fds for the supervisor's poll loop (the published ports' listeners
 * and connections, portfwd.c), served between its own events. */
struct rl_poll_hook {
	void *ctx;
	/* Fills at most max entries; returns how many. */
	size_t (*fill)(void *ctx, struct pollfd *p, size_t max);
	/* Gets the same entries back after poll, with revents set. */
	void (*handle)(void *ctx, struct pollfd *p, size_t n);
	/* Milliseconds until it wants to run without an event, or -1. */
	int (*timeout)(void *ctx);
};
#define RL_POLL_HOOK_MAX 1020
