/* User-namespace id mapping: finds the caller's subordinate ranges and writes
 * the container's uid_map/gid_map, through the setuid newuidmap/newgidmap
 * helpers when there is a range, or directly (a single-id map) when there is
 * none. */
#include "runtime/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/spawn.h"
#include "lib/subid.h"
#include "proto/agent_client.h"
#include "lib/userdb.h"

#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"

int rl_idmap_plan(struct rl_idmap *m, struct rl_error *err)
{
	*m = (struct rl_idmap){.uid = getuid(), .gid = getgid()};
	/* a uid with no passwd entry: the numeric form of the owner still
	 * matches, as shadow's own helpers do */
	char user[64];
	const char *name = rl_userdb_lookup(m->uid, user, sizeof(user), NULL, 0) == 0 ? user : NULL;

	/* shadow keys both files by the user (name or uid), never by group. */
	int r = rl_subid_lookup(SUBUID_PATH, name, m->uid, &m->subuid, err);
	if (r == 0)
		r = rl_subid_lookup(SUBGID_PATH, name, m->uid, &m->subgid, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT || access(NEWUIDMAP, X_OK) < 0 || access(NEWGIDMAP, X_OK) < 0) {
		m->single = true;
		m->subuid = m->subgid = (struct rl_id_range){0, 0};
	}
	if (err)
		*err = (struct rl_error){0};
	return 0;
}

/* Writes the whole of `s` to /proc/PID/<file>. */
static int write_proc(pid_t pid, const char *file, const char *s, struct rl_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot open %s", path);
	size_t len = strlen(s);
	/* These files take the whole map in one write; a short write is an
	 * error, not something to continue. */
	ssize_t n = write(fd, s, len);
	if (n < 0)
		return rl_fail_errno(err, errno, "cannot write '%.*s' to %s", (int)strcspn(s, "\n"), s,
				     path);
	if ((size_t)n != len)
		return rl_fail(err, EIO, "short write to %s", path);
	return 0;
}

static int apply_single(const struct rl_idmap *m, pid_t pid, struct rl_error *err)
{
	char map[64];
	/* Denying setgroups is what lets an unprivileged process write gid_map. */
	int r = write_proc(pid, "setgroups", "deny", err);
	if (r < 0)
		return r;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)m->uid);
	r = write_proc(pid, "uid_map", map, err);
	if (r < 0)
		return r;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)m->gid);
	return write_proc(pid, "gid_map", map, err);
}

/* One newuidmap or newgidmap run: PID 0 ID 1 1 START COUNT. */
struct map_helper {
	const char *what; /* the file whose range it maps */
	char args[7][24];
	char *argv[9];
	struct rl_helper run;
};

static void map_helper_init(struct map_helper *h, const char *path, const char *what, pid_t pid,
			    uint32_t id, const struct rl_id_range *range)
{
	const uint32_t vals[7] = {(uint32_t)pid, 0, id, 1, 1, range->start, range->count};
	*h = (struct map_helper){.what = what};
	h->argv[0] = (char *)path;
	for (int i = 0; i < 7; i++) {
		snprintf(h->args[i], sizeof(h->args[i]), "%" PRIu32, vals[i]);
		h->argv[i + 1] = h->args[i];
	}
	h->argv[8] = NULL;
}

static int map_helper_error(const struct map_helper *h, struct rl_error *err)
{
	char how[48];
	rl_helper_describe(&h->run, how, sizeof(how));
	const int status = h->run.status;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !h->run.msg[0])
		return rl_fail(err, EPERM,
			       "%s could not be executed (%s); install Debian's uidmap package "
			       "and check /etc/subuid with 'rlbpf setup'",
			       h->argv[0], how);
	return rl_fail(err, EPERM, "'%s %s %s %s %s %s %s %s' failed (%s)%s%s; check %s with 'rlbpf setup'",
		       h->argv[0], h->args[0], h->args[1], h->args[2], h->args[3], h->args[4],
		       h->args[5], h->args[6], how, h->run.msg[0] ? ": " : "", h->run.msg, h->what);
}

/* Whether /proc/PID/FILE holds a map: a map is written once, and an agent
 * that answered too late may have written it after all. */
static bool map_written(pid_t pid, const char *file)
{
	char path[64], c;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &c, 1) == 1;
}

static int apply_helpers(const struct rl_idmap *m, pid_t pid, struct rl_error *err)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	struct map_helper h[2];
	map_helper_init(&h[0], NEWUIDMAP, SUBUID_PATH, pid, m->uid, &m->subuid);
	map_helper_init(&h[1], NEWGIDMAP, SUBGID_PATH, pid, m->gid, &m->subgid);

	/* Both setuid helpers start before either is waited for: they are
	 * independent and each costs a fork+exec of a setuid binary. */
	int r = rl_helper_start(&h[0].run, h[0].argv, envp, err);
	if (r < 0)
		return r;
	r = rl_helper_start(&h[1].run, h[1].argv, envp, err);
	rl_helper_finish(&h[0].run);
	if (r < 0)
		return r;
	rl_helper_finish(&h[1].run);
	for (int i = 0; i < 2; i++)
		if (!rl_helper_ok(&h[i].run) && !map_written(pid, i == 0 ? "uid_map" : "gid_map"))
			return map_helper_error(&h[i], err);
	return 0;
}

/* rlbpfd writes the maps when it runs (agent/idmap_writer.h), with
 * newuidmap's checks and no setuid helper: 1 when it did, 0 when it could
 * not (the helpers then), or its refusal of the map. */
static int apply_agent(const struct rl_idmap *m, struct rl_agent_conn *agent, pid_t pid,
		       struct rl_error *err)
{
	struct rl_msg_idmap req = {.pid = (uint32_t)pid, .n_uid = 2, .n_gid = 2};
	req.uid[0] = (struct rl_idmap_line){0, m->uid, 1};
	req.uid[1] = (struct rl_idmap_line){1, m->subuid.start, m->subuid.count};
	req.gid[0] = (struct rl_idmap_line){0, m->gid, 1};
	req.gid[1] = (struct rl_idmap_line){1, m->subgid.start, m->subgid.count};
	char why[RL_MSG_TEXT + 64];
	struct rl_msg reply;
	int r = rl_agent_request(agent, RL_MSG_IDMAP, &req, sizeof(req), &reply, 3000, why,
				 sizeof(why));
	if (r == 0)
		return 1;
	/* only a refusal of the map itself is final; an agent that is absent,
	 * busy, older or cannot write this namespace leaves it to the helpers */
	if (r != -EPERM)
		return 0;
	return rl_fail(err, -r, "rlbpfd refused the user namespace map of process %d: %s; check %s "
		       "and %s with 'rlbpf setup'", (int)pid, why, SUBUID_PATH, SUBGID_PATH);
}

struct rl_agent_conn *rl_idmap_connect(const struct rl_idmap *m)
{
	char why[RL_MSG_TEXT];
	struct rl_agent_conn *c = m->single ? NULL : malloc(sizeof(*c));
	if (c && rl_agent_connect(RL_AGENT_SOCKET, c, why, sizeof(why)) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

void rl_idmap_disconnect(struct rl_agent_conn *agent)
{
	if (!agent)
		return;
	rl_agent_close(agent);
	free(agent);
}

int rl_idmap_apply_on(const struct rl_idmap *m, struct rl_agent_conn *agent, pid_t pid,
		      struct rl_error *err)
{
	if (pid <= 0)
		return rl_fail(err, EINVAL, "idmap: invalid pid %d", (int)pid);
	if (m->single)
		return apply_single(m, pid, err);
	int r = agent ? apply_agent(m, agent, pid, err) : 0;
	return r != 0 ? (r < 0 ? r : 0) : apply_helpers(m, pid, err);
}

int rl_idmap_apply(const struct rl_idmap *m, pid_t pid, struct rl_error *err)
{
	struct rl_agent_conn *agent = pid > 0 ? rl_idmap_connect(m) : NULL;
	int r = rl_idmap_apply_on(m, agent, pid, err);
	rl_idmap_disconnect(agent);
	return r;
}

static uint32_t host_id(uint32_t caller, bool single, const struct rl_id_range *r, uint32_t id)
{
	if (id == 0)
		return caller;
	if (single || id - 1 >= r->count)
		return (uint32_t)-1;
	return r->start + (id - 1);
}

uid_t rl_idmap_host_uid(const struct rl_idmap *m, uid_t container_uid)
{
	return (uid_t)host_id(m->uid, m->single, &m->subuid, container_uid);
}

gid_t rl_idmap_host_gid(const struct rl_idmap *m, gid_t container_gid)
{
	return (gid_t)host_id(m->gid, m->single, &m->subgid, container_gid);
}
