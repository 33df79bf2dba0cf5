#include "api/create_args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(struct rl_api_args *a, const char *s)
{
	if (a->n < RL_API_MAX_ARGS)
		a->v[a->n++] = (char *)s;
	else
		a->full = true;
}

static void addf(struct rl_api_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct rl_api_args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || a->n_owned >= RL_API_MAX_ARGS) {
		free(s);
		a->full = true;
		return;
	}
	a->owned[a->n_owned++] = s;
	add(a, s);
}

void rl_api_args_free(struct rl_api_args *a)
{
	for (size_t i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
}

/* Each string of a JSON array, after opt (when not NULL). false when it is
 * not an array of strings (null counts as empty). */
static bool strings(struct rl_api_args *a, json_t *v, const char *opt)
{
	size_t i;
	json_t *s;
	if (json_is_null(v) || !v)
		return true;
	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return false;
		if (opt)
			add(a, opt);
		add(a, json_string_value(s));
	}
	return true;
}

static bool is_set(json_t *v)
{
	return v && !json_is_null(v) && !(json_is_false(v)) &&
	       !(json_is_integer(v) && json_integer_value(v) == 0) &&
	       !(json_is_string(v) && !json_string_value(v)[0]) &&
	       !((json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)));
}

bool rl_api_create_args(json_t *req, const char *name, struct rl_api_args *a, json_t *warnings,
			char *why, size_t len)
{
	json_t *hc = json_object_get(req, "HostConfig");
	const char *image = json_string_value(json_object_get(req, "Image"));
	add(a, "create");
	/* never: a missing image is a 404, and the client pulls it through
	 * /images/create, with its own credentials and progress */
	add(a, "--pull");
	add(a, "never");
	if (!image || !image[0])
		return snprintf(why, len, "Image: a name is needed"), false;
	if (name && name[0]) {
		add(a, "--name");
		add(a, name);
	}
	if (json_is_true(json_object_get(req, "Tty")))
		add(a, "-t");
	/* AttachStdin and StdinOnce are the attach's: a pipe's input is
	 * given to the first attach, whose end of input is the container's. */
	if (json_is_true(json_object_get(req, "OpenStdin")))
		add(a, "-i");
	/* A string (the old API's form) or an array; [""] clears the image's. */
	json_t *entrypoint = json_object_get(req, "Entrypoint");
	json_t *first = json_is_string(entrypoint) ? entrypoint : json_array_get(entrypoint, 0);
	struct rl_api_args checked = {0};
	if (entrypoint && !json_is_string(entrypoint) && !strings(&checked, entrypoint, NULL))
		return snprintf(why, len, "Entrypoint: an array of strings is needed"), false;
	if (first)
		add(a, "--entrypoint"), add(a, json_string_value(first));
	/* KEY alone would be given the service's own value by rlbpf -e */
	json_t *env = json_object_get(req, "Env"), *var;
	size_t k;
	json_array_foreach(env, k, var)
		if (json_is_string(var) && !strchr(json_string_value(var), '='))
			return snprintf(why, len, "Env: \"%s\" needs a value: KEY=VALUE",
					json_string_value(var)), false;
	if (!strings(a, env, "-e"))
		return snprintf(why, len, "Env: an array of strings is needed"), false;
	const char *s;
	if ((s = json_string_value(json_object_get(req, "WorkingDir"))) && s[0])
		add(a, "-w"), add(a, s);
	if ((s = json_string_value(json_object_get(req, "User"))) && s[0])
		add(a, "-u"), add(a, s);
	if ((s = json_string_value(json_object_get(req, "Hostname"))) && s[0])
		add(a, "--hostname"), add(a, s);
	if (is_set(json_object_get(req, "Labels")))
		json_array_append_new(warnings, json_string("Labels are not kept by rlbpf"));
	/* The supervisor removes it, once attach and wait have read it. */
	if (json_is_true(json_object_get(hc, "AutoRemove")))
		add(a, "--rm");
	json_int_t height = 0, width = 0;
	json_t *console = json_object_get(hc, "ConsoleSize");
	if (console && !json_is_null(console) &&
	    (json_unpack(console, "[II!]", &height, &width) < 0 || height < 0 || width < 0 ||
	     height > 65535 || width > 65535))
		return snprintf(why, len, "HostConfig.ConsoleSize: [height, width] from 0 to "
				"65535 is needed"), false;
	if (height && width && json_is_true(json_object_get(req, "Tty")))
		add(a, "--tty-size"), addf(a, "%lldx%lld", (long long)height, (long long)width);
	json_t *ports = json_object_get(hc, "PortBindings"), *list, *b;
	const char *key;
	size_t i;
	json_object_foreach(ports, key, list) {
		json_array_foreach(list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *port = json_string_value(json_object_get(b, "HostPort"));
			add(a, "-p");
			addf(a, "%s%s%s:%s", ip && ip[0] ? ip : "", ip && ip[0] ? ":" : "",
			     port && port[0] ? port : "0", key);
		}
	}
	if (!strings(a, json_object_get(hc, "Binds"), "-v") ||
	    !strings(a, json_object_get(hc, "CapAdd"), "--cap-add") ||
	    !strings(a, json_object_get(hc, "CapDrop"), "--cap-drop") ||
	    !strings(a, json_object_get(hc, "SecurityOpt"), "--security-opt"))
		return snprintf(why, len, "HostConfig: Binds, CapAdd, CapDrop and SecurityOpt take "
				"arrays of strings"), false;
	json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
	json_int_t swap = json_integer_value(json_object_get(hc, "MemorySwap"));
	json_int_t pids = json_integer_value(json_object_get(hc, "PidsLimit"));
	json_int_t cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
	if (mem < 0 || pids < -1 || cpus < 0)
		return snprintf(why, len, "HostConfig: Memory, PidsLimit and NanoCpus cannot be "
				"negative"), false;
	if (mem)
		add(a, "--memory"), addf(a, "%lld", (long long)mem);
	if (swap > 0 && swap != mem && !(swap % 2 == 0 && swap / 2 == mem))
		json_array_append_new(warnings, json_string("MemorySwap is not kept: rlbpf's "
							    "--memory counts memory and swap alike"));
	if (pids > 0)
		add(a, "--pids-limit"), addf(a, "%lld", (long long)pids);
	if (cpus)
		add(a, "--cpus"), addf(a, "%.3f", (double)cpus / 1e9);
	if (json_is_true(json_object_get(hc, "ReadonlyRootfs")))
		add(a, "--read-only");
	if (json_is_true(json_object_get(hc, "Init")))
		add(a, "--init");
	if (json_is_true(json_object_get(hc, "Privileged")))
		return snprintf(why, len, "--privileged is not for rootless containers"), false;
	const char *net = json_string_value(json_object_get(hc, "NetworkMode"));
	if (net && net[0] && strcmp(net, "default") && strcmp(net, "bridge"))
		add(a, "--network"), add(a, net);
	static const char *const ignored[] = {"Devices", "Dns", "ExtraHosts", "Ulimits",
					      "RestartPolicy", "VolumesFrom", "Links"};
	for (size_t k = 0; k < sizeof(ignored) / sizeof(ignored[0]); k++) {
		json_t *v = json_object_get(hc, ignored[k]);
		if (!strcmp(ignored[k], "RestartPolicy"))
			v = json_object_get(v, "Name");
		if (is_set(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "no")))
			json_array_append_new(warnings, json_sprintf("HostConfig.%s is not kept by "
								     "rlbpf", ignored[k]));
	}
	add(a, "--");
	add(a, image);
	/* The entrypoint's own arguments come before Cmd. */
	for (size_t k = 1; k < json_array_size(entrypoint); k++)
		add(a, json_string_value(json_array_get(entrypoint, k)));
	if (!strings(a, json_object_get(req, "Cmd"), NULL))
		return snprintf(why, len, "Cmd: an array of strings is needed"), false;
	if (a->full)
		return snprintf(why, len, "too many arguments"), false;
	return true;
}

