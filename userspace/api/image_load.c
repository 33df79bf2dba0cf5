/* POST /images/load: docker load. The archive (a docker save tar, sent
 * chunked, often hundreds of MB) goes to rlbpf load's stdin as it arrives,
 * never whole in memory; rlbpf load's "Loaded image: ..." lines come back
 * as Docker's {"stream": ...} messages. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/image.h"
#include "lib/paths.h"

#define MAX_OUTPUT (64 * 1024)

struct load {
	pid_t pid;
	int archive; /* rlbpf load's stdin; -1 once closed */
	int output;  /* its stdout and stderr, a file of its own: it never blocks on us */
};

static bool take(void *ctx, const char *data, size_t len)
{
	struct load *l = ctx;
	while (len) {
		ssize_t n = write(l->archive, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* it stopped reading: its output says why */
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static void finish(void *ctx, struct rl_api_reply *out)
{
	struct load *l = ctx;
	close(l->archive);
	int code = rl_api_rlbpf_reap(l->pid);
	char *text = calloc(1, MAX_OUTPUT + 1);
	ssize_t n = text ? pread(l->output, text, MAX_OUTPUT, 0) : -1;
	close(l->output);
	free(l);
	if (n < 0) {
		free(text);
		return rl_api_error(out, 500, "cannot read what rlbpf load said");
	}
	if (code) {
		/* its last line: "rlbpf load: WHY" */
		while (n && text[n - 1] == '\n')
			text[--n] = '\0';
		char *last = strrchr(text, '\n'), *why = last ? last + 1 : text;
		if (!strncmp(why, "rlbpf load: ", 12))
			why += 12;
		rl_api_error(out, 400, "%s", why[0] ? why : "rlbpf load failed");
		free(text);
		return;
	}
	/* Docker's JSON lines, one message each */
	size_t cap = 2 * (size_t)n + 64, used = 0;
	char *reply = malloc(cap);
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); reply && line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *m = json_pack("{s:s+}", "stream", line, "\n");
		char *s = json_dumps(m, JSON_COMPACT);
		size_t len = s ? strlen(s) : 0;
		char *grown = used + len + 2 > cap ? realloc(reply, cap = 2 * (used + len + 2)) : reply;
		if (s && grown) {
			reply = grown;
			memcpy(reply + used, s, len);
			reply[used + len] = '\n';
			used += len + 1;
		}
		free(s);
		json_decref(m);
	}
	free(text);
	if (!reply)
		return rl_api_error(out, 500, "out of memory");
	reply[used] = '\0';
	*out = (struct rl_api_reply){.status = 200, .text = reply, .type = "application/json", .ctx = reply};
}

bool rl_api_image_load(const struct rl_api_request *r, struct rl_api_upload *up, struct rl_api_reply *out)
{
	if (strcmp(r->method, "POST") || strcmp(r->path, "/images/load"))
		return false;
	char dir[PATH_MAX], why[512];
	struct rl_error err = {0};
	int fds[2] = {-1, -1};
	struct load *l = calloc(1, sizeof(*l));
	if (l)
		l->output = -1;
	if (!l || rl_runtime_dir(dir, sizeof(dir), &err) < 0 ||
	    (l->output = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0 ||
	    pipe2(fds, O_CLOEXEC) < 0) {
		rl_api_error(out, 500, "cannot start rlbpf load: %s",
			     err.msg[0] ? err.msg : strerror(errno));
		if (l && l->output >= 0)
			close(l->output);
		free(l);
		return true;
	}
	char *args[] = {"load", "-i", "-", rl_api_query_true(r, "quiet") ? "-q" : NULL, NULL};
	l->pid = rl_api_rlbpf_start(args, fds[0], l->output, NULL, why, sizeof(why));
	close(fds[0]);
	l->archive = fds[1];
	if (l->pid < 0) {
		close(l->archive);
		close(l->output);
		free(l);
		rl_api_error(out, 500, "%s", why);
		return true;
	}
	*up = (struct rl_api_upload){.write = take, .finish = finish, .ctx = l};
	return true;
}
