/* links: runtime/run_opts lib/boolopt runtime/resource_limits proto/agent_proto lib/memsize lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/run_opts.h"

/* argv literals: "run" first, as the CLI hands it over. */
#define ARGV(...) ((char *[]){"run", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"run", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, err, ...) rl_run_opts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err))

/* Every rejection: a negative errno, the same code in err, a message that
 * contains `needle`; and freeing what was half-parsed is safe. (Freed before
 * checking, so that a failed check leaks nothing under LeakSanitizer.) */
#define REJECTS(code, needle, ...)                                                 \
	do {                                                                       \
		struct rl_run_opts o_;                                             \
		struct rl_error e_ = {0};                                          \
		int r_ = PARSE(&o_, &e_, __VA_ARGS__);                             \
		rl_run_opts_free(&o_);                                             \
		check_rejection(r_, &e_, (code), (needle));                        \
	} while (0)

static void check_rejection(int r, const struct rl_error *err, int code, const char *needle)
{
	if (r >= 0)
		fail_msg("accepted, expected %d with a message containing \"%s\"", -code, needle);
	assert_int_equal(r, -code);
	assert_int_equal(err->code, code);
	assert_true(err->msg[0] != '\0');
	if (!strstr(err->msg, needle))
		fail_msg("message \"%s\" does not contain \"%s\"", err->msg, needle);
}

/* A directory that exists, for -v. */
static char hostdir[] = "/tmp/rlbpf-test-run-opts-XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(hostdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	return rmdir(hostdir);
}

/* ---- image and command */

static void image_and_command(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "busybox", "ls", "-la"), 0);
	assert_string_equal(o.image, "busybox");
	assert_int_equal(o.n_cmd, 2);
	assert_string_equal(o.cmd[0], "ls");
	assert_string_equal(o.cmd[1], "-la");
	assert_null(o.cmd[2]);
	assert_false(o.interactive);
	assert_int_equal(o.seccomp, RL_SECCOMP_DEFAULT);
	rl_run_opts_free(&o);
}

static void options_after_image_belong_to_command(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--rm", "busybox", "sh", "-c", "echo hi", "--name", "x",
			       "--help", "-it"),
			 0);
	assert_true(o.rm);
	assert_null(o.name);
	assert_false(o.interactive);
	assert_false(o.tty);
	assert_string_equal(o.image, "busybox");
	assert_int_equal(o.n_cmd, 7);
	assert_string_equal(o.cmd[0], "sh");
	assert_string_equal(o.cmd[2], "echo hi");
	assert_string_equal(o.cmd[3], "--name");
	assert_string_equal(o.cmd[5], "--help");
	assert_string_equal(o.cmd[6], "-it");
	assert_null(o.cmd[7]);
	rl_run_opts_free(&o);
}

static void image_without_command(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "./rootfs"), 0);
	assert_string_equal(o.image, "./rootfs");
	assert_int_equal(o.n_cmd, 0);
	rl_run_opts_free(&o);
}

static void double_dash_ends_options(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-i", "--", "busybox", "true"), 0);
	assert_true(o.interactive);
	assert_string_equal(o.image, "busybox");
	assert_int_equal(o.n_cmd, 1);
	assert_string_equal(o.cmd[0], "true");
	rl_run_opts_free(&o);
}

static void no_image(void **state)
{
	(void)state;
	{
		struct rl_run_opts o;
		struct rl_error err = {0};
		char *argv[] = {"run", NULL};
		int r = rl_run_opts_parse(1, argv, &o, &err);
		rl_run_opts_free(&o);
		check_rejection(r, &err, EINVAL, "no image");
	}
	REJECTS(EINVAL, "no image", "-it");
	REJECTS(EINVAL, "no image", "--rm", "--name", "web");
	REJECTS(EINVAL, "image name is empty", "");
}

/* ---- flag forms */

static void boolean_flags(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--rm", "--init", "--read-only", "--interactive", "--tty",
			       "busybox"),
			 0);
	assert_true(o.rm && o.init && o.read_only && o.interactive && o.tty);
	assert_false(o.no_new_privileges);
	rl_run_opts_free(&o);
}

static void combined_short_flags(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-it", "busybox", "sh"), 0);
	assert_true(o.interactive);
	assert_true(o.tty);
	rl_run_opts_free(&o);

	/* A value-taking letter last in the group takes the rest or the next word. */
	assert_int_equal(PARSE(&o, &err, "-tiw/srv", "-ie", "A=1", "busybox"), 0);
	assert_true(o.interactive && o.tty);
	assert_string_equal(o.workdir, "/srv");
	assert_int_equal(o.n_env, 1);
	assert_string_equal(o.env[0], "A=1");
	rl_run_opts_free(&o);
}

static void long_option_value_forms(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--name=web", "--hostname", "box", "--workdir=/app",
			       "--user", "1000", "--env=A=b=c", "--cap-add=NET_ADMIN", "--cap-add",
			       "SYS_TIME", "--cap-drop=ALL", "busybox"),
			 0);
	assert_string_equal(o.name, "web");
	assert_string_equal(o.hostname, "box");
	assert_string_equal(o.workdir, "/app");
	assert_string_equal(o.user, "1000");
	assert_int_equal(o.n_env, 1);
	assert_string_equal(o.env[0], "A=b=c");
	assert_int_equal(o.n_cap_add, 2);
	assert_string_equal(o.cap_add[0], "NET_ADMIN");
	assert_string_equal(o.cap_add[1], "SYS_TIME");
	assert_null(o.cap_add[2]);
	assert_int_equal(o.n_cap_drop, 1);
	assert_string_equal(o.cap_drop[0], "ALL");
	rl_run_opts_free(&o);
}

static void short_option_value_forms(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-hbox", "-w", "/app", "-u1000:1000", "-eX=1", "busybox"),
			 0);
	assert_string_equal(o.hostname, "box");
	assert_string_equal(o.workdir, "/app");
	assert_string_equal(o.user, "1000:1000");
	assert_string_equal(o.env[0], "X=1");
	rl_run_opts_free(&o);
}

static void repeated_option_last_wins(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "one", "--name", "two", "-w", "/a", "-w", "/b",
			       "-u", "1", "-u", "2", "-h", "h1", "-h", "h2", "busybox"),
			 0);
	assert_string_equal(o.name, "two");
	assert_string_equal(o.workdir, "/b");
	assert_string_equal(o.user, "2");
	assert_string_equal(o.hostname, "h2");
	rl_run_opts_free(&o);
}

/* ---- -e */

static void env_forms(void **state)
{
	(void)state;
	assert_int_equal(setenv("RL_TEST_ENV_SET", "from caller", 1), 0);
	assert_int_equal(unsetenv("RL_TEST_ENV_UNSET"), 0);
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-e", "A=1", "-e", "RL_TEST_ENV_SET", "-e",
			       "RL_TEST_ENV_UNSET", "--env", "EMPTY=", "-e", "B=x y", "busybox"),
			 0);
	assert_int_equal(o.n_env, 4);
	assert_string_equal(o.env[0], "A=1");
	assert_string_equal(o.env[1], "RL_TEST_ENV_SET=from caller");
	assert_string_equal(o.env[2], "EMPTY=");
	assert_string_equal(o.env[3], "B=x y");
	assert_null(o.env[4]);
	rl_run_opts_free(&o);
	unsetenv("RL_TEST_ENV_SET");
}

static void env_only_unset_keys_gives_none(void **state)
{
	(void)state;
	assert_int_equal(unsetenv("RL_TEST_ENV_UNSET"), 0);
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-e", "RL_TEST_ENV_UNSET", "busybox"), 0);
	assert_int_equal(o.n_env, 0);
	rl_run_opts_free(&o);
}

static void env_rejected(void **state)
{
	(void)state;
	REJECTS(EINVAL, "--env", "-e", "", "busybox");
	REJECTS(EINVAL, "--env", "-e", "=x", "busybox");
	REJECTS(EINVAL, "--env", "--env==", "busybox");
	REJECTS(EINVAL, "--env", "-e", "A B=1", "busybox");
	/* A good one before a bad one is freed with the rest. */
	REJECTS(EINVAL, "--env", "-e", "OK=1", "-e", "=bad", "busybox");
}

/* ---- -v */

static void volume_forms(void **state)
{
	(void)state;
	char rw[128], ro[128], plain[128];
	snprintf(plain, sizeof(plain), "%s:/data", hostdir);
	snprintf(ro, sizeof(ro), "%s:/srv/ro:ro", hostdir);
	snprintf(rw, sizeof(rw), "%s:/srv/rw:rw", hostdir);
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-v", plain, "--volume", ro, "--volume=/tmp:/t", "-v", rw,
			       "busybox"),
			 0);
	assert_int_equal(o.n_volumes, 4);
	assert_string_equal(o.volumes[0].host, hostdir);
	assert_string_equal(o.volumes[0].container, "/data");
	assert_false(o.volumes[0].read_only);
	assert_string_equal(o.volumes[1].host, hostdir);
	assert_string_equal(o.volumes[1].container, "/srv/ro");
	assert_true(o.volumes[1].read_only);
	assert_string_equal(o.volumes[2].host, "/tmp");
	assert_string_equal(o.volumes[2].container, "/t");
	assert_false(o.volumes[2].read_only);
	assert_string_equal(o.volumes[3].container, "/srv/rw");
	assert_false(o.volumes[3].read_only);
	rl_run_opts_free(&o);
}

static void volume_rejected(void **state)
{
	(void)state;
	char a[160];
	REJECTS(EINVAL, "--volume", "-v", "/tmp", "busybox");
	REJECTS(EINVAL, "absolute", "-v", "tmp:/x", "busybox");
	REJECTS(EINVAL, "absolute", "-v", "myvolume:/x", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:x", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/..", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/a/..", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/a/../b", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/../etc", "busybox");
	REJECTS(EINVAL, "mode 'rx'", "-v", "/tmp:/x:rx", "busybox");
	REJECTS(EINVAL, "is not ro or rw", "-v", "/tmp:/x:", "busybox");
	REJECTS(EINVAL, "is not ro or rw", "-v", "/tmp:/x:ro:z", "busybox");
	/* The host path must exist; the message names it. */
	snprintf(a, sizeof(a), "%s/missing:/x", hostdir);
	struct rl_run_opts o;
	struct rl_error err = {0};
	int r = PARSE(&o, &err, "-v", a, "busybox");
	rl_run_opts_free(&o);
	check_rejection(r, &err, ENOENT, "/missing");
	assert_non_null(strstr(err.msg, hostdir));
	/* After one good volume, the bad one still frees cleanly. */
	snprintf(a, sizeof(a), "%s:/ok", hostdir);
	REJECTS(EINVAL, "container path", "-v", a, "-v", "/tmp:rel", "busybox");
}

/* "//", "/." and "/./" all name the container's root, which "-v HOST:/" is
 * refused for: binding over the root replaces the container's filesystem. */
static void volume_container_root_aliases_rejected(void **state)
{
	(void)state;
	REJECTS(EINVAL, "container path", "-v", "/tmp://", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/.", "busybox");
	REJECTS(EINVAL, "container path", "-v", "/tmp:/./", "busybox");
}

/* ---- -u */

static void user_accepted(void **state)
{
	(void)state;
	static const char *const good[] = {"1000", "1000:1000", "user", "user:grp", "0", "0:0",
					   "4294967294", "www-data", "a.b_c", "1000:staff",
					   "nobody:65534"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rl_run_opts o;
		struct rl_error err = {0};
		int r = PARSE(&o, &err, "-u", (char *)good[i], "busybox");
		bool same = r == 0 && o.user && strcmp(o.user, good[i]) == 0;
		rl_run_opts_free(&o);
		if (!same)
			fail_msg("-u '%s' not taken as given: %s", good[i], err.msg);
	}
}

static void user_rejected(void **state)
{
	(void)state;
	static const char *const bad[] = {"abc:", "-1", "1:2:3", ":1", "4294967295", "",
					  ":", "99999999999999999999", "us er", "a/b", "1:-1",
					  "user:grp:"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rl_run_opts o;
		struct rl_error err = {0};
		int r = PARSE(&o, &err, "--user", (char *)bad[i], "busybox");
		rl_run_opts_free(&o);
		if (r >= 0)
			fail_msg("-u '%s' accepted", bad[i]);
		check_rejection(r, &err, EINVAL, "--user");
	}
}

/* ---- --name, --hostname, -w */

static void name_rules(void **state)
{
	(void)state;
	char longest[129], too_long[130];
	memset(longest, 'a', 128);
	longest[128] = '\0';
	memset(too_long, 'b', 129);
	too_long[129] = '\0';
	static const char *const good[] = {"ab", "web-1", "A.b_c", "9lives", "x_"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rl_run_opts o;
		struct rl_error err = {0};
		assert_int_equal(PARSE(&o, &err, "--name", (char *)good[i], "busybox"), 0);
		assert_string_equal(o.name, good[i]);
		rl_run_opts_free(&o);
	}
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", longest, "busybox"), 0);
	rl_run_opts_free(&o);

	REJECTS(EINVAL, "--name", "--name", "a", "busybox");
	REJECTS(EINVAL, "--name", "--name", "_ab", "busybox");
	REJECTS(EINVAL, "--name", "--name", "-ab", "busybox");
	REJECTS(EINVAL, "--name", "--name", ".ab", "busybox");
	REJECTS(EINVAL, "--name", "--name", "a b", "busybox");
	REJECTS(EINVAL, "--name", "--name", "a/b", "busybox");
	REJECTS(EINVAL, "--name", "--name=", "busybox");
	REJECTS(EINVAL, "--name", "--name", too_long, "busybox");
}

static void hostname_rules(void **state)
{
	(void)state;
	char h64[65], h65[66];
	memset(h64, 'h', 64);
	h64[64] = '\0';
	memset(h65, 'h', 65);
	h65[65] = '\0';
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--hostname", "web-1.example", "busybox"), 0);
	assert_string_equal(o.hostname, "web-1.example");
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-h", h64, "busybox"), 0);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-h", "x", "busybox"), 0);
	rl_run_opts_free(&o);

	REJECTS(EINVAL, "--hostname", "-h", "", "busybox");
	REJECTS(EINVAL, "--hostname", "-h", "-web", "busybox");
	REJECTS(EINVAL, "--hostname", "-h", ".web", "busybox");
	REJECTS(EINVAL, "--hostname", "-h", "a_b", "busybox");
	REJECTS(EINVAL, "--hostname", "-h", "a b", "busybox");
	REJECTS(EINVAL, "--hostname", "--hostname", h65, "busybox");
}

static void workdir_rules(void **state)
{
	(void)state;
	REJECTS(EINVAL, "--workdir", "-w", "tmp", "busybox");
	REJECTS(EINVAL, "--workdir", "-w", "", "busybox");
	REJECTS(EINVAL, "--workdir", "--workdir=./x", "busybox");
}

/* ---- --security-opt */

static void security_opts(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--security-opt", "no-new-privileges", "busybox"), 0);
	assert_true(o.no_new_privileges);
	assert_int_equal(o.seccomp, RL_SECCOMP_DEFAULT);
	rl_run_opts_free(&o);

	assert_int_equal(PARSE(&o, &err, "--security-opt=no-new-privileges:true", "--security-opt",
			       "no-new-privileges=false", "busybox"),
			 0);
	assert_false(o.no_new_privileges);
	rl_run_opts_free(&o);

	assert_int_equal(PARSE(&o, &err, "--security-opt", "seccomp=unconfined", "busybox"), 0);
	assert_int_equal(o.seccomp, RL_SECCOMP_UNCONFINED);
	assert_null(o.seccomp_profile);
	rl_run_opts_free(&o);

	assert_int_equal(PARSE(&o, &err, "--security-opt", "seccomp=/etc/p.json", "busybox"), 0);
	assert_int_equal(o.seccomp, RL_SECCOMP_PROFILE);
	assert_string_equal(o.seccomp_profile, "/etc/p.json");
	rl_run_opts_free(&o);

	/* A later one replaces an earlier profile without leaking it. */
	assert_int_equal(PARSE(&o, &err, "--security-opt", "seccomp:/a.json", "--security-opt",
			       "seccomp=/b.json", "busybox"),
			 0);
	assert_int_equal(o.seccomp, RL_SECCOMP_PROFILE);
	assert_string_equal(o.seccomp_profile, "/b.json");
	rl_run_opts_free(&o);

	REJECTS(EINVAL, "--security-opt", "--security-opt", "seccomp=", "busybox");
	REJECTS(EINVAL, "--security-opt", "--security-opt", "apparmor=unconfined", "busybox");
	REJECTS(EINVAL, "--security-opt", "--security-opt", "label=disable", "busybox");
	REJECTS(EINVAL, "--security-opt", "--security-opt", "", "busybox");
}

/* ---- errors from getopt itself, --help */

static void unknown_option_message(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--bogus", "busybox"), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	assert_string_equal(err.msg, "unknown option '--bogus'; see 'rlbpf run --help'");
	rl_run_opts_free(&o);

	err = (struct rl_error){0};
	assert_int_equal(PARSE(&o, &err, "-x", "busybox"), -EINVAL);
	assert_string_equal(err.msg, "unknown option '-x'; see 'rlbpf run --help'");
	rl_run_opts_free(&o);

	/* A flag that takes no value, given one. */
	REJECTS(EINVAL, "--rm", "--rm=yes", "busybox");
}

/* An unknown letter first in a group of short flags: the message must name
 * it, not some other word of the command line (such as "run"). */
static void unknown_short_flag_in_group_named(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	int r = PARSE(&o, &err, "-xi", "busybox");
	rl_run_opts_free(&o);
	check_rejection(r, &err, EINVAL, "unknown option");
	if (!strstr(err.msg, "-x"))
		fail_msg("message \"%s\" does not name the flag -x", err.msg);
}

static void missing_value(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--rm", "--name"), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	assert_int_equal(strncmp(err.msg, "option '--name' needs a value", 29), 0);
	rl_run_opts_free(&o);

	err = (struct rl_error){0};
	assert_int_equal(PARSE(&o, &err, "-e"), -EINVAL);
	assert_int_equal(strncmp(err.msg, "option '-e' needs a value", 25), 0);
	rl_run_opts_free(&o);

	REJECTS(EINVAL, "needs a value", "-it", "--security-opt");
	REJECTS(EINVAL, "needs a value", "-v");
}

static void help_returns_one(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--help"), 1);
	rl_run_opts_free(&o);
	/* After other options (some already allocated), and with no image. */
	assert_int_equal(PARSE(&o, &err, "--name", "web", "-e", "A=1", "--help", "--bogus"), 1);
	rl_run_opts_free(&o);
}

static void usage_mentions_every_option(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	rl_run_usage(f);
	assert_int_equal(fclose(f), 0);
	static const char *const opts[] = {"--cap-add", "--cap-drop", "--env", "--hostname",
					   "--interactive", "--init", "--name", "--read-only",
					   "--rm", "--security-opt", "--tty", "--user", "--volume", "--network", "--publish",
					   "--workdir", "--help"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strstr(text, opts[i]))
			fail_msg("usage does not mention %s", opts[i]);
	free(text);
}

/* ---- getopt state between calls */

static void parsing_twice_starts_afresh(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--rm", "-it", "alpine", "echo"), 0);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--init", "busybox", "ls"), 0);
	assert_false(o.rm);
	assert_false(o.tty);
	assert_true(o.init);
	assert_string_equal(o.image, "busybox");
	assert_int_equal(o.n_cmd, 1);
	assert_string_equal(o.cmd[0], "ls");
	rl_run_opts_free(&o);
}

static void parsing_after_a_failure_mid_group(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	/* Fails on -u inside a group, leaving getopt part-way through "-iu...". */
	assert_true(PARSE(&o, &err, "-tiu-1", "busybox") < 0);
	rl_run_opts_free(&o);
	assert_true(PARSE(&o, &err, "-xt", "busybox") < 0);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "busybox", "true"), 0);
	assert_false(o.interactive);
	assert_false(o.tty);
	assert_null(o.user);
	assert_string_equal(o.image, "busybox");
	rl_run_opts_free(&o);
	/* And a flag parsed straight after works as the first word. */
	assert_int_equal(PARSE(&o, &err, "-i", "busybox"), 0);
	assert_true(o.interactive);
	rl_run_opts_free(&o);
}

static void entrypoint_and_tty_size(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-t", "--tty-size", "33x101", "--entrypoint", "", "img"), 0);
	assert_int_equal(o.tty_rows, 33);
	assert_int_equal(o.tty_cols, 101);
	assert_string_equal(o.entrypoint, "");
	rl_run_opts_free(&o);
	REJECTS(EINVAL, "--tty-size", "--tty-size", "33", "img");
	REJECTS(EINVAL, "--tty-size", "--tty-size", "0x80", "img");
	REJECTS(EINVAL, "--tty-size", "--tty-size", "24x80x", "img");
	REJECTS(EINVAL, "--tty-size", "--tty-size", "-1x80", "img");
	REJECTS(EINVAL, "--tty-size", "--tty-size", "24x65536", "img");
}

static void free_twice_is_safe(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "web", "busybox", "sh"), 0);
	rl_run_opts_free(&o);
	rl_run_opts_free(&o); /* free leaves it zeroed */
	assert_null(o.name);
	assert_null(o.cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(image_and_command),
		cmocka_unit_test(options_after_image_belong_to_command),
		cmocka_unit_test(image_without_command),
		cmocka_unit_test(double_dash_ends_options),
		cmocka_unit_test(no_image),
		cmocka_unit_test(boolean_flags),
		cmocka_unit_test(combined_short_flags),
		cmocka_unit_test(long_option_value_forms),
		cmocka_unit_test(short_option_value_forms),
		cmocka_unit_test(repeated_option_last_wins),
		cmocka_unit_test(env_forms),
		cmocka_unit_test(env_only_unset_keys_gives_none),
		cmocka_unit_test(env_rejected),
		cmocka_unit_test(volume_forms),
		cmocka_unit_test(volume_rejected),
		cmocka_unit_test(volume_container_root_aliases_rejected),
		cmocka_unit_test(user_accepted),
		cmocka_unit_test(user_rejected),
		cmocka_unit_test(name_rules),
		cmocka_unit_test(hostname_rules),
		cmocka_unit_test(workdir_rules),
		cmocka_unit_test(security_opts),
		cmocka_unit_test(unknown_option_message),
		cmocka_unit_test(unknown_short_flag_in_group_named),
		cmocka_unit_test(missing_value),
		cmocka_unit_test(help_returns_one),
		cmocka_unit_test(usage_mentions_every_option),
		cmocka_unit_test(parsing_twice_starts_afresh),
		cmocka_unit_test(parsing_after_a_failure_mid_group),
		cmocka_unit_test(free_twice_is_safe),
		cmocka_unit_test(entrypoint_and_tty_size),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
