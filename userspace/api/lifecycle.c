/* Containers that change: create, start, wait, kill, stop, restart,
 * delete; and their processes (top). Each
 * runs this installation's rlbpf (rl_api_rlbpf), so the API and the CLI
 * keep one state. A create's body becomes rlbpf create's arguments; a
 * field rlbpf cannot honour is refused or named in Warnings. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "supervise/state.h"
#include "supervise/state_watch.h"
#include "supervise/status.h"

#define MAX_ARGS 512

struct args {
	char *v[MAX_ARGS + 1];
	size_t n;
	char *owned[MAX_ARGS];
	size_t n_owned;
	bool full;
};

static void add(struct args *a, const char *s)
{
	if (a->n < MAX_ARGS)
		a->v[a->n++] = (char *)s;
	else
		a->full = true;
}

static void addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s || a->n_owned >= MAX_ARGS) {
		free(s);
		a->full = true;
		return;
	}
	a->owned[a->n_owned++] = s;
	add(a, s);
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
}

/* Each string of a JSON array, after opt (when not NULL). false when it is
 * not an array of strings (null counts as empty). */
static bool strings(struct args *a, json_t *v, const char *opt)
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

/* The create body as rlbpf create's arguments; false with why for what
 * cannot be had. */
static bool create_args(json_t *req, const char *name, struct args *a, json_t *warnings,
			char *why, size_t len)
{
	json_t *hc = json_object_get(req, "HostConfig");
	const char *image = json_string_value(json_object_get(req, "Image"));
	add(a, "create");
	add(a, "--pull");
	add(a, "missing");
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
	struct args checked = {0};
	if (entrypoint && !json_is_string(entrypoint) && !strings(&checked, entrypoint, NULL))
		return snprintf(why, len, "Entrypoint: an array of strings is needed"), false;
	if (first)
		add(a, "--entrypoint"), add(a, json_string_value(first));
	if (!strings(a, json_object_get(req, "Env"), "-e"))
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
	if (swap > 0 && swap != mem && swap != 2 * mem)
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

static unsigned status_for(const char *why)
{
	if (strstr(why, "no such container") || strstr(why, "No such container"))
		return 404;
	if (strstr(why, "already in use") || strstr(why, "is taken"))
		return 409;
	return 500;
}

static void create(const struct rl_api_request *r, struct rl_api_reply *out)
{
	json_error_t jerr;
	json_t *req = json_loadb(r->body, r->body_len, 0, &jerr);
	if (!json_is_object(req)) {
		json_decref(req);
		return rl_api_error(out, 400, "the body is not a JSON object: %s", jerr.text);
	}
	struct args a = {0};
	json_t *warnings = json_array();
	char why[512], id[256];
	if (!create_args(req, r->query(r, "name"), &a, warnings, why, sizeof(why))) {
		rl_api_error(out, 400, "%s", why);
	} else if (rl_api_rlbpf(a.v, id, sizeof(id), why, sizeof(why)) != 0) {
		rl_api_error(out, strstr(why, "No such image") || strstr(why, "not found") ? 404
										       : status_for(why),
			     "%s", why[0] ? why : "rlbpf create failed");
	} else {
		*out = (struct rl_api_reply){.status = 201,
					     .body = json_pack("{s:s,s:O}", "Id", id, "Warnings",
							       warnings)};
	}
	json_decref(warnings);
	json_decref(req);
	args_free(&a);
}

static void simple(struct rl_api_reply *out, char *const args[], unsigned ok)
{
	char got[256], why[512];
	if (rl_api_rlbpf(args, got, sizeof(got), why, sizeof(why)) != 0)
		return rl_api_error(out, status_for(why), "%s", why[0] ? why : "rlbpf failed");
	*out = (struct rl_api_reply){.status = ok};
}

/* The containers whose last start failed, for their attach and wait. */
#define FAILED_STARTS 64
static pthread_mutex_t failed_lock = PTHREAD_MUTEX_INITIALIZER;
static char failed[FAILED_STARTS][72];
static unsigned failed_next;

static void start_failed(const char *id, bool yes)
{
	pthread_mutex_lock(&failed_lock);
	for (unsigned i = 0; i < FAILED_STARTS; i++)
		if (!strcmp(failed[i], id))
			failed[i][0] = '\0';
	if (yes)
		snprintf(failed[failed_next++ % FAILED_STARTS], sizeof(failed[0]), "%s", id);
	pthread_mutex_unlock(&failed_lock);
}

bool rl_api_start_failed(const char *id)
{
	bool yes = false;
	pthread_mutex_lock(&failed_lock);
	for (unsigned i = 0; i < FAILED_STARTS && !yes; i++)
		yes = !strcmp(failed[i], id);
	pthread_mutex_unlock(&failed_lock);
	return yes;
}

struct waiting {
	struct rl_state st;
	bool removed; /* condition=removed: answer once it is gone */
};

static bool autoremoved(const struct rl_state *st)
{
	json_t *config;
	struct rl_error ignored;
	if (rl_state_config(st, &config, &ignored) < 0)
		return false;
	bool yes = json_is_true(json_object_get(json_object_get(config, "HostConfig"), "AutoRemove"));
	json_decref(config);
	return yes;
}

/* The exit code, read under a hold, so that an --rm container's
 * supervisor keeps it until it is read; with condition=removed, the answer
 * comes once the supervisor has removed it. */
static json_t *wait_body(void *ctx)
{
	struct waiting *w = ctx;
	struct rl_status s;
	struct rl_error ignored;
	struct rl_state_watch watch;
	rl_state_watch_open(&watch, &w->st);
	int hold = rl_state_hold(&w->st);
	json_t *body = NULL;
	while (!body) {
		if (rl_api_start_failed(w->st.id))
			body = json_pack("{s:i,s:{s:s}}", "StatusCode", 125, "Error", "Message",
					 "the container did not start");
		else if (access(w->st.dir, F_OK) < 0)
			body = json_pack("{s:i,s:n}", "StatusCode", 0, "Error");
		else if (rl_status_read(&w->st, &s, &ignored) == 0 && s.state == RL_EXITED)
			body = json_pack("{s:i,s:n}", "StatusCode", s.exit_code, "Error");
		else
			rl_state_watch_wait(&watch, 100);
	}
	bool removing = w->removed && autoremoved(&w->st);
	if (hold >= 0)
		close(hold);
	while (removing && access(w->st.dir, F_OK) == 0)
		rl_state_watch_wait(&watch, 100);
	rl_state_watch_close(&watch);
	return body;
}

/* rlbpf top's table as Docker's {"Titles", "Processes"}: the columns are
 * split at runs of spaces, and the last (the command) keeps its own. */
static void top(const struct rl_state *st, struct rl_api_reply *out)
{
	char got[64 * 1024], why[512];
	char *args[] = {"top", (char *)st->id, NULL};
	if (rl_api_rlbpf(args, got, sizeof(got), why, sizeof(why)) != 0)
		return rl_api_error(out, status_for(why), "%s", why[0] ? why : "rlbpf top failed");
	json_t *titles = json_array(), *rows = json_array();
	size_t columns = 0;
	for (char *save = NULL, *line = strtok_r(got, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *row = json_array();
		char *p = line;
		for (size_t c = 0; *p; c++) {
			p += strspn(p, " ");
			if (!*p)
				break;
			size_t n = columns && c + 1 == columns ? strlen(p) : strcspn(p, " ");
			json_array_append_new(row, json_stringn(p, n));
			p += n;
		}
		if (!columns) {
			columns = json_array_size(row);
			json_array_extend(titles, row);
			json_decref(row);
		} else {
			json_array_append_new(rows, row);
		}
	}
	*out = (struct rl_api_reply){.status = 200,
				     .body = json_pack("{s:o,s:o}", "Titles", titles, "Processes",
						       rows)};
}

bool rl_api_lifecycle(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char top_ref[160];
	if (!strcmp(r->method, "GET") &&
	    rl_api_container_ref(r->path, "top", top_ref, sizeof(top_ref))) {
		struct rl_state st;
		if (rl_api_find_container(top_ref, &st, out))
			top(&st, out);
		return true;
	}
	if (!strcmp(r->path, "/containers/create") && !strcmp(r->method, "POST")) {
		create(r, out);
		return true;
	}
	static const char *const actions[] = {"start", "wait", "kill", "stop", "restart"};
	bool post = !strcmp(r->method, "POST"), del = !strcmp(r->method, "DELETE");
	const char *action = NULL;
	char ref[160];
	struct rl_state st;
	for (size_t i = 0; post && !action && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (rl_api_container_ref(r->path, actions[i], ref, sizeof(ref)))
			action = actions[i];
	if (del && rl_api_container_ref(r->path, "", ref, sizeof(ref)))
		action = "";
	if (!action)
		return false;
	if (!rl_api_find_container(ref, &st, out))
		return true;
	if (!strcmp(action, "start")) {
		char *args[] = {"start", st.id, NULL};
		simple(out, args, 204);
		start_failed(st.id, out->status != 204);
		/* Docker's run --rm leaves nothing after a start that failed */
		if (out->status != 204 && autoremoved(&st)) {
			char got[128], why[256];
			char *rm[] = {"rm", "-f", st.id, NULL};
			rl_api_rlbpf(rm, got, sizeof(got), why, sizeof(why));
		}
	} else if (!strcmp(action, "kill")) {
		const char *sig = r->query(r, "signal");
		char *args[] = {"kill", "-s", (char *)(sig && sig[0] ? sig : "KILL"), st.id, NULL};
		simple(out, args, 204);
	} else if (!strcmp(action, "stop") || !strcmp(action, "restart")) {
		const char *t = r->query(r, "t");
		char *args[] = {(char *)action, "-t", (char *)(t && t[0] ? t : "10"), st.id, NULL};
		simple(out, args, 204);
	} else if (del) {
		bool force = rl_api_query_true(r, "force");
		char *args[] = {"rm", force ? "-f" : st.id, force ? st.id : NULL, NULL};
		simple(out, args, 204);
	} else {
		const char *cond = r->query(r, "condition");
		struct waiting *w = calloc(1, sizeof(*w));
		if (!w) {
			rl_api_error(out, 500, "out of memory");
			return true;
		}
		w->st = st;
		w->removed = cond && !strcmp(cond, "removed");
		*out = (struct rl_api_reply){.status = 200, .late_body = wait_body, .ctx = w};
	}
	return true;
}
