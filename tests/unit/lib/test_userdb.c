/* links: lib/userdb */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/userdb.h"

static void root_is_in_passwd(void **state)
{
	(void)state;
	char name[64], home[PATH_MAX];
	assert_int_equal(rl_userdb_lookup(0, name, sizeof(name), home, sizeof(home)), 0);
	assert_string_equal(name, "root");
	assert_string_equal(home, "/root");
	/* asked again: the kept answer, the same */
	assert_int_equal(rl_userdb_lookup(0, name, sizeof(name), NULL, 0), 0);
	assert_string_equal(name, "root");
}

/* A uid nobody has (a container's subordinate uid, say) is not an error of
 * NSS's: getent says no, and the lookup says -ENOENT, never crashes. */
static void unknown_uid_is_enoent(void **state)
{
	(void)state;
	char name[64] = "untouched";
	assert_int_equal(rl_userdb_lookup(4000000123u, name, sizeof(name), NULL, 0), -ENOENT);
	assert_string_equal(name, "untouched");
	assert_int_equal(rl_userdb_lookup(4000000123u, name, sizeof(name), NULL, 0), -ENOENT);
}

/* Two uids that share a cache slot still get their own answers. */
static void colliding_uids_keep_their_own_names(void **state)
{
	(void)state;
	char a[64], b[64];
	assert_int_equal(rl_userdb_lookup(0, a, sizeof(a), NULL, 0), 0);
	assert_int_equal(rl_userdb_lookup(16 + 4000000000u - 4000000000u % 16, b, sizeof(b), NULL, 0),
			 -ENOENT);
	assert_int_equal(rl_userdb_lookup(0, a, sizeof(a), NULL, 0), 0);
	assert_string_equal(a, "root");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_is_in_passwd),
		cmocka_unit_test(unknown_uid_is_enoent),
		cmocka_unit_test(colliding_uids_keep_their_own_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
