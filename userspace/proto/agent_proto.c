/* The agent protocol's codec (see agent_proto.h for the format). Both ends
 * decode with this code, and the agent treats every client as hostile: the
 * decoder reads only inside the bytes it was given, copies payloads into a
 * fixed-size struct, and refuses anything that is not exactly well formed. */
#include "proto/agent_proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

int rl_proto_valid_id(const char *s)
{
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	for (size_t i = 64; i < RL_ID_LEN; i++)
		if (s[i])
			return 0;
	return 1;
}

/* A name as rlbpf makes them: printable ASCII without spaces, not empty. */
static bool valid_name(const char *s, size_t len)
{
	if (!terminated(s, len) || !s[0])
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

static bool valid_event(const void *p, size_t len)
{
	const struct rl_event_meta *m = p;
	struct rl_event_header h;

	if (len < RL_EVENT_MSG_MIN || len > RL_EVENT_MSG_MAX)
		return false;
	if (!terminated(m->id, sizeof(m->id)) || !terminated(m->name, sizeof(m->name)))
		return false;
	memcpy(&h, (const char *)p + sizeof(*m), sizeof(h));
	if (h.type == 0 || h.type > RL_EV_MAX || h.size != len - sizeof(*m))
		return false;
	return true;
}

static bool valid_payload(uint16_t type, const void *p, size_t len)
{
	switch (type) {
	case RL_MSG_REGISTER: {
		const struct rl_msg_register *r = p;
		return len == sizeof(*r) && !(r->flags & ~RL_REG_FLAGS) &&
		       (r->flags & (RL_REG_EBPF | RL_REG_CGROUP)) != (RL_REG_EBPF | RL_REG_CGROUP) &&
		       r->cpu_millis <= RL_CPU_MILLIS_MAX &&
		       r->init_pid > 0 &&
		       (r->mem_cap_bytes == 0 || r->mem_cap_bytes >= RL_MEM_CAP_MIN) &&
		       r->pids_limit <= RL_PIDS_LIMIT_MAX &&
		       r->init_pid <= (1u << 22) && rl_proto_valid_id(r->id) &&
		       valid_name(r->name, sizeof(r->name));
	}
	case RL_MSG_SUBSCRIBE: {
		const struct rl_msg_subscribe *s = p;
		if (len < RL_SUBSCRIBE_SIZE(0))
			return false;
		if ((s->flags & ~RL_SUB_FLAGS) || s->pad || s->n_ids > RL_SUB_MAX_IDS ||
		    len != RL_SUBSCRIBE_SIZE(s->n_ids))
			return false;
		if (s->event_mask & ~(((1u << (RL_EV_MAX + 1)) - 1) & ~1u))
			return false;
		for (uint32_t i = 0; i < s->n_ids; i++)
			if (!rl_proto_valid_id(s->ids[i]))
				return false;
		return true;
	}
	case RL_MSG_STATS:
		return len == sizeof(struct rl_msg_stats) &&
		       rl_proto_valid_id(((const struct rl_msg_stats *)p)->id);
	case RL_MSG_JOIN: {
		const struct rl_msg_join *j = p;
		return len == sizeof(*j) && j->pad == 0 && j->pid > 0 && j->pid <= (1u << 22) &&
		       rl_proto_valid_id(j->id);
	}
	case RL_MSG_IDMAP: {
		const struct rl_msg_idmap *m = p;
		if (len != sizeof(*m) || m->pad || m->pid == 0 || m->pid > (1u << 22) || m->n_uid == 0 ||
		    m->n_gid == 0 || m->n_uid > RL_IDMAP_MAX_LINES || m->n_gid > RL_IDMAP_MAX_LINES)
			return false;
		for (int k = 0; k < 2; k++) {
			const struct rl_idmap_line *l = k ? m->gid : m->uid;
			uint32_t n = k ? m->n_gid : m->n_uid;
			for (uint32_t i = 0; i < RL_IDMAP_MAX_LINES; i++) {
				bool used = i < n;
				/* used lines map something that fits; the rest are zero */
				if (used ? (l[i].count == 0 || (uint64_t)l[i].inner + l[i].count > UINT32_MAX ||
					    (uint64_t)l[i].outer + l[i].count > UINT32_MAX)
					 : (l[i].inner || l[i].outer || l[i].count))
					return false;
			}
		}
		return true;
	}
	case RL_MSG_REPLY:
		return len == sizeof(struct rl_msg_reply) &&
		       terminated(((const struct rl_msg_reply *)p)->text, RL_MSG_TEXT);
	case RL_MSG_STATS_REPLY: {
		const struct rl_msg_stats_reply *s = p;
		return len == sizeof(*s) && terminated(s->id, sizeof(s->id)) &&
		       terminated(s->name, sizeof(s->name));
	}
	case RL_MSG_EVENT:
		return valid_event(p, len);
	default:
		return false;
	}
}

int rl_proto_decode(const void *buf, size_t len, struct rl_msg *out)
{
	struct rl_msg_hdr h;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != RL_PROTO_MAGIC)
		return -EPROTO;
	if (h.version != RL_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (h.len > RL_PROTO_MAX_PAYLOAD || h.len > sizeof(out->u))
		return -EMSGSIZE;
	if (len - sizeof(h) < h.len)
		return 0;
	/* the payload is copied before it is checked, into a zeroed union: the
	 * checks then read only what the peer sent, never past it */
	memset(out, 0, sizeof(*out));
	out->hdr = h;
	memcpy(&out->u, (const char *)buf + sizeof(h), h.len);
	if (!valid_payload(h.type, &out->u, h.len))
		return -EBADMSG;
	return (int)(sizeof(h) + h.len);
}

int rl_proto_encode(void *buf, size_t cap, uint16_t type, uint32_t seq,
		    const void *payload, size_t len)
{
	struct rl_msg_hdr h = {
		.magic = RL_PROTO_MAGIC,
		.version = RL_PROTO_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.seq = seq,
	};

	if (len > RL_PROTO_MAX_PAYLOAD || sizeof(h) + len > cap)
		return -EMSGSIZE;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((char *)buf + sizeof(h), payload, len);
	return (int)(sizeof(h) + len);
}

static const char *const names[RL_EV_MAX + 1] = {
	[RL_EV_EXEC] = "exec",
	[RL_EV_SETID] = "setuid",
	[RL_EV_IDMAP] = "idmap",
	[RL_EV_BIND_DENIED] = "bind_denied",
	[RL_EV_BIND_GRANTED] = "bind_granted",
	[RL_EV_MEM_PRESSURE] = "mem_pressure",
	[RL_EV_OOM_KILL] = "oom_kill",
	[RL_EV_EXIT] = "exit",
	[RL_EV_LOST] = "lost",
};

static const char *const groups[RL_EV_MAX + 1] = {
	[RL_EV_EXEC] = "exec",
	[RL_EV_SETID] = "setuid",
	[RL_EV_IDMAP] = "idmap",
	[RL_EV_BIND_DENIED] = "bind",
	[RL_EV_BIND_GRANTED] = "bind",
	[RL_EV_MEM_PRESSURE] = "mem",
	[RL_EV_OOM_KILL] = "oom",
	[RL_EV_EXIT] = "exit",
};

const char *rl_event_name(uint32_t type)
{
	return type <= RL_EV_MAX ? names[type] : NULL;
}

const char *rl_event_group(uint32_t type)
{
	return type <= RL_EV_MAX ? groups[type] : NULL;
}

const char *rl_enforcer_name(uint32_t enforcer)
{
	switch (enforcer) {
	case RL_ENFORCER_EBPF: return "ebpf";
	case RL_ENFORCER_AGENT_CGROUP: return "agent-cgroup";
	case RL_ENFORCER_CGROUP2: return "cgroup2";
	default: return "none";
	}
}

int rl_event_mask_parse(const char *list, uint32_t *mask, char *bad, size_t badlen)
{
	const char *p = list;
	uint32_t m = 0;

	for (;;) {
		size_t n = strcspn(p, ",");
		bool found = false;

		for (uint32_t t = 1; t <= RL_EV_MAX && n; t++) {
			if (groups[t] && strlen(groups[t]) == n && !strncmp(groups[t], p, n)) {
				m |= 1u << t;
				found = true;
			}
		}
		if (!found) {
			snprintf(bad, badlen, "%.*s", (int)(n < 64 ? n : 64), p);
			return -EINVAL;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	*mask = m;
	return 0;
}
