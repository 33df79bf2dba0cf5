/* Registration with rlbpfd (agent.h). */
#include "oci/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/memsize.h"
#include "oci/oom_watch.h"
#include "proto/agent_client.h"
#include "proto/agent_proto.h"

void rl_oci_agent_id(const char *id, char out[65])
{
	size_t n = strlen(id);
	bool hex = n == 64;
	for (size_t i = 0; hex && i < n; i++)
		hex = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
	if (hex) {
		memcpy(out, id, 65);
		return;
	}
	/* four FNV-1a hashes of the id with different seeds: stable across
	 * calls, and distinct for the ids one user runs */
	for (int k = 0; k < 4; k++) {
		uint64_t h = 1469598103934665603ULL ^ (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL;
		for (const char *p = id; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		snprintf(out + 16 * k, 17, "%016" PRIx64, h);
	}
}

static const char *annotation(const struct rl_oci_spec *s, const char *key)
{
	json_t *v = json_object_get(json_object_get(s->json, "annotations"), key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Limits from linux.resources, or else the io.rlbpf.* annotations. */
static int limits_of(const struct rl_oci_spec *s, struct rl_register_limits *l,
		     struct rl_error *err)
{
	memset(l, 0, sizeof(*l));
	l->mem_cap_bytes = s->resources.memory;
	l->pids_limit = s->resources.pids > 0 && s->resources.pids < UINT32_MAX ? (uint32_t)s->resources.pids : 0;
	if (s->resources.cpu_quota > 0) {
		uint64_t period = s->resources.cpu_period ? s->resources.cpu_period : 100000;
		l->cpu_millis = (uint32_t)((uint64_t)s->resources.cpu_quota * 1000 / period);
	}
	const char *mem = annotation(s, "io.rlbpf.memory"), *pids = annotation(s, "io.rlbpf.pids-limit");
	const char *cpus = annotation(s, "io.rlbpf.cpus");
	if (mem && !l->mem_cap_bytes && rl_memsize_parse(mem, 0, &l->mem_cap_bytes, err) < 0)
		return rl_fail(err, EINVAL, "annotation io.rlbpf.memory: %s", err->msg);
	if (pids && !l->pids_limit) {
		char *end;
		long v = strtol(pids, &end, 10);
		if (*pids == '\0' || *end || v < 1 || v > 4194304)
			return rl_fail(err, EINVAL, "annotation io.rlbpf.pids-limit must be a whole number "
				       "from 1 to 4194304, not %s", pids);
		l->pids_limit = (uint32_t)v;
	}
	if (cpus && !l->cpu_millis) {
		char *end;
		double v = strtod(cpus, &end);
		if (*cpus == '\0' || *end || v < 0.01 || v > 1024)
			return rl_fail(err, EINVAL, "annotation io.rlbpf.cpus must be a number of CPUs "
				       "such as 0.5, not %s", cpus);
		l->cpu_millis = (uint32_t)(v * 1000 + 0.5);
	}
	return 0;
}

int rl_oci_agent_register(const struct rl_oci_spec *s, struct rl_oci_state *st, bool own_cgroups,
			  struct rl_error *err)
{
	struct rl_register_limits l;
	int r = limits_of(s, &l, err);
	if (r < 0)
		return r;
	bool memory = l.mem_cap_bytes != 0;
	if (own_cgroups)
		l = (struct rl_register_limits){.flags = RL_REG_OWN_CGROUP};
	bool limited = l.mem_cap_bytes || l.pids_limit || l.cpu_millis;
	char path[64], why[300], agent_id[65];
	struct stat ns;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", st->pid);
	if (stat(path, &ns) < 0)
		return rl_fail_errno(err, errno, "cannot see the container's user namespace");
	rl_oci_agent_id(st->id, agent_id);
	struct rl_register_result got = {0};
	r = rl_agent_register(agent_id, st->id, st->pid, ns.st_ino, &l, &got, why, sizeof(why));
	if (r < 0 && limited)
		return rl_fail(err, -r, "the limits of this container need rlbpfd, which %s", why);
	st->agent_limits = r == 0 && limited;
	const char *manager = annotation(s, "io.container.manager");
	if (r == 0 && memory && manager && strcmp(manager, "libpod") == 0)
		rl_oci_oom_watch(st->pid, st->bundle, agent_id);
	return 0;
}
