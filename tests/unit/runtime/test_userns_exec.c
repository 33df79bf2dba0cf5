/* links: runtime/userns_exec runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/paths lib/userdb lib/fsutil lib/error */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/userns_exec.h"

/* These run /bin/sh in a new user namespace: as root, or as a user where
 * unprivileged user namespaces are allowed (the suite's hosts). */

static int run_sh(const char *script, struct rl_error *err)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	*err = (struct rl_error){0};
	return rl_userns_exec(argv, err);
}

static void runs_as_root_of_a_new_namespace(void **state)
{
	(void)state;
	char ours[64] = "", script[512];
	ssize_t n = readlink("/proc/self/ns/user", ours, sizeof(ours) - 1);
	assert_true(n > 0);
	/* Every check prints why it failed: that line is the error. */
	snprintf(script, sizeof(script),
		 "[ \"$(id -u):$(id -g)\" = 0:0 ] || { echo \"ids $(id -u):$(id -g)\"; exit 1; }; "
		 "[ \"$(readlink /proc/self/ns/user)\" != '%s' ] || { echo same namespace; exit 1; }; "
		 "[ \"$(awk '$1 == 0 { print $2 }' /proc/self/uid_map)\" = %u ] || { echo bad map; exit 1; }; "
		 "[ -z \"$(cat)\" ] || { echo stdin not empty; exit 1; }; "
		 "[ \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin ] || { echo \"PATH $PATH\"; exit 1; }",
		 ours, (unsigned)getuid());
	struct rl_error err;
	if (run_sh(script, &err) < 0)
		fail_msg("%s", err.msg);
}

/* The error is the last line; notices before it go to stderr. */
static void reports_the_last_line(void **state)
{
	(void)state;
	struct rl_error err;
	assert_true(run_sh("echo 'a notice'; echo 'cannot do it: because'; exit 3", &err) < 0);
	assert_string_equal(err.msg, "cannot do it: because");
	assert_true(run_sh("exit 4", &err) < 0);
	assert_string_equal(err.msg, "/bin/sh failed in a user namespace (exit status 4)");
	assert_true(run_sh("kill -9 $$", &err) < 0);
	assert_non_null(strstr(err.msg, "killed by signal 9"));
	assert_int_equal(run_sh("echo chatter on success; exit 0", &err), 0);
}

static void reports_what_cannot_run(void **state)
{
	(void)state;
	char *const argv[] = {"/nonexistent/rlbpf-helper", NULL};
	struct rl_error err = {0};
	assert_true(rl_userns_exec(argv, &err) < 0);
	assert_string_equal(err.msg, "cannot execute /nonexistent/rlbpf-helper");
}

/* Files made inside belong to the caller outside (container root). */
static void files_are_the_callers(void **state)
{
	(void)state;
	char dir[] = "/tmp/rlbpf-test-userns-XXXXXX", script[256], path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "touch '%s/f' && mkdir '%s/d' && chmod 000 '%s/d'", dir, dir,
		 dir);
	struct rl_error err;
	if (run_sh(script, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/f", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, getuid());
	/* And removing works from inside too. */
	snprintf(script, sizeof(script), "rm -rf '%s'", dir);
	if (run_sh(script, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(access(dir, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runs_as_root_of_a_new_namespace),
		cmocka_unit_test(reports_the_last_line),
		cmocka_unit_test(reports_what_cannot_run),
		cmocka_unit_test(files_are_the_callers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
