/* links: image/reference lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image/reference.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void parse_ok(const char *text, const char *host, const char *repo, const char *tag,
		     const char *digest, const char *name, const char *full)
{
	struct rl_pull_ref r;
	struct rl_error err = {0};
	assert_int_equal(rl_pull_ref_parse(text, &r, &err), 0);
	assert_string_equal(r.host, host);
	assert_string_equal(r.repo, repo);
	assert_string_equal(r.tag, tag);
	assert_string_equal(r.digest, digest);
	assert_string_equal(r.name, name);
	assert_string_equal(r.full, full);
}

static void docker_hub_names(void **state)
{
	(void)state;
	parse_ok("busybox", "docker.io", "library/busybox", "latest", "", "busybox:latest",
		 "docker.io/library/busybox:latest");
	parse_ok("docker.io/library/redis:7", "docker.io", "library/redis", "7", "", "redis:7",
		 "docker.io/library/redis:7");
	parse_ok("bitnami/redis", "docker.io", "bitnami/redis", "latest", "", "bitnami/redis:latest",
		 "docker.io/bitnami/redis:latest");
	parse_ok("index.docker.io/library/alpine:3", "docker.io", "library/alpine", "3", "", "alpine:3",
		 "docker.io/library/alpine:3");
}

static void other_registries(void **state)
{
	(void)state;
	parse_ok("127.0.0.1:15001/test/app:v1", "127.0.0.1:15001", "test/app", "v1", "",
		 "127.0.0.1:15001/test/app:v1", "127.0.0.1:15001/test/app:v1");
	parse_ok("localhost/app", "localhost", "app", "latest", "", "localhost/app:latest",
		 "localhost/app:latest");
	parse_ok("quay.io/a/b/c", "quay.io", "a/b/c", "latest", "", "quay.io/a/b/c:latest",
		 "quay.io/a/b/c:latest");
}

static void digests(void **state)
{
	(void)state;
	parse_ok("busybox@sha256:" HEX, "docker.io", "library/busybox", "", "sha256:" HEX, "",
		 "docker.io/library/busybox@sha256:" HEX);
	parse_ok("r.io:5000/x:1@sha256:" HEX, "r.io:5000", "x", "1", "sha256:" HEX, "r.io:5000/x:1",
		 "r.io:5000/x:1@sha256:" HEX);
}

static void refused(void **state)
{
	(void)state;
	const char *bad[] = {"", "a//b", "x:", "x:-tag", "x@sha256:abc", "x@md5:" HEX,
			     "x@sha256:" HEX "0", "../x", "x/../y", "host:port/x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_pull_ref r;
		struct rl_error err = {0};
		assert_int_equal(rl_pull_ref_parse(bad[i], &r, &err), -EINVAL);
		assert_true(err.msg[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_hub_names),
		cmocka_unit_test(other_registries),
		cmocka_unit_test(digests),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
