/* A boolean option's value, as Docker and Podman take it: --flag alone
 * or --flag=true, and --flag=false. */
#pragma once
#include <stdbool.h>

#include "lib/error.h"

/* value: the text after '=', or NULL for the flag alone. 0, or -EINVAL
 * with err naming the flag. */
int rl_bool_option(const char *flag, const char *value, bool *out, struct rl_error *err);
