/* A detached container's log: what it wrote on stdout and stderr, one
 * record a line, in the CRI ("k8s-file") format that Podman's conmon uses:
 *   2026-11-29T00:40:00.123456789Z stdout F the line
 * F marks a whole line, P a piece of a longer one. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

#define RL_LOG_PIECE 16384 /* a longer line is written in pieces */

struct rl_log_stream {
	const char *name; /* "stdout" or "stderr" */
	char buf[RL_LOG_PIECE];
	size_t len;
};

/* Appends data read from a stream; writes out every whole line, and a
 * piece when the buffer is full. */
int rl_log_append(int logfd, struct rl_log_stream *s, const char *data, size_t len);

/* Writes out what is left of a stream that has ended. */
int rl_log_flush(int logfd, struct rl_log_stream *s);

struct rl_log_record {
	char time[40];
	bool is_stderr;
	bool partial;
	const char *text; /* points into the line given to the parser */
	size_t len;
};

/* Parses one line of the log (without its newline); false if malformed. */
bool rl_log_parse(char *line, struct rl_log_record *rec);
