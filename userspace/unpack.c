#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cleanup.h"

/* Unpacks the tarball into dest with the caller as owner of everything.
 * libarchive's secure modes work on relative paths, so the extraction runs
 * with dest as the working directory: entries with "..", absolute paths or
 * paths through symlinks are refused. */
int rl_unpack_tar(const char *tarball, const char *dest, struct rl_error *err)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(dest) < 0)
		return rl_fail_errno(err, errno, "cannot enter %s to unpack the image", dest);
	struct archive *in = archive_read_new();
	struct archive *out = archive_write_disk_new();
	int r = 0, ar;
	if (!in || !out) {
		r = rl_fail(err, ENOMEM, "out of memory unpacking %s", tarball);
		goto done;
	}
	archive_read_support_format_tar(in);
	archive_read_support_filter_all(in);
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
						    ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (archive_read_open_filename(in, tarball, 64 * 1024) != ARCHIVE_OK) {
		r = rl_fail(err, EIO, "cannot read image %s: %s; reinstall rlbpf", tarball,
			    archive_error_string(in));
		goto done;
	}
	struct archive_entry *e;
	while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		if (archive_write_header(out, e) != ARCHIVE_OK) {
			r = rl_fail(err, EIO, "cannot unpack %s: %s", archive_entry_pathname(e),
				    archive_error_string(out));
			goto done;
		}
		const void *buf;
		size_t len;
		la_int64_t off;
		while ((ar = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
			if (archive_write_data_block(out, buf, len, off) != ARCHIVE_OK)
				break;
		if (ar != ARCHIVE_EOF || archive_write_finish_entry(out) != ARCHIVE_OK) {
			r = rl_fail(err, EIO, "cannot unpack %s from %s: %s", archive_entry_pathname(e),
				    tarball, ar != ARCHIVE_EOF ? archive_error_string(in)
							       : archive_error_string(out));
			goto done;
		}
	}
	if (ar != ARCHIVE_EOF)
		r = rl_fail(err, EIO, "corrupt image %s: %s", tarball, archive_error_string(in));
done:
	if (out) {
		archive_write_close(out);
		archive_write_free(out);
	}
	if (in)
		archive_read_free(in);
	if (fchdir(cwd) < 0 && r == 0)
		r = rl_fail_errno(err, errno, "cannot return to the working directory");
	return r;
}

