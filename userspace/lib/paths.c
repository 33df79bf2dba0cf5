#include "lib/paths.h"
#include "lib/userdb.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rl_mkdir_p(const char *path, unsigned mode, struct rl_error *err)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return rl_fail(err, ENAMETOOLONG, "path too long: %s", path);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return rl_fail_errno(err, errno, "cannot create directory %s", buf);
		*p = saved;
		if (!saved)
			return 0;
	}
}

/* A directory we keep private state in must be ours and closed to others:
 * /tmp is shared, and someone could have planted it first. */
static int check_private_dir(const char *dir, struct rl_error *err)
{
	struct stat st;
	if (lstat(dir, &st) < 0)
		return rl_fail_errno(err, errno, "cannot stat %s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
		return rl_fail(err, EPERM,
			       "%s is not a directory owned by uid %u; remove it or set XDG_RUNTIME_DIR",
			       dir, getuid());
	if ((st.st_mode & 077) && chmod(dir, 0700) < 0)
		return rl_fail_errno(err, errno, "cannot make %s private (0700)", dir);
	return 0;
}

int rl_runtime_dir(char *buf, size_t len, struct rl_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (xdg && xdg[0] == '/' && access(xdg, W_OK | X_OK) == 0)
		n = snprintf(buf, len, "%s/rlbpf", xdg);
	else
		n = snprintf(buf, len, "/tmp/rlbpf-%u", getuid());
	if (n < 0 || (size_t)n >= len)
		return rl_fail(err, ENAMETOOLONG, "runtime directory path too long");
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create runtime directory %s", buf);
	return check_private_dir(buf, err);
}

int rl_config_home(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, len, "%s", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, len, "%s/.config", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int rl_data_dir(char *buf, size_t len, struct rl_error *err)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	int n;
	if (xdg && xdg[0] == '/') {
		n = snprintf(buf, len, "%s/rlbpf", xdg);
	} else {
		const char *home = getenv("HOME");
		char pw_home[PATH_MAX];
		if ((!home || home[0] != '/') &&
		    rl_userdb_lookup(getuid(), NULL, 0, pw_home, sizeof(pw_home)) == 0)
			home = pw_home;
		if (!home || home[0] != '/')
			return rl_fail(err, ENOENT,
				       "no home directory to keep images in; set HOME or XDG_DATA_HOME");
		n = snprintf(buf, len, "%s/.local/share/rlbpf", home);
	}
	if (n < 0 || (size_t)n >= len)
		return rl_fail(err, ENAMETOOLONG, "data directory path too long");
	int r = rl_mkdir_p(buf, 0700, err);
	return r < 0 ? r : check_private_dir(buf, err);
}

int rl_install_path(const char *rel, char *buf, size_t len, struct rl_error *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return rl_fail_errno(err, errno, "cannot find the rlbpf executable");
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	if (snprintf(buf, len, "%s/../%s", exe, rel) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "path of rlbpf's %s too long", rel);
	return 0;
}

int rl_share_dir(char *buf, size_t len, struct rl_error *err)
{
	const char *env = getenv("RLBPF_SHARE_DIR");
	if (env && env[0] == '/') {
		if (snprintf(buf, len, "%s", env) >= (int)len)
			return rl_fail(err, ENAMETOOLONG, "RLBPF_SHARE_DIR too long");
		return 0;
	}
	return rl_install_path("share/rlbpf", buf, len, err);
}
