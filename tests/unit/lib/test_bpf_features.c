/* links: lib/bpf_features lib/error */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/bpf_features.h"

/* The names are an interface: rlbpf info, rlbpfd --probe and scripts key on
 * them. Append new probes; never rename. */
static const char *const stable_names[] = {
	"btf",    "bpf_syscall", "ringbuf",     "tracepoint", "tracefs", "tp_btf",
	"fentry", "kprobe",      "cgroup_bind4", "send_signal", "bpffs",
	"task_storage", "task_btf", "find_vma", "bind_no_cap", "atomic_fetch",
	"perf_link",
};
#define NR_NAMES (sizeof(stable_names) / sizeof(stable_names[0]))

static const struct rl_bpf_feature *find(const struct rl_bpf_feature *f,
					 size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void table_has_stable_names_and_details(void **state)
{
	(void)state;
	struct rl_bpf_feature f[32];
	size_t n = rl_bpf_features_probe(f, 32);

	assert_int_equal(n, NR_NAMES);
	for (size_t i = 0; i < NR_NAMES; i++) {
		assert_string_equal(f[i].name, stable_names[i]);
		assert_true(f[i].status <= 0 || f[i].status == RL_FEATURE_FALLBACK);
		assert_true(f[i].detail[0] != '\0');
		/* the detail ends in words, not cut short by its buffer */
		assert_true(strlen(f[i].detail) < sizeof(f[i].detail) - 1);
	}
}

static void respects_max(void **state)
{
	(void)state;
	struct rl_bpf_feature f[2];

	assert_int_equal(rl_bpf_features_probe(f, 0), 0);
	assert_int_equal(rl_bpf_features_probe(f, 2), 2);
	assert_string_equal(f[0].name, "btf");
	assert_string_equal(f[1].name, "bpf_syscall");
}

static void leaves_no_fds_behind(void **state)
{
	(void)state;
	struct rl_bpf_feature f[32];
	int before = count_fds();

	rl_bpf_features_probe(f, 32);
	assert_int_equal(count_fds(), before);
}

static void root_can_read_btf_and_load(void **state)
{
	(void)state;
	struct rl_bpf_feature f[32];

	if (geteuid() != 0)
		skip();
	size_t n = rl_bpf_features_probe(f, 32);
	const struct rl_bpf_feature *btf = find(f, n, "btf");
	const struct rl_bpf_feature *sys = find(f, n, "bpf_syscall");
	assert_non_null(btf);
	assert_non_null(sys);
	assert_int_equal(btf->status, 0);
	assert_int_equal(sys->status, 0);
}

/* Checks the unprivileged answers in this process. Returns 0 when right. */
static int unprivileged_answers_are_eperm(void)
{
	struct rl_bpf_feature f[32];
	size_t n = rl_bpf_features_probe(f, 32);
	static const char *const need_priv[] = {
		"bpf_syscall", "tracepoint", "tp_btf", "fentry", "cgroup_bind4",
		"send_signal",
	};

	for (size_t i = 0; i < sizeof(need_priv) / sizeof(need_priv[0]); i++) {
		const struct rl_bpf_feature *e = find(f, n, need_priv[i]);
		if (!e || e->status != -EPERM)
			return 1;
	}
	return 0;
}

/* Unprivileged callers (rlbpf itself) get -EPERM entries, not a crash and
 * not libbpf's "assume supported". As root, check it in a child that has
 * dropped to nobody. */
static void unprivileged_gets_eperm(void **state)
{
	(void)state;

	if (geteuid() != 0) {
		assert_int_equal(unprivileged_answers_are_eperm(), 0);
		return;
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(unprivileged_answers_are_eperm());
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_has_stable_names_and_details),
		cmocka_unit_test(respects_max),
		cmocka_unit_test(leaves_no_fds_behind),
		cmocka_unit_test(root_can_read_btf_and_load),
		cmocka_unit_test(unprivileged_gets_eperm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
