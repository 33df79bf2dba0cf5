#include "supervise/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/paths.h"
#include "runtime/userns_exec.h"

static int random_bytes(void *buf, size_t len, struct rl_error *err)
{
	if (getrandom(buf, len, 0) != (ssize_t)len)
		return rl_fail_errno(err, errno, "cannot read random bytes for a container id");
	return 0;
}

static bool name_taken(const char *containers, const char *name)
{
	_cleanup_close_ int dfd = open(containers, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(RL_TAKE_FD(dfd)) : NULL;
	bool taken = false;
	for (struct dirent *e; d && !taken && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX], other[160];
		snprintf(path, sizeof(path), "%s/%s/name", containers, e->d_name);
		taken = rl_read_file(path, other, sizeof(other), NULL) >= 0 &&
			strcmp(other, name) == 0;
	}
	if (d)
		closedir(d);
	return taken;
}

/* Docker-style adjective_noun names, readable in `ps`; a number is added
 * only when the plain name is taken. */
static void random_name(char *buf, size_t len, unsigned seed, unsigned attempt)
{
	static const char *const adjectives[] = {
		"brave", "calm", "clever", "eager", "fancy", "gentle", "happy", "jolly",
		"keen", "lucid", "merry", "nimble", "quiet", "rapid", "sharp", "tidy",
	};
	static const char *const nouns[] = {
		"badger", "falcon", "gecko", "heron", "ibis", "koala", "lemur", "marten",
		"newt", "otter", "panda", "quokka", "raven", "stoat", "tapir", "walrus",
	};
	int n = snprintf(buf, len, "%s_%s", adjectives[seed % 16], nouns[(seed / 16) % 16]);
	if (attempt && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%u", attempt);
}

int rl_state_create(const char *name, struct rl_state *st, struct rl_error *err)
{
	char runtime[PATH_MAX], containers[PATH_MAX], lock[PATH_MAX];
	int r = rl_runtime_dir(runtime, sizeof(runtime), err);
	if (r < 0)
		return r;
	if (snprintf(containers, sizeof(containers), "%s/containers", runtime) >= (int)sizeof(containers) ||
	    snprintf(lock, sizeof(lock), "%s/lock", runtime) >= (int)sizeof(lock))
		return rl_fail(err, ENAMETOOLONG, "runtime directory path too long");
	if (mkdir(containers, 0700) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot create %s", containers);

	unsigned char raw[32];
	if ((r = random_bytes(raw, sizeof(raw), err)) < 0)
		return r;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(st->id + 2 * i, 3, "%02x", raw[i]);
	if (snprintf(st->dir, sizeof(st->dir), "%s/%s", containers, st->id) >= (int)sizeof(st->dir))
		return rl_fail(err, ENAMETOOLONG, "state directory path too long");

	/* Names are unique per user: check and claim under one lock. */
	_cleanup_close_ int lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0)
		return rl_fail_errno(err, errno, "cannot lock %s", lock);
	if (name) {
		if (name_taken(containers, name))
			return rl_fail(err, EEXIST,
				       "the name \"%s\" is already in use by another container; choose another --name or remove that container",
				       name);
		snprintf(st->name, sizeof(st->name), "%s", name);
	} else {
		for (unsigned attempt = 0;; attempt++) {
			random_name(st->name, sizeof(st->name), raw[0], attempt);
			if (!name_taken(containers, st->name))
				break;
		}
	}
	static const char *const subdirs[] = {"", "/upper", "/work", "/rootfs"};
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s%s", st->dir, subdirs[i]);
		if (mkdir(path, i == 0 ? 0700 : 0755) < 0) {
			r = rl_fail_errno(err, errno, "cannot create %s", path);
			/* Remove only what this call made. */
			if (i > 0)
				rl_remove_tree(st->dir);
			return r;
		}
	}
	char name_path[PATH_MAX + 8];
	snprintf(name_path, sizeof(name_path), "%s/name", st->dir);
	if ((r = rl_write_file(name_path, st->name, strlen(st->name), 0600, err)) < 0)
		rl_remove_tree(st->dir);
	return r;
}

int rl_state_write_etc(const struct rl_state *st, const char *hostname, struct rl_error *err)
{
	char path[PATH_MAX + 16], text[512];
	int n = snprintf(text, sizeof(text), "%s\n", hostname);
	snprintf(path, sizeof(path), "%s/hostname", st->dir);
	int r = rl_write_file(path, text, (size_t)n, 0644, err);
	if (r < 0)
		return r;
	n = snprintf(text, sizeof(text),
		     "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname);
	snprintf(path, sizeof(path), "%s/hosts", st->dir);
	if ((r = rl_write_file(path, text, (size_t)n, 0644, err)) < 0)
		return r;
	/* The host's resolvers, as Docker copies them; none is fine too. */
	char resolv[4096];
	int len = rl_read_file("/etc/resolv.conf", resolv, sizeof(resolv), NULL);
	snprintf(path, sizeof(path), "%s/resolv.conf", st->dir);
	return rl_write_file(path, resolv, len > 0 ? (size_t)len : 0, 0644, err);
}

int rl_state_record(const struct rl_state *st, const char *json_text, struct rl_error *err)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/config.json.tmp", st->dir);
	snprintf(path, sizeof(path), "%s/config.json", st->dir);
	int r = rl_write_file(tmp, json_text, strlen(json_text), 0600, err);
	if (r < 0)
		return r;
	if (rename(tmp, path) < 0)
		return rl_fail_errno(err, errno, "cannot save %s", path);
	return 0;
}

int rl_state_remove(const struct rl_state *st, int userns_fd, struct rl_error *err)
{
	int r = rl_remove_tree_as_owner(st->dir, userns_fd, err);
	if (r != -EACCES && r != -EPERM)
		return r;
	/* The container is gone and its namespace with it: a new one with the
	 * same mapping owns the files just as well. */
	return rl_userns_remove_tree(st->dir, err);
}

static int containers_dir(char *buf, size_t len, struct rl_error *err)
{
	char runtime[PATH_MAX];
	int r = rl_runtime_dir(runtime, sizeof(runtime), err);
	if (r < 0)
		return r;
	if (snprintf(buf, len, "%s/containers", runtime) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "runtime directory path too long");
	return 0;
}

static bool is_container_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && s[64] == '\0';
}

int rl_state_each(int (*fn)(const struct rl_state *st, void *ctx), void *ctx,
		  struct rl_error *err)
{
	char dir[PATH_MAX];
	int r = containers_dir(dir, sizeof(dir), err);
	if (r < 0)
		return r;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : rl_fail_errno(err, errno, "cannot list %s", dir);
	for (struct dirent *e; r == 0 && (e = readdir(d));) {
		if (!is_container_id(e->d_name))
			continue;
		struct rl_state st = {0};
		memcpy(st.id, e->d_name, 64);
		if (snprintf(st.dir, sizeof(st.dir), "%s/%.64s", dir, e->d_name) >= (int)sizeof(st.dir))
			continue;
		char name_path[PATH_MAX + 8];
		snprintf(name_path, sizeof(name_path), "%s/name", st.dir);
		/* A directory half made or half removed has no name: not a container. */
		if (rl_read_file(name_path, st.name, sizeof(st.name), NULL) <= 0)
			continue;
		r = fn(&st, ctx);
	}
	closedir(d);
	return r;
}

struct find_ctx {
	const char *ref;
	struct rl_state by_id, by_name, by_prefix;
	int prefix_matches;
};

static int match_ref(const struct rl_state *st, void *ctx)
{
	struct find_ctx *f = ctx;
	if (strcmp(st->id, f->ref) == 0)
		f->by_id = *st;
	if (strcmp(st->name, f->ref) == 0)
		f->by_name = *st;
	if (strncmp(st->id, f->ref, strlen(f->ref)) == 0) {
		f->by_prefix = *st;
		f->prefix_matches++;
	}
	return 0;
}

int rl_state_find(const char *ref, struct rl_state *st, struct rl_error *err)
{
	struct find_ctx f = {.ref = ref};
	if (!ref[0])
		return rl_fail(err, EINVAL, "empty container name or ID");
	int r = rl_state_each(match_ref, &f, err);
	if (r < 0)
		return r;
	if (f.by_id.id[0])
		*st = f.by_id;
	else if (f.by_name.id[0])
		*st = f.by_name;
	else if (f.prefix_matches == 1 && strspn(ref, "0123456789abcdef") == strlen(ref))
		*st = f.by_prefix;
	else if (f.prefix_matches > 1)
		return rl_fail(err, EINVAL,
			       "multiple containers found with ID prefix \"%s\"; give more of the ID",
			       ref);
	else
		return rl_fail(err, ENOENT, "no such container: %s; see 'rlbpf ps -a'", ref);
	return 0;
}

int rl_state_config(const struct rl_state *st, json_t **out, struct rl_error *err)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/config.json", st->dir);
	json_error_t jerr;
	*out = json_load_file(path, 0, &jerr);
	if (!*out)
		return rl_fail(err, EINVAL, "cannot read the record of %s (%s): %s; remove it with 'rlbpf rm -f %s'",
			       st->name, path, jerr.text, st->name);
	return 0;
}

int rl_state_lock(const struct rl_state *st, struct rl_error *err)
{
	char path[PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s/lock", st->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot open the lock of container %s", st->name);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return rl_fail(err, EBUSY,
				       "container %s is being started or is running; stop it first",
				       st->name);
		return rl_fail_errno(err, e, "cannot lock container %s", st->name);
	}
	return fd;
}
