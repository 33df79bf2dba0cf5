/* /proc/self/mountinfo read for what a read-only remount must keep, for
 * kernels without mount_setattr(2) (before 5.12). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* A line's fields: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS, then FSTYPE
 * (after the optional fields and "-"); MOUNTPOINT unescaped. Splits `line`
 * in place; false for a line that does not hold them all. */
enum { RL_MOUNTINFO_FIELDS = 7 };
bool rl_mountinfo_split(char *line, char *field[RL_MOUNTINFO_FIELDS]);

/* The MS_* flags a remount of a mount with these per-mount options
 * ("rw,nosuid,nodev,relatime") must pass to keep them: in a user namespace
 * nosuid, nodev, noexec and the atime mode of a mount that came from the
 * host are locked, and a remount that drops them fails with EPERM. */
unsigned long rl_mount_opts_keep_flags(const char *opts);

struct rl_remount {
	char *path;          /* the mount point */
	unsigned long flags; /* rl_mount_opts_keep_flags() of its options */
};

/* The mounts at `target` and below it in a mountinfo-format file, in the
 * file's order (a parent before what is mounted on it). *out is freed with
 * rl_remounts_free(). -ENOENT when nothing is mounted at `target`. */
int rl_mountinfo_below(const char *mountinfo, const char *target, struct rl_remount **out,
		       size_t *n, struct rl_error *err);
void rl_remounts_free(struct rl_remount *m, size_t n);

/* Makes the mount at `target` and every mount below it read-only, one
 * MS_REMOUNT|MS_BIND at a time, as mount_setattr(AT_RECURSIVE) would. */
int rl_remount_tree_readonly(const char *target, struct rl_error *err);
