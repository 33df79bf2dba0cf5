/* /_ping, /version and /info. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/api.h"
#include "image/store.h"
#include "proto/agent_client.h"
#include "supervise/state.h"
#include "supervise/status.h"

static json_t *version_doc(void)
{
	struct utsname u;
	uname(&u);
	return json_pack("{s:{s:s},s:[{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s}}],s:s,s:s,s:s,s:s,s:s,"
			 "s:s,s:s,s:s}",
			 "Platform", "Name", "rlbpf",
			 "Components", "Name", "Engine", "Version", "0.1.0", "Details",
			 "ApiVersion", RL_API_VERSION, "MinAPIVersion", RL_API_MIN_VERSION, "Os",
			 "linux", "Arch", "amd64", "KernelVersion", u.release, "Experimental", "false",
			 "Version", "0.1.0", "ApiVersion", RL_API_VERSION,
			 "MinAPIVersion", RL_API_MIN_VERSION, "Os", "linux", "Arch", "amd64",
			 "KernelVersion", u.release, "GitCommit", "", "GoVersion", "");
}

struct counts {
	int all, running, stopped;
};

static int count(const struct rl_state *st, void *ctx)
{
	struct counts *c = ctx;
	struct rl_status s;
	struct rl_error ignored;
	if (rl_status_read(st, &s, &ignored) < 0)
		return 0;
	c->all++;
	if (s.state == RL_RUNNING)
		c->running++;
	else
		c->stopped++;
	return 0;
}

static json_t *info_doc(void)
{
	struct utsname u;
	struct counts c = {0};
	struct rl_error ignored;
	char host[256] = "", why[300];
	size_t n_images = 0;
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	rl_state_each(count, &c, &ignored);
	struct rl_store store;
	struct rl_store_image *images = NULL;
	if (rl_store_open(&store, &ignored) == 0 &&
	    rl_store_list(&store, &images, &n_images, &ignored) == 0)
		rl_store_list_free(images, n_images);
	json_t *warnings = json_array();
	/* limits and tracing need the agent: said here, as `rlbpf info` says it */
	if (rl_agent_ping(why, sizeof(why)) < 0)
		json_array_append_new(warnings,
				      json_sprintf("WARNING: rlbpfd %s. Until it runs, --memory, "
						   "--pids-limit and --cpus are refused and nothing is "
						   "traced", why));
	return json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:s,s:[],s:b,s:b,s:s,s:s,s:s,s:s,s:i,s:I,"
			 "s:s,s:s,s:o,s:[s,s],s:s,s:s}",
			 "ID", "rlbpf", "Containers", c.all, "ContainersRunning", c.running,
			 "ContainersPaused", 0, "ContainersStopped", c.stopped, "Images",
			 (int)n_images, "Driver", "overlay", "DriverStatus", "MemoryLimit", 1,
			 "SwapLimit", 0, "KernelVersion", u.release, "OperatingSystem", "rlbpf",
			 "OSType", "linux", "Architecture", u.machine, "NCPU",
			 (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal",
			 (json_int_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGE_SIZE), "Name", host,
			 "ServerVersion", "0.1.0", "Warnings", warnings, "SecurityOptions",
			 "name=seccomp,profile=builtin", "name=rootless", "CgroupDriver", "none",
			 "CgroupVersion", "1");
}

bool rl_api_system(const struct rl_api_request *r, struct rl_api_reply *out)
{
	if (!strcmp(r->path, "/_ping")) {
		if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
			return false;
		*out = (struct rl_api_reply){.status = 200, .text = "OK"};
	} else if (!strcmp(r->path, "/version") && !strcmp(r->method, "GET")) {
		*out = (struct rl_api_reply){.status = 200, .body = version_doc()};
	} else if (!strcmp(r->path, "/info") && !strcmp(r->method, "GET")) {
		*out = (struct rl_api_reply){.status = 200, .body = info_doc()};
	} else {
		return false;
	}
	return true;
}
