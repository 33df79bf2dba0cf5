#include "api/container_event.h"

#include <ctype.h>
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

static const char *const known[] = {"container", "event", "image", "type", "scope"};

static bool known_key(const char *key)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(key, known[i]))
			return true;
	return false;
}

bool rl_event_filters_parse(const char *text, json_t **out, char *why, size_t len)
{
	*out = NULL;
	if (!text || !text[0])
		return true;
	json_error_t jerr;
	json_t *in = json_loads(text, 0, &jerr), *values;
	const char *key;
	if (!json_is_object(in)) {
		json_decref(in);
		snprintf(why, len, "filters: a JSON object such as {\"container\":[\"web\"]} is "
			 "needed: %s", jerr.text[0] ? jerr.text : "not an object");
		return false;
	}
	json_t *norm = json_object();
	json_object_foreach(in, key, values) {
		if (!known_key(key)) {
			snprintf(why, len, "invalid filter '%s': docker events here filters by "
				 "container, event, image, type and scope", key);
			goto bad;
		}
		json_t *list = json_array(), *v;
		json_object_set_new(norm, key, list);
		size_t i;
		const char *word;
		if (json_is_array(values)) {
			json_array_foreach(values, i, v) {
				if (!json_is_string(v))
					goto shape;
				json_array_append(list, v);
			}
		} else if (json_is_object(values)) {
			json_object_foreach(values, word, v) {
				if (!json_is_true(v))
					goto shape;
				json_array_append_new(list, json_string(word));
			}
		} else {
			goto shape;
		}
	}
	json_decref(in);
	*out = norm;
	return true;
shape:
	snprintf(why, len, "filters: the values of '%s' must be a list of strings, or an object "
		 "of strings to true", key);
bad:
	json_decref(in);
	json_decref(norm);
	return false;
}

static bool prefix_of(const char *value, const char *s)
{
	return value[0] && !strncmp(s, value, strlen(value));
}

/* The length of an image name without a ":latest" it ends with: busybox
 * and busybox:latest are one image. */
static size_t untagged_len(const char *image)
{
	size_t n = strlen(image);
	const char *colon = strrchr(image, ':');
	return colon && !strchr(colon, '/') && !strcmp(colon, ":latest") ? (size_t)(colon - image) : n;
}

static bool same_image(const char *a, const char *b)
{
	size_t n = untagged_len(a);
	return n == untagged_len(b) && !strncmp(a, b, n);
}

static bool value_matches(const char *key, const char *v, const struct rl_container_event *e)
{
	if (!strcmp(key, "container"))
		return prefix_of(v, e->id) || prefix_of(v, e->name);
	if (!strcmp(key, "event"))
		return !strcmp(v, e->action);
	if (!strcmp(key, "image"))
		return same_image(v, e->image);
	if (!strcmp(key, "type"))
		return !strcmp(v, "container");
	return !strcmp(v, "local"); /* scope */
}

bool rl_event_filters_match(json_t *filters, const struct rl_container_event *e)
{
	const char *key;
	json_t *values, *v;
	size_t i;
	json_object_foreach(filters, key, values) {
		bool any = json_array_size(values) == 0;
		json_array_foreach(values, i, v)
			any = any || value_matches(key, json_string_value(v), e);
		if (!any)
			return false;
	}
	return true;
}

bool rl_event_time_parse(const char *text, long long *ns)
{
	const char *p = text;
	long long sec = 0, frac = 0, scale = 1000000000LL;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (sec > 9999999999LL)
			return false;
		sec = sec * 10 + (*p - '0');
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
