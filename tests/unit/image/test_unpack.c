/* links: image/unpack lib/error */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/unpack.h"

/* Each test gets a base directory holding "root" (the rootfs being built)
 * and, apart from it in /tmp, an "outside" directory nothing may reach.
 * The tests run as root (make test) or as a user: ownership checks that
 * need root are skipped otherwise. */

static char base[64], root[96], outside[64], tarpath[96];
static struct rl_layer_ids all_ids;

static void rm_rf(const char *path)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/rlbpf-test-unpack-XXXXXX");
	snprintf(outside, sizeof(outside), "/tmp/rlbpf-test-outside-XXXXXX");
	if (!mkdtemp(base) || !mkdtemp(outside))
		return -1;
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(tarpath, sizeof(tarpath), "%s/layer.tar", base);
	umask(022);
	all_ids = (struct rl_layer_ids){.keep_owner = geteuid() == 0};
	all_ids.uids.n = all_ids.gids.n = 1;
	all_ids.uids.r[0].first = all_ids.gids.r[0].first = 0;
	all_ids.uids.r[0].count = all_ids.gids.r[0].count = UINT32_MAX;
	return mkdir(root, 0755);
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(base);
	rm_rf(outside);
	return 0;
}

static const char *at(const char *dir, const char *rel)
{
	static char buf[4][PATH_MAX];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* ---- writing test layers with libarchive */

struct ent {
	const char *path;
	unsigned type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ...; 0: hard link */
	unsigned perm;
	long long uid, gid;
	const char *data; /* file content, or the link target */
};

#define FILE_(p, d) {p, AE_IFREG, 0644, 0, 0, d}
#define DIR_(p) {p, AE_IFDIR, 0755, 0, 0, NULL}
#define LINK_(p, t) {p, AE_IFLNK, 0777, 0, 0, t}
#define HARD_(p, t) {p, 0, 0644, 0, 0, t}

static void write_tar(const char *file, const struct ent *e, size_t n)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *x = archive_entry_new();
		archive_entry_set_pathname(x, e[i].path);
		archive_entry_set_perm(x, e[i].perm);
		archive_entry_set_uid(x, e[i].uid);
		archive_entry_set_gid(x, e[i].gid);
		archive_entry_set_mtime(x, 1000000000, 0);
		size_t len = 0;
		if (e[i].type == 0) {
			archive_entry_set_filetype(x, AE_IFREG);
			archive_entry_set_hardlink(x, e[i].data);
		} else {
			archive_entry_set_filetype(x, e[i].type);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(x, e[i].data);
			else if (e[i].type == AE_IFREG && e[i].data)
				len = strlen(e[i].data);
			if (e[i].type == AE_IFCHR || e[i].type == AE_IFBLK)
				archive_entry_set_rdev(x, makedev(1, 3));
		}
		archive_entry_set_size(x, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, x), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(a, e[i].data, len), (la_ssize_t)len);
		archive_entry_free(x);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Applies a layer made of these entries; returns rl_layer_apply's result. */
static int apply_ids(const struct ent *e, size_t n, const struct rl_layer_ids *ids,
		     struct rl_error *err)
{
	write_tar(tarpath, e, n);
	int fd = open(tarpath, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	*err = (struct rl_error){0};
	int r = rl_layer_apply(root, fd, "layer 1 of 1 (sha256:0123456789ab)", ids, err);
	close(fd);
	return r;
}

#define APPLY(err, ...)                                                                            \
	({                                                                                         \
		const struct ent e_[] = {__VA_ARGS__};                                             \
		apply_ids(e_, sizeof(e_) / sizeof(e_[0]), &all_ids, (err));                        \
	})

#define APPLY_OK(...)                                                                              \
	do {                                                                                       \
		struct rl_error err_;                                                              \
		if (APPLY(&err_, __VA_ARGS__) < 0)                                                 \
			fail_msg("apply failed: %s", err_.msg);                                    \
	} while (0)

/* Refused with one line naming the entry, and nothing outside. */
#define APPLY_REFUSED(needle, ...)                                                                 \
	do {                                                                                       \
		struct rl_error err_;                                                              \
		int r_ = APPLY(&err_, __VA_ARGS__);                                                \
		if (r_ >= 0)                                                                       \
			fail_msg("a hostile layer was applied (expected '%s')", needle);           \
		if (!strstr(err_.msg, needle))                                                     \
			fail_msg("error '%s' does not say '%s'", err_.msg, needle);                \
		assert_null(strchr(err_.msg, '\n'));                                               \
		assert_true(strncmp(err_.msg, "layer 1 of 1", 12) == 0);                           \
		assert_int_equal(count_outside(), 0);                                              \
	} while (0)

/* Applies a layer as APPLY does, with what rl_layer_apply says on stderr
 * caught into said. */
static int apply_telling(const struct ent *e, size_t n, struct rl_error *err, char *said,
			 size_t len)
{
	char path[sizeof(base) + 16];
	snprintf(path, sizeof(path), "%s/stderr", base);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved = dup(2);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	int r = apply_ids(e, n, &all_ids, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t got = pread(fd, said, len - 1, 0);
	close(fd);
	said[got > 0 ? got : 0] = '\0';
	return r;
}

#define APPLY_TELLING(said, err, ...)                                                              \
	({                                                                                         \
		const struct ent e_[] = {__VA_ARGS__};                                             \
		apply_telling(e_, sizeof(e_) / sizeof(e_[0]), (err), (said), sizeof(said));         \
	})

static int count_outside(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", outside);
	return system(cmd) == 0 ? 0 : 1;
}

/* ---- pure helpers */

static void clean_paths(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
		int r;
	} cases[] = {
		{"a/b/c", "a/b/c", 0},  {"./a/b/", "a/b", 0},    {"a//b/./c", "a/b/c", 0},
		{"./", "", 0},          {".", "", 0},            {"", "", 0},
		{"../x", NULL, -EINVAL}, {"a/../b", NULL, -EINVAL}, {"a/..", NULL, -EINVAL},
		{"a/..b", "a/..b", 0},  {"...", "...", 0},
		/* Absolute names are read under the root, as Docker joins them. */
		{"/etc/x", "etc/x", 0}, {"/", "", 0},            {"//x//y/", "x/y", 0},
		{"/./", "", 0},         {"/.wh.x", ".wh.x", 0},
		/* ...and cannot climb out of it, however they are written. */
		{"/../x", NULL, -EINVAL}, {"//../x", NULL, -EINVAL}, {"/./..", NULL, -EINVAL},
		{"/..", NULL, -EINVAL},   {"/a/../../x", NULL, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[64];
		int r = rl_entry_path_clean(cases[i].in, out, sizeof(out));
		assert_int_equal(r, cases[i].r);
		if (r == 0)
			assert_string_equal(out, cases[i].out);
	}
	char tiny[4];
	assert_int_equal(rl_entry_path_clean("abcdef", tiny, sizeof(tiny)), -ENAMETOOLONG);
}

static void symlink_escape(void **state)
{
	(void)state;
	assert_false(rl_symlink_escapes("bin/sh", "busybox"));
	assert_false(rl_symlink_escapes("usr/bin/ls", "../../bin/busybox"));
	assert_true(rl_symlink_escapes("usr/bin/ls", "../../../bin/busybox"));
	assert_true(rl_symlink_escapes("x", ".."));
	assert_true(rl_symlink_escapes("a/x", "b/../../.."));
	assert_false(rl_symlink_escapes("a/x", "b/../.."));
	assert_false(rl_symlink_escapes("lib", "/usr/lib")); /* the container's own / */
	assert_false(rl_symlink_escapes("a/x", "././/y"));
}

static void idsets(void **state)
{
	(void)state;
	char path[sizeof(base) + 16];
	snprintf(path, sizeof(path), "%s/map", base);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("         0       1002          1\n         1     165536      65536\n", f);
	fclose(f);
	struct rl_idset s;
	struct rl_error err = {0};
	assert_int_equal(rl_idset_read(path, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(rl_idset_size(&s), 65537);
	assert_true(rl_idset_has(&s, 0));
	assert_true(rl_idset_has(&s, 1000));
	assert_true(rl_idset_has(&s, 65536));
	assert_false(rl_idset_has(&s, 65537));
	assert_false(rl_idset_has(&s, UINT32_MAX - 1));
	assert_int_equal(rl_idset_read("/nonexistent/map", &s, &err), -ENOENT);
}

/* ---- layers */

static void files_links_and_owners(void **state)
{
	(void)state;
	APPLY_OK(DIR_("./"), DIR_("bin"), FILE_("bin/busybox", "#!busybox"), LINK_("bin/sh", "busybox"),
		 LINK_("lib", "/usr/lib"), DIR_("home"), {"home/user", AE_IFDIR, 0750, 1000, 1000, NULL},
		 {"home/user/f", AE_IFREG, 0600, 1000, 1000, "x"}, HARD_("bin/ls", "bin/busybox"),
		 {"tmp", AE_IFDIR, 01777, 0, 0, NULL}, {"fifo", AE_IFIFO, 0600, 0, 0, NULL});
	struct stat st, st2;
	assert_int_equal(lstat(at(root, "bin/sh"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(lstat(at(root, "lib"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(at(root, "bin/ls"), &st), 0);
	assert_int_equal(stat(at(root, "bin/busybox"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_int_equal(stat(at(root, "tmp"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	assert_int_equal(stat(at(root, "home/user"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	if (geteuid() == 0) {
		assert_int_equal(st.st_uid, 1000);
		assert_int_equal(st.st_gid, 1000);
	}
	assert_int_equal(lstat(at(root, "fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	uint64_t size = 0;
	struct rl_error err = {0};
	assert_int_equal(rl_tree_size(root, &size, &err), 0);
	assert_int_equal(size, strlen("#!busybox") + 1); /* the hard link counts once */
}

static void whiteouts(void **state)
{
	(void)state;
	APPLY_OK(DIR_("a"), FILE_("a/x", "x"), FILE_("a/y", "y"), DIR_("b"), FILE_("b/z", "z"),
		 LINK_("c", "a"), FILE_(".hidden", "h"));
	APPLY_OK(DIR_("a"), FILE_("a/.wh.x", ""), FILE_(".wh.b", ""), FILE_(".wh.c", ""),
		 FILE_(".wh.nothing-there", ""), FILE_("new", "n"));
	assert_false(exists(at(root, "a/x")));
	assert_true(exists(at(root, "a/y")));
	assert_false(exists(at(root, "b")));
	assert_false(exists(at(root, "c")));
	assert_true(exists(at(root, "new")));
	assert_true(exists(at(root, ".hidden")));
	assert_false(exists(at(root, "a/.wh.x")));
	assert_false(exists(at(root, ".wh.b")));
}

static void opaque_directories(void **state)
{
	(void)state;
	APPLY_OK(DIR_("d"), FILE_("d/old", "o"), DIR_("d/sub"), FILE_("d/sub/deep", "d"),
		 DIR_("keep"), FILE_("keep/k", "k"));
	/* This layer's own entries stay, before and after the marker. */
	APPLY_OK(DIR_("d"), FILE_("d/early", "e"), FILE_("d/.wh..wh..opq", ""), DIR_("d/sub"),
		 FILE_("d/sub/new", "n"));
	assert_false(exists(at(root, "d/old")));
	assert_false(exists(at(root, "d/sub/deep")));
	assert_true(exists(at(root, "d/early")));
	assert_true(exists(at(root, "d/sub/new")));
	assert_true(exists(at(root, "keep/k")));
	assert_false(exists(at(root, "d/.wh..wh..opq")));
}

static void replacing_kinds(void **state)
{
	(void)state;
	APPLY_OK(DIR_("x"), FILE_("x/inside", "i"), FILE_("y", "file"), LINK_("z", "y"));
	APPLY_OK(FILE_("x", "now a file"), DIR_("y"), FILE_("y/in", "now a dir"), DIR_("z"));
	struct stat st;
	assert_int_equal(lstat(at(root, "x"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(at(root, "y/in"), &st), 0);
	assert_int_equal(lstat(at(root, "z"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void refuses_dotdot(void **state)
{
	(void)state;
	char rel[128];
	/* From the root, enough .. to reach /tmp/<outside>. */
	snprintf(rel, sizeof(rel), "../../../../../../..%s/escaped", outside);
	APPLY_REFUSED("'..'", FILE_(rel, "x"));
	APPLY_REFUSED("'..'", DIR_("a"), FILE_("a/../../x", "x"));
	/* An absolute name with .. is no way out either. */
	snprintf(rel, sizeof(rel), "/../../../../../../..%s/escaped", outside);
	APPLY_REFUSED("'..'", FILE_(rel, "x"));
	APPLY_REFUSED("'..'", FILE_("//../x", "x"));
	APPLY_REFUSED("'..'", DIR_("/./.."));
	APPLY_REFUSED("hard link", FILE_("ok", "x"), HARD_("h", "/../ok"));
	assert_false(exists(at(root, "ok")));
}

/* What `umoci insert ... /` and tars of a whole tree write: "/" for the
 * root, and absolute names, taken under the root as Docker takes them. */
static void absolute_names_are_read_under_the_root(void **state)
{
	(void)state;
	char abs[128];
	snprintf(abs, sizeof(abs), "%s/abs", outside);
	APPLY_OK({"/", AE_IFDIR, 0751, 0, 0, NULL}, DIR_("/bin"), FILE_("/bin/busybox", "#!busybox"),
		 FILE_("//etc//x", "x"), HARD_("bin/ls", "/bin/busybox"), FILE_(abs, "not outside"));
	struct stat st, st2;
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_true(exists(at(root, "etc/x")));
	assert_int_equal(stat(at(root, "bin/ls"), &st), 0);
	assert_int_equal(stat(at(root, "bin/busybox"), &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_true(exists(at(root, abs + 1)));
	assert_int_equal(count_outside(), 0);
	/* "./" and "." are the root too; a root that is not a directory is
	 * refused whichever way it is written. */
	APPLY_OK({"./", AE_IFDIR, 0755, 0, 0, NULL}, FILE_("./y", "y"));
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	APPLY_REFUSED("(the root) is not a directory", FILE_("/.", "x"));
	APPLY_REFUSED("(the root) is not a directory", LINK_(".", "/etc"));
	/* The root's owner is checked as any other's. */
	struct rl_layer_ids small = {.keep_owner = true};
	small.uids.n = small.gids.n = 1;
	small.uids.r[0].count = small.gids.r[0].count = 65537;
	struct rl_error err;
	const struct ent foreign_root[] = {{"/", AE_IFDIR, 0755, 70000, 0, NULL}};
	assert_int_equal(apply_ids(foreign_root, 1, &small, &err), -EOVERFLOW);
	assert_non_null(strstr(err.msg, "uid 70000"));
}

static void refuses_writing_through_symlinks(void **state)
{
	(void)state;
	/* In one layer... */
	APPLY_REFUSED("symbolic link", LINK_("evil", outside), FILE_("evil/x", "pwned"));
	assert_false(exists(at(outside, "x")));
	/* ...and across two. */
	APPLY_OK(LINK_("evil2", outside));
	APPLY_REFUSED("symbolic link", FILE_("evil2/x", "pwned"));
	APPLY_REFUSED("symbolic link", DIR_("evil2/d"));
	APPLY_REFUSED("symbolic link", FILE_("evil2/.wh.x", ""));
	/* A whiteout through a symlink must not remove anything outside. */
	int fd = open(at(outside, "victim"), O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	struct rl_error err;
	const struct ent wh[] = {FILE_("evil2/.wh.victim", "")};
	assert_true(apply_ids(wh, 1, &all_ids, &err) < 0);
	const struct ent opq[] = {FILE_("evil2/.wh..wh..opq", "")};
	assert_int_equal(apply_ids(opq, 1, &all_ids, &err), 0); /* the symlink itself goes */
	assert_true(exists(at(outside, "victim")));
	assert_false(exists(at(root, "evil2")));
	unlink(at(outside, "victim"));
	/* The symlink replaced by a file is fine: nothing is followed. */
	APPLY_OK(LINK_("evil3", outside));
	APPLY_OK(FILE_("evil3", "plain"));
	assert_int_equal(count_outside(), 0);
}

static void refuses_hard_links_out(void **state)
{
	(void)state;
	APPLY_REFUSED("hard link", HARD_("h", "../../../../etc/passwd"));
	/* Read under the root, where there is none. */
	APPLY_REFUSED("hard link", HARD_("h", "/etc/passwd"));
	APPLY_REFUSED("hard link", HARD_("h", "/"));
	APPLY_OK(LINK_("etc", "/etc"));
	APPLY_REFUSED("hard link", HARD_("h", "etc/passwd"));
	APPLY_REFUSED("hard link", HARD_("h", "missing"));
	APPLY_REFUSED("hard link", DIR_("d"), HARD_("h", "d"));
	assert_false(exists(at(root, "h")));
}

static void refuses_escaping_symlinks(void **state)
{
	(void)state;
	APPLY_REFUSED("climbs out", LINK_("a", "../x"));
	APPLY_REFUSED("climbs out", DIR_("d"), LINK_("d/a", "../../etc/shadow"));
	APPLY_REFUSED("climbs out", DIR_("/d"), LINK_("/d/a", "../../etc/shadow"));
	APPLY_REFUSED("whiteout of no name", FILE_(".wh.", ""));
}

#define CHR_(p) {p, AE_IFCHR, 0666, 0, 0, NULL}
#define BLK_(p) {p, AE_IFBLK, 0660, 0, 0, NULL}

/* As rootless Docker does: device nodes are skipped, and one line a layer
 * names them. */
static void skips_device_nodes(void **state)
{
	(void)state;
	char said[1024];
	struct rl_error err;
	APPLY_OK(DIR_("dev"), FILE_("dev/zero", "a lower file"), DIR_("dev/sdb"), FILE_("dev/sdb/x", "x"));
	int r = APPLY_TELLING(said, &err, DIR_("dev"), CHR_("dev/full"), CHR_("./dev/null"),
			      CHR_("/dev/zero"), BLK_("dev/sdb"), FILE_("thefile", "kept"),
			      {"fifo", AE_IFIFO, 0600, 0, 0, NULL});
	if (r < 0)
		fail_msg("apply failed: %s", err.msg);
	assert_string_equal(said, "rlbpf: skipped 4 device nodes that a rootless image cannot hold: "
				  "/dev/full, /dev/null, /dev/zero, /dev/sdb\n");
	assert_false(exists(at(root, "dev/full")));
	assert_false(exists(at(root, "dev/null")));
	/* What lower layers had at a node's name is gone, as in Docker. */
	assert_false(exists(at(root, "dev/zero")));
	assert_false(exists(at(root, "dev/sdb")));
	assert_true(exists(at(root, "thefile")));
	struct stat st;
	assert_int_equal(lstat(at(root, "fifo"), &st), 0);
	assert_true(S_ISFIFO(st.st_mode));

	/* One of them; many of them; none. */
	r = APPLY_TELLING(said, &err, CHR_("dev/console"));
	assert_int_equal(r, 0);
	assert_string_equal(said, "rlbpf: skipped 1 device node that a rootless image cannot hold: /dev/console\n");
	r = APPLY_TELLING(said, &err, CHR_("d1"), CHR_("d2"), CHR_("d3"), CHR_("d4"), CHR_("d5"),
			  CHR_("d6"), CHR_("d7"), CHR_("d8"), CHR_("d9"), CHR_("d\033[2Jx"));
	assert_int_equal(r, 0);
	assert_string_equal(said, "rlbpf: skipped 10 device nodes that a rootless image cannot hold: "
				  "/d1, /d2, /d3, /d4, /d5, /d6, /d7, /d8, ...\n");
	r = APPLY_TELLING(said, &err, CHR_("d\033[2Jx"));
	assert_int_equal(r, 0);
	assert_string_equal(said, "rlbpf: skipped 1 device node that a rootless image cannot hold: /d?[2Jx\n");
	r = APPLY_TELLING(said, &err, FILE_("plain", "p"));
	assert_int_equal(r, 0);
	assert_string_equal(said, "");

	/* A refused layer says nothing of its nodes, and a node's name is
	 * checked as any other. */
	r = APPLY_TELLING(said, &err, CHR_("dev/tty"), LINK_("up", "../x"));
	assert_true(r < 0);
	assert_string_equal(said, "");
	APPLY_REFUSED("'..'", CHR_("../../../../../../../tmp/null"));
	APPLY_OK(LINK_("evil", outside));
	APPLY_REFUSED("symbolic link", CHR_("evil/null"));
	assert_int_equal(count_outside(), 0);
}

static void refuses_owners_outside_the_map(void **state)
{
	(void)state;
	struct rl_layer_ids small = {.keep_owner = true};
	small.uids.n = small.gids.n = 1;
	small.uids.r[0].count = small.gids.r[0].count = 65537;
	struct rl_error err;
	const struct ent suid[] = {{"su", AE_IFREG, 04755, 70000, 0, "x"}};
	assert_true(apply_ids(suid, 1, &small, &err) < 0);
	assert_non_null(strstr(err.msg, "setuid"));
	assert_non_null(strstr(err.msg, "70000"));
	const struct ent sgid[] = {{"sg", AE_IFREG, 02755, 0, 99999, "x"}};
	assert_true(apply_ids(sgid, 1, &small, &err) < 0);
	assert_non_null(strstr(err.msg, "setgid"));
	const struct ent plain[] = {{"f", AE_IFREG, 0644, 65537, 0, "x"}};
	assert_int_equal(apply_ids(plain, 1, &small, &err), -EOVERFLOW);
	assert_non_null(strstr(err.msg, "uid 65537"));
	assert_false(exists(at(root, "su")));
	assert_false(exists(at(root, "f")));
	const struct ent inside[] = {{"ok", AE_IFREG, 04755, 65536, 65536, "x"}};
	if (geteuid() == 0)
		assert_int_equal(apply_ids(inside, 1, &small, &err), 0);
}

/* A single-id map: ownership ignored, setuid/setgid of others dropped. */
static void single_map_ignores_owners(void **state)
{
	(void)state;
	struct rl_layer_ids single = {.keep_owner = false};
	single.uids.n = single.gids.n = 1;
	single.uids.r[0].count = single.gids.r[0].count = 1;
	struct rl_error err;
	const struct ent e[] = {{"theirs", AE_IFREG, 06755, 1000, 1000, "x"},
				{"mine", AE_IFREG, 04755, 0, 0, "x"},
				{"d", AE_IFDIR, 0700, 4000000000, 4000000000, NULL}};
	assert_int_equal(apply_ids(e, 3, &single, &err), 0);
	struct stat st;
	assert_int_equal(stat(at(root, "theirs"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(at(root, "mine"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 04755);
	assert_int_equal(stat(at(root, "d"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void refuses_what_is_not_a_tar(void **state)
{
	(void)state;
	FILE *f = fopen(tarpath, "w");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc("not a tar archive\n"[i % 18], f);
	fclose(f);
	int fd = open(tarpath, O_RDONLY | O_CLOEXEC);
	struct rl_error err = {0};
	assert_true(rl_layer_apply(root, fd, "layer 2 of 3 (sha256:0123456789ab)", &all_ids, &err) < 0);
	close(fd);
	assert_non_null(strstr(err.msg, "layer 2 of 3 (sha256:0123456789ab) is not a tar archive"));
	/* An empty layer is an empty archive. */
	fd = open(tarpath, O_RDWR | O_TRUNC | O_CLOEXEC);
	assert_int_equal(rl_layer_apply(root, fd, "layer", &all_ids, &err), 0);
	close(fd);
	/* And gzip of a tar is read. */
	const struct ent e[] = {FILE_("zipped", "z")};
	write_tar(tarpath, e, 1);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "gzip -n -c '%s' > '%s.gz'", tarpath, tarpath);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.gz", tarpath);
	fd = open(cmd, O_RDONLY | O_CLOEXEC);
	assert_int_equal(rl_layer_apply(root, fd, "layer", &all_ids, &err), 0);
	close(fd);
	assert_true(exists(at(root, "zipped")));
}

/* A directory whose mode libarchive sets at the end, replaced by a symlink
 * meanwhile: the deferred chmod must not follow it out. */
static void deferred_modes_do_not_follow_symlinks(void **state)
{
	(void)state;
	chmod(outside, 0700);
	struct rl_error err;
	const struct ent e[] = {{"d", AE_IFDIR, 0777, 0, 0, NULL}, LINK_("d", outside)};
	apply_ids(e, 2, &all_ids, &err);
	struct stat st;
	assert_int_equal(stat(outside, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

static void remove_at_trees(void **state)
{
	(void)state;
	APPLY_OK(DIR_("t"), {"t/ro", AE_IFDIR, 0500, 0, 0, NULL}, FILE_("t/f", "f"),
		 LINK_("t/out", outside));
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int ofd = open(at(outside, "keep"), O_WRONLY | O_CREAT, 0644);
	close(ofd);
	assert_int_equal(rl_remove_at(fd, "t"), 0);
	assert_int_equal(rl_remove_at(fd, "t"), 0); /* already gone */
	close(fd);
	assert_false(exists(at(root, "t")));
	assert_true(exists(at(outside, "keep")));
	unlink(at(outside, "keep"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(clean_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(idsets, setup, teardown),
		cmocka_unit_test_setup_teardown(files_links_and_owners, setup, teardown),
		cmocka_unit_test_setup_teardown(whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(opaque_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(replacing_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(absolute_names_are_read_under_the_root, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_writing_through_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_hard_links_out, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_escaping_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(skips_device_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_owners_outside_the_map, setup, teardown),
		cmocka_unit_test_setup_teardown(single_map_ignores_owners, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_what_is_not_a_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(deferred_modes_do_not_follow_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(remove_at_trees, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
