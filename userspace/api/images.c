/* /images/json, the list docker images shows; tagging and removing, by
 * rlbpf tag and rlbpf rmi; pull (image_pull.c) and inspect
 * (image_inspect.c); load is an upload (image_load.c). An image's name may hold slashes
 * (127.0.0.1:5000/app): it is all between /images/ and the action. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/image.h"
#include "image/store.h"

static unsigned status_for(const char *why)
{
	if (strstr(why, "no such image") || strstr(why, "No such image"))
		return 404;
	if (strstr(why, "needs -f") || strstr(why, "is used by") || strstr(why, "kept while"))
		return 409;
	return strstr(why, "invalid") ? 400 : 500;
}

bool rl_api_image_name(const char *path, const char *action, char *name, size_t len)
{
	static const char prefix[] = "/images/";
	size_t p = sizeof(prefix) - 1, n = strlen(path), a = action ? strlen(action) + 1 : 0;
	if (strncmp(path, prefix, p) || n <= p + a)
		return false;
	if (action && (path[n - a] != '/' || strcmp(path + n - a + 1, action)))
		return false;
	n -= p + a;
	if (n >= len)
		return false;
	memcpy(name, path + p, n);
	name[n] = '\0';
	return true;
}

static void tag(const struct rl_api_request *r, const char *name, struct rl_api_reply *out)
{
	const char *repo = r->query(r, "repo"), *t = r->query(r, "tag");
	char target[512], got[256], why[512];
	if (!repo || !repo[0])
		return rl_api_error(out, 400, "repo: the new name is needed");
	if (snprintf(target, sizeof(target), "%s:%s", repo, t && t[0] ? t : "latest") >=
	    (int)sizeof(target))
		return rl_api_error(out, 400, "repo and tag: a name of at most %zu characters",
				    sizeof(target) - 1);
	/* "--": a name that starts with '-' is a name, not an option */
	char *args[] = {"tag", "--", (char *)name, target, NULL};
	if (rl_api_rlbpf(args, got, sizeof(got), why, sizeof(why)) != 0)
		return rl_api_error(out, status_for(why), "%s", why[0] ? why : "rlbpf tag failed");
	*out = (struct rl_api_reply){.status = 201};
}

/* rlbpf rmi's "Untagged: X" and "Deleted: Y" lines, as Docker's list. */
static void remove_image(const struct rl_api_request *r, const char *name,
			 struct rl_api_reply *out)
{
	char got[4096], why[512];
	bool force = rl_api_query_true(r, "force");
	char *args[] = {"rmi", force ? "-f" : "--", force ? "--" : (char *)name,
			force ? (char *)name : NULL, NULL};
	if (rl_api_rlbpf(args, got, sizeof(got), why, sizeof(why)) != 0)
		return rl_api_error(out, status_for(why), "%s", why[0] ? why : "rlbpf rmi failed");
	json_t *list = json_array();
	for (char *save = NULL, *line = strtok_r(got, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strstr(line, ": ");
		if (!colon)
			continue;
		*colon = '\0';
		json_array_append_new(list, json_pack("{s:s}", line, colon + 2));
	}
	*out = (struct rl_api_reply){.status = 200, .body = list};
}

bool rl_api_images(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char name[512];
	if (!strcmp(r->method, "POST") && !strcmp(r->path, "/images/create")) {
		rl_api_image_pull(r, out);
		return true;
	}
	if (!strcmp(r->method, "GET") && strcmp(r->path, "/images/json") &&
	    rl_api_image_name(r->path, "json", name, sizeof(name))) {
		rl_api_image_inspect(name, out);
		return true;
	}
	if (!strcmp(r->method, "POST") && rl_api_image_name(r->path, "tag", name, sizeof(name))) {
		tag(r, name, out);
		return true;
	}
	if (!strcmp(r->method, "DELETE") && rl_api_image_name(r->path, NULL, name, sizeof(name))) {
		remove_image(r, name, out);
		return true;
	}
	if (strcmp(r->path, "/images/json") || strcmp(r->method, "GET"))
		return false;
	struct rl_error err = {0};
	struct rl_store store;
	struct rl_store_image *v = NULL;
	size_t n = 0;
	if (rl_store_open(&store, &err) < 0 || rl_store_list(&store, &v, &n, &err) < 0) {
		rl_api_error(out, 500, "%s", err.msg);
		return true;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *tags = json_array();
		for (size_t t = 0; t < v[i].n_tags; t++)
			json_array_append_new(tags, json_string(v[i].tags[t]));
		json_array_append_new(
			list, json_pack("{s:s,s:s,s:o,s:[],s:I,s:I,s:I,s:i,s:{},s:i}", "Id", v[i].id,
					"ParentId", "", "RepoTags", tags, "RepoDigests", "Created",
					(json_int_t)v[i].created, "Size", (json_int_t)v[i].size,
					"VirtualSize", (json_int_t)v[i].size, "SharedSize", -1,
					"Labels", "Containers", -1));
	}
	rl_store_list_free(v, n);
	*out = (struct rl_api_reply){.status = 200, .body = list};
	return true;
}
