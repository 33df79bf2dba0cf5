/* links: runtime/mountinfo lib/error */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/mountinfo.h"

/* ---- the flags a read-only remount keeps */

static void keeps_the_locked_flags_and_the_atime_mode(void **state)
{
	(void)state;
	assert_int_equal(rl_mount_opts_keep_flags("rw,nosuid,nodev,noexec,relatime"),
			 MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
	assert_int_equal(rl_mount_opts_keep_flags("ro,noatime"), MS_NOATIME);
	assert_int_equal(rl_mount_opts_keep_flags("rw,nodiratime,relatime"),
			 MS_NODIRATIME | MS_RELATIME);
	/* No atime mode named: strictatime, which a bare remount would lose. */
	assert_int_equal(rl_mount_opts_keep_flags("rw"), MS_STRICTATIME);
	assert_int_equal(rl_mount_opts_keep_flags("rw,nosuid"), MS_NOSUID | MS_STRICTATIME);
	/* Names that only start alike are not the flag. */
	assert_int_equal(rl_mount_opts_keep_flags("rw,nosuidx,relatime"), MS_RELATIME);
}

/* ---- mounts at and below a path */

static char dir[] = "/tmp/rlbpf-test-mountinfo-XXXXXX";
static char file[PATH_MAX];

static int make_dir(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/mountinfo", dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	unlink(file);
	return rmdir(dir);
}

static void put(const char *text)
{
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void lists_the_tree_in_order(void **state)
{
	(void)state;
	put("21 1 0:20 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "30 21 0:30 /v /c/root rw,nosuid,nodev,relatime - ext4 /dev/sda1 rw\n"
	    "31 30 0:31 / /c/root/proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
	    "32 30 0:32 / /c/rootfs rw - tmpfs tmpfs rw\n"
	    "33 30 0:33 / /c/root/my\\040dir rw,noatime - tmpfs tmpfs rw\n");
	struct rl_remount *m;
	size_t n;
	struct rl_error err = {0};
	assert_int_equal(rl_mountinfo_below(file, "/c/root", &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].path, "/c/root");
	assert_int_equal(m[0].flags, MS_NOSUID | MS_NODEV | MS_RELATIME);
	assert_string_equal(m[1].path, "/c/root/proc");
	assert_int_equal(m[1].flags, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
	/* /c/rootfs only starts like the path: not below it. */
	assert_string_equal(m[2].path, "/c/root/my dir");
	assert_int_equal(m[2].flags, MS_NOATIME);
	rl_remounts_free(m, n);
}

static void takes_the_last_of_stacked_mounts(void **state)
{
	(void)state;
	put("30 21 0:30 / /c/data rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw\n"
	    "40 30 0:40 / /c/data rw,relatime - ext4 /dev/sda1 rw\n");
	struct rl_remount *m;
	size_t n;
	struct rl_error err = {0};
	assert_int_equal(rl_mountinfo_below(file, "/c/data", &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].flags, MS_RELATIME);
	rl_remounts_free(m, n);
}

static void refuses_a_path_with_nothing_mounted(void **state)
{
	(void)state;
	put("30 21 0:30 / /c/root/sub rw - tmpfs tmpfs rw\n");
	struct rl_remount *m;
	size_t n;
	struct rl_error err = {0};
	assert_int_equal(rl_mountinfo_below(file, "/c/root", &m, &n, &err), -ENOENT);
	assert_string_equal(err.msg, "nothing is mounted at /c/root");
	assert_int_equal(n, 0);
}

/* ---- remounting real mounts, in a user namespace of the test's */

static void write_or_exit(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(10);
	close(fd);
}

static bool read_only(const char *path, unsigned long *flags)
{
	struct statvfs s;
	if (statvfs(path, &s) < 0)
		_exit(11);
	*flags = s.f_flag;
	return s.f_flag & ST_RDONLY;
}

/* A bind of /proc carries the flags the host's /proc has, locked in a user
 * namespace; a tmpfs below it has flags of its own. */
static int remount_in_userns(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 1;
	write_or_exit("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	write_or_exit("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	write_or_exit("/proc/self/gid_map", map);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 12;
	char top[PATH_MAX + 8], below[PATH_MAX + 16];
	snprintf(top, sizeof(top), "%s/top", dir);
	snprintf(below, sizeof(below), "%s/top/tmp", dir);
	if (mkdir(top, 0755) < 0 || mount(top, top, NULL, MS_BIND, NULL) < 0 ||
	    mkdir(below, 0755) < 0 ||
	    mount("tmpfs", below, "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NOATIME, "size=64k") < 0)
		return 13;
	char proc[PATH_MAX + 16];
	snprintf(proc, sizeof(proc), "%s/top/tmp/proc", dir);
	if (mkdir(proc, 0755) < 0 || mount("/proc", proc, NULL, MS_BIND, NULL) < 0)
		return 14;
	struct rl_error err = {0};
	if (rl_remount_tree_readonly(top, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 15;
	}
	unsigned long flags;
	if (!read_only(top, &flags))
		return 16;
	if (!read_only(below, &flags) || !(flags & ST_NOSUID) || !(flags & ST_NOEXEC) ||
	    !(flags & ST_NOATIME))
		return 17;
	unsigned long host;
	read_only("/proc", &host);
	if (!read_only(proc, &flags) || flags != (host | ST_RDONLY))
		return 18;
	return 0;
}

static void remounts_a_tree_read_only_keeping_flags(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(remount_in_userns());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/top/tmp/proc", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/top/tmp", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/top", dir);
	rmdir(path);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 1)
		skip(); /* no user namespaces for this user here */
	/* 15: the remount failed; 16-18: which mount is not as expected. */
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_the_locked_flags_and_the_atime_mode),
		cmocka_unit_test(lists_the_tree_in_order),
		cmocka_unit_test(takes_the_last_of_stacked_mounts),
		cmocka_unit_test(refuses_a_path_with_nothing_mounted),
		cmocka_unit_test(remounts_a_tree_read_only_keeping_flags),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
