/* The container's root through fuse-overlayfs, where the kernel refuses
 * overlayfs inside a user namespace (before 5.11), as Podman does there. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* Where fuse-overlayfs is in $PATH (or the usual directories); false when
 * it is not installed. */
bool rl_fuse_overlay_find(char *path, size_t len);

/* Runs in the container's user and mount namespaces, as their root: mounts
 * `lower` under `upper` (with `work`) on `merged`, served by a fuse-overlayfs
 * of the container's that keeps its own mount namespace, so that the
 * container's pivot_root leaves its view of the layers alone. It ends with
 * the container's PID namespace. `no_sync`: the upper is discarded at exit. */
int rl_fuse_overlay_mount(const char *lower, const char *upper, const char *work,
			  const char *merged, bool no_sync, struct rl_error *err);

/* RLBPF_OVERLAY=fuse: fuse-overlayfs even where the kernel's overlayfs
 * would do (a kernel whose overlayfs misbehaves on the upper's filesystem;
 * the tests of this path on new kernels). */
bool rl_fuse_overlay_forced(void);
