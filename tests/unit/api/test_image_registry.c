/* links: api/image_registry api/image_progress */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/image.h"

static void hosts(void **state)
{
	(void)state;
	char host[64];
	rl_api_registry_host("busybox", host, sizeof(host));
	assert_string_equal(host, "docker.io");
	rl_api_registry_host("library/busybox:1.36", host, sizeof(host));
	assert_string_equal(host, "docker.io");
	rl_api_registry_host("127.0.0.1:5000/test/app:v1", host, sizeof(host));
	assert_string_equal(host, "127.0.0.1:5000");
	rl_api_registry_host("localhost/app", host, sizeof(host));
	assert_string_equal(host, "localhost");
	rl_api_registry_host("quay.io/podman/hello", host, sizeof(host));
	assert_string_equal(host, "quay.io");
}

static void loopback(void **state)
{
	(void)state;
	assert_true(rl_api_registry_loopback("127.0.0.1:5000"));
	assert_true(rl_api_registry_loopback("127.12.0.9"));
	assert_true(rl_api_registry_loopback("[::1]:5000"));
	assert_true(rl_api_registry_loopback("localhost:5000"));
	assert_false(rl_api_registry_loopback("128.0.0.1:5000"));
	assert_false(rl_api_registry_loopback("docker.io"));
	assert_false(rl_api_registry_loopback("127.0.0.1.example.com"));
	assert_false(rl_api_registry_loopback("[::2]:5000"));
	assert_false(rl_api_registry_loopback("[::1"));
}

static void auth(void **state)
{
	(void)state;
	json_t *file;
	char why[256];
	assert_int_equal(rl_api_registry_auth(NULL, "h", &file, why, sizeof(why)), 0);
	assert_int_equal(rl_api_registry_auth("e30=", "h", &file, why, sizeof(why)), 0);
	/* {"username":"u","password":"p?>"}: base64url, unpadded, with '-' */
	const char *hdr = "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA_PiJ9";
	assert_int_equal(rl_api_registry_auth(hdr, "127.0.0.1:5000", &file, why, sizeof(why)), 1);
	const char *b64 = json_string_value(json_object_get(
		json_object_get(json_object_get(file, "auths"), "127.0.0.1:5000"), "auth"));
	assert_string_equal(b64, "dTpwPz4="); /* base64 of "u:p?>" */
	json_decref(file);
	/* the same in standard base64, padded */
	assert_int_equal(rl_api_registry_auth("eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA/PiJ9", "h",
					      &file, why, sizeof(why)), 1);
	json_decref(file);
	assert_int_equal(rl_api_registry_auth("not base64!", "h", &file, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "X-Registry-Auth"));
	/* {"identitytoken":"t"} */
	assert_int_equal(rl_api_registry_auth("eyJpZGVudGl0eXRva2VuIjoidCJ9", "h", &file, why,
					      sizeof(why)), -1);
	assert_non_null(strstr(why, "identity tokens"));
	assert_null(file);
}

static char *dump(const char *line)
{
	json_t *list = json_array();
	rl_api_pull_messages(line, list);
	char *s = json_dumps(list, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(list);
	return s;
}

static void progress(void **state)
{
	(void)state;
	struct {
		const char *line, *json;
	} cases[] = {
		{"v1: Pulling from test/app", "[{\"id\":\"v1\",\"status\":\"Pulling from test/app\"}]"},
		{"0123456789ab: Pulling fs layer",
		 "[{\"id\":\"0123456789ab\",\"progressDetail\":{},\"status\":\"Pulling fs layer\"}]"},
		{"0123456789ab: Download complete",
		 "[{\"id\":\"0123456789ab\",\"progressDetail\":{},\"status\":\"Download complete\"},"
		 "{\"id\":\"0123456789ab\",\"progressDetail\":{},\"status\":\"Pull complete\"}]"},
		{"Digest: sha256:00", "[{\"status\":\"Digest: sha256:00\"}]"},
		{"Status: Image is up to date for a:b", "[{\"status\":\"Status: Image is up to date for a:b\"}]"},
		{"127.0.0.1:5000/test/app:v1", "[]"},
		{"", "[]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = dump(cases[i].line);
		assert_string_equal(got, cases[i].json);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hosts),
		cmocka_unit_test(loopback),
		cmocka_unit_test(auth),
		cmocka_unit_test(progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
