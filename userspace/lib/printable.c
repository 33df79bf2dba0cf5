#include "lib/printable.h"

void rl_printable_copy(char *dst, const char *src, size_t max)
{
	size_t i = 0;
	for (; i < max && src[i]; i++)
		dst[i] = src[i] >= ' ' && src[i] <= '~' ? src[i] : '?';
	dst[i] = 0;
}
