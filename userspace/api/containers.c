/* /containers/json, the list docker ps shows, and /containers/ID/json,
 * what docker inspect shows (rlbpf inspect's own document). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/filters.h"
#include "lib/humantime.h"
#include "supervise/inspect_doc.h"
#include "supervise/state.h"
#include "supervise/status.h"

struct listed {
	double created; /* to the nanosecond: the list's "Created" is whole seconds */
	json_t *doc;
};

struct listing {
	struct listed *v;
	size_t n;
	bool all;
	bool out_of_memory;
	json_t *filters; /* {"key":["value",...]}, or NULL */
};

/* docker ps's filters that rlbpf's records can answer */
static const char *const list_filters[] = {"id", "name", "status", "ancestor", "exited", NULL};

static const char *state_word(enum rl_run_state s)
{
	return s == RL_RUNNING ? "running" : s == RL_EXITED ? "exited" : "created";
}

/* PortBindings as the list's Ports: {"IP","PrivatePort","PublicPort","Type"} */
static json_t *ports(json_t *config, bool running)
{
	json_t *out = json_array(), *bindings, *list, *b;
	const char *key;
	size_t i;
	bindings = json_object_get(json_object_get(config, "HostConfig"), "PortBindings");
	if (!running)
		return out;
	json_object_foreach(bindings, key, list) {
		char proto[8] = "tcp";
		int private = atoi(key);
		const char *slash = strchr(key, '/');
		if (slash)
			snprintf(proto, sizeof(proto), "%s", slash + 1);
		json_array_foreach(list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *port = json_string_value(json_object_get(b, "HostPort"));
			json_array_append_new(out, json_pack("{s:s,s:i,s:i,s:s}", "IP",
							     ip && ip[0] ? ip : "0.0.0.0", "PrivatePort",
							     private, "PublicPort", port ? atoi(port) : 0,
							     "Type", proto));
		}
	}
	return out;
}

static const char *text(json_t *config, const char *key)
{
	const char *v = json_string_value(json_object_get(config, key));
	return v ? v : "";
}

static json_t *command(json_t *config)
{
	json_t *cmd = json_object_get(json_object_get(config, "Config"), "Cmd");
	char joined[1024] = "";
	size_t used = 0, i;
	json_t *word;
	json_array_foreach(cmd, i, word) {
		int n = snprintf(joined + used, sizeof(joined) - used, "%s%s", i ? " " : "",
				 json_string_value(word) ? json_string_value(word) : "");
		if (n < 0 || (size_t)n >= sizeof(joined) - used) {
			joined[used] = '\0'; /* no word cut short, nor a character */
			break;
		}
		used += (size_t)n;
	}
	return json_string(joined);
}

/* A container as the filters see it. */
struct filtered {
	const struct rl_state *st;
	const struct rl_status *s;
	json_t *config;
};

static bool filter_matches(const char *key, const char *v, const void *ctx)
{
	const struct filtered *f = ctx;
	const struct rl_state *st = f->st;
	const struct rl_status *s = f->s;
	json_t *config = f->config;
	if (!strcmp(key, "id"))
		return v[0] && !strncmp(st->id, v, strlen(v));
	if (!strcmp(key, "name"))
		return strstr(st->name, v[0] == '/' ? v + 1 : v) != NULL;
	if (!strcmp(key, "status"))
		return !strcmp(v, state_word(s->state));
	if (!strcmp(key, "ancestor"))
		return rl_api_same_image(v, text(config, "Image")) ||
		       (v[0] && !strncmp(text(config, "ImageID"), v, strlen(v)));
	char *end;
	long code = strtol(v, &end, 10);
	return s->state == RL_EXITED && *v && !*end && code == s->exit_code; /* exited */
}

static int add(const struct rl_state *st, void *ctx)
{
	struct listing *l = ctx;
	struct rl_status s;
	json_t *config;
	struct rl_error ignored;
	char status[96], name[sizeof(st->name) + 2];
	if (rl_status_read(st, &s, &ignored) < 0 || rl_state_config(st, &config, &ignored) < 0)
		return 0; /* half made or half removed: not listed */
	struct filtered seen = {st, &s, config};
	if ((!l->all && s.state != RL_RUNNING) ||
	    !rl_api_filters_match(l->filters, filter_matches, &seen)) {
		json_decref(config);
		return 0;
	}
	rl_status_text(&s, status, sizeof(status));
	snprintf(name, sizeof(name), "/%s", st->name);
	double created = rl_parse_rfc3339(json_string_value(json_object_get(config, "Created")));
	const char *network = json_string_value(
		json_object_get(json_object_get(config, "HostConfig"), "NetworkMode"));
	json_t *doc = json_pack(
		"{s:s,s:[s],s:s,s:s,s:o,s:I,s:o,s:{},s:s,s:s,s:{s:s},s:{s:{}},s:[]}", "Id", st->id,
		"Names", name, "Image", text(config, "Image"), "ImageID", text(config, "ImageID"),
		"Command", command(config), "Created", (json_int_t)(created > 0 ? created : 0), "Ports",
		ports(config, s.state == RL_RUNNING), "Labels", "State", state_word(s.state), "Status",
		status, "HostConfig", "NetworkMode", network ? network : "default", "NetworkSettings",
		"Networks", "Mounts");
	struct listed *grown = doc ? realloc(l->v, (l->n + 1) * sizeof(*grown)) : NULL;
	if (!grown) {
		json_decref(doc);
		l->out_of_memory = true;
	} else {
		l->v = grown;
		l->v[l->n++] = (struct listed){.created = created, .doc = doc};
	}
	json_decref(config);
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	double x = ((const struct listed *)a)->created, y = ((const struct listed *)b)->created;
	return x < y ? 1 : x > y ? -1 : 0;
}

static bool inspect(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160];
	if (strcmp(r->method, "GET") || !rl_api_container_ref(r->path, "json", ref, sizeof(ref)))
		return false;
	struct rl_state st;
	struct rl_status s;
	struct rl_error err = {0};
	json_t *config;
	if (!rl_api_find_container(ref, &st, out))
		return true;
	if (rl_status_read(&st, &s, &err) < 0 || rl_state_config(&st, &config, &err) < 0) {
		rl_api_error(out, 500, "%s", err.msg);
		return true;
	}
	json_t *doc = rl_inspect_doc(&st, config, &s);
	json_decref(config);
	*out = (struct rl_api_reply){.status = 200, .body = doc};
	return true;
}

bool rl_api_containers(const struct rl_api_request *r, struct rl_api_reply *out)
{
	if (inspect(r, out))
		return true;
	if (strcmp(r->path, "/containers/json") || strcmp(r->method, "GET"))
		return false;
	struct listing l = {.all = rl_api_query_true(r, "all")};
	struct rl_error err = {0};
	char why[256];
	const char *limit_arg = r->query(r, "limit");
	char *end = NULL;
	long limit = limit_arg && limit_arg[0] ? strtol(limit_arg, &end, 10) : -1;
	if (end && (*end || limit < -1))
		return rl_api_error(out, 400, "limit: a whole number is needed, not '%s'", limit_arg),
		       true;
	if (!rl_api_filters_parse(r->query(r, "filters"), list_filters, "docker ps", &l.filters, why,
				  sizeof(why)))
		return rl_api_error(out, 400, "%s", why), true;
	/* docker ps -n and -l list stopped ones too */
	l.all |= limit > 0;
	int rc = rl_state_each(add, &l, &err);
	json_decref(l.filters);
	json_t *list = json_array();
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), newest_first);
	for (size_t i = 0; i < l.n; i++)
		if (limit <= 0 || (long)i < limit)
			json_array_append_new(list, l.v[i].doc);
		else
			json_decref(l.v[i].doc);
	free(l.v);
	if (rc < 0 || l.out_of_memory) {
		json_decref(list);
		rl_api_error(out, 500, "%s", rc < 0 ? err.msg : "out of memory");
		return true;
	}
	*out = (struct rl_api_reply){.status = 200, .body = list};
	return true;
}

bool rl_api_find_container(const char *ref, struct rl_state *st, struct rl_api_reply *out)
{
	struct rl_error ignored;
	if (rl_state_find(ref, st, &ignored) == 0)
		return true;
	rl_api_error(out, 404, "No such container: %s", ref);
	return false;
}
