#include "api/container_event.h"
#include "api/filters.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

json_t *rl_container_event_json(const struct rl_container_event *e)
{
	json_t *attrs = json_pack("{s:s,s:s}", "image", e->image, "name", e->name);
	if (attrs && !strcmp(e->action, "die")) {
		char code[16];
		snprintf(code, sizeof(code), "%d", e->exit_code);
		json_object_set_new(attrs, "exitCode", json_string(code));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:o},s:s,s:I,s:I}", "status", e->action, "id",
			 e->id, "from", e->image, "Type", "container", "Action", e->action, "Actor",
			 "ID", e->id, "Attributes", attrs, "scope", "local", "time",
			 (json_int_t)(e->time_ns / 1000000000LL), "timeNano", (json_int_t)e->time_ns);
}

bool rl_event_filters_parse(const char *text, json_t **out, char *why, size_t len)
{
	static const char *const known[] = {"container", "event", "image", "type", "scope", NULL};
	return rl_api_filters_parse(text, known, "docker events", out, why, len);
}

static bool prefix_of(const char *value, const char *s)
{
	return value[0] && !strncmp(s, value, strlen(value));
}

static bool value_matches(const char *key, const char *v, const void *ctx)
{
	const struct rl_container_event *e = ctx;
	if (!strcmp(key, "container"))
		return prefix_of(v, e->id) || prefix_of(v, e->name);
	if (!strcmp(key, "event"))
		return !strcmp(v, e->action);
	if (!strcmp(key, "image"))
		return rl_api_same_image(v, e->image);
	if (!strcmp(key, "type"))
		return !strcmp(v, "container");
	return !strcmp(v, "local"); /* scope */
}

bool rl_event_filters_match(json_t *filters, const struct rl_container_event *e)
{
	return rl_api_filters_match(filters, value_matches, e);
}

bool rl_event_time_parse(const char *text, long long *ns)
{
	const char *p = text;
	long long sec = 0, frac = 0, scale = 1000000000LL;
	if (!isdigit((unsigned char)*p))
		return false;
	/* at most what nanoseconds in a long long can count (year 2262) */
	for (; isdigit((unsigned char)*p); p++) {
		sec = sec * 10 + (*p - '0');
		if (sec >= LLONG_MAX / 1000000000LL)
			return false;
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return false;
		for (; isdigit((unsigned char)*p); p++)
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
	}
	if (*p)
		return false;
	*ns = sec * 1000000000LL + frac;
	return true;
}
