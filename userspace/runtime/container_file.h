/* A file of a running container, as the container sees it. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Reads `path` (absolute, inside the container whose init is `pid`) into a
 * NUL-terminated buffer of at most `max` bytes, through the init's root;
 * where that root refuses the caller (fuse-overlayfs serves only processes
 * of the container's user namespace), from a child that joins that user
 * namespace first. 0 and *out (free it), or a negative errno. */
int rl_container_file_read(pid_t pid, const char *path, size_t max, char **out);
