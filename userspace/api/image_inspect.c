/* GET /images/NAME/json: docker image inspect, and docker inspect of an
 * image. All of it is in the store: the config as the image brought it
 * (its sha256 is the Id), and the tags and size rl_store_list reads. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/image.h"
#include "image/store.h"

/* The image config's "config", with the keys Docker always has. */
static json_t *run_config(json_t *config)
{
	static const char *const keys[] = {"Cmd", "Entrypoint", "Env", "WorkingDir", "User",
					   "ExposedPorts", "Labels", "Volumes", "StopSignal"};
	json_t *c = json_is_object(json_object_get(config, "config"))
			    ? json_deep_copy(json_object_get(config, "config"))
			    : json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_get(c, keys[i]))
			json_object_set_new(c, keys[i], i == 3 || i == 4 ? json_string("") : json_null());
	return c;
}

static json_t *string_or(json_t *config, const char *key, const char *fallback)
{
	const char *s = json_string_value(json_object_get(config, key));
	return json_string(s ? s : fallback);
}

void rl_api_image_inspect(const char *name, struct rl_api_reply *out)
{
	struct rl_error err = {0};
	struct rl_store store;
	char id[72], dir[PATH_MAX], path[PATH_MAX + 16];
	if (rl_store_open(&store, &err) < 0)
		return rl_api_error(out, 500, "%s", err.msg);
	int r = rl_store_lookup(&store, name, id, NULL, 0, &err);
	if (r == -ENOENT)
		return rl_api_error(out, 404, "No such image: %s", name);
	if (r < 0)
		return rl_api_error(out, 400, "%s", err.msg);
	struct rl_store_image *v = NULL, *img = NULL;
	size_t n = 0;
	if (rl_store_image_dir(&store, id, dir, sizeof(dir), &err) < 0 ||
	    rl_store_list(&store, &v, &n, &err) < 0)
		return rl_api_error(out, 500, "%s", err.msg);
	for (size_t i = 0; i < n && !img; i++)
		if (!strcmp(v[i].id, id))
			img = &v[i];
	snprintf(path, sizeof(path), "%s/config.json", dir);
	json_t *config = img ? json_load_file(path, 0, NULL) : NULL;
	if (!json_is_object(config)) {
		/* removed between the lookup and now */
		json_decref(config);
		rl_store_list_free(v, n);
		return rl_api_error(out, 404, "No such image: %s", name);
	}
	json_t *tags = json_array();
	for (size_t t = 0; t < img->n_tags; t++)
		json_array_append_new(tags, json_string(img->tags[t]));
	json_t *layers = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	json_t *doc = json_pack(
		"{s:s,s:o,s:[],s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:o,s:{s:s,s:o},s:{s:{},s:s},s:{s:s}}",
		"Id", id, "RepoTags", tags, "RepoDigests", "Parent", "", "Comment", "", "Created",
		string_or(config, "created", "0001-01-01T00:00:00Z"), "Author",
		string_or(config, "author", ""), "Architecture", string_or(config, "architecture", ""),
		"Os", string_or(config, "os", "linux"), "Config", run_config(config), "Size",
		(json_int_t)img->size, "VirtualSize", (json_int_t)img->size, "DockerVersion",
		string_or(config, "docker_version", ""), "RootFS", "Type", "layers", "Layers",
		json_is_array(layers) ? json_incref(layers) : json_array(), "GraphDriver", "Data", "Name", "rlbpf",
		"Metadata", "LastTagTime", "0001-01-01T00:00:00Z");
	const char *variant = json_string_value(json_object_get(config, "variant"));
	if (doc && variant)
		json_object_set_new(doc, "Variant", json_string(variant));
	json_decref(config);
	rl_store_list_free(v, n);
	if (!doc)
		return rl_api_error(out, 500, "cannot describe the image %s", name);
	*out = (struct rl_api_reply){.status = 200, .body = doc};
}
