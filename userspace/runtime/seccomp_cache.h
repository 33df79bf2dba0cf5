/* The default seccomp filter's program, kept in the user's runtime
 * directory. libseccomp spends about a millisecond of CPU generating what
 * is the same for every container with the same capabilities, while the
 * container it is for needs that CPU to start. Keyed by the capabilities,
 * the kernel release and this very rlbpf binary, so a change of any of them
 * makes a new entry; an entry of the wrong size is never used. Only the
 * user can write the directory, and an entry they changed only confines
 * their own containers, which they may run unconfined anyway. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The entry's name for these capabilities; -1 when it cannot be made. */
int rl_seccomp_cache_key(uint64_t caps, char *key, size_t len);

/* Writes the entry's program to fd: 1 when sent, 0 when there is no
 * usable entry (nothing written), a negative errno when fd failed. */
int rl_seccomp_cache_send(const char *key, int fd);

/* Makes the entry from export(ctx, fd), which writes a program to fd.
 * 0, or -1 (and no entry) when anything fails. */
int rl_seccomp_cache_store(const char *key, int (*export)(void *ctx, int fd), void *ctx);
