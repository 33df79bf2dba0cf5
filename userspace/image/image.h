/* What `rlbpf run` runs: a rootfs directory given by path, or an image from
 * the user's store (loaded with `rlbpf load`, or the built-in `busybox`). */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* The parts of an image's config that Docker honours on run. */
struct rl_image_config {
	char **entrypoint; /* NULL-terminated, or NULL */
	size_t n_entrypoint;
	char **cmd; /* NULL-terminated, or NULL */
	size_t n_cmd;
	char **env; /* KEY=VALUE, NULL-terminated, or NULL */
	size_t n_env;
	char *workdir; /* NULL or "": "/" */
	char *user;    /* NULL or "": root */
};

struct rl_image {
	char ref[PATH_MAX];    /* as shown to users: "busybox:latest" or the directory */
	char id[72];           /* "sha256:<hex>" of the config, "" for a directory */
	char rootfs[PATH_MAX]; /* absolute */
	struct rl_image_config config;
};

/* Whether ref names a rootfs directory rather than an image: ".", "..",
 * a path starting with "/", "./" or "../", or one with '/' that is an
 * existing directory ("127.0.0.1:5000/app" is an image). */
bool rl_image_ref_is_directory(const char *ref);

/* A rootfs directory (rl_image_ref_is_directory), or else NAME[:TAG] or
 * an ID prefix in the store (-ENOENT when there is no such image). */
int rl_image_resolve(const char *ref, struct rl_image *img, struct rl_error *err);
void rl_image_free(struct rl_image *img);
