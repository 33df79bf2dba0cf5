/* What `rlbpf run` runs: a rootfs directory given by path, or a named image.
 * The built-in `busybox` image ships as a tarball and is unpacked once into
 * the user's store, owned by the user, who is root in the container. */
#pragma once
#include <limits.h>

#include "error.h"

struct rl_image {
	char ref[PATH_MAX];     /* as shown to users: "busybox" or the directory */
	char rootfs[PATH_MAX];  /* absolute */
	const char *default_cmd; /* used when no COMMAND is given; NULL: required */
};

int rl_image_resolve(const char *ref, struct rl_image *img, struct rl_error *err);
