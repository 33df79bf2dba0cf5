#include "api/json_lines.h"

#include <stdlib.h>
#include <string.h>

bool rl_json_lines_empty(const struct rl_json_lines *l)
{
	return l->off >= l->len;
}

bool rl_json_lines_set(struct rl_json_lines *l, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return false;
	free(l->text);
	l->text = text;
	l->len = strlen(text);
	l->text[l->len++] = '\n'; /* in place of the NUL: len counts what is sent */
	l->off = 0;
	return true;
}

size_t rl_json_lines_copy(struct rl_json_lines *l, char *buf, size_t max)
{
	size_t n = l->len - l->off < max ? l->len - l->off : max;
	memcpy(buf, l->text + l->off, n);
	l->off += n;
	return n;
}

void rl_json_lines_free(struct rl_json_lines *l)
{
	free(l->text);
	*l = (struct rl_json_lines){0};
}
