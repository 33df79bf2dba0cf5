/* The Docker-shaped description of a container: `rlbpf inspect`, and the
 * Docker API's /containers/ID/json. */
#pragma once
#include <jansson.h>

#include "lib/error.h"
#include "supervise/state.h"
#include "supervise/status.h"

/* Builds it from the container's record and its checked status. */
json_t *rl_inspect_doc(const struct rl_state *st, json_t *config, const struct rl_status *s);
