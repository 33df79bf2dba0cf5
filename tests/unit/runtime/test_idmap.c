/* links: runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/paths lib/userdb lib/error */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/idmap.h"

/* ---- rl_subid_lookup on files written by the test */

static char dir[] = "/tmp/rlbpf-test-idmap-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[64 + sizeof(dir)];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes `text` to a fresh file in the test's directory; returns its path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void lookup_by_name(void **state)
{
	(void)state;
	const char *p = write_file("byname", "alice:100000:65536\nbob:165536:65536\n");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "bob", 4242, &r, &err), 0);
	assert_int_equal(r.start, 165536);
	assert_int_equal(r.count, 65536);
}

static void lookup_by_id(void **state)
{
	(void)state;
	const char *p = write_file("byid", "alice:100000:65536\n1001:200000:1000\n");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "carol", 1001, &r, &err), 0);
	assert_int_equal(r.start, 200000);
	assert_int_equal(r.count, 1000);
	/* No name at all (a uid without a passwd entry) still matches by id. */
	r = (struct rl_id_range){0};
	assert_int_equal(rl_subid_lookup(p, NULL, 1001, &r, &err), 0);
	assert_int_equal(r.start, 200000);
}

static void first_match_wins(void **state)
{
	(void)state;
	const char *p = write_file("first", "1000:300000:10\nalice:100000:65536\nalice:5:5\n");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	/* alice is uid 1000: the numeric line comes first and wins. */
	assert_int_equal(rl_subid_lookup(p, "alice", 1000, &r, &err), 0);
	assert_int_equal(r.start, 300000);
	assert_int_equal(r.count, 10);
}

static void malformed_lines_are_skipped(void **state)
{
	(void)state;
	const char *p = write_file("bad", "alice\n"
					  "alice:1\n"
					  "alice:100000:0\n"            /* empty range */
					  "alice:4294967296:10\n"       /* start overflows */
					  "alice:1:99999999999999999999\n" /* count overflows */
					  "alice:4294967290:10\n"       /* end past the last id */
					  "alice:x100:10\n"
					  "alice:100:10x\n"
					  "alice:-1:10\n"
					  "alice: 100:10\n"
					  "alice:100:10:extra\n"
					  ":100:10\n"
					  "\n"
					  "garbage garbage\n"
					  "alice:700000:42\n");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "alice", 1000, &r, &err), 0);
	assert_int_equal(r.start, 700000);
	assert_int_equal(r.count, 42);
}

static void last_line_without_newline(void **state)
{
	(void)state;
	const char *p = write_file("nonl", "alice:100000:65536");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "alice", 1000, &r, &err), 0);
	assert_int_equal(r.count, 65536);
}

static void name_is_not_a_prefix_match(void **state)
{
	(void)state;
	const char *p = write_file("prefix", "alice2:100000:65536\n10000:1:1\n");
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "alice", 1000, &r, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "alice"));
}

static void missing_file_is_no_range(void **state)
{
	(void)state;
	char path[256];
	snprintf(path, sizeof(path), "%s/does-not-exist", dir);
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(path, "alice", 1000, &r, &err), -ENOENT);
}

static void unreadable_file_is_an_error(void **state)
{
	(void)state;
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	/* A directory opens but cannot be read: an I/O error, not "no range". */
	int ret = rl_subid_lookup(dir, "alice", 1000, &r, &err);
	assert_true(ret < 0);
	assert_int_not_equal(ret, -ENOENT);
	assert_non_null(strstr(err.msg, dir));
}

static void very_long_line_is_skipped(void **state)
{
	(void)state;
	size_t n = 100000;
	char *text = malloc(n + 64);
	assert_non_null(text);
	memset(text, 'a', n);
	strcpy(text + n, ":1:1\nalice:9:9\n");
	const char *p = write_file("long", text);
	free(text);
	struct rl_id_range r = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_subid_lookup(p, "alice", 1000, &r, &err), 0);
	assert_int_equal(r.start, 9);
}

/* ---- host id translation */

static void host_ids_with_range(void **state)
{
	(void)state;
	struct rl_idmap m = {.uid = 1001, .gid = 1002, .subuid = {100000, 65536},
			     .subgid = {200000, 1000}};
	assert_int_equal(rl_idmap_host_uid(&m, 0), 1001);
	assert_int_equal(rl_idmap_host_uid(&m, 1), 100000);
	assert_int_equal(rl_idmap_host_uid(&m, 1000), 100999);
	assert_int_equal(rl_idmap_host_uid(&m, 65536), 165535);
	assert_int_equal(rl_idmap_host_uid(&m, 65537), (uid_t)-1);
	assert_int_equal(rl_idmap_host_uid(&m, (uid_t)-1), (uid_t)-1);
	assert_int_equal(rl_idmap_host_gid(&m, 0), 1002);
	assert_int_equal(rl_idmap_host_gid(&m, 1000), 200999);
	assert_int_equal(rl_idmap_host_gid(&m, 1001), (gid_t)-1);
}

static void host_ids_single(void **state)
{
	(void)state;
	struct rl_idmap m = {.uid = 1001, .gid = 1002, .single = true};
	assert_int_equal(rl_idmap_host_uid(&m, 0), 1001);
	assert_int_equal(rl_idmap_host_uid(&m, 1), (uid_t)-1);
	assert_int_equal(rl_idmap_host_gid(&m, 0), 1002);
	assert_int_equal(rl_idmap_host_gid(&m, 1), (gid_t)-1);
}

/* ---- rl_idmap_plan on this machine's real files */

static void plan_describes_the_caller(void **state)
{
	(void)state;
	struct rl_idmap m;
	struct rl_error err = {0};
	assert_int_equal(rl_idmap_plan(&m, &err), 0);
	assert_int_equal(m.uid, getuid());
	assert_int_equal(m.gid, getgid());
	if (m.single) {
		assert_int_equal(m.subuid.count, 0);
		assert_int_equal(m.subgid.count, 0);
	} else {
		assert_true(m.subuid.count > 0);
		assert_true(m.subgid.count > 0);
		assert_int_equal(access("/usr/bin/newuidmap", X_OK), 0);
	}
}

/* ---- rl_idmap_apply on a real child in a new user namespace */

struct child {
	pid_t pid;
	int to_child, from_child;
};

/* Forks a child that enters a new user namespace, says so, waits for the
 * go-ahead, then reports its ids as seen inside. false when this machine
 * does not let the test create a user namespace. */
static bool start_child(struct child *c)
{
	int down[2], up[2];
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char ok = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		if (write(up[1], &ok, 1) != 1 || ok != 'y')
			_exit(1);
		char go;
		if (read(down[0], &go, 1) != 1)
			_exit(1);
		unsigned ids[2] = {(unsigned)geteuid(), (unsigned)getegid()};
		_exit(write(up[1], ids, sizeof(ids)) == sizeof(ids) ? 0 : 1);
	}
	close(down[0]);
	close(up[1]);
	*c = (struct child){.pid = pid, .to_child = down[1], .from_child = up[0]};
	char ok = 'n';
	if (read(c->from_child, &ok, 1) != 1 || ok != 'y') {
		close(c->to_child);
		close(c->from_child);
		waitpid(pid, NULL, 0);
		return false;
	}
	return true;
}

/* Lets the child go on and returns the ids it sees for itself. */
static void finish_child(struct child *c, unsigned ids[2])
{
	ids[0] = ids[1] = 12345;
	assert_int_equal(write(c->to_child, "g", 1), 1);
	assert_int_equal(read(c->from_child, ids, 2 * sizeof(unsigned)), 2 * sizeof(unsigned));
	close(c->to_child);
	close(c->from_child);
	int status;
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void kill_child(struct child *c)
{
	kill(c->pid, SIGKILL);
	close(c->to_child);
	close(c->from_child);
	waitpid(c->pid, NULL, 0);
}

static void read_map(pid_t pid, const char *file, unsigned v[3])
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u %u %u", &v[0], &v[1], &v[2]), 3);
	fclose(f);
}

static void apply_single_maps_root_to_caller(void **state)
{
	(void)state;
	struct child c;
	if (!start_child(&c))
		skip();
	struct rl_idmap m = {.uid = getuid(), .gid = getgid(), .single = true};
	struct rl_error err = {0};
	int r = rl_idmap_apply(&m, c.pid, &err);
	if (r < 0) {
		kill_child(&c);
		fail_msg("rl_idmap_apply: %s", err.msg);
	}
	unsigned v[3];
	read_map(c.pid, "uid_map", v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], getuid());
	assert_int_equal(v[2], 1);
	read_map(c.pid, "gid_map", v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], getgid());
	assert_int_equal(v[2], 1);

	char buf[16] = "";
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)c.pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "deny\n");

	unsigned ids[2];
	finish_child(&c, ids);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 0);
}

/* A range nobody can own makes newuidmap refuse: the error must carry the
 * helper's status and first line, and say what to do. */
static void apply_reports_helper_failure(void **state)
{
	(void)state;
	if (access("/usr/bin/newuidmap", X_OK) < 0 || access("/usr/bin/newgidmap", X_OK) < 0)
		skip();
	/* a running rlbpfd writes the maps itself, and refuses in its words */
	if (access("/run/rlbpf/rlbpfd.sock", F_OK) == 0)
		skip();
	struct child c;
	if (!start_child(&c))
		skip();
	struct rl_idmap m = {.uid = getuid(), .gid = getgid(), .subuid = {4294000000u, 7},
			     .subgid = {4294000000u, 7}};
	struct rl_error err = {0};
	int r = rl_idmap_apply(&m, c.pid, &err);
	kill_child(&c);
	assert_true(r < 0);
	assert_non_null(strstr(err.msg, "newuidmap"));
	assert_non_null(strstr(err.msg, "exit status"));
	assert_non_null(strstr(err.msg, "rlbpf setup"));
	/* The helper's own words follow the status. */
	assert_non_null(strstr(err.msg, "): "));
	assert_null(strchr(err.msg, '\n'));
}

static void apply_rejects_bad_pid(void **state)
{
	(void)state;
	struct rl_idmap m = {.single = true};
	struct rl_error err = {0};
	assert_int_equal(rl_idmap_apply(&m, 0, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_by_name),
		cmocka_unit_test(lookup_by_id),
		cmocka_unit_test(first_match_wins),
		cmocka_unit_test(malformed_lines_are_skipped),
		cmocka_unit_test(last_line_without_newline),
		cmocka_unit_test(name_is_not_a_prefix_match),
		cmocka_unit_test(missing_file_is_no_range),
		cmocka_unit_test(unreadable_file_is_an_error),
		cmocka_unit_test(very_long_line_is_skipped),
		cmocka_unit_test(host_ids_with_range),
		cmocka_unit_test(host_ids_single),
		cmocka_unit_test(plan_describes_the_caller),
		cmocka_unit_test(apply_single_maps_root_to_caller),
		cmocka_unit_test(apply_reports_helper_failure),
		cmocka_unit_test(apply_rejects_bad_pid),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
