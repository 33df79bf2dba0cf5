#include "image/image.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "image/store.h"
#include "lib/paths.h"

#define BUILTIN_REF "busybox:latest"
/* "SIZE MTIME sha256:ID" of the built-in tarball last loaded. */
#define BUILTIN_STAMP ".builtin"
#define BUILTIN_LOCK ".builtin.lock"

static int resolve_directory(const char *ref, struct rl_image *img, struct rl_error *err)
{
	struct stat st;
	if (stat(ref, &st) < 0)
		return rl_fail_errno(err, errno,
				     "rootfs %s; give a directory holding a root filesystem, or an image such as 'busybox'",
				     ref);
	if (!S_ISDIR(st.st_mode))
		return rl_fail(err, ENOTDIR,
			       "rootfs %s is not a directory; give a directory holding a root filesystem, or an image such as 'busybox'",
			       ref);
	if (!realpath(ref, img->rootfs))
		return rl_fail_errno(err, errno, "cannot resolve rootfs %s", ref);
	snprintf(img->ref, sizeof(img->ref), "%s", img->rootfs);
	return 0;
}

/* ---- the built-in busybox image */

struct stamp {
	long long size, mtime;
	char id[72];
};

static bool read_stamp(const struct rl_store *s, struct stamp *st)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/" BUILTIN_STAMP, s->dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	return f && fscanf(f, "%lld %lld %71s", &st->size, &st->mtime, st->id) == 3;
}

static int write_stamp(const struct rl_store *s, const struct stamp *st, struct rl_error *err)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 48], text[128];
	snprintf(path, sizeof(path), "%s/" BUILTIN_STAMP, s->dir);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	int n = snprintf(text, sizeof(text), "%lld %lld %s\n", st->size, st->mtime, st->id);
	int r = rl_write_file(tmp, text, (size_t)n, 0600, err);
	if (r == 0 && rename(tmp, path) < 0)
		r = rl_fail_errno(err, errno, "cannot write %s", path);
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Whether busybox:latest is there and is the current built-in tarball's
 * (or the user's own: a tag they moved is theirs). */
static bool builtin_current(const struct rl_store *s, const struct stat *tar, char old_id[72])
{
	char id[72];
	old_id[0] = '\0';
	if (rl_store_lookup(s, BUILTIN_REF, id, NULL, 0, NULL) < 0)
		return false;
	struct stamp st;
	if (!read_stamp(s, &st) || strcmp(st.id, id) != 0)
		return true;
	if (st.size == (long long)tar->st_size && st.mtime == (long long)tar->st_mtime)
		return true;
	snprintf(old_id, 72, "%s", id);
	return false;
}

static bool tagged(const struct rl_store *s, const char *id)
{
	struct rl_store_image *v;
	size_t n;
	bool found = true; /* when in doubt, keep it */
	if (rl_store_list(s, &v, &n, NULL) == 0) {
		found = false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].id, id) == 0)
				found = v[i].n_tags > 0;
		rl_store_list_free(v, n);
	}
	return found;
}

/* Loads share/rlbpf/busybox.tar the first time `busybox` is asked for, and
 * again when the tarball changed (a new rlbpf). Concurrent first runs
 * serialise on a lock and the later ones find it loaded. */
static int ensure_builtin(const struct rl_store *s, struct rl_error *err)
{
	char share[PATH_MAX], tarball[PATH_MAX + 16], old_id[72];
	int r = rl_share_dir(share, sizeof(share), err);
	if (r < 0)
		return r;
	snprintf(tarball, sizeof(tarball), "%s/busybox.tar", share);
	struct stat tar;
	if (stat(tarball, &tar) < 0) {
		char id[72];
		if (rl_store_lookup(s, BUILTIN_REF, id, NULL, 0, NULL) == 0)
			return 0;
		return rl_fail_errno(err, errno,
				     "the built-in image %s is missing; run 'make' or reinstall rlbpf",
				     tarball);
	}
	if (builtin_current(s, &tar, old_id))
		return 0;
	_cleanup_close_ int lock = rl_store_lock(s, BUILTIN_LOCK, err);
	if (lock < 0)
		return lock;
	if (builtin_current(s, &tar, old_id))
		return 0; /* another first run did it meanwhile */
	struct rl_loaded *loaded;
	size_t n;
	if ((r = rl_store_load(s, tarball, &loaded, &n, err)) < 0)
		return r;
	struct stamp st = {.size = (long long)tar.st_size, .mtime = (long long)tar.st_mtime};
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < loaded[i].n_tags; k++)
			if (strcmp(loaded[i].tags[k], BUILTIN_REF) == 0)
				snprintf(st.id, sizeof(st.id), "%s", loaded[i].id);
	rl_loaded_free(loaded, n);
	if (!st.id[0])
		return rl_fail(err, EINVAL, "the built-in image %s has no tag %s; reinstall rlbpf",
			       tarball, BUILTIN_REF);
	if ((r = write_stamp(s, &st, err)) < 0)
		return r;
	/* The previous built-in goes, unless a tag or a container keeps it. */
	if (old_id[0] && strcmp(old_id, st.id) != 0 && !tagged(s, old_id))
		rl_store_remove(s, old_id, false, NULL, NULL);
	return 0;
}

/* ---- the image's config */

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings as a NULL-terminated vector; NULL for null. */
static int strv_from_json(json_t *a, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(a))
		return 0;
	char **v = calloc(json_array_size(a) + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	size_t i;
	json_t *s;
	json_array_foreach(a, i, s) {
		if (!json_is_string(s))
			continue;
		if (!(v[*n] = strdup(json_string_value(s)))) {
			free_strv(v);
			*n = 0;
			return -ENOMEM;
		}
		(*n)++;
	}
	*out = v;
	return 0;
}

static int read_config(const char *path, const char *ref, struct rl_image_config *c,
		       struct rl_error *err)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (!doc)
		return rl_fail(err, EINVAL,
			       "the image %s is damaged: cannot read %s (%s); remove it with 'rlbpf rmi' and load it again",
			       ref, path, jerr.text);
	json_t *cfg = json_object_get(doc, "config");
	const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	int r = strv_from_json(json_object_get(cfg, "Entrypoint"), &c->entrypoint, &c->n_entrypoint);
	if (r == 0)
		r = strv_from_json(json_object_get(cfg, "Cmd"), &c->cmd, &c->n_cmd);
	if (r == 0)
		r = strv_from_json(json_object_get(cfg, "Env"), &c->env, &c->n_env);
	if (r == 0 && wd && wd[0] && !(c->workdir = strdup(wd)))
		r = -ENOMEM;
	if (r == 0 && user && user[0] && !(c->user = strdup(user)))
		r = -ENOMEM;
	json_decref(doc);
	return r < 0 ? rl_fail(err, ENOMEM, "out of memory") : 0;
}

void rl_image_free(struct rl_image *img)
{
	free_strv(img->config.entrypoint);
	free_strv(img->config.cmd);
	free_strv(img->config.env);
	free(img->config.workdir);
	free(img->config.user);
	img->config = (struct rl_image_config){0};
}

bool rl_image_ref_is_directory(const char *ref)
{
	struct stat st;
	if (strcmp(ref, ".") == 0 || strcmp(ref, "..") == 0 || ref[0] == '/' ||
	    strncmp(ref, "./", 2) == 0 || strncmp(ref, "../", 3) == 0)
		return true;
	return strchr(ref, '/') && stat(ref, &st) == 0 && S_ISDIR(st.st_mode);
}

int rl_image_resolve(const char *ref, struct rl_image *img, struct rl_error *err)
{
	*img = (struct rl_image){0};
	if (rl_image_ref_is_directory(ref))
		return resolve_directory(ref, img, err);
	struct rl_store s;
	int r = rl_store_open(&s, err);
	if (r < 0)
		return r;
	char norm[512];
	if (rl_ref_normalize(ref, norm, sizeof(norm), NULL) == 0 && strcmp(norm, BUILTIN_REF) == 0 &&
	    (r = ensure_builtin(&s, err)) < 0)
		return r;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	r = rl_store_lookup(&s, ref, img->id, NULL, 0, err);
	if (r == -ENOENT)
		return rl_fail(err, ENOENT,
			       "unknown image '%.200s': 'rlbpf images' lists yours (the built-in one is 'busybox'), 'rlbpf load -i FILE.tar' adds one; a rootfs directory is given as a path (e.g. ./rootfs)",
			       ref);
	if (r < 0 || (r = rl_store_image_dir(&s, img->id, dir, sizeof(dir), err)) < 0)
		return r;
	/* As the user wrote it, as Docker records Config.Image. */
	snprintf(img->ref, sizeof(img->ref), "%s", ref);
	if (snprintf(img->rootfs, sizeof(img->rootfs), "%s/rootfs", dir) >= (int)sizeof(img->rootfs))
		return rl_fail(err, ENAMETOOLONG, "image store path too long");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if ((r = read_config(path, img->ref, &img->config, err)) < 0)
		rl_image_free(img);
	return r;
}
