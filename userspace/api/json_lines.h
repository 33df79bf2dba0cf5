/* The body of a route that streams JSON documents one a line (stats,
 * events), as Docker's encoder writes them: the line being sent, and how
 * much of it has gone. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rl_json_lines {
	char *text;
	size_t len, off;
};

/* Whether everything set has been sent. */
bool rl_json_lines_empty(const struct rl_json_lines *l);
/* The document as the next line (the reference is taken); false when out
 * of memory. */
bool rl_json_lines_set(struct rl_json_lines *l, json_t *doc);
/* What fits in buf of the line: its length. */
size_t rl_json_lines_copy(struct rl_json_lines *l, char *buf, size_t max);
void rl_json_lines_free(struct rl_json_lines *l);
