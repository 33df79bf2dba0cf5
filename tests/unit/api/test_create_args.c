/* links: api/create_args */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/create_args.h"

/* The arguments of a body, joined with spaces; "" and why when refused. */
static const char *args_of(const char *body, char *why, size_t len)
{
	static char joined[4096];
	json_error_t jerr;
	json_t *req = json_loads(body, 0, &jerr), *warnings = json_array();
	assert_non_null(req);
	struct rl_api_args a = {0};
	joined[0] = '\0';
	why[0] = '\0';
	if (rl_api_create_args(req, "web", &a, warnings, why, len))
		for (size_t i = 0; i < a.n; i++)
			snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
				 i ? " " : "", a.v[i]);
	rl_api_args_free(&a);
	json_decref(warnings);
	json_decref(req);
	return joined;
}

static void docker_run_it_with_an_entrypoint(void **state)
{
	(void)state;
	char why[256];
	assert_string_equal(
		args_of("{\"Image\":\"busybox\",\"Tty\":true,\"OpenStdin\":true,"
			"\"Entrypoint\":[\"sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
			"\"HostConfig\":{\"AutoRemove\":true,\"ConsoleSize\":[33,101],"
			"\"Memory\":33554432,\"PidsLimit\":5}}",
			why, sizeof(why)),
		"create --pull never --name web -t -i --entrypoint sh --rm --tty-size 33x101 "
		"--memory 33554432 --pids-limit 5 -- busybox -c echo hi");
	/* Docker's --entrypoint "": [""] clears the image's */
	assert_string_equal(args_of("{\"Image\":\"b\",\"Entrypoint\":[\"\"],\"Cmd\":[\"ls\"]}", why,
				    sizeof(why)),
			    "create --pull never --name web --entrypoint  -- b ls");
	/* the old API's string form */
	assert_string_equal(args_of("{\"Image\":\"b\",\"Entrypoint\":\"top\"}", why, sizeof(why)),
			    "create --pull never --name web --entrypoint top -- b");
	/* no terminal: the console size is not an option */
	assert_string_equal(args_of("{\"Image\":\"b\",\"HostConfig\":{\"ConsoleSize\":[0,0]}}", why,
				    sizeof(why)),
			    "create --pull never --name web -- b");
}

static void refusals_say_what(void **state)
{
	(void)state;
	char why[256];
	static const struct {
		const char *body, *why;
	} bad[] = {
		{"{}", "Image"},
		{"{\"Image\":\"b\",\"Entrypoint\":[1]}", "Entrypoint"},
		{"{\"Image\":\"b\",\"Entrypoint\":{}}", "Entrypoint"},
		{"{\"Image\":\"b\",\"Cmd\":\"ls\"}", "Cmd"},
		{"{\"Image\":\"b\",\"Env\":[null]}", "Env"},
		/* rlbpf -e KEY alone would take the service's own value */
		{"{\"Image\":\"b\",\"Env\":[\"SSH_AUTH_SOCK\"]}", "KEY=VALUE"},
		{"{\"Image\":\"b\",\"HostConfig\":{\"ConsoleSize\":[1]}}", "ConsoleSize"},
		{"{\"Image\":\"b\",\"HostConfig\":{\"ConsoleSize\":[1,70000]}}", "ConsoleSize"},
		{"{\"Image\":\"b\",\"HostConfig\":{\"Memory\":-1}}", "negative"},
		{"{\"Image\":\"b\",\"HostConfig\":{\"Privileged\":true}}", "privileged"},
		{"{\"Image\":\"b\",\"HostConfig\":{\"Binds\":[3]}}", "Binds"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_string_equal(args_of(bad[i].body, why, sizeof(why)), "");
		if (!strstr(why, bad[i].why))
			fail_msg("%s: \"%s\" does not name %s", bad[i].body, why, bad[i].why);
	}
}

static void too_many_arguments_are_refused(void **state)
{
	(void)state;
	char why[256];
	json_t *req = json_pack("{s:s,s:[]}", "Image", "b", "Cmd"), *warnings = json_array();
	for (int i = 0; i < RL_API_MAX_ARGS + 8; i++)
		json_array_append_new(json_object_get(req, "Cmd"), json_string("x"));
	struct rl_api_args a = {0};
	assert_false(rl_api_create_args(req, NULL, &a, warnings, why, sizeof(why)));
	assert_non_null(strstr(why, "too many"));
	rl_api_args_free(&a);
	json_decref(warnings);
	json_decref(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_run_it_with_an_entrypoint),
		cmocka_unit_test(refusals_say_what),
		cmocka_unit_test(too_many_arguments_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
