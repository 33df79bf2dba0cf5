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
#include "api/create_args.h"
#include "supervise/state.h"
#include "supervise/state_watch.h"
#include "supervise/status.h"

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
	struct rl_api_args a = {0};
	json_t *warnings = json_array();
	char why[512], id[256];
	if (!rl_api_create_args(req, r->query(r, "name"), &a, warnings, why, sizeof(why))) {
		rl_api_error(out, 400, "%s", why);
	} else if (rl_api_rlbpf(a.v, id, sizeof(id), why, sizeof(why)) != 0) {
		rl_api_error(out, strstr(why, "No such image") || strstr(why, "unknown image") ||
					 strstr(why, "not found") ? 404
										       : status_for(why),
			     "%s", why[0] ? why : "rlbpf create failed");
	} else {
		*out = (struct rl_api_reply){.status = 201,
					     .body = json_pack("{s:s,s:O}", "Id", id, "Warnings",
							       warnings)};
	}
	json_decref(warnings);
	json_decref(req);
	rl_api_args_free(&a);
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
	int client;   /* its socket: a client that went needs no answer */
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
		else if (rl_api_client_gone(w->client))
			body = json_pack("{s:i,s:{s:s}}", "StatusCode", -1, "Error", "Message",
					 "the client went away");
		else
			rl_state_watch_wait(&watch, 100);
	}
	bool removing = w->removed && autoremoved(&w->st);
	if (hold >= 0)
		close(hold);
	while (removing && access(w->st.dir, F_OK) == 0 && !rl_api_client_gone(w->client))
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
		w->client = rl_api_client_fd(r);
		*out = (struct rl_api_reply){.status = 200, .late_body = wait_body, .ctx = w};
	}
	return true;
}
