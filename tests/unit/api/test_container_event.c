/* links: api/container_event api/filters */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/container_event.h"

static const struct rl_container_event die = {
	.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	.name = "web",
	.image = "busybox",
	.action = "die",
	.exit_code = 3,
	.time_ns = 1733400000123456789LL,
};

static void docker_message(void **state)
{
	(void)state;
	json_t *m = rl_container_event_json(&die);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "Type")), "container");
	assert_string_equal(json_string_value(json_object_get(m, "Action")), "die");
	assert_string_equal(json_string_value(json_object_get(m, "status")), "die");
	assert_string_equal(json_string_value(json_object_get(m, "from")), "busybox");
	json_t *attrs = json_object_get(json_object_get(m, "Actor"), "Attributes");
	assert_string_equal(json_string_value(json_object_get(attrs, "exitCode")), "3");
	assert_string_equal(json_string_value(json_object_get(attrs, "name")), "web");
	assert_int_equal(json_integer_value(json_object_get(m, "time")), 1733400000);
	assert_int_equal(json_integer_value(json_object_get(m, "timeNano")), die.time_ns);
	json_decref(m);
	struct rl_container_event start = die;
	strcpy(start.action, "start");
	m = rl_container_event_json(&start);
	attrs = json_object_get(json_object_get(m, "Actor"), "Attributes");
	assert_null(json_object_get(attrs, "exitCode")); /* die's only */
	json_decref(m);
}

static bool passes(const char *filters)
{
	json_t *f;
	char why[300];
	assert_true(rl_event_filters_parse(filters, &f, why, sizeof(why)));
	bool r = rl_event_filters_match(f, &die);
	json_decref(f);
	return r;
}

static void filters(void **state)
{
	(void)state;
	assert_true(passes(NULL));
	assert_true(passes(""));
	/* both of Docker's forms */
	assert_true(passes("{\"container\":[\"web\"]}"));
	assert_true(passes("{\"container\":{\"web\":true}}"));
	assert_true(passes("{\"container\":[\"0123\"]}")); /* an ID prefix */
	assert_false(passes("{\"container\":[\"db\"]}"));
	assert_true(passes("{\"container\":[\"db\",\"web\"]}")); /* any of a key's values */
	assert_true(passes("{\"type\":[\"container\"],\"event\":[\"die\"]}"));
	assert_false(passes("{\"type\":[\"container\"],\"event\":[\"start\"]}")); /* all keys */
	assert_false(passes("{\"type\":[\"image\"]}"));
	assert_true(passes("{\"image\":[\"busybox:latest\"]}"));
	assert_true(passes("{\"image\":[\"busybox\"]}"));
	assert_false(passes("{\"image\":[\"alpine\"]}"));

	json_t *f = (json_t *)1;
	char why[300];
	assert_false(rl_event_filters_parse("{not json", &f, why, sizeof(why)));
	assert_null(f);
	assert_non_null(strstr(why, "filters: a JSON object"));
	assert_false(rl_event_filters_parse("[\"container\"]", &f, why, sizeof(why)));
	assert_false(rl_event_filters_parse("{\"colour\":[\"blue\"]}", &f, why, sizeof(why)));
	assert_non_null(strstr(why, "invalid filter 'colour'"));
	assert_false(rl_event_filters_parse("{\"container\":[1]}", &f, why, sizeof(why)));
	assert_false(rl_event_filters_parse("{\"container\":{\"web\":false}}", &f, why, sizeof(why)));
	assert_false(rl_event_filters_parse("{\"container\":\"web\"}", &f, why, sizeof(why)));
}

static void times(void **state)
{
	(void)state;
	long long ns;
	assert_true(rl_event_time_parse("1733400000", &ns));
	assert_int_equal(ns, 1733400000000000000LL);
	assert_true(rl_event_time_parse("1733400000.5", &ns));
	assert_int_equal(ns, 1733400000500000000LL);
	assert_true(rl_event_time_parse("1733400000.000000001", &ns));
	assert_int_equal(ns, 1733400000000000001LL);
	assert_true(rl_event_time_parse("1733400000.1234567891", &ns)); /* past ns: dropped */
	assert_int_equal(ns, 1733400000123456789LL);
	assert_false(rl_event_time_parse("", &ns));
	assert_false(rl_event_time_parse("yesterday", &ns));
	assert_false(rl_event_time_parse("-5", &ns));
	assert_false(rl_event_time_parse("17.", &ns));
	assert_false(rl_event_time_parse("17x", &ns));
	assert_false(rl_event_time_parse("99999999999999999999", &ns));
	/* past what nanoseconds in a long long hold: refused, not wrapped */
	assert_false(rl_event_time_parse("9999999999", &ns));
	assert_true(rl_event_time_parse("9223372035", &ns));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_message),
		cmocka_unit_test(filters),
		cmocka_unit_test(times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
