/* links: api/request */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"

static void container_paths(void **state)
{
	(void)state;
	char ref[16];
	assert_true(rl_api_container_ref("/containers/web/start", "start", ref, sizeof(ref)));
	assert_string_equal(ref, "web");
	assert_true(rl_api_container_ref("/containers/abc123", "", ref, sizeof(ref)));
	assert_string_equal(ref, "abc123");
	/* another action, a deeper path, no ref, a ref too long for ref */
	assert_false(rl_api_container_ref("/containers/web/stop", "start", ref, sizeof(ref)));
	assert_false(rl_api_container_ref("/containers/web/start/x", "start", ref, sizeof(ref)));
	assert_false(rl_api_container_ref("/containers//start", "start", ref, sizeof(ref)));
	assert_false(rl_api_container_ref("/containers/web/start", "", ref, sizeof(ref)));
	assert_false(rl_api_container_ref("/containers/0123456789abcdef0/json", "json", ref, sizeof(ref)));
	assert_false(rl_api_container_ref("/images/web/json", "json", ref, sizeof(ref)));
	/* the list is not a container called json */
	assert_false(rl_api_container_ref("/containers/json", "json", ref, sizeof(ref)));
}

static const char *fixed(const struct rl_api_request *r, const char *key)
{
	(void)r;
	return !strcmp(key, "a") ? "1" : !strcmp(key, "b") ? "true" : !strcmp(key, "c") ? "0" : NULL;
}

static void query_truth(void **state)
{
	(void)state;
	struct rl_api_request r = {.query = fixed};
	assert_true(rl_api_query_true(&r, "a"));
	assert_true(rl_api_query_true(&r, "b"));
	assert_false(rl_api_query_true(&r, "c"));
	assert_false(rl_api_query_true(&r, "missing"));
}

static const char *size_h, *size_w;
static const char *sized(const struct rl_api_request *r, const char *key)
{
	(void)r;
	return !strcmp(key, "h") ? size_h : !strcmp(key, "w") ? size_w : NULL;
}

static void resize_sizes(void **state)
{
	(void)state;
	struct rl_api_request r = {.query = sized};
	struct winsize ws;
	size_h = "33", size_w = "101";
	assert_true(rl_api_query_size(&r, &ws));
	assert_int_equal(ws.ws_row, 33);
	assert_int_equal(ws.ws_col, 101);
	static const char *const bad[][2] = {{"x", "1"}, {"1", ""}, {NULL, "1"}, {"-1", "1"},
					     {" 1", "1"}, {"65536", "1"}, {"1", "2x"},
					     {"99999999999999999999", "1"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_h = bad[i][0], size_w = bad[i][1];
		assert_false(rl_api_query_size(&r, &ws));
	}
}

static void errors_are_docker_shaped(void **state)
{
	(void)state;
	struct rl_api_reply out;
	rl_api_error(&out, 404, "No such container: %s", "x");
	assert_int_equal(out.status, 404);
	assert_string_equal(json_string_value(json_object_get(out.body, "message")),
			    "No such container: x");
	json_decref(out.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container_paths),
		cmocka_unit_test(query_truth),
		cmocka_unit_test(errors_are_docker_shaped),
		cmocka_unit_test(resize_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
