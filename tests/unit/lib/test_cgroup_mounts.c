/* links: lib/cgroup_mounts */
/* Where each controller rlbpfd limits with lives, from mountinfo fixtures:
 * this host's hybrid layout, Debian 6.12's hybrid without v1 memory, and a
 * cgroup v2 only host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cgroup_mounts.h"

struct fixture {
	char dir[64];
	char mountinfo[128];
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/rlbpf-cgm.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->mountinfo, sizeof(fx->mountinfo), "%s/mountinfo", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[192];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", fx->dir);
	unlink(path);
	unlink(fx->mountinfo);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

#define V1(id, name, opts)                                                                   \
	id " 24 0:" id " / /sys/fs/cgroup/" name " rw,nosuid shared:9 - cgroup cgroup rw," opts "\n"
#define V2(id, where) id " 24 0:" id " / " where " rw,nosuid shared:4 - cgroup2 cgroup2 rw\n"

static void hybrid_v1_holds_every_controller(void **state)
{
	struct fixture *fx = *state;
	char ctl[192];
	write_text(fx->mountinfo, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" V2("30", "/sys/fs/cgroup/unified")
					  V1("31", "memory", "memory") V1("32", "pids", "pids")
					  V1("33", "cpu", "cpu") V1("34", "cpuacct", "cpuacct"));
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", fx->dir);
	write_text(ctl, "\n");
	struct rl_cg_host h;
	rl_cg_detect_from(&h, fx->mountinfo, fx->dir);
	for (int c = 0; c < RL_CG_N; c++) {
		assert_true(h.have[c]);
		assert_string_equal(rl_cg_version(&h, c), "v1");
	}
	assert_string_equal(h.mount[RL_CG_MEMORY], "/sys/fs/cgroup/memory");
	assert_string_equal(h.mount[RL_CG_CPUACCT], "/sys/fs/cgroup/cpuacct");
}

static void memory_missing_from_v1_is_taken_from_cgroup2(void **state)
{
	struct fixture *fx = *state;
	char ctl[192];
	/* Debian 6.12 in hybrid mode: no v1 memory; cgroup2 offers it */
	write_text(fx->mountinfo, V2("30", "/sys/fs/cgroup/unified") V1("32", "pids", "pids")
					  V1("33", "cpu,cpuacct", "cpu,cpuacct"));
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", fx->dir);
	write_text(ctl, "memory hugetlb\n");
	struct rl_cg_host h;
	rl_cg_detect_from(&h, fx->mountinfo, fx->dir);
	assert_string_equal(rl_cg_version(&h, RL_CG_MEMORY), "v2");
	assert_string_equal(h.mount[RL_CG_MEMORY], "/sys/fs/cgroup/unified");
	assert_string_equal(rl_cg_version(&h, RL_CG_PIDS), "v1");
	/* co-mounted cpu and cpuacct: one hierarchy for both */
	assert_string_equal(h.mount[RL_CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(h.mount[RL_CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
}

static void v2_only_and_nothing_at_all(void **state)
{
	struct fixture *fx = *state;
	char ctl[192];
	write_text(fx->mountinfo, V2("30", "/sys/fs/cgroup"));
	snprintf(ctl, sizeof(ctl), "%s/cgroup.controllers", fx->dir);
	write_text(ctl, "cpuset cpu io memory hugetlb pids rdma misc\n");
	struct rl_cg_host h;
	rl_cg_detect_from(&h, fx->mountinfo, fx->dir);
	for (int c = 0; c < RL_CG_N; c++)
		assert_string_equal(rl_cg_version(&h, c), "v2");
	/* a controller named only as part of another's name is not there */
	write_text(ctl, "cpuset memoryx\n");
	rl_cg_detect_from(&h, fx->mountinfo, fx->dir);
	assert_false(h.have[RL_CG_MEMORY]);
	assert_false(h.have[RL_CG_CPU]);
	assert_string_equal(rl_cg_version(&h, RL_CG_PIDS), "");
	/* no mountinfo at all: nothing, no crash */
	unlink(fx->mountinfo);
	rl_cg_detect_from(&h, fx->mountinfo, fx->dir);
	for (int c = 0; c < RL_CG_N; c++)
		assert_false(h.have[c]);
}

static void controller_lists(void **state)
{
	(void)state;
	assert_true(rl_cg_list_has("cpu memory pids\n", "memory"));
	assert_true(rl_cg_list_has("memory", "memory"));
	assert_false(rl_cg_list_has("cpuset", "cpu"));
	assert_false(rl_cg_list_has("", "pids"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hybrid_v1_holds_every_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(memory_missing_from_v1_is_taken_from_cgroup2, setup, teardown),
		cmocka_unit_test_setup_teardown(v2_only_and_nothing_at_all, setup, teardown),
		cmocka_unit_test(controller_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
