/* links: oci/spec oci/state oci/cgroups lib/cgroup_mounts runtime/caps supervise/status lib/fsutil lib/paths lib/userdb lib/error lib/humantime */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "oci/spec.h"
#include "oci/state.h"

static char bundle[64];

static int make_bundle(void **state)
{
	(void)state;
	snprintf(bundle, sizeof(bundle), "/tmp/rlbpf-oci-test.XXXXXX");
	if (!mkdtemp(bundle))
		return -1;
	char rootfs[128];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	return mkdir(rootfs, 0755);
}

static int remove_bundle(void **state)
{
	(void)state;
	char rootfs[128];
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	rmdir(rootfs);
	return rmdir(bundle);
}

/* A config.json with `extra` spliced into the top level and `linux` as the
 * linux object's members. */
static int parse(const char *process, const char *linux_members, const char *extra,
		 struct rl_oci_spec *s, struct rl_error *err)
{
	char text[8192];
	snprintf(text, sizeof(text),
		 "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}, %s"
		 "\"process\": %s, \"linux\": {%s}}",
		 extra, process, linux_members);
	return rl_oci_spec_parse(text, bundle, s, err);
}

#define PROC "{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"PATH=/bin\"]}"

static void a_full_config_parses(void **state)
{
	(void)state;
	struct rl_oci_spec s;
	struct rl_error err = {0};
	const char *proc =
		"{\"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
		" \"user\": {\"uid\": 1, \"gid\": 2, \"additionalGids\": [5, 6]},"
		" \"args\": [\"sh\", \"-c\", \"true\"], \"cwd\": \"/srv\", \"env\": [\"A=1\"],"
		" \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]},"
		" \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 100, \"hard\": 200}],"
		" \"noNewPrivileges\": true, \"oomScoreAdj\": -17}";
	const char *lin =
		"\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"},"
		" {\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"user\"}],"
		" \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],"
		" \"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}],"
		" \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}, \"maskedPaths\": [\"/proc/kcore\"],"
		" \"devices\": [{\"type\": \"c\", \"path\": \"/dev/fuse\", \"major\": 10, \"minor\": 229}],"
		" \"resources\": {\"memory\": {\"limit\": 33554432}, \"pids\": {\"limit\": 20},"
		" \"cpu\": {\"quota\": 50000, \"period\": 100000}}, \"cgroupsPath\": \"/x\","
		" \"rootfsPropagation\": \"rshared\"";
	const char *extra =
		"\"hostname\": \"h\", \"mounts\": [{\"destination\": \"/tmp\", \"type\": \"tmpfs\","
		" \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"ro\", \"size=1m\", \"mode=755\", \"rprivate\"]},"
		" {\"destination\": \"/data\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\"]}],"
		" \"hooks\": {\"prestart\": [{\"path\": \"/bin/true\", \"args\": [\"true\"], \"timeout\": 5}]},"
		" \"annotations\": {\"io.rlbpf.memory\": \"32m\"},";
	assert_int_equal(parse(proc, lin, extra, &s, &err), 0);
	assert_true(s.process.terminal);
	assert_int_equal(s.process.rows, 24);
	assert_int_equal(s.process.n_gids, 2);
	assert_int_equal(s.process.caps[RL_OCI_BOUNDING], (1ULL << 0) | (1ULL << 5));
	assert_int_equal(s.process.caps[RL_OCI_AMBIENT], 1ULL << 5);
	assert_int_equal(s.process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s.process.rlimits[0].hard, 200);
	assert_int_equal(s.process.oom_score_adj, -17);
	assert_true(s.ns[RL_OCI_NS_PID].want && !s.ns[RL_OCI_NS_PID].path);
	assert_string_equal(s.ns[RL_OCI_NS_NET].path, "/proc/1/ns/net");
	assert_false(s.ns[RL_OCI_NS_IPC].want);
	assert_int_equal(s.n_mounts, 2);
	assert_int_equal(s.mounts[0].flags, MS_NOSUID | MS_RDONLY);
	assert_string_equal(s.mounts[0].data, "size=1m,mode=755");
	assert_int_equal(s.mounts[0].propagation, MS_PRIVATE | MS_REC);
	assert_true(s.mounts[1].bind);
	assert_int_equal(s.mounts[1].flags & (MS_REC | MS_RDONLY), MS_REC | MS_RDONLY);
	assert_int_equal(s.rootfs_propagation, MS_SHARED | MS_REC);
	assert_int_equal(s.resources.memory, 33554432);
	assert_int_equal(s.resources.pids, 20);
	assert_int_equal(s.resources.cpu_quota, 50000);
	assert_string_equal(s.cgroups_path, "/x");
	assert_int_equal(s.hooks[RL_HOOK_PRESTART].n, 1);
	assert_int_equal(s.hooks[RL_HOOK_PRESTART].h[0].timeout, 5);
	assert_int_equal(s.n_devices, 1);
	assert_string_equal(s.sysctl_keys[0], "net.ipv4.ip_forward");
	assert_non_null(strstr(s.root, "/rootfs"));
	rl_oci_spec_free(&s);
}

/* Each bad document fails with a message naming what is wrong. */
static void bad_fields_are_refused_by_name(void **state)
{
	(void)state;
	static const struct {
		const char *proc, *lin, *extra, *words;
	} cases[] = {
		{PROC, "\"namespaces\": [{\"type\": \"time\"}]", "", "unknown type time"},
		{PROC, "\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]", "", "pid given twice"},
		{PROC, "\"namespaces\": [{\"type\": \"user\"}]", "", "needs linux.uidMappings"},
		{PROC, "\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]", "", "need a user namespace"},
		{"{\"args\": [\"sh\"], \"cwd\": \"rel\"}", "", "", "cwd must be an absolute path"},
		{"{\"args\": [], \"cwd\": \"/\"}", "", "", "process.args must name"},
		{"{\"args\": [\"sh\"], \"cwd\": \"/\", \"env\": [\"NOEQUALS\"]}", "", "", "is not KEY=VALUE"},
		{"{\"args\": [\"sh\"], \"cwd\": \"/\", \"capabilities\": {\"bounding\": [\"CAP_NOPE\"]}}", "", "", "unknown capability CAP_NOPE"},
		{"{\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_NOPE\", \"soft\": 1, \"hard\": 1}]}", "", "", "unknown type RLIMIT_NOPE"},
		{"{\"args\": [\"sh\"], \"cwd\": \"/\", \"apparmorProfile\": \"p\"}", "", "", "apparmorProfile"},
		{"{\"args\": [\"sh\"], \"cwd\": \"/\", \"oomScoreAdj\": 5000}", "", "", "from -1000 to 1000"},
		{PROC, "\"rootfsPropagation\": \"sideways\"", "", "unknown sideways"},
		{PROC, "\"intelRdt\": {}", "", "intelRdt"},
		{PROC, "\"sysctl\": {\"../x\": \"1\"}", "", "is not a sysctl name"},
		{PROC, "", "\"hostname\": \"h\",", "no new uts namespace"},
		{PROC, "", "\"mounts\": [{\"destination\": \"rel\", \"type\": \"tmpfs\"}],", "absolute path"},
		{PROC, "", "\"mounts\": [{\"destination\": \"/x\", \"options\": [\"bind\"]}],", "has no source"},
		{PROC, "", "\"mounts\": [{\"destination\": \"/x\", \"source\": \"/y\", \"options\": [\"idmap\"], \"type\": \"bind\"}],", "idmap"},
		{PROC, "", "\"hooks\": {\"poststop\": [{\"path\": \"rel\"}]},", "must be absolute"},
		{PROC, "\"devices\": [{\"type\": \"x\", \"path\": \"/dev/x\"}]", "", "c, b, u or p"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rl_oci_spec s;
		struct rl_error err = {0};
		int r = parse(cases[i].proc, cases[i].lin, cases[i].extra, &s, &err);
		if (r == 0 || !strstr(err.msg, cases[i].words))
			fail_msg("case %zu: r=%d, message '%s' lacks '%s'", i, r, err.msg, cases[i].words);
		rl_oci_spec_free(&s);
	}
}

static void bad_documents_are_refused(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"not json",
		"[]",
		"{\"ociVersion\": \"2.0.0\", \"root\": {\"path\": \"rootfs\"}, \"process\": " PROC "}",
		"{\"ociVersion\": \"1.0.0\", \"process\": " PROC "}",
		"{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"missing-dir\"}, \"process\": " PROC "}",
		"{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"}}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct rl_oci_spec s;
		struct rl_error err = {0};
		if (rl_oci_spec_parse(docs[i], bundle, &s, &err) == 0)
			fail_msg("document %zu was taken", i);
		assert_true(err.msg[0] != '\0');
		rl_oci_spec_free(&s);
	}
}

static void container_ids_are_runcs(void **state)
{
	(void)state;
	assert_true(rl_oci_valid_id("abc"));
	assert_true(rl_oci_valid_id("7dee8607-ff49-465a-909d-2079bbde3c6c"));
	assert_true(rl_oci_valid_id("a_b+c.d"));
	assert_false(rl_oci_valid_id(""));
	assert_false(rl_oci_valid_id("."));
	assert_false(rl_oci_valid_id(".."));
	assert_false(rl_oci_valid_id("a/b"));
	assert_false(rl_oci_valid_id("a b"));
	char longid[300];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_false(rl_oci_valid_id(longid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_full_config_parses),
		cmocka_unit_test(bad_fields_are_refused_by_name),
		cmocka_unit_test(bad_documents_are_refused),
		cmocka_unit_test(container_ids_are_runcs),
	};
	return cmocka_run_group_tests(tests, make_bundle, remove_bundle);
}
