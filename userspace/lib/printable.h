/* Text a container wrote (user names, file names) on its way to a terminal
 * or a JSON parser. */
#pragma once
#include <stddef.h>

/* Copies at most max bytes of src (stopping at a NUL) into dst[max + 1],
 * with anything but printable ASCII replaced by '?': a terminal or a JSON
 * parser must not get a container's control bytes or broken UTF-8. */
void rl_printable_copy(char *dst, const char *src, size_t max);
