/* A create's JSON body as rlbpf create's arguments: what rlbpf can honour
 * becomes its option, what it cannot is refused or named in Warnings.
 * Pure (no state, no process), so that it is unit-tested and fuzzed. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define RL_API_MAX_ARGS 512

/* v: NULL-terminated; strings are the body's, or owned here. full: more
 * than RL_API_MAX_ARGS. */
struct rl_api_args {
	char *v[RL_API_MAX_ARGS + 1];
	size_t n;
	char *owned[RL_API_MAX_ARGS];
	size_t n_owned;
	bool full;
};

/* false with why (a one-line message) for a body that cannot be had; the
 * arguments point into req, which must outlive them. */
bool rl_api_create_args(json_t *req, const char *name, struct rl_api_args *a, json_t *warnings,
			char *why, size_t len);
void rl_api_args_free(struct rl_api_args *a);
