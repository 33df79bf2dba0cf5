/* The Docker-shaped description of a container (inspect_doc.h). */
#include "supervise/inspect_doc.h"

#include <limits.h>
#include <stdio.h>

static json_t *get_or(json_t *obj, const char *key, json_t *fallback)
{
	json_t *v = json_object_get(obj, key);
	if (v) {
		json_decref(fallback);
		return json_incref(v);
	}
	return fallback;
}

/* How each limit is kept for this container, as decided when it started:
 * "agent-cgroup" (cgroups rlbpfd made: the kernel's controllers), "cgroup2"
 * (the user's delegated controller), "ebpf" (rlbpfd's in-kernel
 * accounting), "none" (--memory-enforce=none), or "no limit set". */
static json_t *enforcement(json_t *config)
{
	json_t *host_config = json_object_get(config, "HostConfig");
	json_t *chosen = json_object_get(config, "Enforcement");
	const char *memory = json_string_value(json_object_get(chosen, "Memory"));
	const char *pids = json_string_value(json_object_get(chosen, "Pids"));
	const char *cpu = json_string_value(json_object_get(chosen, "Cpu"));
	bool cpus = json_integer_value(json_object_get(host_config, "NanoCpus")) > 0;
	return json_pack("{s:s, s:s, s:s}", "Memory", memory && *memory ? memory : "no limit set",
			 "Cpu", cpu && *cpu ? cpu
				: cpus ? "not enforced: no cpu cgroup of rlbpfd's (is it running?)"
				       : "no limit set",
			 "Pids", pids && *pids ? pids : "no limit set");
}

/* Docker's NetworkSettings: the published ports while running (the same
 * shape as HostConfig.PortBindings, with 0.0.0.0 for "all addresses"), and
 * the network mode. */
static json_t *network_settings(json_t *host_config, bool running)
{
	json_t *ports = json_object();
	const char *key;
	json_t *list;
	json_object_foreach(json_object_get(host_config, "PortBindings"), key, list) {
		json_t *out = json_array();
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			json_array_append_new(out, json_pack("{s:s, s:O}", "HostIp",
							     ip && ip[0] ? ip : "0.0.0.0", "HostPort",
							     json_object_get(b, "HostPort")));
		}
		json_object_set_new(ports, key, running ? out : json_null());
		if (!running)
			json_decref(out);
	}
	const char *mode = json_string_value(json_object_get(host_config, "NetworkMode"));
	return json_pack("{s:o, s:s}", "Ports", ports, "NetworkMode", mode ? mode : "none");
}

json_t *rl_inspect_doc(const struct rl_state *st, json_t *config, const struct rl_status *s)
{
	char name[sizeof(st->name) + 1];
	snprintf(name, sizeof(name), "/%s", st->name);
	char log_path[PATH_MAX + 16];
	snprintf(log_path, sizeof(log_path), "%s/container.log", st->dir);
	json_t *host_config = json_object_get(config, "HostConfig");
	bool running = s->state == RL_RUNNING;
	return json_pack(
		"{s:s, s:o, s:o, s:o,"
		" s:{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s},"
		" s:o, s:s, s:s, s:i, s:o, s:o, s:o,"
		" s:{s:s, s:o, s:s, s:i, s:o}}",
		"Id", st->id, "Created", get_or(config, "Created", json_string("")),
		"Path", get_or(config, "Path", json_string("")),
		"Args", get_or(config, "Args", json_array()),
		"State", "Status", rl_run_state_name(s->state), "Running", running, "Paused", false,
		"Restarting", false, "OOMKilled", s->oom_killed, "Dead", false, "Pid",
		running ? (int)s->pid : 0, "ExitCode", s->exit_code, "Error", s->error, "StartedAt",
		s->started_at[0] ? s->started_at : "0001-01-01T00:00:00Z", "FinishedAt",
		s->finished_at[0] ? s->finished_at : "0001-01-01T00:00:00Z",
		"Image", get_or(config, "ImageID", json_string("")), "Name", name, "LogPath", log_path,
		"RestartCount", 0, "HostConfig", get_or(config, "HostConfig", json_object()),
		"NetworkSettings", network_settings(host_config, running),
		"Config", get_or(config, "Config", json_object()),
		"Rlbpf", "StateDir", st->dir, "Rootfs", get_or(config, "Rootfs", json_string("")),
		"Runtime", "rlbpf (rootless; user, mount, pid, uts, ipc and net namespaces)",
		"SupervisorPid", running ? (int)s->supervisor : 0, "Enforcement",
		enforcement(config));
}
