/* links: runtime/caps lib/error */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/caps.h"

#define BIT(c) (UINT64_C(1) << (c))
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* What the kernel under test knows, read independently of caps.c. */
static uint64_t kernel_all(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = CAP_LAST_CAP;
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = CAP_LAST_CAP;
		fclose(f);
	}
	return last >= 63 ? UINT64_MAX : BIT(last + 1) - 1;
}

static uint64_t resolve_ok(char *const *add, size_t n_add, char *const *drop,
			   size_t n_drop)
{
	struct rl_error err = {0};
	uint64_t caps = 0xdeadbeef;
	int r = rl_caps_resolve(add, n_add, drop, n_drop, &caps, &err);
	if (r != 0)
		fail_msg("rl_caps_resolve failed: %s", err.msg);
	return caps;
}

static void default_set_is_dockers(void **state)
{
	(void)state;
	uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) |
			BIT(CAP_FOWNER) | BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) |
			BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) |
			BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
			BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
	assert_int_equal(rl_caps_docker_default(), want);
	assert_int_equal(__builtin_popcountll(want), 14);
	assert_int_equal(resolve_ok(NULL, 0, NULL, 0), want);
}

static void names_by_number(void **state)
{
	(void)state;
	assert_string_equal(rl_cap_name(0), "CAP_CHOWN");
	assert_string_equal(rl_cap_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
	assert_string_equal(rl_cap_name(CAP_NET_BIND_SERVICE), "CAP_NET_BIND_SERVICE");
	assert_string_equal(rl_cap_name(CAP_CHECKPOINT_RESTORE), "CAP_CHECKPOINT_RESTORE");
	assert_null(rl_cap_name(-1));
	assert_null(rl_cap_name(64));
	assert_null(rl_cap_name(1000));
	/* Every name round-trips through the parser. */
	for (int c = 0; rl_cap_name(c); c++) {
		char *add[] = {(char *)rl_cap_name(c)};
		char *drop[] = {"ALL"};
		if (BIT(c) & kernel_all())
			assert_int_equal(resolve_ok(add, 1, drop, 1), BIT(c));
	}
}

static void names_any_case_with_or_without_prefix(void **state)
{
	(void)state;
	const char *forms[] = {"SYS_ADMIN", "sys_admin", "CAP_SYS_ADMIN", "cap_sys_admin",
			       "Cap_Sys_Admin"};
	for (size_t i = 0; i < N(forms); i++) {
		char *add[] = {(char *)forms[i]};
		assert_int_equal(resolve_ok(add, 1, NULL, 0),
				 rl_caps_docker_default() | BIT(CAP_SYS_ADMIN));
	}
	char *drop[] = {"chown", "CAP_kill"};
	assert_int_equal(resolve_ok(NULL, 0, drop, 2),
			 rl_caps_docker_default() & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL)));
}

static void all_means_every_kernel_cap(void **state)
{
	(void)state;
	char *add_all[] = {"all"};
	assert_int_equal(resolve_ok(add_all, 1, NULL, 0), kernel_all());
	char *add_all_upper[] = {"ALL"};
	assert_int_equal(resolve_ok(add_all_upper, 1, NULL, 0), kernel_all());
	char *drop_all[] = {"All"};
	assert_int_equal(resolve_ok(NULL, 0, drop_all, 1), 0);
}

static void precedence_as_docker(void **state)
{
	(void)state;
	char *all[] = {"ALL"};
	char *net_raw[] = {"NET_RAW"};
	char *admin[] = {"SYS_ADMIN", "NET_ADMIN"};

	/* --cap-add ALL --cap-drop NET_RAW: everything but NET_RAW. */
	assert_int_equal(resolve_ok(all, 1, net_raw, 1), kernel_all() & ~BIT(CAP_NET_RAW));
	/* --cap-drop ALL --cap-add SYS_ADMIN,NET_ADMIN: exactly those. */
	assert_int_equal(resolve_ok(admin, 2, all, 1),
			 BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_ADMIN));
	/* Default minus the drop, plus the add. */
	char *drop[] = {"NET_RAW", "MKNOD"};
	assert_int_equal(resolve_ok(admin, 2, drop, 2),
			 (rl_caps_docker_default() & ~(BIT(CAP_NET_RAW) | BIT(CAP_MKNOD))) |
				 BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_ADMIN));
	/* Adding and dropping the same cap: the add wins, as in Docker. */
	assert_int_equal(resolve_ok(net_raw, 1, net_raw, 1), rl_caps_docker_default());
	/* Adding ALL beats dropping ALL, as in Docker. */
	assert_int_equal(resolve_ok(all, 1, all, 1), kernel_all());
	/* Repeats are harmless. */
	char *twice[] = {"chown", "CAP_CHOWN"};
	assert_int_equal(resolve_ok(NULL, 0, twice, 2),
			 rl_caps_docker_default() & ~BIT(CAP_CHOWN));
}

static void unknown_names_fail_with_the_option(void **state)
{
	(void)state;
	struct rl_error err = {0};
	uint64_t caps = 7;

	char *foo[] = {"CAP_FOO"};
	assert_int_equal(rl_caps_resolve(foo, 1, NULL, 0, &caps, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown capability \"CAP_FOO\" in --cap-add; "
				     "see capabilities(7) for names");
	assert_int_equal(err.code, EINVAL);
	assert_int_equal(caps, 7);

	char *bad_drop[] = {"chown", "sys_adm"};
	assert_int_equal(rl_caps_resolve(NULL, 0, bad_drop, 2, &caps, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown capability \"sys_adm\" in --cap-drop; "
				     "see capabilities(7) for names");

	/* ALL is a keyword, not a capability name. */
	char *cap_all[] = {"CAP_ALL"};
	assert_int_equal(rl_caps_resolve(cap_all, 1, NULL, 0, &caps, &err), -EINVAL);
	char *empty[] = {""};
	assert_int_equal(rl_caps_resolve(empty, 1, NULL, 0, &caps, &err), -EINVAL);
	char *prefix_only[] = {"CAP_"};
	assert_int_equal(rl_caps_resolve(prefix_only, 1, NULL, 0, &caps, &err), -EINVAL);
	char *trailing[] = {"CHOWN "};
	assert_int_equal(rl_caps_resolve(trailing, 1, NULL, 0, &caps, &err), -EINVAL);
	assert_int_equal(caps, 7);
}

static uint64_t status_mask(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return UINT64_MAX;
	char line[256];
	size_t len = strlen(field);
	uint64_t v = UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			v = strtoull(line + len + 1, NULL, 16);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Runs fn in a child so that the test runner keeps its own capabilities;
 * the child's exit code names the first check that failed. */
static int in_child(int (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* cmocka catches these and would resume the suite in the child. */
		const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		_exit(fn());
	}
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CHECK(n, cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "child check %d failed: %s\n", n,     \
				#cond);                                        \
			return n;                                              \
		}                                                              \
	} while (0)

static int root_keeps_its_caps(void)
{
	struct rl_error err = {0};
	uint64_t want = rl_caps_docker_default();
	CHECK(1, rl_caps_drop_bounding(want, &err) == 0);
	CHECK(2, status_mask("CapBnd") == want);
	CHECK(3, prctl(PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L) == 1);
	CHECK(4, rl_caps_set_final(want, 0, &err) == 0);
	CHECK(5, status_mask("CapEff") == want);
	CHECK(6, status_mask("CapPrm") == want);
	CHECK(7, status_mask("CapInh") == 0);
	CHECK(8, status_mask("CapAmb") == 0);
	CHECK(9, status_mask("CapBnd") == want);
	CHECK(10, prctl(PR_GET_KEEPCAPS, 0L, 0L, 0L, 0L) == 0);
	/* Dropping again is idempotent. */
	CHECK(11, rl_caps_drop_bounding(want, &err) == 0);
	return 0;
}

static int non_root_gets_nothing(void)
{
	struct rl_error err = {0};
	uint64_t want = rl_caps_docker_default() | BIT(CAP_SYS_ADMIN);
	CHECK(1, rl_caps_drop_bounding(want, &err) == 0);
	CHECK(2, setresgid(1000, 1000, 1000) == 0);
	CHECK(3, setresuid(1000, 1000, 1000) == 0);
	/* PR_SET_KEEPCAPS kept the permitted set across the uid change... */
	CHECK(4, status_mask("CapPrm") != 0);
	CHECK(5, rl_caps_set_final(want, 1000, &err) == 0);
	/* ...and the final step empties it for a non-root user. */
	CHECK(6, status_mask("CapEff") == 0);
	CHECK(7, status_mask("CapPrm") == 0);
	CHECK(8, status_mask("CapInh") == 0);
	CHECK(9, status_mask("CapBnd") == want);
	return 0;
}

static int set_final_refuses_caps_not_held(void)
{
	struct rl_error err = {0};
	uint64_t want = rl_caps_docker_default();
	CHECK(1, rl_caps_drop_bounding(want, &err) == 0);
	CHECK(2, rl_caps_set_final(want, 0, &err) == 0);
	CHECK(3, rl_caps_set_final(want | BIT(CAP_SYS_ADMIN), 0, &err) == -EPERM);
	CHECK(4, strstr(err.msg, "capset") != NULL);
	return 0;
}

static void drop_and_set_in_child(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(root_keeps_its_caps), 0);
	assert_int_equal(in_child(non_root_gets_nothing), 0);
	assert_int_equal(in_child(set_final_refuses_caps_not_held), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_set_is_dockers),
		cmocka_unit_test(names_by_number),
		cmocka_unit_test(names_any_case_with_or_without_prefix),
		cmocka_unit_test(all_means_every_kernel_cap),
		cmocka_unit_test(precedence_as_docker),
		cmocka_unit_test(unknown_names_fail_with_the_option),
		cmocka_unit_test(drop_and_set_in_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
