/* links: runtime/passwd lib/fsutil lib/printable lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/passwd.h"

/* An image's /etc/passwd and /etc/group, written by the test. */

static char dir[] = "/tmp/rlbpf-test-passwd-XXXXXX";
static char passwd_path[64], group_path[64], missing_path[64];

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"broken line without colons\n"
	"short:x:5:5\n"
	"badid:x:abc:0::/home/badid:/bin/sh\n"
	"badgid:x:1003:g::/home/badgid:/bin/sh\n"
	"negative:x:-7:0::/home/negative:/bin/sh\n"
	"\n"
	"alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"
	"bob:x:1001:100::/home/bob:/bin/sh\n"
	"nohome:x:1002:1002:::/bin/sh\n"
	"alice:x:2000:2000:second alice:/nowhere:/bin/sh\n"
	"dave:x:1004:1004::/home/dave:/bin/sh"; /* no final newline */

static const char group_text[] =
	"root:x:0:\n"
	"wheel:x:10:root,alice\n"
	"users:x:100:bob,alice\n"
	"garbage\n"
	"staff:x:nope:alice\n"
	"nomembers:x:30\n"
	"alice:x:1000:alice\n" /* her primary group, listed: not supplementary */
	"video:x:44:alicex,xalice,carol\n"
	"audio:x:29:dave,alice\n"
	"dave:x:1004:";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int make_files(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	snprintf(group_path, sizeof(group_path), "%s/group", dir);
	snprintf(missing_path, sizeof(missing_path), "%s/missing", dir);
	FILE *p = fopen(passwd_path, "w"), *g = fopen(group_path, "w");
	if (!p || !g)
		return -1;
	fputs(passwd_text, p);
	fputs(group_text, g);
	return fclose(p) == 0 && fclose(g) == 0 ? 0 : -1;
}

static int remove_files(void **state)
{
	(void)state;
	char cmd[64 + sizeof(dir)];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool has_group(const struct rl_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return true;
	return false;
}

static void resolve_ok(const char *spec, struct rl_user *u)
{
	struct rl_error err = {0};
	int r = rl_user_resolve(spec, passwd_path, group_path, u, &err);
	if (r != 0)
		fail_msg("'%s' failed (%d): %s", spec ? spec : "(null)", r, err.msg);
}

/* ---- root by default */

static void no_spec_is_root(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok(NULL, &u);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/root");
}

static void no_spec_without_root_entry(void **state)
{
	(void)state;
	char path[96];
	snprintf(path, sizeof(path), "%s/passwd-noroot", dir);
	write_text(path, "daemon:x:1:1::/usr/sbin:/bin/false\n");
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve(NULL, path, group_path, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
}

/* An entry for uid 0 with another primary gid still gives gid 0 by default. */
static void no_spec_is_gid_zero_whatever_the_entry(void **state)
{
	(void)state;
	char path[96];
	snprintf(path, sizeof(path), "%s/passwd-root50", dir);
	write_text(path, "root:x:0:50:root:/var/root:/bin/sh\n");
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve(NULL, path, group_path, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/var/root");
}

/* ---- numbers */

static void uid_with_entry(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("1001", &u);
	assert_int_equal(u.uid, 1001);
	assert_int_equal(u.gid, 100);
	assert_string_equal(u.home, "/home/bob");
	resolve_ok("1000", &u);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000); /* the first entry with that uid */
	assert_string_equal(u.home, "/home/alice");
}

static void uid_without_entry(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("4242", &u);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(u.n_groups, 0);
	resolve_ok("4294967294", &u);
	assert_int_equal(u.uid, 4294967294u);
}

static void uid_and_gid_numbers(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("4242:4343", &u);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 4343);
	resolve_ok("1001:0", &u); /* the number overrides the entry's group */
	assert_int_equal(u.uid, 1001);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/home/bob");
}

static void uid_with_group_name(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("4242:wheel", &u);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 10);
}

/* ---- names */

static void name_gives_entry(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("bob", &u);
	assert_int_equal(u.uid, 1001);
	assert_int_equal(u.gid, 100);
	assert_string_equal(u.home, "/home/bob");
	resolve_ok("alice", &u); /* first entry wins */
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.home, "/home/alice");
}

static void name_with_empty_home(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("nohome", &u);
	assert_int_equal(u.uid, 1002);
	assert_string_equal(u.home, "/");
}

static void name_with_group_name(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("alice:users", &u);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 100);
	assert_string_equal(u.home, "/home/alice");
	resolve_ok("bob:root", &u);
	assert_int_equal(u.gid, 0);
}

static void name_with_group_number(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("alice:555", &u); /* a number needs no entry */
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 555);
	resolve_ok("alice:10", &u);
	assert_int_equal(u.gid, 10);
}

static void unknown_user(void **state)
{
	(void)state;
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve("mallory", passwd_path, group_path, &u, &err), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "unable to find user mallory"));
	/* Not a prefix match either way. */
	err = (struct rl_error){0};
	assert_int_equal(rl_user_resolve("ali", passwd_path, group_path, &u, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "ali"));
	assert_int_equal(rl_user_resolve("alicex", passwd_path, group_path, &u, &err), -ENOENT);
	/* The user is looked up before the group. */
	err = (struct rl_error){0};
	assert_int_equal(rl_user_resolve("mallory:wheel", passwd_path, group_path, &u, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "user mallory"));
}

static void unknown_group(void **state)
{
	(void)state;
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve("alice:nogroup", passwd_path, group_path, &u, &err),
			 -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "unable to find group nogroup"));
	err = (struct rl_error){0};
	assert_int_equal(rl_user_resolve("1000:whe", passwd_path, group_path, &u, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "group whe"));
}

static void too_long_spec(void **state)
{
	(void)state;
	char spec[300];
	memset(spec, 'u', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	struct rl_user u;
	struct rl_error err = {0};
	assert_true(rl_user_resolve(spec, passwd_path, group_path, &u, &err) < 0);
	assert_true(err.msg[0] != '\0');
}

/* ---- supplementary groups */

static void supplementary_groups_of_a_name(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("alice", &u);
	/* wheel, users, audio in file order; not her primary group 1000, not
	 * the line with a bad gid, not "alicex" or "xalice". */
	assert_int_equal(u.n_groups, 3);
	assert_int_equal(u.groups[0], 10);
	assert_int_equal(u.groups[1], 100);
	assert_int_equal(u.groups[2], 29);
	assert_false(has_group(&u, 1000));
	assert_false(has_group(&u, 44));

	resolve_ok("bob", &u);
	/* bob is a member of users, which is his primary group. */
	assert_int_equal(u.n_groups, 0);

	resolve_ok("dave", &u);
	assert_int_equal(u.n_groups, 1);
	assert_int_equal(u.groups[0], 29);
}

/* With an explicit group, the primary gid is that group; it must not also be
 * listed as a supplementary one. (Docker gives no supplementary groups at
 * all in this form.) */
static void supplementary_groups_exclude_explicit_primary(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("alice:users", &u);
	assert_int_equal(u.gid, 100);
	if (has_group(&u, 100))
		fail_msg("gid 100 is both the primary and a supplementary group (%zu groups)",
			 u.n_groups);
}

static void supplementary_groups_capped(void **state)
{
	(void)state;
	char path[96];
	snprintf(path, sizeof(path), "%s/group-many", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < RL_MAX_GROUPS + 10; i++)
		fprintf(f, "g%d:x:%d:bob,alice\n", i, 5000 + i);
	assert_int_equal(fclose(f), 0);
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve("alice", passwd_path, path, &u, &err), 0);
	assert_int_equal(u.n_groups, RL_MAX_GROUPS);
	assert_int_equal(u.groups[0], 5000);
	assert_int_equal(u.groups[RL_MAX_GROUPS - 1], 5000 + RL_MAX_GROUPS - 1);
}

/* A group with many members: a line longer than any fixed buffer must not
 * lose the members at its end (nor be read as several lines). */
static void long_group_line_keeps_late_members(void **state)
{
	(void)state;
	char path[96];
	snprintf(path, sizeof(path), "%s/group-long", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("big:x:777:", f);
	for (int i = 0; i < 800; i++)
		fprintf(f, "member%03d,", i);
	fputs("alice\n", f);
	fputs("small:x:778:alice\n", f);
	assert_int_equal(fclose(f), 0);
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve("alice", passwd_path, path, &u, &err), 0);
	assert_true(has_group(&u, 778));
	if (!has_group(&u, 777))
		fail_msg("alice, last member of a %d-byte group line, lost group 777",
			 10 + 800 * 10 + 5);
}

/* ---- malformed and missing files */

static void malformed_lines_skipped(void **state)
{
	(void)state;
	struct rl_user u;
	struct rl_error err = {0};
	/* Lines with too few fields or bad numbers are not entries... */
	static const char *const bad[] = {"short", "badid", "badgid", "negative", "broken line without colons"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = rl_user_resolve(bad[i], passwd_path, group_path, &u, &err);
		if (r != -ENOENT)
			fail_msg("'%s' gave %d, expected -ENOENT", bad[i], r);
	}
	/* ...and their numbers are not found through them either. */
	resolve_ok("5", &u);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	resolve_ok("1003", &u);
	assert_int_equal(u.gid, 0);
	/* Entries after them, the last one without a newline, are found. */
	resolve_ok("dave", &u);
	assert_int_equal(u.uid, 1004);
	assert_string_equal(u.home, "/home/dave");
	/* A group line with a bad gid is not found by name. */
	assert_int_equal(rl_user_resolve("alice:staff", passwd_path, group_path, &u, &err), -ENOENT);
	assert_int_equal(rl_user_resolve("alice:garbage", passwd_path, group_path, &u, &err),
			 -ENOENT);
	/* A group line with only three fields still names its gid. */
	resolve_ok("alice:nomembers", &u);
	assert_int_equal(u.gid, 30);
	/* The last group line has no newline. */
	resolve_ok("alice:dave", &u);
	assert_int_equal(u.gid, 1004);
}

static void missing_files_are_empty(void **state)
{
	(void)state;
	struct rl_user u;
	struct rl_error err = {0};
	assert_int_equal(rl_user_resolve(NULL, missing_path, missing_path, &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(rl_user_resolve("1000", missing_path, missing_path, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 0);
	assert_int_equal(rl_user_resolve("1000:5", missing_path, missing_path, &u, &err), 0);
	assert_int_equal(u.gid, 5);
	assert_int_equal(rl_user_resolve("alice", missing_path, missing_path, &u, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "user alice"));
	err = (struct rl_error){0};
	assert_int_equal(rl_user_resolve("1000:wheel", passwd_path, missing_path, &u, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "group wheel"));
	/* A name with a passwd entry and no group file: no supplementary groups. */
	assert_int_equal(rl_user_resolve("alice", passwd_path, missing_path, &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.n_groups, 0);
}

static void result_is_reset_each_call(void **state)
{
	(void)state;
	struct rl_user u;
	resolve_ok("alice", &u);
	assert_true(u.n_groups > 0);
	resolve_ok("4242", &u);
	assert_int_equal(u.n_groups, 0);
	assert_string_equal(u.home, "/");
	assert_int_equal(u.gid, 0);
}

/* rlbpf top and trace name a container's uids from its passwd's text. */
static void name_of_a_uid_from_the_text(void **state)
{
	(void)state;
	char name[16];
	assert_true(rl_passwd_name(passwd_text, 0, name, sizeof(name)));
	assert_string_equal(name, "root");
	/* the first entry for a uid, past lines that are not entries */
	assert_true(rl_passwd_name(passwd_text, 1000, name, sizeof(name)));
	assert_string_equal(name, "alice");
	assert_true(rl_passwd_name(passwd_text, 1004, name, sizeof(name)));
	assert_string_equal(name, "dave");
	assert_false(rl_passwd_name(passwd_text, 5, name, sizeof(name)));
	assert_false(rl_passwd_name(passwd_text, 4242, name, sizeof(name)));
	assert_false(rl_passwd_name("", 0, name, sizeof(name)));
	assert_false(rl_passwd_name(NULL, 0, name, sizeof(name)));
	/* the container wrote the name: no control bytes reach a terminal, and
	 * a long one is cut to the buffer */
	assert_true(rl_passwd_name("\033[2Jev\xc3\xa9il:x:7:7::/:/bin/sh\n", 7, name, sizeof(name)));
	assert_string_equal(name, "?[2Jev??il");
	assert_true(rl_passwd_name("averyveryverylongname:x:8:8::/:/bin/sh\n", 8, name, sizeof(name)));
	assert_string_equal(name, "averyveryverylo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_spec_is_root),
		cmocka_unit_test(no_spec_without_root_entry),
		cmocka_unit_test(no_spec_is_gid_zero_whatever_the_entry),
		cmocka_unit_test(uid_with_entry),
		cmocka_unit_test(uid_without_entry),
		cmocka_unit_test(uid_and_gid_numbers),
		cmocka_unit_test(uid_with_group_name),
		cmocka_unit_test(name_gives_entry),
		cmocka_unit_test(name_with_empty_home),
		cmocka_unit_test(name_with_group_name),
		cmocka_unit_test(name_with_group_number),
		cmocka_unit_test(unknown_user),
		cmocka_unit_test(unknown_group),
		cmocka_unit_test(too_long_spec),
		cmocka_unit_test(supplementary_groups_of_a_name),
		cmocka_unit_test(supplementary_groups_exclude_explicit_primary),
		cmocka_unit_test(supplementary_groups_capped),
		cmocka_unit_test(long_group_line_keeps_late_members),
		cmocka_unit_test(malformed_lines_skipped),
		cmocka_unit_test(missing_files_are_empty),
		cmocka_unit_test(result_is_reset_each_call),
		cmocka_unit_test(name_of_a_uid_from_the_text),
	};
	return cmocka_run_group_tests(tests, make_files, remove_files);
}
