/* links: runtime/container_file lib/fsutil lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/container_file.h"

/* This process stands for a container's init: its root is the host's. */
static void reads_through_the_inits_root(void **state)
{
	(void)state;
	char *text = NULL;
	assert_int_equal(rl_container_file_read(getpid(), "/etc/passwd", 1 << 20, &text), 0);
	assert_non_null(strstr(text, "root:"));
	free(text);
}

static void stops_at_max(void **state)
{
	(void)state;
	char *text = NULL;
	assert_int_equal(rl_container_file_read(getpid(), "/etc/passwd", 5, &text), 0);
	assert_int_equal(strlen(text), 5);
	free(text);
}

static void refuses_what_is_not_a_file(void **state)
{
	(void)state;
	char *text = (char *)"untouched";
	assert_int_equal(rl_container_file_read(getpid(), "/etc/no-such-file", 64, &text), -ENOENT);
	assert_null(text);
	assert_true(rl_container_file_read(getpid(), "/etc", 64, &text) < 0);
	assert_null(text);
	assert_true(rl_container_file_read(999999999, "/etc/passwd", 64, &text) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_through_the_inits_root),
		cmocka_unit_test(stops_at_max),
		cmocka_unit_test(refuses_what_is_not_a_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
