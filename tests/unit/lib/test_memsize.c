/* links: lib/memsize lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/memsize.h"

static void units_as_docker(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{"32m", 32ULL << 20},	 {"32M", 32ULL << 20},	   {"32mb", 32ULL << 20},
		{"1g", 1ULL << 30},	 {"6m", 6ULL << 20},	   {"6291456", 6ULL << 20},
		{"6291456b", 6ULL << 20}, {"8192k", 8ULL << 20}, {"2GB", 2ULL << 30},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct rl_error err = {0};
		uint64_t v = 0;
		assert_int_equal(rl_memsize_parse(ok[i].text, 0, &v, &err), 0);
		assert_true(v == ok[i].bytes);
	}
}

static void bad_values_say_why(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *says;
	} bad[] = {
		{"0", "minimum is 6m"},	 {"-1", "use a size"},	   {"abc", "use a size"},
		{"5m", "minimum is 6m"}, {"12x", "unknown unit"},  {"1t", "unknown unit"},
		{"", "use a size"},	 {"99999999999999999999", "too large"},
		{"64mbb", "unknown unit"}, {"4096g", "too large"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_error err = {0};
		uint64_t v = 0;
		/* 4096g exceeds this made-up host of 16 GiB. */
		int r = rl_memsize_parse(bad[i].text, 16ULL << 30, &v, &err);
		assert_true(r < 0);
		if (!strstr(err.msg, bad[i].says) && !strstr(err.msg, "host's memory"))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err.msg, bad[i].says);
	}
}

static void format_is_readable(void **state)
{
	(void)state;
	char buf[32];
	rl_memsize_format(32ULL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "32MiB");
	rl_memsize_format(3ULL << 29, buf, sizeof(buf));
	assert_string_equal(buf, "1.5GiB");
	rl_memsize_format(100, buf, sizeof(buf));
	assert_string_equal(buf, "100B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(units_as_docker),
		cmocka_unit_test(bad_values_say_why),
		cmocka_unit_test(format_is_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
