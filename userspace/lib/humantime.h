/* Docker's wording for time spans and moments: "Up 3 seconds",
 * "Exited (137) 2 minutes ago", "About an hour ago". */
#pragma once
#include <stddef.h>
#include <time.h>

/* "3 seconds", "About a minute", "5 hours", "2 weeks". */
void rl_human_duration(double seconds, char *buf, size_t len);

/* Parses RFC 3339 UTC ("2026-11-29T00:42:19.478081454Z"); -1 if malformed. */
double rl_parse_rfc3339(const char *s);
