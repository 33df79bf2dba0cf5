/* The agent's container table and its file (agent_registry.h). The file is
 * the agent's own, in a root-only directory; it is still parsed strictly,
 * and every entry is checked against /proc before it is believed. */
#include "agent/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"

uint32_t rl_idmap_up(const struct rl_idmap_table *t, uint32_t host)
{
	for (unsigned i = 0; i < t->n; i++) {
		const struct rl_idmap_ext *e = &t->ext[i];
		if (host >= e->host_first && host - e->host_first < e->count)
			return e->ns_first + (host - e->host_first);
	}
	return RL_ID_UNMAPPED;
}

int rl_idmap_parse(const char *text, struct rl_idmap_table *t)
{
	const char *p = text;
	t->n = 0;
	while (*p && t->n < RL_MAP_EXTENTS) {
		unsigned long a, b, c;
		char *end;
		a = strtoul(p, &end, 10);
		if (end == p)
			break;
		p = end;
		b = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
		c = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
		if (a > UINT32_MAX || b > UINT32_MAX || c > UINT32_MAX)
			return -EINVAL;
		t->ext[t->n++] = (struct rl_idmap_ext){(uint32_t)a, (uint32_t)b, (uint32_t)c};
		while (*p == '\n' || *p == ' ')
			p++;
	}
	return 0;
}

struct rl_reg_entry *rl_registry_find(struct rl_registry *r, uint64_t cid)
{
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++)
		if (r->e[i].used && r->e[i].cid == cid)
			return &r->e[i];
	return NULL;
}

struct rl_reg_entry *rl_registry_find_id(struct rl_registry *r, const char *id)
{
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++)
		if (r->e[i].used && !strncmp(r->e[i].id, id, RL_ID_LEN))
			return &r->e[i];
	return NULL;
}

struct rl_reg_entry *rl_registry_add(struct rl_registry *r)
{
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++)
		if (!r->e[i].used) {
			memset(&r->e[i], 0, sizeof(r->e[i]));
			r->e[i].used = true;
			return &r->e[i];
		}
	return NULL;
}

size_t rl_registry_count_owner(const struct rl_registry *r, uid_t owner)
{
	size_t n = 0;
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++)
		n += r->e[i].used && r->e[i].owner == owner;
	return n;
}

static int read_small(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

int rl_registry_read_maps(int procfd, struct rl_reg_entry *e)
{
	char buf[4096];
	int r = read_small(procfd, "uid_map", buf, sizeof(buf));
	if (r == 0)
		r = rl_idmap_parse(buf, &e->uid_map);
	if (r == 0)
		r = read_small(procfd, "gid_map", buf, sizeof(buf));
	if (r == 0)
		r = rl_idmap_parse(buf, &e->gid_map);
	return r;
}

int rl_registry_save(const struct rl_registry *r)
{
	char tmp[] = RL_REGISTRY_FILE ".XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "next %" PRIu64 "\n", r->next_cid);
	for (size_t i = 0; i < RL_MAX_CONTAINERS; i++) {
		const struct rl_reg_entry *e = &r->e[i];
		if (e->used)
			fprintf(f, "c %" PRIu64 " %u %d %" PRIu64 " %" PRIu64 " %s %s\n", e->cid,
				(unsigned)e->owner, (int)e->init_pid, e->userns_ino, e->lost_seen,
				e->id, e->name);
		if (e->used && (e->cg.memory || e->cg.pids || e->cg.cpu_millis || e->cg.account))
			fprintf(f, "g %" PRIu64 " %" PRIu64 " %u %u %d\n", e->cid, e->cg.memory,
				e->cg.pids, e->cg.cpu_millis, e->cg.account);
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, RL_REGISTRY_FILE) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

void rl_registry_load(struct rl_registry *r)
{
	_cleanup_fclose_ FILE *f = fopen(RL_REGISTRY_FILE, "re");
	char line[512];
	memset(r, 0, sizeof(*r));
	r->next_cid = 1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct rl_reg_entry e = {.used = true};
		char id[RL_ID_LEN + 1], name[RL_NAME_LEN];
		unsigned owner;
		int pid;
		uint64_t next;
		if (sscanf(line, "next %" SCNu64, &next) == 1) {
			if (next > r->next_cid)
				r->next_cid = next;
			continue;
		}
		struct rl_cg_limits cg = {0};
		uint64_t cid;
		int account = 0;
		if (sscanf(line, "g %" SCNu64 " %" SCNu64 " %u %u %d", &cid, &cg.memory, &cg.pids,
			   &cg.cpu_millis, &account) >= 4) {
			cg.account = account != 0;
			/* after its entry's line; an entry dropped takes it along */
			struct rl_reg_entry *owner = rl_registry_find(r, cid);
			if (owner)
				owner->cg = cg;
			continue;
		}
		if (sscanf(line, "c %" SCNu64 " %u %d %" SCNu64 " %" SCNu64 " %71s %127s", &e.cid,
			   &owner, &pid, &e.userns_ino, &e.lost_seen, id, name) != 7)
			continue;
		if (strlen(id) != 64 || pid <= 0)
			continue;
		memcpy(e.id, id, 65);
		if (!rl_proto_valid_id(e.id))
			continue;
		e.owner = owner;
		e.init_pid = pid;
		snprintf(e.name, sizeof(e.name), "%s", name);
		/* the init must still be the same process: same user namespace */
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d", pid);
		_cleanup_close_ int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (procfd < 0 || fstatat(procfd, "ns/user", &st, 0) < 0 ||
		    st.st_ino != e.userns_ino || rl_registry_read_maps(procfd, &e) < 0)
			continue;
		struct rl_reg_entry *slot = rl_registry_add(r);
		if (slot)
			*slot = e;
		if (e.cid >= r->next_cid)
			r->next_cid = e.cid + 1;
	}
}
