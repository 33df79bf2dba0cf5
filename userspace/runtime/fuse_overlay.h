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
 * `lower` under STATE/upper (with STATE/work) on `merged`, served by a
 * fuse-overlayfs in a mount namespace of its own whose root holds only the
 * layers and /usr, so that the container's pivot_root leaves it alone and
 * it shows a container allowed to look into it nothing of the host's. Its
 * stderr goes to STATE/fuse-overlayfs.log. It ends when the container's
 * mount namespace does (the kernel aborts the connection). `no_sync`: the
 * upper is discarded at exit. `helper`: rl_fuse_helper_start()'s socket,
 * whose process runs the server outside the container's pid namespace and
 * cgroups; -1: the server is forked here, in the container. */
int rl_fuse_overlay_mount(const char *lower, const char *state_dir, const char *merged,
			  bool no_sync, int helper, struct rl_error *err);

/* Whether the root will be fuse-overlayfs: RLBPF_OVERLAY=fuse, or a kernel
 * before 5.11. */
bool rl_fuse_overlay_expected(void);

/* Called by the supervisor before it creates the container: a process of
 * its user, outside the container, that waits for the container's
 * /dev/fuse and user namespace and then runs fuse-overlayfs. Returns the
 * container's end of the socket to it, or -1 (no fuse-overlayfs, or no
 * process: the container then reports what it meets). */
int rl_fuse_helper_start(const char *lower, const char *state_dir, bool no_sync);

/* RLBPF_OVERLAY=fuse: fuse-overlayfs even where the kernel's overlayfs
 * would do (a kernel whose overlayfs misbehaves on the upper's filesystem;
 * the tests of this path on new kernels). */
bool rl_fuse_overlay_forced(void);
