/* Docker's filters query argument, for the routes that take one. */
#include "api/filters.h"

#include <stdio.h>
#include <string.h>

static bool known_key(const char *const *known, const char *key)
{
	for (size_t i = 0; known[i]; i++)
		if (!strcmp(key, known[i]))
			return true;
	return false;
}

bool rl_api_filters_parse(const char *text, const char *const *known, const char *who,
			  json_t **out, char *why, size_t len)
{
	*out = NULL;
	if (!text || !text[0])
		return true;
	json_error_t jerr;
	json_t *in = json_loads(text, 0, &jerr), *values;
	const char *key;
	if (!json_is_object(in)) {
		json_decref(in);
		snprintf(why, len, "filters: a JSON object such as {\"%s\":[\"web\"]} is "
			 "needed: %s", known[0], jerr.text[0] ? jerr.text : "not an object");
		return false;
	}
	json_t *norm = json_object();
	json_object_foreach(in, key, values) {
		if (!known_key(known, key)) {
			size_t n = (size_t)snprintf(why, len, "invalid filter '%s': %s here filters by",
						    key, who);
			for (size_t i = 0; known[i] && n < len; i++)
				n += (size_t)snprintf(why + n, len - n, "%s %s", i ? "," : "", known[i]);
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

/* The length of an image name without a ":latest" it ends with: busybox
 * and busybox:latest are one image. */
static size_t untagged_len(const char *image)
{
	size_t n = strlen(image);
	const char *colon = strrchr(image, ':');
	return colon && !strchr(colon, '/') && !strcmp(colon, ":latest") ? (size_t)(colon - image) : n;
}

bool rl_api_same_image(const char *a, const char *b)
{
	size_t n = untagged_len(a);
	return n == untagged_len(b) && !strncmp(a, b, n);
}

bool rl_api_filters_match(json_t *filters,
			  bool (*matches)(const char *key, const char *value, const void *ctx),
			  const void *ctx)
{
	const char *key;
	json_t *values, *v;
	size_t i;
	json_object_foreach(filters, key, values) {
		bool any = json_array_size(values) == 0;
		json_array_foreach(values, i, v)
			any = any || matches(key, json_string_value(v), ctx);
		if (!any)
			return false;
	}
	return true;
}
