/* links: supervise/stats_sample supervise/state supervise/status lib/humantime lib/paths lib/userdb lib/fsutil runtime/userns_exec runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/error runtime/cgroup2 lib/cgroup_mounts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervise/stats_sample.h"

#define MIB (1024ULL * 1024)

static void limits_shown(void **state)
{
	(void)state;
	struct rl_msg_stats_reply rep = {0};
	struct rl_stats_recorded rec = {0};
	/* none anywhere: the host's memory, no pids limit */
	assert_int_equal(rl_stats_mem_limit(&rep, &rec, 8192 * MIB), 8192 * MIB);
	assert_int_equal(rl_stats_pids_limit(&rep, &rec), 0);
	/* recorded at create, kept by a cgroup the agent does not report */
	rec.memory = 64 * MIB;
	rec.pids_limit = 50;
	assert_int_equal(rl_stats_mem_limit(&rep, &rec, 8192 * MIB), 64 * MIB);
	assert_int_equal(rl_stats_pids_limit(&rep, &rec), 50);
	/* the agent's own cap is what is enforced */
	rep.mem_cap_bytes = 32 * MIB;
	rep.pids_limit = 20;
	assert_int_equal(rl_stats_mem_limit(&rep, &rec, 8192 * MIB), 32 * MIB);
	assert_int_equal(rl_stats_pids_limit(&rep, &rec), 20);
}

static char runtime[64];

static int setup(void **state)
{
	(void)state;
	snprintf(runtime, sizeof(runtime), "/tmp/rlbpf-test-stats-XXXXXX");
	if (!mkdtemp(runtime))
		return -1;
	return setenv("XDG_RUNTIME_DIR", runtime, 1);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime);
	return system(cmd) == 0 ? 0 : -1;
}

static void recorded_limits(void **state)
{
	(void)state;
	struct rl_state st;
	struct rl_error err = {0};
	struct rl_stats_recorded rec;
	assert_int_equal(rl_state_create("web", &st, &err), 0);
	rl_stats_recorded_read(&st, &rec); /* no record yet: nothing */
	assert_true(rec.memory == 0 && rec.pids_limit == 0 && rec.created == 0);
	assert_int_equal(rl_state_record(&st,
					 "{\"Created\":\"2026-12-05T16:00:00.5Z\",\"HostConfig\":"
					 "{\"Memory\":67108864,\"PidsLimit\":50}}",
					 &err),
			 0);
	rl_stats_recorded_read(&st, &rec);
	assert_int_equal(rec.memory, 64 * MIB);
	assert_int_equal(rec.pids_limit, 50);
	assert_true(rec.created > 1796486400.0 && rec.created < 1796486401.0);
	/* -1 is Docker's "unlimited" */
	assert_int_equal(rl_state_record(&st, "{\"HostConfig\":{\"Memory\":0,\"PidsLimit\":-1}}",
					 &err),
			 0);
	rl_stats_recorded_read(&st, &rec);
	assert_true(rec.memory == 0 && rec.pids_limit == 0);
	/* created, never started: not running */
	assert_false(rl_stats_still_running(&st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limits_shown),
		cmocka_unit_test_setup_teardown(recorded_limits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
