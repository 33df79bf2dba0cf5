/* links: image/store image/reference runtime/userns_exec runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/paths lib/userdb lib/fsutil lib/error */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/store.h"

/* Each test gets its own XDG_DATA_HOME and XDG_RUNTIME_DIR, and a store
 * holding images made by hand (a config, a size, an empty rootfs). */

static char base[64];
static struct rl_store store;

#define ID_A "aaaa1111000000000000000000000000000000000000000000000000000000aa"
#define ID_B "aaaa2222000000000000000000000000000000000000000000000000000000bb"
#define ID_C "cccc0000000000000000000000000000000000000000000000000000000000cc"

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void make_image(const char *hex, const char *created, unsigned long long size)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", store.dir, hex);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/rootfs", store.dir, hex);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/rootfs/file", store.dir, hex);
	write_text(path, "x");
	char text[256];
	snprintf(path, sizeof(path), "%s/%s/config.json", store.dir, hex);
	snprintf(text, sizeof(text), "{\"created\": \"%s\", \"os\": \"linux\"}", created);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/%s/image.json", store.dir, hex);
	snprintf(text, sizeof(text), "{\"Size\": %llu}", size);
	write_text(path, text);
}

static bool image_exists(const char *hex)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", store.dir, hex);
	return access(path, F_OK) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/rlbpf-test-store-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/data", base);
	setenv("XDG_DATA_HOME", dir, 1);
	snprintf(dir, sizeof(dir), "%s/run", base);
	mkdir(dir, 0700);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	umask(022);
	struct rl_error err = {0};
	if (rl_store_open(&store, &err) < 0)
		return -1;
	make_image(ID_A, "2024-01-02T03:04:05.123456789Z", 1000);
	make_image(ID_B, "2024-06-01T00:00:00+02:00", 2000);
	make_image(ID_C, "", 3000);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", base, base);
	return system(cmd) == 0 ? 0 : -1;
}

static void tag_ok(const char *source, const char *target)
{
	struct rl_error err = {0};
	if (rl_store_tag(&store, source, target, &err) < 0)
		fail_msg("tag %s %s: %s", source, target, err.msg);
}

static void lookup_is(const char *ref, const char *hex, const char *name_tag)
{
	char id[72], nt[512];
	struct rl_error err = {0};
	if (rl_store_lookup(&store, ref, id, nt, sizeof(nt), &err) < 0)
		fail_msg("lookup %s: %s", ref, err.msg);
	assert_string_equal(id + 7, hex);
	assert_string_equal(nt, name_tag);
}

static int lookup_fails(const char *ref, const char *needle)
{
	char id[72];
	struct rl_error err = {0};
	int r = rl_store_lookup(&store, ref, id, NULL, 0, &err);
	assert_true(r < 0);
	if (!strstr(err.msg, needle))
		fail_msg("lookup %s: '%s' does not say '%s'", ref, err.msg, needle);
	return r;
}

/* ---- references */

static void normalizes_references(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"busybox", "busybox:latest"},
		{"busybox:1.36", "busybox:1.36"},
		{"docker.io/library/busybox", "busybox:latest"},
		{"docker.io/busybox:x", "busybox:x"},
		{"library/alpine:3", "alpine:3"},
		{"docker.io/foo/bar", "foo/bar:latest"},
		{"localhost:5000/a/b:v1.0_rc-2", "localhost:5000/a/b:v1.0_rc-2"},
		{"quay.io/org/img", "quay.io/org/img:latest"},
		{"my_app__x-y.z", "my_app__x-y.z:latest"},
		{"a--b", "a--b:latest"},
		{"img:TAG_1", "img:TAG_1"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[512];
		struct rl_error err = {0};
		if (rl_ref_normalize(ok[i].in, out, sizeof(out), &err) < 0)
			fail_msg("%s refused: %s", ok[i].in, err.msg);
		assert_string_equal(out, ok[i].out);
	}
	static const char *const bad[] = {
		"", "Busybox", "bus box", "a//b", "-a", "a-", "a:", "a:-x", "a:.x", "a@sha256:00",
		"a/", "/a", "a..b", "a___b", "ex ample.com/x", "x:y:z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[512];
		struct rl_error err = {0};
		if (rl_ref_normalize(bad[i], out, sizeof(out), &err) == 0)
			fail_msg("'%s' accepted as '%s'", bad[i], out);
		assert_int_equal(err.code, EINVAL);
	}
	assert_string_equal(rl_ref_tag("localhost:5000/x:1"), "1");
}

/* ---- lookups */

static void lookups(void **state)
{
	(void)state;
	tag_ok(ID_A, "alpha");
	tag_ok("alpha", "alpha:v1");
	tag_ok("sha256:" ID_C, "docker.io/library/gamma:2");
	lookup_is("alpha", ID_A, "alpha:latest");
	lookup_is("alpha:latest", ID_A, "alpha:latest");
	lookup_is("docker.io/library/alpha:v1", ID_A, "alpha:v1");
	lookup_is("gamma:2", ID_C, "gamma:2");
	lookup_is("cccc", ID_C, "");
	lookup_is("sha256:aaaa2", ID_B, "");
	lookup_is(ID_B, ID_B, "");
	assert_int_equal(lookup_fails("aaaa", "ambiguous"), -EINVAL);
	assert_int_equal(lookup_fails("sha256:aa", "2 images match"), -EINVAL);
	assert_int_equal(lookup_fails("nothing", "no such image: 'nothing:latest'"), -ENOENT);
	assert_int_equal(lookup_fails("gamma", "no such image"), -ENOENT);
	assert_int_equal(lookup_fails("dddd", "no such image"), -ENOENT);
	assert_int_equal(lookup_fails("sha256:xyz", "malformed"), -EINVAL);
	assert_int_equal(lookup_fails("Upper", "invalid reference format"), -EINVAL);
	/* A name wins over an ID prefix, as in Docker. */
	tag_ok(ID_C, "aaaa");
	lookup_is("aaaa", ID_C, "aaaa:latest");
}

static void tag_moves_and_refuses(void **state)
{
	(void)state;
	tag_ok(ID_A, "x:1");
	tag_ok(ID_B, "x:1");
	lookup_is("x:1", ID_B, "x:1");
	struct rl_error err = {0};
	assert_int_equal(rl_store_tag(&store, "nothing", "y", &err), -ENOENT);
	assert_int_equal(rl_store_tag(&store, ID_A, "Bad:Name", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid reference format"));
}

static void lists_newest_first(void **state)
{
	(void)state;
	tag_ok(ID_A, "alpha:b");
	tag_ok(ID_A, "alpha:a");
	struct rl_store_image *v;
	size_t n;
	struct rl_error err = {0};
	assert_int_equal(rl_store_list(&store, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	/* B (2024-05-31T22:00Z), A (2024-01-02), C (no date). */
	assert_string_equal(v[0].id, "sha256:" ID_B);
	assert_int_equal(v[0].created, 1717192800);
	assert_int_equal(v[0].size, 2000);
	assert_int_equal(v[0].n_tags, 0);
	assert_string_equal(v[1].id, "sha256:" ID_A);
	assert_int_equal(v[1].created, 1704164645);
	assert_int_equal(v[1].n_tags, 2);
	assert_string_equal(v[1].tags[0], "alpha:a");
	assert_string_equal(v[1].tags[1], "alpha:b");
	assert_string_equal(v[2].id, "sha256:" ID_C);
	assert_int_equal(v[2].created, 0);
	rl_store_list_free(v, n);
}

static void corrupt_index(void **state)
{
	(void)state;
	char path[2 * PATH_MAX];
	snprintf(path, sizeof(path), "%s/repositories.json", store.dir);
	write_text(path, "{not json");
	lookup_fails("alpha", "is corrupt");
	struct rl_store_image *v;
	size_t n;
	struct rl_error err = {0};
	assert_true(rl_store_list(&store, &v, &n, &err) < 0);
	/* An ID still resolves without the index. */
	lookup_is("cccc", ID_C, "");
}

/* ---- rmi */

static char *remove_ok(const char *ref, bool force)
{
	static char out[1024];
	FILE *f = fmemopen(out, sizeof(out), "w");
	struct rl_error err = {0};
	if (rl_store_remove(&store, ref, force, f, &err) < 0)
		fail_msg("rmi %s: %s", ref, err.msg);
	fclose(f);
	return out;
}

static void remove_fails(const char *ref, bool force, const char *needle)
{
	struct rl_error err = {0};
	char out[256] = "";
	FILE *f = fmemopen(out, sizeof(out), "w");
	assert_true(rl_store_remove(&store, ref, force, f, &err) < 0);
	fclose(f);
	if (!strstr(err.msg, needle))
		fail_msg("rmi %s: '%s' does not say '%s'", ref, err.msg, needle);
	assert_string_equal(out, "");
}

static void rmi_untags_then_deletes(void **state)
{
	(void)state;
	tag_ok(ID_A, "a:1");
	tag_ok(ID_A, "a:2");
	assert_string_equal(remove_ok("a:1", false), "Untagged: a:1\n");
	assert_true(image_exists(ID_A));
	char expect[256];
	snprintf(expect, sizeof(expect), "Untagged: a:2\nDeleted: sha256:%s\n", ID_A);
	assert_string_equal(remove_ok("a:2", false), expect);
	assert_false(image_exists(ID_A));
	lookup_fails("a:2", "no such image");
	/* By ID: refused with several tags unless forced. */
	tag_ok(ID_B, "b:1");
	tag_ok(ID_B, "b:2");
	remove_fails("aaaa2", false, "referenced in multiple repositories");
	snprintf(expect, sizeof(expect), "Untagged: b:1\nUntagged: b:2\nDeleted: sha256:%s\n", ID_B);
	assert_string_equal(remove_ok("aaaa2", true), expect);
	assert_false(image_exists(ID_B));
	/* An untagged image by ID. */
	snprintf(expect, sizeof(expect), "Deleted: sha256:%s\n", ID_C);
	assert_string_equal(remove_ok("cc", false), expect);
	remove_fails("cc", false, "no such image");
	/* Nothing of the removals stays in the store. */
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v -e '^.lock$' -e '^repositories.json$')\"",
		 store.dir);
	assert_int_equal(system(cmd), 0);
}

static void rmi_keeps_images_containers_use(void **state)
{
	(void)state;
	tag_ok(ID_A, "used");
	char dir[2 * PATH_MAX], path[3 * PATH_MAX], text[3 * PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/run/rlbpf/containers/0123456789abcdef", base);
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	snprintf(text, sizeof(text), "{\"Rootfs\": \"%s/%s/rootfs\"}", store.dir, ID_A);
	write_text(path, text);
	remove_fails("used", false, "container 0123456789ab is using its referenced image aaaa11110000");
	remove_fails(ID_A, false, "container 0123456789ab");
	assert_string_equal(remove_ok("used", true), "Untagged: used:latest\n");
	assert_true(image_exists(ID_A));
	/* By image ID in the record, too. */
	snprintf(text, sizeof(text), "{\"ImageID\": \"sha256:%s\"}", ID_B);
	write_text(path, text);
	remove_fails(ID_B, false, "is using");
	/* Once the container is gone, the image goes. */
	unlink(path);
	remove_ok(ID_A, false);
	assert_false(image_exists(ID_A));
}

/* A load or removal whose process died leaves a directory nobody flocks:
 * the next change sweeps it; one still flocked stays. */
static void sweeps_stale_directories(void **state)
{
	(void)state;
	char stale[2 * PATH_MAX], live[2 * PATH_MAX];
	snprintf(stale, sizeof(stale), "%s/.tmp-dead00", store.dir);
	snprintf(live, sizeof(live), "%s/.rm-live00", store.dir);
	assert_int_equal(mkdir(stale, 0700), 0);
	assert_int_equal(mkdir(live, 0700), 0);
	char sub[3 * PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/rootfs", stale);
	assert_int_equal(mkdir(sub, 0500), 0);
	int fd = open(live, O_RDONLY | O_DIRECTORY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	tag_ok(ID_C, "c");
	remove_ok("c", false);
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(normalizes_references, setup, teardown),
		cmocka_unit_test_setup_teardown(lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(tag_moves_and_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(lists_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_index, setup, teardown),
		cmocka_unit_test_setup_teardown(rmi_untags_then_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(rmi_keeps_images_containers_use, setup, teardown),
		cmocka_unit_test_setup_teardown(sweeps_stale_directories, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
