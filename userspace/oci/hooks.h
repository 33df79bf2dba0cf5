/* OCI hooks: programs run at the container's lifecycle points, each with
 * the container's state as JSON on its stdin. */
#pragma once
#include "lib/error.h"
#include "oci/spec.h"
#include "oci/state.h"

/* Runs the hooks of one kind in order, state_json on each one's stdin;
 * the first that fails, exits non-zero or outlives its timeout fails them
 * all, with err naming it. */
int rl_oci_hooks_run(const struct rl_oci_hooks *hooks, const char *kind, const char *state_json,
		     struct rl_error *err);
