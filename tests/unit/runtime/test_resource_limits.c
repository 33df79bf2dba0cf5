/* links: runtime/resource_limits proto/agent_proto lib/memsize lib/error */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/resource_limits.h"

static void memory_as_docker_takes_it(void **state)
{
	(void)state;
	struct rl_limits l = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_limits_memory(&l, "32m", 1ULL << 34, &err), 0);
	assert_true(l.memory == 32ULL << 20);
	static const char *const bad[] = {"0", "-1", "32x", "", "5m", "abc", "1t", "99g"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_true(rl_limits_memory(&l, bad[i], 1ULL << 34, &err) < 0);
		assert_non_null(strstr(err.msg, "--memory"));
	}
}

static void pids_limit_zero_and_minus_one_mean_none(void **state)
{
	(void)state;
	struct rl_limits l = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_limits_pids(&l, "100", &err), 0);
	assert_int_equal(l.pids_limit, 100);
	assert_int_equal(rl_limits_pids(&l, "0", &err), 0);
	assert_int_equal(l.pids_limit, 0);
	assert_int_equal(rl_limits_pids(&l, "-1", &err), 0);
	assert_int_equal(l.pids_limit, 0);
	static const char *const bad[] = {"-2", "x", "", " 5", "5 ", "4194305", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(rl_limits_pids(&l, bad[i], &err), -EINVAL);
		assert_non_null(strstr(err.msg, "--pids-limit"));
	}
}

static void cpus_within_the_host(void **state)
{
	(void)state;
	struct rl_limits l = {0};
	struct rl_error err = {0};
	assert_int_equal(rl_limits_cpus(&l, "1.5", 2, &err), 0);
	assert_true(l.nano_cpus == 1500000000ULL);
	assert_int_equal(rl_limits_cpus(&l, "3", 2, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "from 0.01 to 2.00"));
	static const char *const bad[] = {"0", "0.001", "-1", "x", "", "nan", "1,5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(rl_limits_cpus(&l, bad[i], 2, &err), -EINVAL);
	}
}

static void enforcement_choice(void **state)
{
	(void)state;
	struct rl_limits l = {0};
	struct rl_error err = {0};
	assert_false(rl_limits_enforced(&l));
	assert_string_equal(rl_limits_enforcer(&l), "");
	l.memory = 32ULL << 20;
	assert_true(rl_limits_enforced(&l));
	assert_string_equal(rl_limits_enforcer(&l), "ebpf");
	assert_int_equal(rl_limits_enforce(&l, "none", &err), 0);
	assert_false(rl_limits_enforced(&l));
	assert_string_equal(rl_limits_enforcer(&l), "none");
	assert_int_equal(rl_limits_enforce(&l, "sometimes", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "auto, ebpf, cgroup or none"));
	assert_int_equal(rl_limits_enforce(&l, "ebpf", &err), 0);
	l.by_cgroup2 = true;
	assert_string_equal(rl_limits_enforcer(&l), "cgroup2");
	assert_false(rl_limits_for_agent(&l));
	l.by_cgroup2 = false;
	assert_true(rl_limits_for_agent(&l));
	assert_int_equal(rl_limits_enforce(&l, "none", &err), 0);
	char msg[512];
	rl_limits_refusal(&l, "not running", false, msg, sizeof(msg));
	assert_non_null(strstr(msg, "--memory 32MiB"));
	assert_non_null(strstr(msg, "sudo rlbpfd"));
	assert_non_null(strstr(msg, "--memory-enforce=none"));
	rl_limits_refusal(&l, "the eBPF memory cap needs X", true, msg, sizeof(msg));
	assert_non_null(strstr(msg, "rlbpfd says the eBPF memory cap needs X"));
	assert_null(strstr(msg, "sudo rlbpfd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_as_docker_takes_it),
		cmocka_unit_test(pids_limit_zero_and_minus_one_mean_none),
		cmocka_unit_test(cpus_within_the_host),
		cmocka_unit_test(enforcement_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
