/* One error type carries a message from where a failure happens up to the
 * CLI, which prints it once, prefixed with the command. */
#pragma once
#include <stddef.h>

/* Exit codes of rlbpf's own failures, as Docker's: its own error, a command
 * that cannot be executed, a command not found. */
#define RL_EXIT_INTERNAL 125
#define RL_EXIT_CANNOT_EXEC 126
#define RL_EXIT_NOT_FOUND 127

struct rl_error {
	int code;      /* positive errno, or 0 when none */
	char msg[512]; /* "what failed: why; what to do" */
};

/* Records the message and returns -code, so callers can write
 * `return rl_fail(err, EINVAL, "...")`. code may be given negative. */
int rl_fail(struct rl_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like rl_fail, appending ": strerror(code)". */
int rl_fail_errno(struct rl_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints "PREFIX: message" on stderr, once. */
void rl_error_print(const struct rl_error *err, const char *prefix);
