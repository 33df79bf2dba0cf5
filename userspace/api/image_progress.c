/* rlbpf pull prints Docker's plain progress lines when its stdout is not a
 * terminal ("ID: STATUS", "Digest: ...", "Status: ..."); the daemon sends
 * the same as JSON messages, which the docker CLI draws. */
#include <string.h>

#include "api/image.h"

static bool layer_status(const char *s)
{
	static const char *const known[] = {"Pulling fs layer", "Waiting", "Download complete",
					    "Already exists", "Verifying Checksum"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(s, known[i]))
			return true;
	return !strncmp(s, "Downloading", 11);
}

void rl_api_pull_messages(const char *line, json_t *list)
{
	const char *sep = strstr(line, ": ");
	if (!sep) /* the image's full name, which the CLI prints itself */
		return;
	size_t n = (size_t)(sep - line);
	const char *status = sep + 2;
	if ((n == 6 && !strncmp(line, "Digest", 6)) || (n == 6 && !strncmp(line, "Status", 6))) {
		json_array_append_new(list, json_pack("{s:s}", "status", line));
		return;
	}
	json_t *id = json_stringn(line, n);
	if (!strncmp(status, "Pulling from ", 13)) {
		json_array_append_new(list, json_pack("{s:s,s:o}", "status", status, "id", id));
	} else if (layer_status(status)) {
		json_array_append_new(list, json_pack("{s:s,s:{},s:O}", "status", status,
						      "progressDetail", "id", id));
		/* rlbpf unpacks each layer as it arrives: downloaded is pulled */
		if (!strcmp(status, "Download complete"))
			json_array_append_new(list, json_pack("{s:s,s:{},s:O}", "status",
							      "Pull complete", "progressDetail", "id",
							      id));
		json_decref(id);
	} else {
		json_decref(id);
		json_array_append_new(list, json_pack("{s:s}", "status", line));
	}
}
