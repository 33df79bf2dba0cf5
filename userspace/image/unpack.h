/* Applying an image layer (a tar, plain or compressed) onto a root
 * filesystem, as the rlbpf-unpack helper does inside the user namespace:
 * whiteouts, ownership, names read under the root, device nodes skipped,
 * and refusal of anything that could reach outside the rootfs. Used by the
 * rlbpf-unpack helper only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

/* The ids that exist here: the ranges of /proc/self/uid_map or gid_map, in
 * this namespace's numbers. */
struct rl_idset {
	size_t n;
	struct {
		uint32_t first, count;
	} r[16];
};

/* Reads a uid_map/gid_map-format file. */
int rl_idset_read(const char *path, struct rl_idset *set, struct rl_error *err);
bool rl_idset_has(const struct rl_idset *set, uint32_t id);
/* How many ids are mapped (a single-id map has 1). */
uint64_t rl_idset_size(const struct rl_idset *set);

struct rl_layer_ids {
	/* false with a single-id map: every file belongs to 0, and setuid and
	 * setgid bits of files that belonged to someone else are dropped. */
	bool keep_owner;
	/* With keep_owner: a file owned by an id outside these is refused. */
	struct rl_idset uids, gids;
};

/* Reads /proc/self/uid_map and gid_map: keep_owner unless only one id is
 * mapped. */
int rl_layer_ids_here(struct rl_layer_ids *ids, struct rl_error *err);

/* Cleans an entry path (or a hard link's target) into one relative to the
 * root, as Docker joins names under it: leading, repeated and trailing
 * slashes and "." components dropped, so "/etc/x" is "etc/x" and "/",
 * "./" and "." are "" (the root). -EINVAL for any ".." component ("/../x"
 * included), -ENAMETOOLONG. */
int rl_entry_path_clean(const char *path, char *out, size_t len);

/* Whether a symlink at `path` (clean) with this target, read relatively,
 * climbs above the root. Absolute targets are the container's business
 * (they resolve inside its root when it runs) and do not. */
bool rl_symlink_escapes(const char *path, const char *target);

/* Applies the layer read from fd (from its start) onto the directory
 * rootfs: first its whiteouts (.wh.NAME removes NAME, .wh..wh..opq empties
 * its directory of what lower layers put there), then its entries in
 * order, names cleaned as rl_entry_path_clean does; an entry for the root
 * gives rootfs its mode, owner and times. Character and block devices are
 * skipped (what lower layers had at their names still goes), and once the
 * layer is in, one line on stderr names them. Refused, with one line in err
 * that starts with `what`: paths with "..", writes through a symlink, hard
 * links to anything outside the rootfs, symlinks that climb above it,
 * owners outside ids (setuid/setgid ones named as such), and anything that
 * is not a tar. fd is left open. */
int rl_layer_apply(const char *rootfs, int fd, const char *what, const struct rl_layer_ids *ids,
		   struct rl_error *err);

/* What rl_layer_apply_summed computes on its way (its first pass over the
 * layer): the blob's sha256 and size, and the sha256 of the tar stream
 * once decompressed (the layer's diff ID). When the layer is refused, raw
 * (empty if it could not be read) is still the blob's. */
struct rl_layer_sums {
	char raw[65], plain[65];
	uint64_t raw_size;
};

/* rl_layer_apply, summing as it reads, so that a caller can check the
 * digests without reading the layer twice more; a layer that then does
 * not match is the caller's to throw away with the rootfs. */
int rl_layer_apply_summed(const char *rootfs, int fd, const char *what, const struct rl_layer_ids *ids,
			  struct rl_layer_sums *sums, struct rl_error *err);

/* Removes name (a tree, never following symlinks) in dirfd. 0 or -errno. */
int rl_remove_at(int dirfd, const char *name);

/* Total size of the regular files under dir, each inode counted once. */
int rl_tree_size(const char *dir, uint64_t *size, struct rl_error *err);
