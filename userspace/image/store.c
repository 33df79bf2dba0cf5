#include "image/store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/idmap.h"
#include "lib/paths.h"
#include "lib/spawn.h"
#include "runtime/userns_exec.h"

#define INDEX "repositories.json"
#define LOCK ".lock"

int rl_store_open(struct rl_store *s, struct rl_error *err)
{
	char data[PATH_MAX];
	int r = rl_data_dir(data, sizeof(data), err);
	if (r < 0)
		return r;
	if (snprintf(s->dir, sizeof(s->dir), "%s/images", data) >= (int)sizeof(s->dir))
		return rl_fail(err, ENAMETOOLONG, "image store path too long");
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create the image store %s", s->dir);
	return 0;
}

/* ---- the index */

static int path_in(const struct rl_store *s, const char *name, char *buf, size_t len,
		   struct rl_error *err)
{
	if (snprintf(buf, len, "%s/%s", s->dir, name) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "path too long in the image store %s", s->dir);
	return 0;
}

static json_t *index_read(const struct rl_store *s, struct rl_error *err)
{
	char path[PATH_MAX + 32];
	if (path_in(s, INDEX, path, sizeof(path), err) < 0)
		return NULL;
	json_error_t jerr;
	json_t *idx = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!idx) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return json_object();
		rl_fail(err, EINVAL, "%s is corrupt (line %d: %s); remove it to start again (the images stay, untagged)",
			path, jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(idx)) {
		json_decref(idx);
		rl_fail(err, EINVAL, "%s is not a JSON object; remove it to start again (the images stay, untagged)",
			path);
		return NULL;
	}
	return idx;
}

/* Replaces the index whole: readers see the old one or the new one. */
static int index_write(const struct rl_store *s, json_t *idx, struct rl_error *err)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 64];
	int r = path_in(s, INDEX, path, sizeof(path), err);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d", s->dir, INDEX, (int)getpid());
	_cleanup_free_ char *text = json_dumps(idx, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t len = strlen(text);
	text[len] = '\0';
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot write %s", tmp);
	ssize_t n = write(fd, text, len);
	if (n != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		int e = n < 0 ? errno : EIO;
		unlink(tmp);
		return rl_fail_errno(err, e, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return rl_fail_errno(err, e, "cannot replace %s", path);
	}
	return 0;
}

int rl_store_lock(const struct rl_store *s, const char *name, struct rl_error *err)
{
	char path[PATH_MAX + 32];
	int r = path_in(s, name, path, sizeof(path), err);
	if (r < 0)
		return r;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot open the lock %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return rl_fail_errno(err, e, "cannot lock %s", path);
		}
	return fd;
}

/* ---- lookups */

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is_image_dir_name(const char *name) { return strlen(name) == 64 && is_hex(name, 64); }

int rl_store_image_dir(const struct rl_store *s, const char *id, char *buf, size_t len,
		       struct rl_error *err)
{
	if (strncmp(id, "sha256:", 7) != 0 || !is_image_dir_name(id + 7))
		return rl_fail(err, EINVAL, "malformed image ID '%.80s'", id);
	return path_in(s, id + 7, buf, len, err);
}

/* The image whose hex starts with prefix. */
static int lookup_prefix(const struct rl_store *s, const char *ref, const char *prefix,
			 char id[72], struct rl_error *err)
{
	size_t n = strlen(prefix);
	DIR *d = opendir(s->dir);
	if (!d)
		return rl_fail_errno(err, errno, "cannot read the image store %s", s->dir);
	int found = 0;
	char first[65] = "", second[65] = "";
	for (struct dirent *de; (de = readdir(d));) {
		if (!is_image_dir_name(de->d_name) || strncmp(de->d_name, prefix, n) != 0)
			continue;
		if (found++ == 0)
			snprintf(first, sizeof(first), "%.64s", de->d_name);
		else if (found == 2)
			snprintf(second, sizeof(second), "%.64s", de->d_name);
	}
	closedir(d);
	if (found == 0)
		return rl_fail(err, ENOENT,
			       "no such image: '%.200s'; 'rlbpf images' lists them, 'rlbpf load -i FILE.tar' adds one",
			       ref);
	if (found > 1)
		return rl_fail(err, EINVAL,
			       "the image ID prefix '%.80s' is ambiguous: %d images match (%.12s, %.12s%s); give more digits",
			       prefix, found, first, second, found > 2 ? ", ..." : "");
	snprintf(id, 72, "sha256:%s", first);
	return 0;
}

int rl_store_lookup(const struct rl_store *s, const char *ref, char id[72], char *name_tag,
		    size_t len, struct rl_error *err)
{
	if (name_tag && len)
		name_tag[0] = '\0';
	if (strncmp(ref, "sha256:", 7) == 0) {
		const char *hex = ref + 7;
		if (!hex[0] || strlen(hex) > 64 || !is_hex(hex, strlen(hex)))
			return rl_fail(err, EINVAL, "malformed image ID '%.80s'", ref);
		return lookup_prefix(s, ref, hex, id, err);
	}
	size_t n = strlen(ref);
	bool hex = n >= 1 && n <= 64 && is_hex(ref, n);
	/* A damaged index still lets images be found by ID. */
	struct rl_error idx_err = {0};
	_cleanup_json_ json_t *idx = index_read(s, &idx_err);
	if (!idx) {
		if (hex)
			return lookup_prefix(s, ref, ref, id, err);
		if (err)
			*err = idx_err;
		return -idx_err.code;
	}
	char norm[512];
	struct rl_error ref_err = {0};
	int nr = rl_ref_normalize(ref, norm, sizeof(norm), &ref_err);
	if (nr == 0) {
		const char *hit = json_string_value(json_object_get(idx, norm));
		if (hit && strncmp(hit, "sha256:", 7) == 0 && is_image_dir_name(hit + 7)) {
			snprintf(id, 72, "%s", hit);
			if (name_tag && snprintf(name_tag, len, "%s", norm) >= (int)len)
				return rl_fail(err, ENAMETOOLONG, "image name too long");
			return 0;
		}
	}
	if (hex) {
		int r = lookup_prefix(s, ref, ref, id, err);
		if (r != -ENOENT)
			return r;
	}
	if (nr < 0) {
		if (err)
			*err = ref_err;
		return nr;
	}
	return rl_fail(err, ENOENT,
		       "no such image: '%.200s'; 'rlbpf images' lists them, 'rlbpf load -i FILE.tar' adds one",
		       norm);
}

/* ---- listing */

/* RFC 3339, as image configs carry it: 2024-01-02T03:04:05.123456789Z or
 * with an offset. 0 when absent or unreadable. */
static time_t parse_created(const char *s)
{
	if (!s)
		return 0;
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	time_t t = timegm(&tm);
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		int h = 0, m = 0;
		if (sscanf(p + 1, "%2d:%2d", &h, &m) >= 1)
			t += (*p == '+' ? -1 : 1) * (time_t)(h * 3600 + m * 60);
	}
	return t;
}

static int cmp_image(const void *a, const void *b)
{
	const struct rl_store_image *x = a, *y = b;
	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void read_image_meta(const struct rl_store *s, struct rl_store_image *img)
{
	char path[PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s/config.json", s->dir, img->id + 7);
	_cleanup_json_ json_t *config = json_load_file(path, 0, NULL);
	img->created = parse_created(json_string_value(json_object_get(config, "created")));
	snprintf(path, sizeof(path), "%s/%s/image.json", s->dir, img->id + 7);
	_cleanup_json_ json_t *meta = json_load_file(path, 0, NULL);
	json_t *size = json_object_get(meta, "Size");
	img->size = json_is_integer(size) ? (uint64_t)json_integer_value(size) : 0;
}

void rl_store_list_free(struct rl_store_image *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].n_tags; k++)
			free(v[i].tags[k]);
		free(v[i].tags);
	}
	free(v);
}

int rl_store_list(const struct rl_store *s, struct rl_store_image **out, size_t *n,
		  struct rl_error *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_json_ json_t *idx = index_read(s, err);
	if (!idx)
		return -EINVAL;
	DIR *d = opendir(s->dir);
	if (!d)
		return rl_fail_errno(err, errno, "cannot read the image store %s", s->dir);
	struct rl_store_image *v = NULL;
	size_t count = 0;
	int r = 0;
	for (struct dirent *de; r == 0 && (de = readdir(d));) {
		if (!is_image_dir_name(de->d_name))
			continue;
		struct rl_store_image *grown = realloc(v, (count + 1) * sizeof(*v));
		if (!grown) {
			r = rl_fail(err, ENOMEM, "out of memory");
			break;
		}
		v = grown;
		struct rl_store_image *img = &v[count++];
		*img = (struct rl_store_image){0};
		snprintf(img->id, sizeof(img->id), "sha256:%.64s", de->d_name);
		read_image_meta(s, img);
		const char *key;
		json_t *val;
		json_object_foreach(idx, key, val) {
			if (!json_is_string(val) || strcmp(json_string_value(val), img->id) != 0)
				continue;
			char **tags = realloc(img->tags, (img->n_tags + 1) * sizeof(char *));
			char *copy = strdup(key);
			if (tags)
				img->tags = tags;
			if (!tags || !copy) {
				free(copy);
				r = rl_fail(err, ENOMEM, "out of memory");
				break;
			}
			img->tags[img->n_tags++] = copy;
		}
		if (img->n_tags)
			qsort(img->tags, img->n_tags, sizeof(char *), cmp_str);
	}
	closedir(d);
	if (r < 0) {
		rl_store_list_free(v, count);
		return r;
	}
	if (count)
		qsort(v, count, sizeof(*v), cmp_image);
	*out = v;
	*n = count;
	return 0;
}

static int rename_aside(const struct rl_store *s, const char *path, const char *tag, char *aside,
			size_t len, struct rl_error *err)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned rnd = 0;
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!read(fd, &rnd, sizeof(rnd));
			close(fd);
		}
		rnd ^= (unsigned)getpid() * 2654435761u + (unsigned)tries;
		if (snprintf(aside, len, "%s/.rm-%.12s-%08x", s->dir, tag, rnd) >= (int)len)
			return rl_fail(err, ENAMETOOLONG, "path too long in the image store");
		if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return rl_fail_errno(err, errno, "cannot move %s aside to remove it", path);
	}
	return rl_fail(err, EEXIST, "cannot move %s aside to remove it", path);
}

/* Removes the leftovers of loads and removals whose process died: their
 * directories are no longer flocked. Called with the store locked. */
static void sweep(const struct rl_store *s)
{
	DIR *d = opendir(s->dir);
	if (!d)
		return;
	char stale[8][NAME_MAX + 1];
	size_t n = 0;
	for (struct dirent *de; n < 8 && (de = readdir(d));) {
		if (strncmp(de->d_name, ".tmp-", 5) != 0 && strncmp(de->d_name, ".rm-", 4) != 0)
			continue;
		int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			snprintf(stale[n++], sizeof(stale[0]), "%s", de->d_name);
		close(fd);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + NAME_MAX + 2];
		snprintf(path, sizeof(path), "%s/%.255s", s->dir, stale[i]);
		struct rl_error ignored = {0};
		rl_userns_remove_tree(path, &ignored);
	}
}

/* ---- containers that use an image */

/* The first container whose record names this image's rootfs (or id). */
static bool used_by_container(const char *id, char *container, size_t len)
{
	char runtime[PATH_MAX], dir[PATH_MAX + 16], suffix[96];
	struct rl_error ignored = {0};
	if (rl_runtime_dir(runtime, sizeof(runtime), &ignored) < 0)
		return false;
	snprintf(dir, sizeof(dir), "%s/containers", runtime);
	snprintf(suffix, sizeof(suffix), "/%s/rootfs", id + 7);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool used = false;
	for (struct dirent *de; !used && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char path[PATH_MAX + NAME_MAX + 32];
		snprintf(path, sizeof(path), "%s/%s/config.json", dir, de->d_name);
		_cleanup_json_ json_t *rec = json_load_file(path, 0, NULL);
		const char *rootfs = json_string_value(json_object_get(rec, "Rootfs"));
		const char *image_id = json_string_value(json_object_get(rec, "ImageID"));
		size_t rl = rootfs ? strlen(rootfs) : 0, sl = strlen(suffix);
		if ((rootfs && rl >= sl && strcmp(rootfs + rl - sl, suffix) == 0) ||
		    (image_id && strcmp(image_id, id) == 0)) {
			used = true;
			snprintf(container, len, "%.12s", de->d_name);
		}
	}
	closedir(d);
	return used;
}

/* ---- load */

static int copy_stdin(const char *path, struct rl_error *err)
{
	if (isatty(0))
		return rl_fail(err, EINVAL,
			       "no archive given and stdin is a terminal; use -i FILE.tar or redirect stdin");
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot create %s", path);
	char buf[64 * 1024];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rl_fail_errno(err, errno, "cannot read the archive from stdin");
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return rl_fail_errno(err, errno, "cannot write %s", path);
			off += w;
		}
		total += (uint64_t)n;
	}
	if (total == 0)
		return rl_fail(err, EINVAL, "stdin is empty: no archive to load");
	return 0;
}

void rl_loaded_free(struct rl_loaded *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].n_tags; k++) {
			free(v[i].tags[k]);
			free(v[i].retagged_from[k]);
		}
		free(v[i].tags);
		free(v[i].retagged_from);
	}
	free(v);
}

/* Moves the unpacked images into the store and tags them; store locked. */
static int commit_load(const struct rl_store *s, const char *tmp, json_t *images,
		       struct rl_loaded *v, struct rl_error *err)
{
	_cleanup_json_ json_t *idx = index_read(s, err);
	if (!idx)
		return -EINVAL;
	size_t i;
	json_t *img;
	json_array_foreach(images, i, img) {
		const char *dir = json_string_value(json_object_get(img, "dir"));
		const char *id = json_string_value(json_object_get(img, "id"));
		json_t *tags = json_object_get(img, "tags");
		char from[PATH_MAX + 32], to[PATH_MAX + 80];
		if (!dir || strchr(dir, '/') || dir[0] == '.' || !id ||
		    rl_store_image_dir(s, id, to, sizeof(to), err) < 0)
			return rl_fail(err, EINVAL, "the image loader's result in %s is malformed", tmp);
		if (snprintf(from, sizeof(from), "%s/%s", tmp, dir) >= (int)sizeof(from))
			return rl_fail(err, ENAMETOOLONG, "path too long in %s", tmp);
		snprintf(v[i].id, sizeof(v[i].id), "%s", id);
		/* The same image is there already: ours is dropped with tmp. */
		if (access(to, F_OK) < 0 && rename(from, to) < 0)
			return rl_fail_errno(err, errno, "cannot move the image into %s", to);
		size_t n = json_array_size(tags);
		v[i].tags = calloc(n + 1, sizeof(char *));
		v[i].retagged_from = calloc(n + 1, sizeof(char *));
		if (!v[i].tags || !v[i].retagged_from)
			return rl_fail(err, ENOMEM, "out of memory");
		size_t k;
		json_t *t;
		json_array_foreach(tags, k, t) {
			char norm[512];
			struct rl_error tag_err = {0};
			if (!json_is_string(t) ||
			    rl_ref_normalize(json_string_value(t), norm, sizeof(norm), &tag_err) < 0) {
				fprintf(stderr, "rlbpf load: ignoring the archive's tag: %s\n",
					tag_err.msg[0] ? tag_err.msg : "not a string");
				continue;
			}
			const char *old = json_string_value(json_object_get(idx, norm));
			size_t m = v[i].n_tags++;
			v[i].tags[m] = strdup(norm);
			if (old && strcmp(old, id) != 0)
				v[i].retagged_from[m] = strdup(old);
			if (!v[i].tags[m] || json_object_set_new(idx, norm, json_string(id)) < 0)
				return rl_fail(err, ENOMEM, "out of memory");
		}
	}
	return index_write(s, idx, err);
}

int rl_store_load(const struct rl_store *s, const char *input, struct rl_loaded **out,
		  size_t *n, struct rl_error *err)
{
	return rl_store_load_fetched(s, input, 0, out, n, err);
}

int rl_store_load_fetched(const struct rl_store *s, const char *input, pid_t fetcher,
			  struct rl_loaded **out, size_t *n, struct rl_error *err)
{
	*out = NULL;
	*n = 0;
	char helper[PATH_MAX], abs_input[PATH_MAX], tmp[PATH_MAX + 32], spool[PATH_MAX + 48];
	int r = rl_libexec_path("rlbpf-unpack", helper, sizeof(helper), err);
	if (r < 0)
		return r;
	if (input && !realpath(input, abs_input))
		return rl_fail_errno(err, errno, "cannot read %s", input);

	/* The temporary directory is made and flocked under the store's lock,
	 * so that no sweep can take it for a dead load's. */
	_cleanup_close_ int tmp_fd = -1;
	{
		_cleanup_close_ int lock = rl_store_lock(s, LOCK, err);
		if (lock < 0)
			return lock;
		sweep(s);
		if ((r = path_in(s, ".tmp-XXXXXX", tmp, sizeof(tmp), err)) < 0)
			return r;
		if (!mkdtemp(tmp))
			return rl_fail_errno(err, errno, "cannot create a directory in %s", s->dir);
		tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tmp_fd < 0 || flock(tmp_fd, LOCK_EX) < 0) {
			r = rl_fail_errno(err, errno, "cannot lock %s", tmp);
			rmdir(tmp);
			return r;
		}
	}
	if (!input) {
		snprintf(spool, sizeof(spool), "%s/input", tmp);
		r = copy_stdin(spool, err);
	}
	if (r == 0) {
		char pid[24];
		snprintf(pid, sizeof(pid), "%d", (int)fetcher);
		char *const plain[] = {helper, "load", input ? abs_input : spool, tmp, NULL};
		char *const fetched[] = {helper, "load", "--fetcher", pid, abs_input, tmp, NULL};
		r = rl_userns_exec(fetcher > 0 && input ? fetched : plain, err);
	}
	json_t *result = NULL;
	struct rl_loaded *v = NULL;
	size_t count = 0;
	if (r == 0) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/result.json", tmp);
		result = json_load_file(path, 0, NULL);
		json_t *images = json_object_get(result, "images");
		count = json_array_size(images);
		if (!json_is_array(images) || count == 0)
			r = rl_fail(err, EINVAL, "the image loader left no result in %s", tmp);
		else if (!(v = calloc(count, sizeof(*v))))
			r = rl_fail(err, ENOMEM, "out of memory");
		if (r == 0) {
			int lock = rl_store_lock(s, LOCK, err);
			r = lock < 0 ? lock : commit_load(s, tmp, images, v, err);
			if (lock >= 0)
				close(lock);
		}
	}
	json_decref(result);
	struct rl_error rm_err = {0};
	if (rl_userns_remove_tree(tmp, &rm_err) < 0 && r == 0)
		fprintf(stderr, "rlbpf: cannot remove %s: %s\n", tmp, rm_err.msg);
	if (r < 0) {
		rl_loaded_free(v, count);
		return r;
	}
	*out = v;
	*n = count;
	return 0;
}

/* ---- tag and rmi */

int rl_store_tag(const struct rl_store *s, const char *source, const char *target,
		 struct rl_error *err)
{
	char norm[512], id[72];
	int r = rl_ref_normalize(target, norm, sizeof(norm), err);
	if (r < 0)
		return r;
	_cleanup_close_ int lock = rl_store_lock(s, LOCK, err);
	if (lock < 0)
		return lock;
	if ((r = rl_store_lookup(s, source, id, NULL, 0, err)) < 0)
		return r;
	_cleanup_json_ json_t *idx = index_read(s, err);
	if (!idx)
		return -EINVAL;
	if (json_object_set_new(idx, norm, json_string(id)) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	return index_write(s, idx, err);
}

/* Every tag of id, removed from idx and printed. */
static int untag_all(json_t *idx, const char *id, FILE *out)
{
	const char *key;
	json_t *val;
	void *tmp;
	int n = 0;
	json_object_foreach_safe(idx, tmp, key, val) {
		if (json_is_string(val) && strcmp(json_string_value(val), id) == 0) {
			if (out)
				fprintf(out, "Untagged: %s\n", key);
			json_object_del(idx, key);
			n++;
		}
	}
	return n;
}

static size_t count_tags(json_t *idx, const char *id)
{
	const char *key;
	json_t *val;
	size_t n = 0;
	json_object_foreach(idx, key, val)
		if (json_is_string(val) && strcmp(json_string_value(val), id) == 0)
			n++;
	return n;
}

int rl_store_remove(const struct rl_store *s, const char *ref, bool force, FILE *out,
		    struct rl_error *err)
{
	char id[72], name_tag[512], dir[PATH_MAX + 80], aside[PATH_MAX + 64], user[16];
	_cleanup_close_ int aside_fd = -1;
	{
		_cleanup_close_ int lock = rl_store_lock(s, LOCK, err);
		if (lock < 0)
			return lock;
		sweep(s);
		int r = rl_store_lookup(s, ref, id, name_tag, sizeof(name_tag), err);
		if (r < 0)
			return r;
		_cleanup_json_ json_t *idx = index_read(s, err);
		if (!idx)
			return -EINVAL;
		size_t tags = count_tags(idx, id);
		bool used = used_by_container(id, user, sizeof(user));
		if (name_tag[0] && tags > 1) {
			json_object_del(idx, name_tag);
			if (out)
				fprintf(out, "Untagged: %s\n", name_tag);
			return index_write(s, idx, err);
		}
		if (!name_tag[0] && tags > 1 && !force)
			return rl_fail(err, EBUSY,
				       "conflict: unable to delete %.12s (must be forced) - image is referenced in multiple repositories; untag them or use -f",
				       id + 7);
		if (used) {
			if (!force)
				return rl_fail(err, EBUSY,
					       "conflict: unable to %s %.200s (must be forced) - container %s is using its referenced image %.12s; remove the container first",
					       name_tag[0] ? "remove repository reference" : "delete",
					       name_tag[0] ? name_tag : ref, user, id + 7);
			/* -f untags it; its files stay for the container. */
			untag_all(idx, id, out);
			return index_write(s, idx, err);
		}
		untag_all(idx, id, out);
		if ((r = index_write(s, idx, err)) < 0 ||
		    (r = rl_store_image_dir(s, id, dir, sizeof(dir), err)) < 0)
			return r;
		aside_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (aside_fd < 0 || flock(aside_fd, LOCK_EX) < 0)
			return rl_fail_errno(err, errno, "cannot open %s", dir);
		if ((r = rename_aside(s, dir, id + 7, aside, sizeof(aside), err)) < 0)
			return r;
	}
	/* Out of the lock: the store no longer names it. */
	if (out)
		fprintf(out, "Deleted: %s\n", id);
	return rl_userns_remove_tree(aside, err);
}
