/* links: lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"

static void fail_returns_negative_code_and_message(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(rl_fail(&err, EINVAL, "bad %s", "thing"), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	assert_string_equal(err.msg, "bad thing");
}

static void fail_errno_appends_reason(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(rl_fail_errno(&err, -ENOENT, "open %s", "/x"), -ENOENT);
	assert_string_equal(err.msg, "open /x: No such file or directory");
}

static void null_error_still_returns_code(void **state)
{
	(void)state;
	assert_int_equal(rl_fail(NULL, EPERM, "x"), -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fail_returns_negative_code_and_message),
		cmocka_unit_test(fail_errno_appends_reason),
		cmocka_unit_test(null_error_still_returns_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
