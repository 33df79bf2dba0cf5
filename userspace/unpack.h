/* Unpacking a tar archive into a directory, refusing entries that would
 * land outside it. Used by the rlbpf-unpack helper only. */
#pragma once
#include "error.h"

int rl_unpack_tar(const char *tarball, const char *dest, struct rl_error *err);
