/* rlbpf-runtime's container records (state.h). */
#include "oci/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/paths.h"
#include "oci/cgroups.h"
#include "supervise/status.h"

bool rl_oci_host_root(void)
{
	char line[128];
	unsigned long inside, outside, count;
	if (geteuid() != 0)
		return false;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
	/* the initial user namespace maps the whole range, in one line */
	return f && fgets(line, sizeof(line), f) &&
	       sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
	       outside == 0 && count == 4294967295UL && !fgets(line, sizeof(line), f);
}

int rl_oci_root(const char *given, char *out, size_t len, struct rl_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (given && given[0])
		n = snprintf(out, len, "%s", given);
	else if (rl_oci_host_root())
		n = snprintf(out, len, "/run/rlbpf-runtime");
	else if (xdg && xdg[0] == '/')
		n = snprintf(out, len, "%s/rlbpf-runtime", xdg);
	else
		return rl_fail(err, EINVAL, "no state directory: give --root DIR, or set "
			       "XDG_RUNTIME_DIR as a login session does");
	if (n < 0 || (size_t)n >= len - 300)
		return rl_fail(err, ENAMETOOLONG, "the state directory's path is too long");
	/* containerd's shim names a root whose parents may not exist yet */
	return rl_mkdir_p(out, 0700, err);
}

bool rl_oci_valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 255 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("_+-.", *p)))
			return false;
	return true;
}

int rl_oci_state_new(const char *root, const char *id, struct rl_oci_state *st,
		     struct rl_error *err)
{
	memset(st, 0, sizeof(*st));
	if (!rl_oci_valid_id(id))
		return rl_fail(err, EINVAL, "invalid container id %s: use letters, digits, _ + - and .", id);
	snprintf(st->id, sizeof(st->id), "%s", id);
	snprintf(st->dir, sizeof(st->dir), "%s/%s", root, id);
	if (mkdir(st->dir, 0711) < 0)
		return errno == EEXIST ? rl_fail(err, EEXIST, "container with id exists: %s", id)
				       : rl_fail_errno(err, errno, "cannot create %s", st->dir);
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", st->dir);
	if (mkfifo(fifo, 0600) < 0) {
		int e = errno;
		rmdir(st->dir);
		return rl_fail_errno(err, e, "cannot create %s", fifo);
	}
	rl_now_rfc3339(st->created, sizeof(st->created));
	return 0;
}

int rl_oci_state_save(const struct rl_oci_state *st, struct rl_error *err)
{
	json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:b, s:b}", "id", st->id, "pid", (int)st->pid,
			      "pid_start", (json_int_t)st->pid_start, "bundle", st->bundle, "created",
			      st->created, "own_pidns", st->own_pidns, "agent_limits", st->agent_limits);
	if (!o)
		return rl_fail(err, ENOMEM, "out of memory");
	if (st->annotations)
		json_object_set(o, "annotations", st->annotations);
	if (st->cgroups)
		json_object_set(o, "cgroups", st->cgroups);
	_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	char tmp[PATH_MAX], path[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s/.state.json.tmp", st->dir);
	snprintf(path, sizeof(path), "%s/state.json", st->dir);
	int r = text ? rl_write_file(tmp, text, strlen(text), 0600, err)
		     : rl_fail(err, ENOMEM, "out of memory");
	if (r == 0 && rename(tmp, path) < 0)
		r = rl_fail_errno(err, errno, "cannot write %s", path);
	return r;
}

int rl_oci_state_load(const char *root, const char *id, struct rl_oci_state *st,
		      struct rl_error *err)
{
	memset(st, 0, sizeof(*st));
	if (!rl_oci_valid_id(id))
		return rl_fail(err, ENOENT, "container does not exist: %s is not a container id", id);
	snprintf(st->id, sizeof(st->id), "%s", id);
	snprintf(st->dir, sizeof(st->dir), "%s/%s", root, id);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/state.json", st->dir);
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr);
	if (!o) {
		struct stat sb;
		if (stat(st->dir, &sb) == 0)
			return rl_fail(err, ENOENT, "container %s is still being created or its state is lost; "
				       "delete --force it", id);
		return rl_fail(err, ENOENT, "container does not exist: %s", id);
	}
	json_t *bundle = json_object_get(o, "bundle"), *created = json_object_get(o, "created");
	st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	st->pid_start = (uint64_t)json_integer_value(json_object_get(o, "pid_start"));
	st->own_pidns = json_is_true(json_object_get(o, "own_pidns"));
	st->agent_limits = json_is_true(json_object_get(o, "agent_limits"));
	snprintf(st->bundle, sizeof(st->bundle), "%s", json_is_string(bundle) ? json_string_value(bundle) : "");
	snprintf(st->created, sizeof(st->created), "%s", json_is_string(created) ? json_string_value(created) : "");
	st->annotations = json_incref(json_object_get(o, "annotations"));
	st->cgroups = json_incref(json_object_get(o, "cgroups"));
	json_decref(o);
	return 0;
}

void rl_oci_state_free(struct rl_oci_state *st)
{
	json_decref(st->annotations);
	json_decref(st->cgroups);
	st->annotations = st->cgroups = NULL;
}

int rl_oci_state_remove(const struct rl_oci_state *st, struct rl_error *err)
{
	int r = rl_remove_tree(st->dir);
	return r < 0 && r != -ENOENT ? rl_fail_errno(err, -r, "cannot remove %s", st->dir) : 0;
}

uint64_t rl_oci_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* after the command's name, which may hold spaces and parentheses */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state = 0;
	unsigned long long start = 0;
	/* state is field 3; starttime is field 22 */
	if (sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &start) != 2)
		return 0;
	return state == 'Z' || state == 'X' ? 0 : start;
}

enum rl_oci_status rl_oci_status_of(const struct rl_oci_state *st)
{
	if (st->pid <= 0 || rl_oci_proc_start(st->pid) != st->pid_start)
		return RL_OCI_STOPPED;
	char fifo[PATH_MAX];
	snprintf(fifo, sizeof(fifo), "%s/exec.fifo", st->dir);
	if (access(fifo, F_OK) == 0)
		return RL_OCI_CREATED;
	return rl_oci_cgroups_frozen(st->cgroups) ? RL_OCI_PAUSED : RL_OCI_RUNNING;
}

const char *rl_oci_status_name(enum rl_oci_status s)
{
	switch (s) {
	case RL_OCI_CREATING: return "creating";
	case RL_OCI_CREATED: return "created";
	case RL_OCI_RUNNING: return "running";
	case RL_OCI_PAUSED: return "paused";
	default: return "stopped";
	}
}

json_t *rl_oci_state_json(const struct rl_oci_state *st, enum rl_oci_status status)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "ociVersion", "1.0.2", "id", st->id,
			      "status", rl_oci_status_name(status), "pid",
			      status == RL_OCI_STOPPED ? 0 : (int)st->pid, "bundle", st->bundle,
			      "created", st->created);
	if (o && st->annotations && json_object_size(st->annotations))
		json_object_set(o, "annotations", st->annotations);
	return o;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **rl_oci_list(const char *root)
{
	DIR *d = opendir(root);
	size_t n = 0, cap = 16;
	char **ids = calloc(cap + 1, sizeof(*ids));
	if (!ids) {
		if (d)
			closedir(d);
		return NULL;
	}
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!rl_oci_valid_id(e->d_name) || e->d_type != DT_DIR)
			continue;
		if (n == cap) {
			char **grown = realloc(ids, (cap * 2 + 1) * sizeof(*ids));
			if (!grown)
				break;
			ids = grown;
			cap *= 2;
		}
		ids[n++] = strdup(e->d_name);
		ids[n] = NULL;
	}
	if (d)
		closedir(d);
	qsort(ids, n, sizeof(*ids), by_name);
	return ids;
}
