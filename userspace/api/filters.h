/* Docker's filters argument: {"key":["value",...]} or, as older clients
 * send it, {"key":{"value":true}}. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The filters in text as {"key":["value",...]}; NULL (text NULL or "")
 * for none. False with why when text is not JSON of that shape or names a
 * key not in known (NULL-terminated; who: what filters, for the message). */
bool rl_api_filters_parse(const char *text, const char *const *known, const char *who,
			  json_t **out, char *why, size_t len);

/* Whether two image names name one image: busybox and busybox:latest do. */
bool rl_api_same_image(const char *a, const char *b);

/* Whether something passes every filter: for each key, one of its values
 * matches (matches() says, for that key and value). */
bool rl_api_filters_match(json_t *filters,
			  bool (*matches)(const char *key, const char *value, const void *ctx),
			  const void *ctx);
