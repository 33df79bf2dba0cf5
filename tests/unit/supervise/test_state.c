/* links: supervise/state lib/paths lib/userdb lib/fsutil runtime/userns_exec runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/error */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "supervise/state.h"

/* Each test gets its own XDG_RUNTIME_DIR. */

static char runtime[64];
static char containers[128];

static int setup(void **state)
{
	(void)state;
	snprintf(runtime, sizeof(runtime), "/tmp/rlbpf-test-state-XXXXXX");
	if (!mkdtemp(runtime))
		return -1;
	snprintf(containers, sizeof(containers), "%s/rlbpf/containers", runtime);
	umask(022);
	return setenv("XDG_RUNTIME_DIR", runtime, 1);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void assert_dir(const char *dir, const char *sub, unsigned mode)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s%s", dir, sub);
	struct stat st;
	if (stat(path, &st) < 0)
		fail_msg("%s is missing", path);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, mode);
}

static void read_in(const struct rl_state *st, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX + 16];
	struct rl_error err = {0};
	snprintf(path, sizeof(path), "%s/%s", st->dir, name);
	if (rl_read_file(path, buf, len, &err) < 0)
		fail_msg("%s", err.msg);
}

static void create_ok(const char *name, struct rl_state *st)
{
	struct rl_error err = {0};
	int r = rl_state_create(name, st, &err);
	if (r != 0)
		fail_msg("rl_state_create(%s) gave %d: %s", name ? name : "NULL", r, err.msg);
}

static void remove_ok(const struct rl_state *st)
{
	struct rl_error err = {0};
	int r = rl_state_remove(st, -1, &err);
	if (r != 0)
		fail_msg("rl_state_remove gave %d: %s", r, err.msg);
}

/* ---- rl_state_create */

static void create_lays_out_the_directory(void **state)
{
	(void)state;
	struct rl_state st;
	create_ok("web", &st);

	assert_int_equal(strlen(st.id), 64);
	for (size_t i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", st.id[i]))
			fail_msg("id %s is not lowercase hex", st.id);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/%s", containers, st.id);
	assert_string_equal(st.dir, want);
	assert_string_equal(st.name, "web");

	assert_dir(st.dir, "", 0700);
	assert_dir(st.dir, "/upper", 0755);
	assert_dir(st.dir, "/work", 0755);
	assert_dir(st.dir, "/rootfs", 0755);
	char name[160];
	read_in(&st, "name", name, sizeof(name));
	assert_string_equal(name, "web");
	assert_int_equal(count_entries(st.dir), 4);
	assert_int_equal(count_entries(containers), 1);
	/* The runtime directory is private. */
	assert_dir(runtime, "/rlbpf", 0700);
	remove_ok(&st);
}

static void two_creates_differ(void **state)
{
	(void)state;
	struct rl_state a, b;
	create_ok(NULL, &a);
	create_ok(NULL, &b);
	assert_string_not_equal(a.id, b.id);
	assert_string_not_equal(a.dir, b.dir);
	assert_string_not_equal(a.name, b.name);
	assert_int_equal(count_entries(containers), 2);
	remove_ok(&a);
	remove_ok(&b);
	assert_int_equal(count_entries(containers), 0);
}

/* word_word, and a number after it only when the plain name was taken. */
static bool is_random_name(const char *s)
{
	const char *p = s;
	size_t n = 0;
	while (*p >= 'a' && *p <= 'z')
		p++, n++;
	if (n == 0 || *p++ != '_')
		return false;
	n = 0;
	while (*p >= 'a' && *p <= 'z')
		p++, n++;
	if (n == 0)
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

static void random_names_are_readable_and_unique(void **state)
{
	(void)state;
	enum { N = 40 };
	struct rl_state st[N];
	for (int i = 0; i < N; i++) {
		create_ok(NULL, &st[i]);
		if (!is_random_name(st[i].name))
			fail_msg("random name '%s' is not word_word", st[i].name);
		char name[160];
		read_in(&st[i], "name", name, sizeof(name));
		assert_string_equal(name, st[i].name);
		for (int j = 0; j < i; j++)
			if (strcmp(st[i].name, st[j].name) == 0)
				fail_msg("name '%s' given twice", st[i].name);
	}
	for (int i = 0; i < N; i++)
		remove_ok(&st[i]);
}

static void same_name_twice_is_refused(void **state)
{
	(void)state;
	struct rl_state a, b;
	struct rl_error err = {0};
	create_ok("db", &a);
	assert_int_equal(rl_state_create("db", &b, &err), -EEXIST);
	assert_int_equal(err.code, EEXIST);
	assert_non_null(strstr(err.msg, "already in use"));
	assert_non_null(strstr(err.msg, "db"));
	assert_int_equal(count_entries(containers), 1);
	/* Another name is fine; a prefix of a used one too. */
	create_ok("d", &b);
	remove_ok(&b);
	/* Once the first is removed, the name is free again. */
	remove_ok(&a);
	create_ok("db", &b);
	assert_int_equal(count_entries(containers), 1);
	remove_ok(&b);
}

/* A random name never takes one given with --name. */
static void random_name_avoids_given_names(void **state)
{
	(void)state;
	struct rl_state st, given[8];
	int n_given = 0;
	/* Claim every plain name the first random create comes up with. */
	for (int i = 0; i < 8; i++) {
		create_ok(NULL, &st);
		char name[130];
		snprintf(name, sizeof(name), "%s", st.name);
		remove_ok(&st);
		struct rl_error err = {0};
		if (rl_state_create(name, &given[n_given], &err) == 0)
			n_given++;
	}
	assert_true(n_given > 0);
	for (int i = 0; i < 16; i++) {
		create_ok(NULL, &st);
		for (int j = 0; j < n_given; j++)
			assert_string_not_equal(st.name, given[j].name);
		remove_ok(&st);
	}
	for (int j = 0; j < n_given; j++)
		remove_ok(&given[j]);
}

/* ---- rl_state_write_etc */

static void write_etc_files(void **state)
{
	(void)state;
	struct rl_state st;
	struct rl_error err = {0};
	create_ok("web", &st);
	assert_int_equal(rl_state_write_etc(&st, "web-host", &err), 0);
	char buf[4096];
	read_in(&st, "hostname", buf, sizeof(buf));
	assert_string_equal(buf, "web-host\n");
	read_in(&st, "hosts", buf, sizeof(buf));
	assert_non_null(strstr(buf, "127.0.0.1"));
	assert_non_null(strstr(buf, "localhost"));
	assert_non_null(strstr(buf, "web-host"));
	assert_non_null(strstr(buf, "::1"));
	/* resolv.conf is there, a copy of the host's (or empty without one). */
	read_in(&st, "resolv.conf", buf, sizeof(buf));
	char host[4096];
	if (rl_read_file("/etc/resolv.conf", host, sizeof(host), NULL) >= 0)
		assert_string_equal(buf, host);
	else
		assert_string_equal(buf, "");
	struct stat s;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/hostname", st.dir);
	assert_int_equal(stat(path, &s), 0);
	assert_int_equal(s.st_mode & 0777, 0644);

	/* Writing again replaces, not appends. */
	assert_int_equal(rl_state_write_etc(&st, "b", &err), 0);
	read_in(&st, "hostname", buf, sizeof(buf));
	assert_string_equal(buf, "b\n");
	remove_ok(&st);
}

static void write_etc_into_missing_dir_fails(void **state)
{
	(void)state;
	struct rl_state st;
	struct rl_error err = {0};
	create_ok(NULL, &st);
	remove_ok(&st);
	assert_true(rl_state_write_etc(&st, "h", &err) < 0);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(count_entries(containers), 0);
}

/* ---- rl_state_record, rl_state_remove */

static void record_then_remove(void **state)
{
	(void)state;
	struct rl_state st;
	struct rl_error err = {0};
	create_ok("rec", &st);
	assert_int_equal(rl_state_write_etc(&st, "rec", &err), 0);
	const char *json = "{\"id\":\"x\",\"pid\":42}";
	assert_int_equal(rl_state_record(&st, json, &err), 0);
	char buf[256];
	read_in(&st, "config.json", buf, sizeof(buf));
	assert_string_equal(buf, json);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/config.json.tmp", st.dir);
	assert_int_equal(access(tmp, F_OK), -1);
	/* A second record replaces the first whole. */
	assert_int_equal(rl_state_record(&st, "{}", &err), 0);
	read_in(&st, "config.json", buf, sizeof(buf));
	assert_string_equal(buf, "{}");

	/* Things a container leaves in its upper and work dirs go too. */
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/upper/etc", st.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/upper/etc/motd", st.dir);
	assert_int_equal(rl_write_file(path, "hi", 2, 0644, &err), 0);
	snprintf(path, sizeof(path), "%s/work/work", st.dir);
	assert_int_equal(mkdir(path, 0), 0);

	assert_int_equal(rl_state_remove(&st, -1, &err), 0);
	assert_int_equal(access(st.dir, F_OK), -1);
	assert_int_equal(count_entries(containers), 0);
	/* Removing what is gone is not an error. */
	assert_int_equal(rl_state_remove(&st, -1, &err), 0);
}

static void record_into_missing_dir_fails(void **state)
{
	(void)state;
	struct rl_state st;
	struct rl_error err = {0};
	create_ok(NULL, &st);
	remove_ok(&st);
	assert_true(rl_state_record(&st, "{}", &err) < 0);
	assert_non_null(strstr(err.msg, "config.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_lays_out_the_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(two_creates_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(random_names_are_readable_and_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(same_name_twice_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(random_name_avoids_given_names, setup, teardown),
		cmocka_unit_test_setup_teardown(write_etc_files, setup, teardown),
		cmocka_unit_test_setup_teardown(write_etc_into_missing_dir_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(record_then_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(record_into_missing_dir_fails, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
