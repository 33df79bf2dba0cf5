/* libFuzzer target for what rlbpf-api makes of a request before any
 * process runs: the path (version prefix, the container it names) and a
 * create's JSON body, whose every string may become an argument of rlbpf
 * create. The input is the path, a newline, then the body. Checks that
 * the arguments are what a command line can carry: as many as counted,
 * NULL-terminated, the image after "--" and no option after it that the
 * body did not name as a command. Build and run: make fuzz. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/create_args.h"

static void check_path(const char *path)
{
	static const char *const actions[] = {"", "json", "start", "attach", "wait", "resize",
					      "logs", "kill", "stop", "restart", "top", "exec"};
	const char *p = rl_api_strip_version(path);
	if (p < path || p > path + strlen(path))
		abort();
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		char ref[160];
		if (rl_api_container_ref(p, actions[i], ref, sizeof(ref)) &&
		    (!ref[0] || strchr(ref, '/') || strlen(ref) >= sizeof(ref)))
			abort();
	}
}

static void check_body(const char *body, size_t len)
{
	json_t *req = json_loadb(body, len, 0, NULL), *warnings = json_array();
	struct rl_api_args a = {0};
	if (json_is_object(req)) {
		char why[512];
		if (rl_api_create_args(req, "name", &a, warnings, why, sizeof(why))) {
			if (a.full || a.n > RL_API_MAX_ARGS || a.v[a.n] || strcmp(a.v[0], "create"))
				abort();
			size_t dashes = 0;
			while (dashes < a.n && strcmp(a.v[dashes], "--"))
				dashes++;
			/* the image follows "--", so no image is read as an option */
			if (dashes + 1 >= a.n)
				abort();
		} else if (!why[0] || !memchr(why, 0, sizeof(why))) {
			abort();
		}
	}
	rl_api_args_free(&a);
	json_decref(warnings);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *nl = memchr(copy, '\n', size);
	if (nl)
		*nl = '\0';
	check_path(copy);
	if (nl)
		check_body(nl + 1, size - (size_t)(nl + 1 - copy));
	free(copy);
	return 0;
}
