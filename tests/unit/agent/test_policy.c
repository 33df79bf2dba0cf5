/* links: agent/policy */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "agent/policy.h"

static int fake_user(const char *name, uint32_t *uid, void *ctx)
{
	(void)ctx;
	if (!strcmp(name, "alice")) {
		*uid = 1001;
		return 0;
	}
	return -ENOENT;
}

static int fake_group(const char *name, uint32_t *uids, size_t max, size_t *n, void *ctx)
{
	(void)ctx;
	*n = 0;
	if (!strcmp(name, "www") && max >= 2) {
		uids[0] = 33;
		uids[1] = 1001;
		*n = 2;
		return 0;
	}
	if (!strcmp(name, "empty"))
		return 0;
	return -ENOENT;
}

static const struct rl_policy_resolver res = {.user = fake_user, .group = fake_group};

static char reports[1024];

static void report(unsigned line, const char *why, void *ctx)
{
	(void)ctx;
	size_t l = strlen(reports);
	snprintf(reports + l, sizeof(reports) - l, "%u: %s\n", line, why);
}

static int has(const struct rl_policy *p, uint32_t uid, uint16_t port, uint8_t proto, uint32_t line)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->grants[i].key.uid == uid && p->grants[i].key.port == port &&
		    p->grants[i].key.proto == proto)
			return p->grants[i].line == line;
	return 0;
}

static void parses_the_documented_examples(void **state)
{
	(void)state;
	struct rl_policy p = {0};
	reports[0] = 0;
	assert_int_equal(rl_policy_parse("# ports\nalice tcp 80,443\n\n@www udp 53  # dns\n", &res,
					 report, NULL, &p), 0);
	assert_int_equal(p.bad_lines, 0);
	assert_string_equal(reports, "");
	assert_int_equal(p.n, 4);
	assert_true(has(&p, 1001, 80, IPPROTO_TCP, 2));
	assert_true(has(&p, 1001, 443, IPPROTO_TCP, 2));
	assert_true(has(&p, 33, 53, IPPROTO_UDP, 4));
	assert_true(has(&p, 1001, 53, IPPROTO_UDP, 4));
	rl_policy_free(&p);
}

static void bad_lines_are_reported_and_ignored_whole(void **state)
{
	(void)state;
	struct rl_policy p = {0};
	reports[0] = 0;
	const char *text = "alice tcp 80,443\n"
			   "alice tcp 25,x\n"     /* 2: bad port, 25 must not be applied */
			   "bob tcp 80\n"         /* 3: no such user */
			   "alice sctp 80\n"      /* 4: protocol */
			   "alice tcp\n"          /* 5: too few fields */
			   "@nogroup tcp 80\n"    /* 6 */
			   "@empty tcp 80\n"      /* 7 */
			   "alice tcp 0\n"        /* 8: out of range */
			   "alice tcp 90-80\n"    /* 9: backwards */
			   "alice tcp 22,,23\n"   /* 10: empty */
			   "alice tcp 22 extra\n" /* 11 */
			   "4294967295 tcp 22\n"  /* 12 */
			   "1002 udp 1000-1030\r\n"; /* 13: good; only up to 1023 */
	assert_int_equal(rl_policy_parse(text, &res, report, NULL, &p), 0);
	assert_int_equal(p.bad_lines, 11);
	assert_non_null(strstr(reports, "2: bad port 'x'"));
	assert_non_null(strstr(reports, "3: no such user 'bob'"));
	assert_non_null(strstr(reports, "4: unknown protocol 'sctp'"));
	assert_non_null(strstr(reports, "5: expected"));
	assert_non_null(strstr(reports, "6: no such group 'nogroup'"));
	assert_non_null(strstr(reports, "7: group 'empty' has no users"));
	assert_non_null(strstr(reports, "8: bad port '0'"));
	assert_non_null(strstr(reports, "9: bad port '90-80'"));
	assert_non_null(strstr(reports, "10: empty port"));
	assert_non_null(strstr(reports, "11: expected"));
	assert_non_null(strstr(reports, "12: uid"));
	assert_false(has(&p, 1001, 25, IPPROTO_TCP, 2));
	assert_true(has(&p, 1002, 1023, IPPROTO_UDP, 13));
	assert_int_equal(p.n, 2 + 24);
	rl_policy_free(&p);
}

static void empty_and_hostile_text(void **state)
{
	(void)state;
	struct rl_policy p = {0};
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	reports[0] = 0;
	assert_int_equal(rl_policy_parse("", &res, report, NULL, &p), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(rl_policy_parse(big, &res, report, NULL, &p), 0);
	assert_int_equal(p.bad_lines, 1);
	assert_non_null(strstr(reports, "1: line longer"));
	rl_policy_free(&p);
}

static void too_many_grants_are_refused_by_line(void **state)
{
	(void)state;
	struct rl_policy p = {0};
	reports[0] = 0;
	/* 1023 ports x 2 protocols x 2 lines is over RL_MAX_PORT_RULES */
	assert_int_equal(rl_policy_parse("alice tcp 1-1023\n@www tcp 1-1023\n@www udp 1-1023\n"
					 "alice udp 1-1023\n", &res, report, NULL, &p), 0);
	assert_true(p.n <= RL_MAX_PORT_RULES);
	assert_true(p.bad_lines >= 1);
	assert_non_null(strstr(reports, "exceed"));
	rl_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_the_documented_examples),
		cmocka_unit_test(bad_lines_are_reported_and_ignored_whole),
		cmocka_unit_test(empty_and_hostile_text),
		cmocka_unit_test(too_many_grants_are_refused_by_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
