/* The container's filesystem, built inside its new mount namespace: an
 * overlay over the image (the image itself is never written), volumes,
 * /proc, a minimal /dev, read-only /sys, the /etc files, then pivot_root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"
#include "runtime/run_opts.h"

struct rl_mount_plan {
	const char *lower;     /* the image's rootfs, read-only lower layer */
	const char *state_dir; /* holds upper/, work/, rootfs/ and the /etc files */
	const struct rl_volume *volumes;
	size_t n_volumes;
	bool read_only;   /* --read-only: the root is remounted read-only at the end */
	bool tty_group;   /* gid 5 (tty) is mapped: devpts may use it */
	bool discard_upper; /* --rm: the upper layer is deleted at exit, never read again */
};

/* Runs in the container's mount namespace, as its root. Leaves the new root
 * mounted at STATE/rootfs, ready for rl_mounts_pivot(). fuse_helper: see
 * rl_fuse_overlay_mount(). */
int rl_mounts_prepare(const struct rl_mount_plan *p, int fuse_helper, struct rl_error *err);

/* pivot_root into STATE/rootfs and detach the old root; then, for
 * --read-only, make / read-only (volumes, /dev, /proc keep their own). */
int rl_mounts_pivot(const struct rl_mount_plan *p, struct rl_error *err);
