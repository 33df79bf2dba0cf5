/* A container's event as docker events shows it, the filters that pick
 * events, and the times since and until: apart from the watching so that
 * they can be tested without containers. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct rl_container_event {
	char id[65];
	char name[130];
	char image[256];
	char action[16]; /* create, start, die, destroy */
	int exit_code;   /* die */
	long long time_ns; /* Unix time */
};

/* Docker's message: Type, Action, Actor {ID, Attributes {image, name,
 * exitCode}}, scope, time, timeNano, and the old status, id, from. */
json_t *rl_container_event_json(const struct rl_container_event *e);

/* Docker's filters argument, either form ({"k":["v"]} or {"k":{"v":true}}),
 * as {"k":["v",...]}; NULL (text NULL or "") for none. False with why when
 * it is not JSON of that shape or names a filter events does not know. */
bool rl_event_filters_parse(const char *text, json_t **out, char *why, size_t len);

/* Whether the event passes: every key given has a value that matches
 * (container: an ID or name, or a prefix of one; event; image; type;
 * scope). */
bool rl_event_filters_match(json_t *filters, const struct rl_container_event *e);

/* since/until: Unix seconds, with an optional fraction ("1733400000",
 * "1733400000.5"), as the docker CLI sends them. False when not one. */
bool rl_event_time_parse(const char *text, long long *ns);
