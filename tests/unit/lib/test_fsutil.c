/* links: lib/fsutil lib/error */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"

/* Each test gets a fresh base directory holding a "root" tree, and, apart
 * from it in /tmp, an "outside" directory that nothing may reach. */

static char base[64], root[96], outside[64];
static int rootfd = -1;

static void rm_rf(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/rlbpf-test-fsutil-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/rlbpf-test-outside-XXXXXX");
	if (!mkdtemp(base) || !mkdtemp(outside))
		return -1;
	snprintf(root, sizeof(root), "%s/root", base);
	if (mkdir(root, 0755) < 0)
		return -1;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	umask(022);
	return rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (rootfd >= 0)
		close(rootfd);
	rootfd = -1;
	rm_rf(base);
	rm_rf(outside);
	return 0;
}

static const char *at(const char *dir, const char *rel)
{
	static char bufs[4][256];
	static int next;
	char *b = bufs[next++ % 4];
	snprintf(b, 256, "%s/%s", dir, rel);
	return b;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Entries in a directory, "." and ".." aside. */
static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The fd names the same inode as path. */
static void assert_same_file(int fd, const char *path)
{
	struct stat a, b;
	assert_int_equal(fstat(fd, &a), 0);
	if (stat(path, &b) < 0)
		fail_msg("%s does not exist", path);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
}

/* ---- rl_create_in_root */

static void create_nested_dirs_and_file(void **state)
{
	(void)state;
	struct rl_error err = {0};
	int fd = rl_create_in_root(rootfd, "/a/b/c", false, &err);
	if (fd < 0)
		fail_msg("create /a/b/c: %s", err.msg);
	struct stat st;
	assert_int_equal(stat(at(root, "a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0755);
	assert_same_file(fd, at(root, "a/b/c"));
	assert_true(fcntl(fd, F_GETFL) & O_PATH);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = rl_create_in_root(rootfd, "/a/b/c/d/file", true, &err);
	if (fd < 0)
		fail_msg("create /a/b/c/d/file: %s", err.msg);
	assert_int_equal(stat(at(root, "a/b/c/d/file"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 0);
	assert_true(S_ISDIR((stat(at(root, "a/b/c/d"), &st), st.st_mode)));
	assert_same_file(fd, at(root, "a/b/c/d/file"));
	close(fd);
}

static void create_existing_returns_it(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(mkdir(at(root, "etc"), 0700), 0);
	write_text(at(root, "etc/hosts"), "keep me\n");
	int fd = rl_create_in_root(rootfd, "/etc/hosts", true, &err);
	assert_true(fd >= 0);
	assert_same_file(fd, at(root, "etc/hosts"));
	close(fd);
	char buf[32];
	assert_int_equal(rl_read_file(at(root, "etc/hosts"), buf, sizeof(buf), &err), 8);
	assert_string_equal(buf, "keep me\n"); /* not truncated */
	struct stat st;
	assert_int_equal(stat(at(root, "etc"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700); /* not re-created */

	fd = rl_create_in_root(rootfd, "/etc", false, &err);
	assert_true(fd >= 0);
	assert_same_file(fd, at(root, "etc"));
	close(fd);
}

static void create_root_and_trailing_slashes(void **state)
{
	(void)state;
	struct rl_error err = {0};
	int fd = rl_create_in_root(rootfd, "/", false, &err);
	assert_true(fd >= 0);
	assert_same_file(fd, root);
	close(fd);
	fd = rl_create_in_root(rootfd, "/x//y///", false, &err);
	assert_true(fd >= 0);
	assert_same_file(fd, at(root, "x/y"));
	close(fd);
	assert_int_equal(count_entries(root), 1);
}

static void create_rejects_relative_path(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(rl_create_in_root(rootfd, "a/b", false, &err), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.msg, "a/b"));
	assert_int_equal(rl_create_in_root(rootfd, "", false, &err), -EINVAL);
	assert_int_equal(count_entries(root), 0);
}

static void create_through_a_file_fails(void **state)
{
	(void)state;
	struct rl_error err = {0};
	write_text(at(root, "f"), "");
	int fd = rl_create_in_root(rootfd, "/f/x", false, &err);
	assert_int_equal(fd, -ENOTDIR);
	assert_int_equal(err.code, ENOTDIR);
	assert_true(err.msg[0] != '\0');
}

/* root/evil -> OUTSIDE (absolute): the link is read as if root were "/", so
 * nothing may appear in the real OUTSIDE. */
static void absolute_symlink_stays_inside(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(symlink(outside, at(root, "evil")), 0);
	int fd = rl_create_in_root(rootfd, "/evil/x", false, &err);
	if (fd >= 0)
		close(fd);
	assert_int_equal(count_entries(outside), 0);
	fd = rl_create_in_root(rootfd, "/evil/y/z", true, &err);
	if (fd >= 0)
		close(fd);
	assert_int_equal(count_entries(outside), 0);

	/* Once root has its own copy of that path, the link leads there. */
	char mirror[256];
	snprintf(mirror, sizeof(mirror), "mkdir -p '%s%s'", root, outside);
	assert_int_equal(system(mirror), 0);
	fd = rl_create_in_root(rootfd, "/evil/x/file", true, &err);
	if (fd < 0)
		fail_msg("create through an in-root link: %s", err.msg);
	snprintf(mirror, sizeof(mirror), "%s%s/x/file", root, outside);
	assert_same_file(fd, mirror);
	close(fd);
	assert_int_equal(count_entries(outside), 0);
}

/* The last component a dangling absolute link: no file appears at its
 * target outside, whether a file or a directory is asked for. */
static void absolute_symlink_leaf_stays_inside(void **state)
{
	(void)state;
	struct rl_error err = {0};
	char target[160];
	snprintf(target, sizeof(target), "%s/planted", outside);
	assert_int_equal(symlink(target, at(root, "leaf")), 0);
	int fd = rl_create_in_root(rootfd, "/leaf", true, &err);
	if (fd >= 0)
		close(fd);
	fd = rl_create_in_root(rootfd, "/leaf", false, &err);
	if (fd >= 0)
		close(fd);
	assert_int_equal(count_entries(outside), 0);
	/* And the link is still a link, not replaced by what was asked for. */
	struct stat st;
	assert_int_equal(lstat(at(root, "leaf"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* root/up -> ../../../.. : ".." stops at the root, so /up/x is root/x. */
static void dotdot_symlink_stays_inside(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_int_equal(symlink("../../../../../..", at(root, "up")), 0);
	int fd = rl_create_in_root(rootfd, "/up/x", false, &err);
	if (fd < 0)
		fail_msg("create /up/x: %s", err.msg);
	assert_same_file(fd, at(root, "x"));
	close(fd);
	fd = rl_create_in_root(rootfd, "/../../y/../z", false, &err);
	if (fd < 0)
		fail_msg("create /../../y/../z: %s", err.msg);
	assert_same_file(fd, at(root, "z"));
	close(fd);
	/* The base holds only the root: nothing was made beside it. */
	assert_int_equal(count_entries(base), 1);
	/* A relative link that climbs out through a directory. */
	assert_int_equal(mkdir(at(root, "d"), 0755), 0);
	char rel[256];
	snprintf(rel, sizeof(rel), "../../..%s", outside);
	assert_int_equal(symlink(rel, at(root, "d/out")), 0);
	fd = rl_create_in_root(rootfd, "/d/out/w", false, &err);
	if (fd >= 0)
		close(fd);
	assert_int_equal(count_entries(outside), 0);
}

/* ---- rl_open_in_root */

static void open_in_root_resolves_inside(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at(root, "etc"), 0755), 0);
	write_text(at(root, "etc/passwd"), "root:x:0:0::/:/bin/sh\n");
	assert_int_equal(symlink("/etc/passwd", at(root, "pw")), 0);
	assert_int_equal(symlink("/proc/self/root/etc/passwd", at(root, "magic")), 0);
	int fd = rl_open_in_root(rootfd, "/pw", O_RDONLY);
	assert_true(fd >= 0);
	assert_same_file(fd, at(root, "etc/passwd"));
	close(fd);
	fd = rl_open_in_root(rootfd, "../../etc/passwd", O_RDONLY);
	assert_true(fd >= 0);
	assert_same_file(fd, at(root, "etc/passwd"));
	close(fd);
	/* No magic links: /proc/self/root would lead to the host's root. */
	fd = rl_open_in_root(rootfd, "/magic", O_RDONLY);
	if (fd >= 0)
		close(fd);
	assert_true(fd < 0);
	assert_int_equal(rl_open_in_root(rootfd, "/nope", O_RDONLY), -ENOENT);
}

/* ---- rl_remove_tree */

static void make_tree(const char *top)
{
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(at(top, "a"), 0755), 0);
	assert_int_equal(mkdir(at(top, "a/b"), 0700), 0);
	write_text(at(top, "a/b/file"), "x");
	write_text(at(top, "top"), "y");
	assert_int_equal(symlink("a/b/file", at(top, "rel-link")), 0);
	assert_int_equal(symlink("/nonexistent", at(top, "a/dangling")), 0);
	assert_int_equal(mkfifo(at(top, "a/fifo"), 0600), 0);
}

static void remove_tree_removes_everything(void **state)
{
	(void)state;
	char t[128];
	snprintf(t, sizeof(t), "%s/tree", base);
	make_tree(t);
	assert_int_equal(rl_remove_tree(t), 0);
	assert_false(exists(t));
	/* A path that is not there is already removed. */
	assert_int_equal(rl_remove_tree(t), 0);
	/* A single file. */
	write_text(t, "z");
	assert_int_equal(rl_remove_tree(t), 0);
	assert_false(exists(t));
}

static void remove_tree_does_not_follow_symlinks(void **state)
{
	(void)state;
	char t[128];
	snprintf(t, sizeof(t), "%s/tree", base);
	make_tree(t);
	write_text(at(outside, "precious"), "keep");
	assert_int_equal(mkdir(at(outside, "sub"), 0755), 0);
	write_text(at(outside, "sub/also"), "keep");
	assert_int_equal(symlink(outside, at(t, "out")), 0);
	assert_int_equal(symlink(at(outside, "precious"), at(t, "a/b/to-file")), 0);
	char rel[256];
	snprintf(rel, sizeof(rel), "../../..%s/sub", outside);
	assert_int_equal(symlink(rel, at(t, "a/b/rel-out")), 0);
	assert_int_equal(rl_remove_tree(t), 0);
	assert_false(exists(t));
	assert_true(exists(at(outside, "precious")));
	assert_true(exists(at(outside, "sub/also")));
	assert_int_equal(count_entries(outside), 2);

	/* The path itself a link to a directory: the link goes, not the target. */
	char link[128];
	snprintf(link, sizeof(link), "%s/link", base);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(rl_remove_tree(link), 0);
	assert_false(exists(link));
	assert_true(exists(at(outside, "precious")));
}

/* Runs fn(arg) in a child that, when we are root, has become "nobody" (so
 * that permission bits count as they do for the users rlbpf runs as), and
 * returns its result. The tree must then belong to nobody. */
static int as_unprivileged(int (*fn)(const char *), const char *arg)
{
	if (geteuid() == 0) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 '%s'", arg);
		assert_int_equal(system(cmd), 0);
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
				       setresuid(65534, 65534, 65534) < 0))
			_exit(100);
		_exit(-fn(arg) & 0x7f);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return -WEXITSTATUS(status);
}

/* The base is root's 0700; the unprivileged tree goes straight in /tmp. */
static char *unpriv_tree(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/rlbpf-test-fsutil-tree-XXXXXX");
	assert_non_null(mkdtemp(buf));
	return buf;
}

/* overlayfs leaves work/work at mode 000. */
static void remove_tree_with_mode_000_dir(void **state)
{
	(void)state;
	char t[64];
	unpriv_tree(t, sizeof(t));
	assert_int_equal(mkdir(at(t, "work"), 0755), 0);
	assert_int_equal(mkdir(at(t, "work/work"), 0755), 0);
	assert_int_equal(mkdir(at(t, "work/work/inner"), 0755), 0);
	write_text(at(t, "work/work/inner/f"), "x");
	write_text(at(t, "work/work/g"), "x");
	assert_int_equal(chmod(at(t, "work/work/inner"), 0), 0);
	assert_int_equal(chmod(at(t, "work/work"), 0), 0);
	int r = as_unprivileged(rl_remove_tree, t);
	if (r != 0 || exists(t)) {
		rm_rf(t);
		fail_msg("rl_remove_tree gave %d", r);
	}
}

/* A directory the owner made read-only (chmod 555) with files in it. */
static void remove_tree_with_read_only_dir(void **state)
{
	(void)state;
	char t[64];
	unpriv_tree(t, sizeof(t));
	assert_int_equal(mkdir(at(t, "ro"), 0755), 0);
	write_text(at(t, "ro/f"), "x");
	assert_int_equal(chmod(at(t, "ro"), 0555), 0);
	int r = as_unprivileged(rl_remove_tree, t);
	bool left = exists(t);
	rm_rf(t);
	if (r != 0 || left)
		fail_msg("rl_remove_tree on a tree with a 0555 directory gave %d (%s)", r,
			 strerror(-r));
}

/* ---- rl_write_file, rl_read_file */

static void write_then_read(void **state)
{
	(void)state;
	struct rl_error err = {0};
	const char *p = at(base, "f");
	assert_int_equal(rl_write_file(p, "hello world", 11, 0640, &err), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(st.st_size, 11);
	char buf[64];
	assert_int_equal(rl_read_file(p, buf, sizeof(buf), &err), 11);
	assert_string_equal(buf, "hello world");
	/* Rewriting truncates. */
	assert_int_equal(rl_write_file(p, "hi", 2, 0600, &err), 0);
	assert_int_equal(rl_read_file(p, buf, sizeof(buf), &err), 2);
	assert_string_equal(buf, "hi");
	/* Empty data makes an empty file. */
	assert_int_equal(rl_write_file(p, "", 0, 0600, &err), 0);
	assert_int_equal(rl_read_file(p, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "");
}

static void write_binary_data(void **state)
{
	(void)state;
	struct rl_error err = {0};
	const char *p = at(base, "bin");
	static char big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	assert_int_equal(rl_write_file(p, big, sizeof(big), 0600, &err), 0);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, sizeof(big));
	char *back = malloc(sizeof(big) + 1);
	assert_non_null(back);
	int n = rl_read_file(p, back, sizeof(big) + 1, &err);
	bool same = n == (int)sizeof(big) && memcmp(back, big, sizeof(big)) == 0 &&
		    back[sizeof(big)] == '\0';
	free(back);
	assert_true(same);
}

static void read_truncates_and_terminates(void **state)
{
	(void)state;
	struct rl_error err = {0};
	const char *p = at(base, "six");
	write_text(p, "abcdef");
	char buf[8];
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(rl_read_file(p, buf, 4, &err), 3);
	assert_string_equal(buf, "abc");
	for (size_t i = 4; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'Z'); /* nothing past len */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(rl_read_file(p, buf, 1, &err), 0);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');
	/* Exactly fitting: len-1 bytes and the NUL. */
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(rl_read_file(p, buf, 7, &err), 6);
	assert_string_equal(buf, "abcdef");
	assert_int_equal(buf[7], 'Z');
}

/* A file the kernel generates reads in several calls. */
static void read_proc_file(void **state)
{
	(void)state;
	struct rl_error err = {0};
	char buf[4096];
	int n = rl_read_file("/proc/self/status", buf, sizeof(buf), &err);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_non_null(strstr(buf, "Name:"));
}

static void read_and_write_errors(void **state)
{
	(void)state;
	struct rl_error err = {0};
	char buf[16];
	const char *missing = at(base, "missing");
	assert_int_equal(rl_read_file(missing, buf, sizeof(buf), &err), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, missing));
	/* Without an error to fill, the code still comes back. */
	assert_int_equal(rl_read_file(missing, buf, sizeof(buf), NULL), -ENOENT);
	err = (struct rl_error){0};
	const char *nodir = at(base, "no/such/file");
	assert_int_equal(rl_write_file(nodir, "x", 1, 0600, &err), -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, nodir));
	assert_int_equal(rl_read_file(base, buf, sizeof(buf), &err), -EISDIR);
}

static void cloexec_from_marks_the_rest(void **state)
{
	(void)state;
	int low = open("/dev/null", O_RDONLY), high = open("/dev/null", O_RDONLY);
	assert_true(low >= 0 && high > low);
	rl_cloexec_from((unsigned)high);
	assert_false(fcntl(low, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(high, F_GETFD) & FD_CLOEXEC);
	close(low);
	close(high);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_nested_dirs_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(create_existing_returns_it, setup, teardown),
		cmocka_unit_test_setup_teardown(create_root_and_trailing_slashes, setup, teardown),
		cmocka_unit_test_setup_teardown(create_rejects_relative_path, setup, teardown),
		cmocka_unit_test_setup_teardown(create_through_a_file_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(absolute_symlink_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(absolute_symlink_leaf_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(dotdot_symlink_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(open_in_root_resolves_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_tree_removes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_tree_does_not_follow_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_tree_with_mode_000_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_tree_with_read_only_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(write_then_read, setup, teardown),
		cmocka_unit_test_setup_teardown(write_binary_data, setup, teardown),
		cmocka_unit_test_setup_teardown(read_truncates_and_terminates, setup, teardown),
		cmocka_unit_test_setup_teardown(read_proc_file, setup, teardown),
		cmocka_unit_test_setup_teardown(read_and_write_errors, setup, teardown),
		cmocka_unit_test(cloexec_from_marks_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
