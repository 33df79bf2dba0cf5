#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "paths.h"
#include "spawn.h"

#define BUILTIN_IMAGE "busybox"

static int resolve_directory(const char *ref, struct rl_image *img, struct rl_error *err)
{
	struct stat st;
	if (stat(ref, &st) < 0)
		return rl_fail_errno(err, errno,
				     "rootfs %s; give a directory holding a root filesystem, or the image 'busybox'",
				     ref);
	if (!S_ISDIR(st.st_mode))
		return rl_fail(err, ENOTDIR,
			       "rootfs %s is not a directory; give a directory holding a root filesystem, or the image 'busybox'",
			       ref);
	if (!realpath(ref, img->rootfs))
		return rl_fail_errno(err, errno, "cannot resolve rootfs %s", ref);
	snprintf(img->ref, sizeof(img->ref), "%s", img->rootfs);
	return 0;
}

/* Unpacking runs in rlbpf-unpack, so that rlbpf itself does not load
 * libarchive and its compression libraries on every start. */
static int unpack(const char *tarball, const char *dest, struct rl_error *err)
{
	char helper[PATH_MAX];
	int r = rl_libexec_path("rlbpf-unpack", helper, sizeof(helper), err);
	if (r < 0)
		return r;
	char *const argv[] = {helper, (char *)tarball, (char *)dest, NULL};
	return rl_run_helper(argv, err);
}

/* The store keeps one unpacked copy per tarball version (size and mtime),
 * swapped in atomically so concurrent first runs cannot see half of it. */
static int ensure_builtin(struct rl_image *img, struct rl_error *err)
{
	char share[PATH_MAX], data[PATH_MAX], tarball[PATH_MAX + 16];
	int r = rl_share_dir(share, sizeof(share), err);
	if (r < 0 || (r = rl_data_dir(data, sizeof(data), err)) < 0)
		return r;
	snprintf(tarball, sizeof(tarball), "%s/busybox.tar", share);
	struct stat st;
	if (stat(tarball, &st) < 0)
		return rl_fail_errno(err, errno,
				     "the built-in image %s is missing; run 'make' or reinstall rlbpf",
				     tarball);
	char images[PATH_MAX + 16], final[PATH_MAX + 64];
	snprintf(images, sizeof(images), "%s/images", data);
	if (snprintf(final, sizeof(final), "%s/busybox-%lld-%lld", images, (long long)st.st_size,
		     (long long)st.st_mtime) >= (int)sizeof(final))
		return rl_fail(err, ENAMETOOLONG, "image store path too long");
	snprintf(img->ref, sizeof(img->ref), BUILTIN_IMAGE);
	static const char *const sh[] = {"sh", NULL};
	if (!(img->config.cmd = calloc(2, sizeof(char *))) || !(img->config.cmd[0] = strdup(sh[0])))
		return rl_fail(err, ENOMEM, "out of memory");
	img->config.n_cmd = 1;
	if (snprintf(img->rootfs, sizeof(img->rootfs), "%s/rootfs", final) >= (int)sizeof(img->rootfs))
		return rl_fail(err, ENAMETOOLONG, "image store path too long");
	if (access(img->rootfs, X_OK) == 0)
		return 0;

	if ((r = rl_mkdir_p(images, 0700, err)) < 0)
		return r;
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/.unpack-XXXXXX", images);
	if (!mkdtemp(tmp))
		return rl_fail_errno(err, errno, "cannot create a directory in %s", images);
	char tmp_rootfs[PATH_MAX + 48];
	snprintf(tmp_rootfs, sizeof(tmp_rootfs), "%s/rootfs", tmp);
	if (mkdir(tmp_rootfs, 0755) < 0)
		r = rl_fail_errno(err, errno, "cannot create %s", tmp_rootfs);
	if (r == 0)
		r = unpack(tarball, tmp_rootfs, err);
	if (r == 0 && rename(tmp, final) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		r = rl_fail_errno(err, errno, "cannot store the image in %s", final);
	/* Lost a race with another first run, or failed: ours goes. */
	rl_remove_tree(tmp);
	return r;
}

static void free_strv(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
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

int rl_image_resolve(const char *ref, struct rl_image *img, struct rl_error *err)
{
	*img = (struct rl_image){0};
	if (strchr(ref, '/') || strcmp(ref, ".") == 0 || strcmp(ref, "..") == 0)
		return resolve_directory(ref, img, err);
	if (strcmp(ref, BUILTIN_IMAGE) == 0 || strcmp(ref, BUILTIN_IMAGE ":latest") == 0)
		return ensure_builtin(img, err);
	return rl_fail(err, ENOENT,
		       "unknown image '%s': the built-in image is 'busybox'; give a rootfs directory as a path (e.g. ./rootfs)",
		       ref);
}
