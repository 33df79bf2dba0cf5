/* Scope-bound release of fds, FILE*, heap memory and json_t. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void rl_freep(void *p) { free(*(void **)p); }
static inline void rl_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void rl_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_   __attribute__((cleanup(rl_freep)))
#define _cleanup_close_  __attribute__((cleanup(rl_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(rl_fclosep)))
/* for files that include <jansson.h> (its json_decrefp) */
#define _cleanup_json_   __attribute__((cleanup(json_decrefp)))

/* Hands ownership out of a cleanup-scoped variable. */
#define RL_TAKE(var)                                                           \
	({                                                                     \
		__typeof__(var) taken_ = (var);                                \
		(var) = (__typeof__(var))0;                                    \
		taken_;                                                        \
	})
#define RL_TAKE_FD(fd)                                                         \
	({                                                                     \
		int taken_ = (fd);                                             \
		(fd) = -1;                                                     \
		taken_;                                                        \
	})
