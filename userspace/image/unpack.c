#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"

/* ---- the ids of this namespace */

int rl_idset_read(const char *path, struct rl_idset *set, struct rl_error *err)
{
	*set = (struct rl_idset){0};
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot read %s", path);
	unsigned long long inside, outside, count;
	while (fscanf(f, "%llu %llu %llu", &inside, &outside, &count) == 3) {
		if (set->n == sizeof(set->r) / sizeof(set->r[0]))
			break;
		if (inside > UINT32_MAX || count == 0 || inside + count > (1ULL << 32))
			continue;
		set->r[set->n].first = (uint32_t)inside;
		set->r[set->n].count = (uint32_t)(count > UINT32_MAX ? UINT32_MAX : count);
		set->n++;
	}
	return 0;
}

bool rl_idset_has(const struct rl_idset *set, uint32_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (id >= set->r[i].first && (uint64_t)id - set->r[i].first < set->r[i].count)
			return true;
	return false;
}

uint64_t rl_idset_size(const struct rl_idset *set)
{
	uint64_t n = 0;
	for (size_t i = 0; i < set->n; i++)
		n += set->r[i].count;
	return n;
}

int rl_layer_ids_here(struct rl_layer_ids *ids, struct rl_error *err)
{
	*ids = (struct rl_layer_ids){0};
	int r = rl_idset_read("/proc/self/uid_map", &ids->uids, err);
	if (r == 0)
		r = rl_idset_read("/proc/self/gid_map", &ids->gids, err);
	if (r < 0)
		return r;
	ids->keep_owner = rl_idset_size(&ids->uids) > 1 && rl_idset_size(&ids->gids) > 1;
	return 0;
}

/* ---- paths */

/* Names are read under the root, as Docker joins them to its destination:
 * leading slashes go with the other empty components, so "/etc/x" is
 * "etc/x" and "/" is the root. A ".." is refused wherever it stands, even
 * where Docker's cleaning would keep it inside ("a/../b", "/../x"): no
 * image tool writes one, and a name that needs no resolving is checked by
 * reading it, before anything is written. */
int rl_entry_path_clean(const char *path, char *out, size_t len)
{
	if (len == 0)
		return -ENAMETOOLONG;
	size_t o = 0;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (!(n == 1 && p[0] == '.')) {
			if (o + (o ? 1 : 0) + n + 1 > len)
				return -ENAMETOOLONG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return 0;
}

bool rl_symlink_escapes(const char *path, const char *target)
{
	if (target[0] == '/')
		return false;
	/* Depth of the directory holding the link. */
	long depth = 0;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			depth++;
	for (const char *p = target; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0)
				return true;
			depth--;
		} else if (!(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
	}
	return false;
}

/* Opens path (clean, "" for the root) inside rootfd without following any
 * symlink on the way and without leaving it. */
static int open_beneath(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Splits a clean path into its parent (into buf) and its last component. */
static const char *split_parent(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		buf[0] = '\0';
		return path;
	}
	snprintf(buf, len, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

/* ---- removal inside the rootfs, by fd, never following a symlink */

static int remove_children(int fd)
{
	for (;;) {
		int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup_fd < 0)
			return -errno;
		DIR *d = fdopendir(dup_fd);
		if (!d) {
			int e = errno;
			close(dup_fd);
			return -e;
		}
		rewinddir(d);
		int removed = 0, r = 0;
		for (struct dirent *de; r == 0 && (de = readdir(d));) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			r = rl_remove_at(fd, de->d_name);
			removed++;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (removed == 0)
			return 0;
	}
}

int rl_remove_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		int r = remove_children(fd);
		if (r < 0)
			return r;
		return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
	}
	return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* ---- one layer */

/* How many skipped device nodes the notice names before ", ...", and how
 * much of each name. */
#define DEVICES_NAMED 8
#define DEVICE_NAME_SHOWN 60

struct layer {
	int rootfd;
	const char *what;
	const struct rl_layer_ids *ids;
	struct rl_error *err;
	/* The device nodes skipped, and the first of them as "/a, /b". */
	size_t devices;
	char devices_named[DEVICES_NAMED * (DEVICE_NAME_SHOWN + sizeof(", /"))];
};

static int refuse(struct layer *l, const char *path, const char *why)
{
	return rl_fail(l->err, EPERM, "%s: '%s' %s; refusing a hostile archive", l->what, path, why);
}

static bool is_whiteout(const char *base) { return strncmp(base, ".wh.", 4) == 0; }

/* AUFS bookkeeping (.wh..wh.plnk/...) is not content. */
static bool in_aufs_meta(const char *clean)
{
	for (const char *p = clean; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		if (strncmp(p, ".wh..wh.", 8) == 0 && strcmp(p, ".wh..wh..opq") != 0)
			return true;
	return false;
}

static int clean_or_refuse(struct layer *l, const char *raw, char *out, size_t len)
{
	if (!raw)
		return rl_fail(l->err, EINVAL, "%s: an entry has no readable name; refusing the archive",
			       l->what);
	int r = rl_entry_path_clean(raw, out, len);
	if (r == -EINVAL)
		return refuse(l, raw, "has a '..' component that leads out of the root filesystem");
	if (r < 0)
		return refuse(l, raw, "is too long a path");
	return 0;
}

/* Removes what lower layers put at parent/name (opaque: in parent). */
static int apply_whiteout(struct layer *l, const char *clean, const char *parent, const char *name,
			  bool opaque)
{
	char grand[PATH_MAX];
	const char *dir_name = NULL;
	const char *at = parent;
	if (opaque && parent[0]) {
		/* The directory itself: open its parent, look at it there. */
		dir_name = split_parent(parent, grand, sizeof(grand));
		at = grand;
	}
	_cleanup_close_ int pfd = open_beneath(l->rootfd, at, O_PATH | O_DIRECTORY);
	if (pfd == -ENOENT || pfd == -ENOTDIR)
		return 0; /* nothing below to hide */
	if (pfd == -ELOOP || pfd == -EXDEV)
		return refuse(l, clean, "would reach through a symbolic link");
	if (pfd < 0)
		return rl_fail_errno(l->err, -pfd, "%s: cannot open the directory of '%s'", l->what,
				     clean);
	int r;
	if (!opaque) {
		r = rl_remove_at(pfd, name);
	} else if (!dir_name) {
		_cleanup_close_ int root = open_beneath(l->rootfd, "", O_RDONLY | O_DIRECTORY);
		r = root < 0 ? root : remove_children(root);
	} else {
		struct stat st;
		if (fstatat(pfd, dir_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return errno == ENOENT ? 0
					       : rl_fail_errno(l->err, errno, "%s: cannot look at '%s'",
							       l->what, parent);
		if (!S_ISDIR(st.st_mode)) {
			/* A lower file or symlink that this layer's directory replaces. */
			r = rl_remove_at(pfd, dir_name);
		} else {
			_cleanup_close_ int dfd =
				openat(pfd, dir_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = dfd < 0 ? -errno : remove_children(dfd);
		}
	}
	if (r < 0)
		return rl_fail_errno(l->err, -r, "%s: cannot apply the whiteout '%s'", l->what, clean);
	return 0;
}

static bool is_device(struct archive_entry *e)
{
	return !archive_entry_hardlink(e) &&
	       (archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK);
}

/* Names come from the archive: control bytes must not reach a terminal. */
static void note_device(struct layer *l, const char *clean)
{
	if (l->devices++ >= DEVICES_NAMED)
		return;
	size_t o = strlen(l->devices_named);
	snprintf(l->devices_named + o, sizeof(l->devices_named) - o, "%s/%.*s", o ? ", " : "",
		 DEVICE_NAME_SHOWN, clean);
	for (size_t i = o; l->devices_named[i]; i++)
		if (l->devices_named[i] < 0x20 || l->devices_named[i] > 0x7e)
			l->devices_named[i] = '?';
}

/* One line for a layer that had any: the image loads without them, and
 * whoever built it may want to know what it lost. */
static void tell_skipped_devices(const struct layer *l)
{
	if (l->devices == 0)
		return;
	fprintf(stderr, "rlbpf: skipped %zu device node%s that a rootless image cannot hold: %s%s\n",
		l->devices, l->devices == 1 ? "" : "s", l->devices_named,
		l->devices > DEVICES_NAMED ? ", ..." : "");
}

static int check_owner(struct layer *l, const char *clean, struct archive_entry *e)
{
	if (!l->ids->keep_owner)
		return 0;
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	mode_t mode = archive_entry_mode(e);
	char why[256];
	if (uid < 0 || uid >= UINT32_MAX || !rl_idset_has(&l->ids->uids, (uint32_t)uid)) {
		snprintf(why, sizeof(why),
			 "%sis owned by uid %" PRId64 ", outside the %" PRIu64
			 " uids mapped for you (0 and your /etc/subuid range)",
			 (mode & S_ISUID) ? "is setuid and " : "", (int64_t)uid,
			 rl_idset_size(&l->ids->uids));
		return (mode & S_ISUID) ? refuse(l, clean, why)
					: rl_fail(l->err, EOVERFLOW, "%s: '%s' %s; ask for a larger range",
						  l->what, clean, why);
	}
	if (gid < 0 || gid >= UINT32_MAX || !rl_idset_has(&l->ids->gids, (uint32_t)gid)) {
		snprintf(why, sizeof(why),
			 "%sis owned by gid %" PRId64 ", outside the %" PRIu64
			 " gids mapped for you (0 and your /etc/subgid range)",
			 (mode & S_ISGID) ? "is setgid and " : "", (int64_t)gid,
			 rl_idset_size(&l->ids->gids));
		return (mode & S_ISGID) ? refuse(l, clean, why)
					: rl_fail(l->err, EOVERFLOW, "%s: '%s' %s; ask for a larger range",
						  l->what, clean, why);
	}
	return 0;
}

/* Pass 1: every entry is checked before anything is written, and the
 * whiteouts are applied (they concern lower layers only). */
static int scan_entry(struct layer *l, struct archive_entry *e)
{
	char clean[PATH_MAX], parent[PATH_MAX];
	int r = clean_or_refuse(l, archive_entry_pathname(e), clean, sizeof(clean));
	if (r < 0 || in_aufs_meta(clean))
		return r;
	const char *base = split_parent(clean, parent, sizeof(parent));
	if (is_whiteout(base)) {
		if (strcmp(base, ".wh..wh..opq") == 0)
			return apply_whiteout(l, clean, parent, NULL, true);
		const char *name = base + 4;
		if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return refuse(l, clean, "is a whiteout of no name");
		return apply_whiteout(l, clean, parent, name, false);
	}
	if (archive_entry_hardlink(e)) {
		char target[PATH_MAX];
		r = rl_entry_path_clean(archive_entry_hardlink(e), target, sizeof(target));
		if (r < 0 || !target[0])
			return refuse(l, clean, "is a hard link that leads out of the root filesystem");
		return check_owner(l, clean, e);
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
	case AE_IFDIR:
	case AE_IFIFO:
		break;
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);
		if (!target)
			return refuse(l, clean, "is a symbolic link with no target");
		if (rl_symlink_escapes(clean, target)) {
			char why[PATH_MAX + 64];
			snprintf(why, sizeof(why), "is a symbolic link to '%s', which climbs out of the root filesystem",
				 target);
			return refuse(l, clean, why);
		}
		break;
	}
	case AE_IFCHR:
	case AE_IFBLK:
		/* Skipped, as rootless Docker skips them: a user namespace
		 * cannot make one, and the container's /dev is made at run
		 * time. */
		note_device(l, clean);
		return 0;
	default:
		return refuse(l, clean, "is neither a file, a directory, a link nor a FIFO");
	}
	if (!clean[0] && archive_entry_filetype(e) != AE_IFDIR)
		return refuse(l, ".", "(the root) is not a directory");
	return check_owner(l, clean, e);
}

/* Keeps file capabilities and plain user attributes; never overlayfs' own
 * (user.overlay.*, trusted.*), which would change how the container's
 * overlay reads the image. */
static void filter_xattrs(struct archive_entry *e)
{
	struct kept {
		char *name;
		void *value;
		size_t size;
	} kept[32];
	size_t n = 0;
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		bool ok = strcmp(name, "security.capability") == 0 ||
			  (strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0);
		if (!ok || n == sizeof(kept) / sizeof(kept[0]))
			continue;
		kept[n].name = strdup(name);
		kept[n].value = malloc(size ? size : 1);
		if (!kept[n].name || !kept[n].value) {
			free(kept[n].name);
			free(kept[n].value);
			continue;
		}
		memcpy(kept[n].value, value, size);
		kept[n].size = size;
		n++;
	}
	archive_entry_xattr_clear(e);
	for (size_t i = 0; i < n; i++) {
		archive_entry_xattr_add_entry(e, kept[i].name, kept[i].value, kept[i].size);
		free(kept[i].name);
		free(kept[i].value);
	}
}

/* Pass 2: makes room for the entry (never through a symlink) and writes it. */
static int prepare_entry(struct layer *l, struct archive_entry *e, char *clean, size_t len,
			 bool *skip)
{
	*skip = false;
	int r = clean_or_refuse(l, archive_entry_pathname(e), clean, len);
	if (r < 0)
		return r;
	char parent[PATH_MAX];
	const char *base = split_parent(clean, parent, sizeof(parent));
	if (in_aufs_meta(clean) || is_whiteout(base)) {
		*skip = true;
		return 0;
	}
	bool is_dir = !archive_entry_hardlink(e) && archive_entry_filetype(e) == AE_IFDIR;
	if (clean[0]) {
		_cleanup_close_ int pfd = open_beneath(l->rootfd, parent, O_PATH | O_DIRECTORY);
		if (pfd == -ELOOP || pfd == -EXDEV)
			return refuse(l, clean, "would be written through a symbolic link");
		if (pfd == -ENOTDIR)
			return refuse(l, clean, "is below something that is not a directory");
		if (pfd < 0 && pfd != -ENOENT)
			return rl_fail_errno(l->err, -pfd, "%s: cannot open the directory of '%s'",
					     l->what, clean);
		struct stat st;
		if (pfd >= 0 && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !(is_dir && S_ISDIR(st.st_mode)) && (r = rl_remove_at(pfd, base)) < 0)
			return rl_fail_errno(l->err, -r, "%s: cannot replace '%s'", l->what, clean);
	}
	/* Only now: like Docker's, a skipped node still hides what lower
	 * layers had at its name. */
	if (is_device(e)) {
		*skip = true;
		return 0;
	}
	if (archive_entry_hardlink(e)) {
		char target[PATH_MAX];
		rl_entry_path_clean(archive_entry_hardlink(e), target, sizeof(target));
		_cleanup_close_ int tfd = open_beneath(l->rootfd, target, O_PATH | O_NOFOLLOW);
		struct stat st;
		if (tfd < 0 || fstat(tfd, &st) < 0 || S_ISDIR(st.st_mode)) {
			char why[PATH_MAX + 80];
			snprintf(why, sizeof(why),
				 "is a hard link to '%s', which is not a file inside the root filesystem",
				 target);
			return refuse(l, clean, why);
		}
		archive_entry_set_hardlink(e, target);
	}
	/* "/", "./" and "." are the root: its mode, owner and times go to the
	 * rootfs directory, as Docker's layer application gives them to its
	 * destination. */
	archive_entry_set_pathname(e, clean[0] ? clean : ".");
	if (!l->ids->keep_owner) {
		mode_t mode = archive_entry_perm(e);
		if (archive_entry_uid(e) != 0)
			mode &= ~(mode_t)S_ISUID;
		if (archive_entry_gid(e) != 0)
			mode &= ~(mode_t)S_ISGID;
		archive_entry_set_perm(e, mode);
		/* Ours (0 in the namespace), so that libarchive keeps the bits. */
		archive_entry_set_uid(e, geteuid());
		archive_entry_set_gid(e, getegid());
	}
	filter_xattrs(e);
	return 0;
}

/* A reader of the layer from its start: tar only (or an empty file), with
 * built-in decompressors only, never an external program. */
static struct archive *layer_reader(struct layer *l, int fd)
{
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rl_fail_errno(l->err, errno, "%s: cannot read it", l->what);
		return NULL;
	}
	struct archive *in = archive_read_new();
	if (!in) {
		rl_fail(l->err, ENOMEM, "out of memory");
		return NULL;
	}
	archive_read_support_format_tar(in);
	archive_read_support_format_empty(in);
	archive_read_support_filter_gzip(in);
	archive_read_support_filter_zstd(in);
	archive_read_support_filter_xz(in);
	archive_read_support_filter_bzip2(in);
	/* A failure here shows again, with its reason, at the first header. */
	archive_read_open_fd(in, fd, 64 * 1024);
	return in;
}

static int read_failed(struct layer *l, struct archive *in)
{
	const char *why = archive_error_string(in);
	if (why && strstr(why, "Unrecognized archive format"))
		return rl_fail(l->err, EINVAL, "%s is not a tar archive; refusing the image", l->what);
	return rl_fail(l->err, EIO, "%s is not a readable tar archive: %s; refusing the image",
		       l->what, why ? why : "unknown error");
}

/* The scan that also sums: the blob's bytes are hashed as they are read,
 * an outer reader (format "raw") decompresses them, and the tar reader
 * takes its stream from there, hashed too. So one pass gives the blob's
 * digest, its diff ID and the whiteouts. */
struct summing {
	int fd;
	EVP_MD_CTX *raw, *plain;
	uint64_t raw_size;
	struct archive *outer;
	unsigned char buf[64 * 1024];
	bool outer_done;
};

static la_ssize_t read_raw(struct archive *a, void *ctx, const void **out)
{
	(void)a;
	struct summing *sm = ctx;
	ssize_t n;
	while ((n = read(sm->fd, sm->buf, sizeof(sm->buf))) < 0 && errno == EINTR)
		;
	if (n > 0) {
		EVP_DigestUpdate(sm->raw, sm->buf, (size_t)n);
		sm->raw_size += (uint64_t)n;
	}
	*out = sm->buf;
	return n;
}

static la_ssize_t read_plain(struct archive *a, void *ctx, const void **out)
{
	(void)a;
	struct summing *sm = ctx;
	const void *block;
	size_t len;
	la_int64_t off;
	if (sm->outer_done)
		return 0;
	int ar = archive_read_data_block(sm->outer, &block, &len, &off);
	if (ar == ARCHIVE_EOF) {
		sm->outer_done = true;
		return 0;
	}
	if (ar < ARCHIVE_WARN) {
		archive_set_error(a, EIO, "%s", archive_error_string(sm->outer));
		return -1;
	}
	EVP_DigestUpdate(sm->plain, block, len);
	*out = block;
	return (la_ssize_t)len;
}

static void hex_of(EVP_MD_CTX *md, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(md, d, &n);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int scan_layer(struct layer *l, int fd, struct rl_layer_sums *sums)
{
	struct summing sm = {.fd = fd};
	if (sums)
		memset(sums, 0, sizeof(*sums));
	struct archive *in = NULL;
	if (!sums) {
		in = layer_reader(l, fd);
	} else if (lseek(fd, 0, SEEK_SET) < 0) {
		return rl_fail_errno(l->err, errno, "%s: cannot read it", l->what);
	} else {
		sm.raw = EVP_MD_CTX_new();
		sm.plain = EVP_MD_CTX_new();
		sm.outer = archive_read_new();
		in = archive_read_new();
		if (!sm.raw || !sm.plain || !sm.outer || !in || !EVP_DigestInit_ex(sm.raw, EVP_sha256(), NULL) ||
		    !EVP_DigestInit_ex(sm.plain, EVP_sha256(), NULL)) {
			rl_fail(l->err, ENOMEM, "out of memory");
			archive_read_free(in);
			in = NULL;
		} else {
			archive_read_support_format_raw(sm.outer);
			archive_read_support_filter_gzip(sm.outer);
			archive_read_support_filter_zstd(sm.outer);
			archive_read_support_filter_xz(sm.outer);
			archive_read_support_filter_bzip2(sm.outer);
			struct archive_entry *raw;
			/* an empty blob is an empty layer: no raw entry comes */
			if (archive_read_open(sm.outer, &sm, NULL, read_raw, NULL) != ARCHIVE_OK ||
			    archive_read_next_header(sm.outer, &raw) != ARCHIVE_OK)
				sm.outer_done = true;
			archive_read_support_format_tar(in);
			archive_read_support_format_empty(in);
			archive_read_open(in, &sm, NULL, read_plain, NULL);
		}
	}
	int r = in ? 0 : -l->err->code, ar = ARCHIVE_EOF;
	struct archive_entry *e;
	while (in && ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN))
		if ((r = scan_entry(l, e)) < 0)
			break;
	if (in && r == 0 && ar != ARCHIVE_EOF)
		r = read_failed(l, in);
	if (sums && sm.raw) {
		/* what follows the tar's end (padding) counts in both sums; a
		 * layer that is not a readable tar still gets its digest, which
		 * tells a tampered blob from a broken one */
		const void *out;
		while (r == 0 && read_plain(in, &sm, &out) > 0)
			;
		while (read_raw(NULL, &sm, &out) > 0)
			;
		hex_of(sm.raw, sums->raw);
		hex_of(sm.plain, sums->plain);
		sums->raw_size = sm.raw_size;
	}
	archive_read_free(in);
	archive_read_free(sm.outer);
	EVP_MD_CTX_free(sm.raw);
	EVP_MD_CTX_free(sm.plain);
	return r;
}

static int extract_layer(struct layer *l, int fd)
{
	struct archive *in = layer_reader(l, fd);
	if (!in)
		return -l->err->code;
	struct archive *out = archive_write_disk_new();
	int r = 0, ar = ARCHIVE_OK;
	if (!out) {
		r = rl_fail(l->err, ENOMEM, "out of memory");
		goto done;
	}
	/* Numeric ids only (no name lookups), no file flags (chattr +i), no
	 * ACLs; ownership only when the ids exist here. */
	archive_write_disk_set_options(
		out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
			     ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
			     ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
			     (l->ids->keep_owner ? ARCHIVE_EXTRACT_OWNER : 0));
	struct archive_entry *e;
	while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		char clean[PATH_MAX];
		bool skip;
		if ((r = prepare_entry(l, e, clean, sizeof(clean), &skip)) < 0)
			goto done;
		if (skip)
			continue;
		if (archive_write_header(out, e) < ARCHIVE_WARN) {
			r = rl_fail(l->err, EIO, "%s: cannot unpack '%s': %s", l->what, clean,
				    archive_error_string(out));
			goto done;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		int wr = ARCHIVE_OK;
		while ((ar = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
			wr = (int)archive_write_data_block(out, buf, len, off);
			if (wr < ARCHIVE_WARN)
				break;
		}
		if (ar != ARCHIVE_EOF) {
			r = read_failed(l, in);
			goto done;
		}
		if (wr < ARCHIVE_WARN || archive_write_finish_entry(out) < ARCHIVE_WARN) {
			r = rl_fail(l->err, EIO, "%s: cannot unpack '%s': %s", l->what, clean,
				    archive_error_string(out));
			goto done;
		}
	}
	if (ar != ARCHIVE_EOF)
		r = read_failed(l, in);
done:
	if (out) {
		/* Sets the modes and times of directories, deferred until now. */
		if (archive_write_close(out) < ARCHIVE_WARN && r == 0)
			r = rl_fail(l->err, EIO, "%s: cannot finish unpacking: %s", l->what,
				    archive_error_string(out));
		archive_write_free(out);
	}
	archive_read_free(in);
	return r;
}

int rl_layer_apply(const char *rootfs, int fd, const char *what, const struct rl_layer_ids *ids,
		   struct rl_error *err)
{
	return rl_layer_apply_summed(rootfs, fd, what, ids, NULL, err);
}

int rl_layer_apply_summed(const char *rootfs, int fd, const char *what, const struct rl_layer_ids *ids,
			  struct rl_layer_sums *sums, struct rl_error *err)
{
	/* libarchive's secure modes work on relative paths: the extraction
	 * runs with the rootfs as the working directory. */
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(rootfs) < 0)
		return rl_fail_errno(err, errno, "cannot enter %s to unpack the image", rootfs);
	struct layer l = {.rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC),
			  .what = what,
			  .ids = ids,
			  .err = err};
	int r = l.rootfd < 0 ? rl_fail_errno(err, errno, "cannot open %s", rootfs) : 0;
	mode_t old_umask = umask(022);
	if (r == 0)
		r = scan_layer(&l, fd, sums);
	if (r == 0)
		r = extract_layer(&l, fd);
	if (r == 0)
		tell_skipped_devices(&l);
	umask(old_umask);
	if (l.rootfd >= 0)
		close(l.rootfd);
	if (fchdir(cwd) < 0 && r == 0)
		r = rl_fail_errno(err, errno, "cannot return to the working directory");
	return r;
}

/* ---- size */

struct inode {
	dev_t dev;
	ino_t ino;
	off_t size;
};

struct size_walk {
	uint64_t total;
	struct inode *linked; /* files with more than one link, counted at the end */
	size_t n, cap;
};

static int cmp_inode(const void *a, const void *b)
{
	const struct inode *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : (x->ino > y->ino);
}

static int size_at(int dirfd, struct size_walk *w, int depth)
{
	if (depth > 4096)
		return -ELOOP;
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int r = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d));) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : size_at(sub, w, depth + 1);
			if (sub >= 0)
				close(sub);
		} else if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			if (w->n == w->cap) {
				size_t cap = w->cap ? 2 * w->cap : 64;
				struct inode *grown = realloc(w->linked, cap * sizeof(*grown));
				if (!grown) {
					r = -ENOMEM;
					break;
				}
				w->linked = grown;
				w->cap = cap;
			}
			w->linked[w->n++] = (struct inode){st.st_dev, st.st_ino, st.st_size};
		} else if (S_ISREG(st.st_mode)) {
			w->total += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return r;
}

int rl_tree_size(const char *dir, uint64_t *size, struct rl_error *err)
{
	struct size_walk w = {0};
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 ? -errno : size_at(fd, &w, 0);
	if (r == 0 && w.n) {
		qsort(w.linked, w.n, sizeof(*w.linked), cmp_inode);
		for (size_t i = 0; i < w.n; i++)
			if (i == 0 || cmp_inode(&w.linked[i - 1], &w.linked[i]) != 0)
				w.total += (uint64_t)w.linked[i].size;
	}
	free(w.linked);
	if (r < 0)
		return rl_fail_errno(err, -r, "cannot measure %s", dir);
	*size = w.total;
	return 0;
}
