/* Memory sizes as Docker takes them for --memory: a number with an optional
 * unit b, k, m or g (any case, optionally followed by b: "512m", "1g",
 * "64MB"), at least 6 MiB as Docker requires, at most the host's memory. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/error.h"

#define RL_MEMORY_MIN (6ULL << 20)

/* host_bytes: the host's memory (0: not checked). */
int rl_memsize_parse(const char *text, uint64_t host_bytes, uint64_t *out, struct rl_error *err);

/* bytes in the largest of n_units units (each base times the one before)
 * that keeps the value at least 1, with that unit's index in *unit. */
double rl_size_scale(uint64_t bytes, unsigned base, size_t n_units, size_t *unit);

/* "32MiB", "1.5GiB": for messages. */
void rl_memsize_format(uint64_t bytes, char *buf, size_t len);

/* "1.977MiB", "31.25GiB", "512B": four significant digits, as docker stats
 * prints sizes, so that scripts reading either read both. */
void rl_memsize_format_docker(uint64_t bytes, char *buf, size_t len);
