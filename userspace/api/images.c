/* /images/json: the list docker images shows. */
#include <string.h>

#include "api/api.h"
#include "image/store.h"

bool rl_api_images(const struct rl_api_request *r, struct rl_api_reply *out)
{
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
