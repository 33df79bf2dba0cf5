/* Small filesystem helpers shared by the CLI modules. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/error.h"

/* Removes a tree without following symlinks or crossing mount points.
 * Returns 0, or the negative errno of the first entry that could not go. */
int rl_remove_tree(const char *path);

/* Removes a tree whose files may belong to a container's subordinate ids:
 * plainly first, then, when that is refused and userns_fd (a container's
 * user namespace) is given, from inside that namespace. */
int rl_remove_tree_as_owner(const char *path, int userns_fd, struct rl_error *err);

/* Opens a file for reading only if it is a regular file (a FIFO or device
 * planted in a container's /etc must not block or feed us); NULL if not. */
FILE *rl_fopen_regular(const char *path);

/* Writes the whole buffer to path (O_CREAT|O_TRUNC, mode), or fails. */
int rl_write_file(const char *path, const void *data, size_t len, unsigned mode,
		  struct rl_error *err);

/* Reads at most len-1 bytes of a small file into buf, NUL-terminated. */
int rl_read_file(const char *path, char *buf, size_t len, struct rl_error *err);

/* Opens `path` with every component resolved inside the tree at rootfd, so
 * that no symlink leads out of it. Returns an fd or a negative errno. */
int rl_open_in_root(int rootfd, const char *path, int flags);

/* Creates `path` (absolute, as seen from rootfd) inside the tree at rootfd,
 * every component resolved inside it (symlinks cannot lead out), as a
 * directory or, when as_file, an empty file, unless it exists. Returns an
 * O_PATH fd of it, or a negative errno. */
int rl_create_in_root(int rootfd, const char *path, bool as_file, struct rl_error *err);

/* Marks every fd from first up close-on-exec: close_range's
 * CLOSE_RANGE_CLOEXEC, or (Linux before 5.11, which refuses the flag) each
 * fd that /proc/self/fd lists. */
void rl_cloexec_from(unsigned first);
