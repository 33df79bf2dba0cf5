/* links: runtime/host_probe runtime/fuse_overlay lib/pty runtime/mountinfo lib/fsutil lib/cgroup_mounts runtime/idmap lib/subid lib/spawn lib/paths lib/userdb lib/error proto/agent_client proto/agent_proto */
/* Host probes fed fixture files in a temp dir: sysctls, /proc/filesystems,
 * mountinfo, /proc/self/cgroup, cgroup2 trees, subuid files, the agent
 * socket. Nothing here depends on the machine the tests run on. */
#include <errno.h>
#include <ftw.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/agent_client.h"
#include "runtime/host_probe.h"

struct fixture {
	char dir[64];
	char path[PATH_MAX]; /* scratch for p() */
};

/* dir/rel into the fixture's scratch buffer. */
static const char *p(struct fixture *f, const char *rel)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	return f->path;
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(buf, 0755);
		*s = '/';
	}
	mkdir(buf, 0755);
}

/* Writes `content` to dir/rel, creating parent directories. */
static const char *put(struct fixture *f, const char *rel, const char *content)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s/%s", f->dir, rel);
	*strrchr(parent, '/') = '\0';
	mkdirs(parent);
	FILE *out = fopen(p(f, rel), "w");
	assert_non_null(out);
	fputs(content, out);
	assert_int_equal(fclose(out), 0);
	return f->path;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rlbpf-test-probe.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- sysctl */

static void sysctl_reads_dotted_name(void **state)
{
	struct fixture *f = *state;
	put(f, "net/ipv4/ip_unprivileged_port_start", "1024\n");
	struct rl_error err = {0};
	long v = -1;
	assert_int_equal(rl_sysctl_read(f->dir, "net.ipv4.ip_unprivileged_port_start", &v, &err), 0);
	assert_int_equal(v, 1024);
}

static void sysctl_missing_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	long v = 7;
	assert_int_equal(rl_sysctl_read(f->dir, "kernel.unprivileged_userns_clone", &v, &err),
			 -ENOENT);
	assert_int_equal(v, 7);
	assert_non_null(strstr(err.msg, "does not exist"));
}

static void sysctl_rejects_non_integers(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	long v;
	put(f, "a/word", "abc\n");
	put(f, "a/two", "1\t2\n");
	put(f, "a/empty", "");
	assert_int_equal(rl_sysctl_read(f->dir, "a.word", &v, &err), -EINVAL);
	assert_int_equal(rl_sysctl_read(f->dir, "a.two", &v, &err), -EINVAL);
	assert_int_equal(rl_sysctl_read(f->dir, "a.empty", &v, &err), -EINVAL);
	put(f, "a/neg", "-1\n");
	assert_int_equal(rl_sysctl_read(f->dir, "a.neg", &v, &err), 0);
	assert_int_equal(v, -1);
}

/* ---- /proc/filesystems, kernel version */

static void filesystems_lists_by_name(void **state)
{
	struct fixture *f = *state;
	const char *fs = put(f, "filesystems",
			     "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\nnodev\tcgroup2\n");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", fs);
	struct rl_error err = {0};
	bool yes = false;
	assert_int_equal(rl_fs_listed(path, "overlay", &yes, &err), 0);
	assert_true(yes);
	assert_int_equal(rl_fs_listed(path, "ext4", &yes, &err), 0);
	assert_true(yes);
	assert_int_equal(rl_fs_listed(path, "overla", &yes, &err), 0);
	assert_false(yes);
	assert_int_equal(rl_fs_listed(path, "btrfs", &yes, &err), 0);
	assert_false(yes);
	assert_int_equal(rl_fs_listed(p(f, "nope"), "overlay", &yes, &err), -ENOENT);
}

static void kernel_version_compare(void **state)
{
	(void)state;
	assert_true(rl_kernel_at_least("6.18.44-fc-v669", 5, 11));
	assert_true(rl_kernel_at_least("5.11.0", 5, 11));
	assert_false(rl_kernel_at_least("5.10.209-1", 5, 11));
	assert_false(rl_kernel_at_least("4.19.0", 5, 11));
	assert_false(rl_kernel_at_least("garbage", 5, 11));
}

/* ---- cgroups */

static const char mountinfo_hybrid[] =
	"22 27 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"26 22 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"27 26 0:24 / /sys/fs/cgroup/uni\\040fied rw,nosuid,nodev,noexec,relatime shared:10 - "
	"cgroup2 cgroup2 rw,nsdelegate\n"
	"30 26 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory\n";

static void mountinfo_finds_cgroup2_and_unescapes(void **state)
{
	struct fixture *f = *state;
	put(f, "mountinfo", mountinfo_hybrid);
	char mi[PATH_MAX], mnt[PATH_MAX];
	snprintf(mi, sizeof(mi), "%s", p(f, "mountinfo"));
	struct rl_error err = {0};
	assert_int_equal(rl_mountinfo_find(mi, "cgroup2", mnt, sizeof(mnt), &err), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/uni fied");
	assert_int_equal(rl_mountinfo_find(mi, "cgroup", mnt, sizeof(mnt), &err), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/memory");
	assert_int_equal(rl_mountinfo_find(mi, "nfs", mnt, sizeof(mnt), &err), -ENOENT);
}

static void self_cgroup_picks_unified_line(void **state)
{
	struct fixture *f = *state;
	char buf[PATH_MAX], path[PATH_MAX];
	struct rl_error err = {0};
	snprintf(path, sizeof(path), "%s",
		 put(f, "cgroup",
		     "4:memory:/process_api/abc\n1:name=systemd:/\n0::/user.slice/user-1000.slice/session-2.scope\n"));
	assert_int_equal(rl_self_cgroup2_path(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "/user.slice/user-1000.slice/session-2.scope");

	snprintf(path, sizeof(path), "%s", put(f, "cgroup-v1", "4:memory:/x\n1:cpu:/\n"));
	assert_int_equal(rl_self_cgroup2_path(path, buf, sizeof(buf), &err), -ENOENT);
}

static void controllers_mask(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct rl_error err = {0};
	unsigned m = 99;
	snprintf(path, sizeof(path), "%s",
		 put(f, "c1", "cpuset cpu io memory hugetlb pids rdma misc\n"));
	assert_int_equal(rl_cgroup_controllers_read(path, &m, &err), 0);
	assert_int_equal(m, RL_CTRL_ALL);
	snprintf(path, sizeof(path), "%s", put(f, "c2", "cpuset io memory\n"));
	assert_int_equal(rl_cgroup_controllers_read(path, &m, &err), 0);
	assert_int_equal(m, RL_CTRL_MEMORY);
	snprintf(path, sizeof(path), "%s", put(f, "c3", ""));
	assert_int_equal(rl_cgroup_controllers_read(path, &m, &err), 0);
	assert_int_equal(m, 0);
}

static void cgroup_classify(void **state)
{
	(void)state;
	assert_int_equal(rl_cgroup_classify(CGROUP2_SUPER_MAGIC, 0, false), RL_CGROUP_V2);
	assert_int_equal(rl_cgroup_classify(TMPFS_MAGIC, CGROUP2_SUPER_MAGIC, true),
			 RL_CGROUP_HYBRID);
	assert_int_equal(rl_cgroup_classify(TMPFS_MAGIC, CGROUP2_SUPER_MAGIC, false),
			 RL_CGROUP_V2);
	assert_int_equal(rl_cgroup_classify(TMPFS_MAGIC, 0, true), RL_CGROUP_V1);
	assert_int_equal(rl_cgroup_classify(CGROUP_SUPER_MAGIC, 0, false), RL_CGROUP_V1);
	assert_int_equal(rl_cgroup_classify(0, 0, false), RL_CGROUP_NONE);
	assert_string_equal(rl_cgroup_layout_name(RL_CGROUP_HYBRID), "hybrid");
}

static void cgroup_probe_plain_dir(void **state)
{
	struct fixture *f = *state;
	char mi[PATH_MAX], root[PATH_MAX];
	struct rl_error err = {0};
	struct rl_cgroup_facts cg;
	mkdirs(p(f, "cgroot/memory"));
	snprintf(root, sizeof(root), "%s", p(f, "cgroot"));

	/* A plain directory is no cgroup mount, and no cgroup2 anywhere. */
	snprintf(mi, sizeof(mi), "%s", put(f, "mi-none", "22 27 0:20 / /sys rw - sysfs sysfs rw\n"));
	assert_int_equal(rl_probe_cgroup(root, mi, &cg, &err), 0);
	assert_int_equal(cg.layout, RL_CGROUP_NONE);
	assert_string_equal(cg.v2_mount, "");

	/* cgroup2 mounted somewhere unusual is still found. */
	snprintf(mi, sizeof(mi), "%s", put(f, "mi-v2", mountinfo_hybrid));
	assert_int_equal(rl_probe_cgroup(root, mi, &cg, &err), 0);
	assert_int_equal(cg.layout, RL_CGROUP_V2);
	assert_string_equal(cg.v2_mount, "/sys/fs/cgroup/uni fied");
}

/* A cgroup2 tree in the fixture dir, owned by the test user, so it counts
 * as delegated. */
static void delegation_writable_own_cgroup(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	struct rl_cgroup_facts cg = {.layout = RL_CGROUP_V2};
	struct rl_delegation_facts d;
	snprintf(cg.v2_mount, sizeof(cg.v2_mount), "%s", p(f, "v2"));
	put(f, "v2/me/cgroup.controllers", "cpu memory pids\n");
	put(f, "v2/me/cgroup.subtree_control", "");
	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", put(f, "self-cgroup", "0::/me\n"));

	assert_int_equal(rl_probe_delegation(&cg, self, 4242, &d, &err), 0);
	assert_int_equal(d.controllers, RL_CTRL_ALL);
	assert_non_null(strstr(d.cgroup, "/v2/me"));
	assert_string_equal(d.why, "");
}

static void delegation_falls_back_to_user_service(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	struct rl_cgroup_facts cg = {.layout = RL_CGROUP_V2};
	struct rl_delegation_facts d;
	snprintf(cg.v2_mount, sizeof(cg.v2_mount), "%s", p(f, "v2"));
	put(f, "v2/user.slice/user-4242.slice/user@4242.service/cgroup.subtree_control",
	    "memory pids\n");
	put(f, "v2/user.slice/user-4242.slice/user@4242.service/cgroup.controllers",
	    "memory pids\n");
	char self[PATH_MAX];
	/* the caller's own cgroup does not exist in the fixture: not writable */
	snprintf(self, sizeof(self), "%s", put(f, "self-cgroup", "0::/gone/session-1.scope\n"));

	assert_int_equal(rl_probe_delegation(&cg, self, 4242, &d, &err), 0);
	assert_int_equal(d.controllers, RL_CTRL_MEMORY | RL_CTRL_PIDS);
	assert_non_null(strstr(d.cgroup, "user@4242.service"));
	assert_non_null(strstr(d.why, "no cpu controller"));
}

static void delegation_hybrid_has_none(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	struct rl_cgroup_facts cg = {.layout = RL_CGROUP_HYBRID};
	struct rl_delegation_facts d;
	snprintf(cg.v2_mount, sizeof(cg.v2_mount), "%s", p(f, "unified"));
	put(f, "unified/cgroup.controllers", "");
	put(f, "unified/cgroup.subtree_control", "");
	char self[PATH_MAX];
	snprintf(self, sizeof(self), "%s", put(f, "self-cgroup", "4:memory:/x\n0::/\n"));

	assert_int_equal(rl_probe_delegation(&cg, self, 4242, &d, &err), 0);
	assert_int_equal(d.controllers, 0);
	assert_non_null(strstr(d.why, "bound to cgroup v1"));

	struct rl_cgroup_facts none = {.layout = RL_CGROUP_V1};
	assert_int_equal(rl_probe_delegation(&none, self, 4242, &d, &err), 0);
	assert_int_equal(d.controllers, 0);
	assert_non_null(strstr(d.why, "no cgroup2"));
}

/* ---- newuidmap / newgidmap */

static void file_caps_parse(void **state)
{
	(void)state;
	/* revision 2, effective flag; permitted CAP_SETUID (7) */
	unsigned char v2[20] = {0x01, 0x00, 0x00, 0x02, 0x80, 0x00, 0x00, 0x00};
	assert_true(rl_file_caps_grant(v2, sizeof(v2), 7));
	assert_false(rl_file_caps_grant(v2, sizeof(v2), 6));
	assert_false(rl_file_caps_grant(v2, 12, 7)); /* truncated for its revision */
	unsigned char v3[24] = {0x00, 0x00, 0x00, 0x03, 0x40, 0x00, 0x00, 0x00};
	assert_true(rl_file_caps_grant(v3, sizeof(v3), 6));
	unsigned char bad[20] = {0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff};
	assert_false(rl_file_caps_grant(bad, sizeof(bad), 7));
	assert_false(rl_file_caps_grant(v2, sizeof(v2), 40));
}

static void helper_found_in_later_dir(void **state)
{
	struct fixture *f = *state;
	char d1[PATH_MAX], d2[PATH_MAX];
	snprintf(d1, sizeof(d1), "%s", p(f, "no-such-dir"));
	snprintf(d2, sizeof(d2), "%s", p(f, "bin"));
	const char *const dirs[] = {d1, d2, NULL};
	put(f, "bin/newuidmap", "#!/bin/sh\n");
	assert_int_equal(chmod(p(f, "bin/newuidmap"), 04755), 0);

	struct rl_error err = {0};
	struct rl_helper_facts h;
	assert_int_equal(rl_probe_helper("newuidmap", dirs, 7, &h, &err), 0);
	assert_true(h.found);
	assert_true(h.executable);
	assert_string_equal(h.path, p(f, "bin/newuidmap"));
	/* setuid only counts when root owns it: true exactly when we are root */
	assert_int_equal(h.setuid_root, geteuid() == 0);
	assert_false(h.file_caps);

	assert_int_equal(rl_probe_helper("newgidmap", dirs, 6, &h, &err), 0);
	assert_false(h.found);
	assert_false(rl_helper_usable(&h));
	assert_string_equal(h.name, "newgidmap");
}

/* ---- user namespaces */

static void userns_allowed(void **state)
{
	struct fixture *f = *state;
	put(f, "user/max_user_namespaces", "15000\n");
	struct rl_error err = {0};
	struct rl_userns_facts u;
	assert_int_equal(rl_probe_userns(f->dir, &u, &err), 0);
	assert_true(u.allowed);
	assert_int_equal(u.max_user_namespaces, 15000);
	assert_int_equal(u.unprivileged_userns_clone, -1);
	assert_int_equal(u.apparmor_restrict, -1);
	assert_string_equal(u.fix, "");
}

static void userns_blocked_says_each_sysctl(void **state)
{
	struct fixture *f = *state;
	put(f, "user/max_user_namespaces", "0\n");
	put(f, "kernel/unprivileged_userns_clone", "0\n");
	put(f, "kernel/apparmor_restrict_unprivileged_userns", "1\n");
	struct rl_error err = {0};
	struct rl_userns_facts u;
	assert_int_equal(rl_probe_userns(f->dir, &u, &err), 0);
	assert_false(u.allowed);
	assert_non_null(strstr(u.why, "user.max_user_namespaces is 0"));
	assert_non_null(strstr(u.why, "kernel.unprivileged_userns_clone is 0"));
	assert_non_null(strstr(u.why, "apparmor_restrict_unprivileged_userns is 1"));
	assert_non_null(strstr(u.fix, "sudo sysctl -w user.max_user_namespaces="));
	assert_non_null(strstr(u.fix, " && sudo sysctl -w kernel.unprivileged_userns_clone=1"));
	assert_non_null(strstr(u.fix, "kernel.apparmor_restrict_unprivileged_userns=0"));
}

static void userns_only_debian_knob(void **state)
{
	struct fixture *f = *state;
	put(f, "user/max_user_namespaces", "100\n");
	put(f, "kernel/unprivileged_userns_clone", "0\n");
	struct rl_error err = {0};
	struct rl_userns_facts u;
	assert_int_equal(rl_probe_userns(f->dir, &u, &err), 0);
	assert_false(u.allowed);
	assert_string_equal(u.why, "kernel.unprivileged_userns_clone is 0");
	assert_string_equal(u.fix, "sudo sysctl -w kernel.unprivileged_userns_clone=1");
}

static void userns_kernel_without_userns(void **state)
{
	struct fixture *f = *state;
	struct rl_error err = {0};
	struct rl_userns_facts u;
	assert_int_equal(rl_probe_userns(f->dir, &u, &err), 0);
	assert_false(u.allowed);
	assert_non_null(strstr(u.why, "CONFIG_USER_NS"));
}

/* ---- subordinate ids */

static void subid_probe(void **state)
{
	struct fixture *f = *state;
	char subuid[PATH_MAX];
	snprintf(subuid, sizeof(subuid), "%s",
		 put(f, "subuid", "bob:100000:65536\nalice:165536:65536\n"));
	struct rl_user_facts alice = {.uid = 1234, .name = "alice"};
	struct rl_user_facts carol = {.uid = 1235, .name = "carol"};
	struct rl_error err = {0};
	struct rl_subid_facts s;

	assert_int_equal(rl_probe_subid(subuid, &alice, &s, &err), 0);
	assert_true(s.found);
	assert_int_equal(s.range.start, 165536);
	assert_int_equal(s.range.count, 65536);

	assert_int_equal(rl_probe_subid(subuid, &carol, &s, &err), 0);
	assert_false(s.found);
	assert_int_equal(s.err.code, 0);

	assert_int_equal(rl_probe_subid(p(f, "missing"), &alice, &s, &err), 0);
	assert_false(s.found);
}

static void subid_free_start_past_highest_end(void **state)
{
	struct fixture *f = *state;
	char a[PATH_MAX], b[PATH_MAX], missing[PATH_MAX];
	snprintf(a, sizeof(a), "%s",
		 put(f, "subuid", "bob:100000:65536\n# comment\nbroken line\nx:1:0\nalice:165536:65536\n"));
	snprintf(b, sizeof(b), "%s", put(f, "subgid", "carol:300000:10\n"));
	snprintf(missing, sizeof(missing), "%s", p(f, "missing"));
	struct rl_error err = {0};
	uint32_t start = 0;

	const char *const both[] = {a, b, missing, NULL};
	assert_int_equal(rl_subid_free_start(both, 65536, &start, &err), 0);
	assert_int_equal(start, 300010);

	const char *const only_a[] = {a, NULL};
	assert_int_equal(rl_subid_free_start(only_a, 65536, &start, &err), 0);
	assert_int_equal(start, 231072);

	const char *const none[] = {missing, NULL};
	assert_int_equal(rl_subid_free_start(none, 65536, &start, &err), 0);
	assert_int_equal(start, 100000);

	char full[PATH_MAX];
	snprintf(full, sizeof(full), "%s", put(f, "full", "z:4294900000:60000\n"));
	const char *const crowded[] = {full, NULL};
	assert_int_equal(rl_subid_free_start(crowded, 65536, &start, &err), -ERANGE);
}

/* ---- overlayfs */

static void overlay_module_and_old_kernel(void **state)
{
	struct fixture *f = *state;
	char fs[PATH_MAX], mods[PATH_MAX];
	struct rl_error err = {0};
	struct rl_overlay_facts o;
	snprintf(fs, sizeof(fs), "%s", put(f, "filesystems", "nodev\tsysfs\n\text4\n"));
	snprintf(mods, sizeof(mods), "%s", p(f, "modules"));
	mkdirs(p(f, "modules/5.10.0-28-amd64/kernel/fs/overlayfs"));

	assert_int_equal(rl_probe_overlay(fs, mods, "5.10.0-28-amd64", &o, &err), 0);
	assert_false(o.listed);
	assert_true(o.module);
	assert_false(o.userns_mount);

	assert_int_equal(rl_probe_overlay(fs, mods, "6.1.0-18-amd64", &o, &err), 0);
	assert_false(o.listed);
	assert_false(o.module);
	assert_true(o.userns_mount);
}

static void root_mount_falls_back_to_fuse_overlayfs(void **state)
{
	(void)state;
	struct rl_overlay_facts o = {.userns_mount = true, .userns_trial = 0};
	assert_int_equal(rl_root_mount(&o), RL_ROOT_OVERLAY);
	/* The kernel refuses: fuse-overlayfs when it and /dev/fuse are there. */
	o = (struct rl_overlay_facts){.userns_trial = -EPERM};
	assert_int_equal(rl_root_mount(&o), RL_ROOT_NONE);
	o.fuse_found = true;
	assert_int_equal(rl_root_mount(&o), RL_ROOT_NONE);
	o.dev_fuse.ok = true;
	assert_int_equal(rl_root_mount(&o), RL_ROOT_FUSE_OVERLAY);
	/* RLBPF_OVERLAY=fuse takes it where the kernel would do. */
	o.userns_mount = true;
	o.fuse_forced = true;
	assert_int_equal(rl_root_mount(&o), RL_ROOT_FUSE_OVERLAY);
}

/* ---- the agent socket */

static void agent_ping_states(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], why[384];
	snprintf(path, sizeof(path), "%s", p(f, "rlbpfd.sock"));

	assert_int_equal(rl_agent_ping_at(path, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "does not exist"));
	assert_non_null(strstr(why, "sudo rlbpfd"));

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(rl_agent_ping_at(path, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "listening"));

	/* An agent that died leaves its socket file behind. */
	close(fd);
	assert_int_equal(rl_agent_ping_at(path, why, sizeof(why)), -ECONNREFUSED);
	assert_non_null(strstr(why, "nothing listens"));

	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(rl_agent_ping_at(longpath, why, sizeof(why)), -ENAMETOOLONG);
}

/* ---- who enforces limits */

static void enforcer_prefers_cgroup_then_agent(void **state)
{
	(void)state;
	struct rl_host_facts *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(rl_limit_enforcer(h, RL_RES_MEMORY), RL_ENFORCE_NONE);
	h->agent.reachable = true;
	assert_int_equal(rl_limit_enforcer(h, RL_RES_MEMORY), RL_ENFORCE_AGENT);
	assert_int_equal(rl_limit_enforcer(h, RL_RES_CPU), RL_ENFORCE_NONE);
	assert_int_equal(rl_limit_enforcer(h, RL_RES_PIDS), RL_ENFORCE_AGENT);
	h->delegation.controllers = RL_CTRL_MEMORY | RL_CTRL_PIDS;
	assert_int_equal(rl_limit_enforcer(h, RL_RES_MEMORY), RL_ENFORCE_CGROUP2);
	assert_int_equal(rl_limit_enforcer(h, RL_RES_PIDS), RL_ENFORCE_CGROUP2);
	assert_int_equal(rl_limit_enforcer(h, RL_RES_CPU), RL_ENFORCE_NONE);
	assert_string_equal(rl_resource_name(RL_RES_CPU), "cpu");
	free(h);
}

/* ---- everything at once, from fixtures */

static void host_probe_on_fixture_host(void **state)
{
	struct fixture *f = *state;
	put(f, "sys/user/max_user_namespaces", "100\n");
	put(f, "sys/net/ipv4/ip_unprivileged_port_start", "80\n");
	put(f, "mountinfo", "22 27 0:20 / /sys rw - sysfs sysfs rw\n");
	put(f, "self-cgroup", "0::/\n");
	put(f, "filesystems", "nodev\toverlay\n");
	put(f, "subuid", "");
	put(f, "subgid", "");
	mkdirs(p(f, "cg"));
	mkdirs(p(f, "bin"));

	/* One buffer per path: p() reuses its scratch. */
	enum { SYS, CG, MI, SELF, FS, MODS, BTF, TUN, SUBUID, SUBGID, SOCK, BIN, N };
	static const char *const rel[N] = {"sys", "cg", "mountinfo", "self-cgroup",
					   "filesystems", "modules", "no-btf", "no-tun",
					   "subuid", "subgid", "no.sock", "bin"};
	char path[N][PATH_MAX];
	for (int i = 0; i < N; i++)
		snprintf(path[i], sizeof(path[i]), "%s", p(f, rel[i]));
	const char *const dirs[] = {path[BIN], NULL};
	const struct rl_host_paths paths = {
		.proc_sys = path[SYS],
		.cgroup_root = path[CG],
		.mountinfo = path[MI],
		.self_cgroup = path[SELF],
		.filesystems = path[FS],
		.modules_dir = path[MODS],
		.btf_vmlinux = path[BTF],
		.tun = path[TUN],
		.subuid = path[SUBUID],
		.subgid = path[SUBGID],
		.agent_socket = path[SOCK],
		.helper_dirs = dirs,
	};

	struct rl_host_facts *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	rl_host_probe(&paths, h);
	assert_true(h->kernel[0] != '\0');
	assert_int_equal(h->cgroup.layout, RL_CGROUP_NONE);
	assert_int_equal(h->delegation.controllers, 0);
	assert_false(h->btf.ok);
	assert_int_equal(h->btf.status, -ENOENT);
	assert_false(h->newuidmap.found);
	assert_true(h->userns.allowed);
	assert_false(h->subuid.found);
	assert_int_equal(h->subuid.err.code, 0);
	assert_true(h->overlay.listed);
	assert_int_equal(h->ip_unprivileged_port_start, 80);
	assert_false(h->tun.ok);
	assert_false(h->agent.reachable);
	assert_int_equal(h->agent.status, -ENOENT);
	free(h);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(sysctl_reads_dotted_name),
		T(sysctl_missing_is_enoent),
		T(sysctl_rejects_non_integers),
		T(filesystems_lists_by_name),
		T(kernel_version_compare),
		T(mountinfo_finds_cgroup2_and_unescapes),
		T(self_cgroup_picks_unified_line),
		T(controllers_mask),
		T(cgroup_classify),
		T(cgroup_probe_plain_dir),
		T(delegation_writable_own_cgroup),
		T(delegation_falls_back_to_user_service),
		T(delegation_hybrid_has_none),
		T(file_caps_parse),
		T(helper_found_in_later_dir),
		T(userns_allowed),
		T(userns_blocked_says_each_sysctl),
		T(userns_only_debian_knob),
		T(userns_kernel_without_userns),
		T(subid_probe),
		T(subid_free_start_past_highest_end),
		T(overlay_module_and_old_kernel),
		T(root_mount_falls_back_to_fuse_overlayfs),
		T(agent_ping_states),
		T(enforcer_prefers_cgroup_then_agent),
		T(host_probe_on_fixture_host),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
