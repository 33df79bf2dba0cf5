/* POST /images/create?fromImage=NAME&tag=TAG[&platform=P]: docker pull,
 * and the pull of docker run after a 404 on create. This installation's
 * rlbpf pull does the work; its plain progress lines reach the client as
 * they come, as Docker's JSON messages. A pull that fails before its
 * first layer is an HTTP error, as the daemon's is (the CLI says "Error
 * response from daemon: ..."); one that fails later ends the stream with
 * Docker's errorDetail message. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/image.h"
#include "lib/paths.h"

#define MAX_REF 512
#define LINE_MAX_LEN 1024

struct pull {
	pid_t pid;
	int fd;                     /* its stdout and stderr; -1 once at their end */
	char auth[PATH_MAX];        /* the credentials file it reads; removed at its end */
	char env[PATH_MAX + 32];    /* REGISTRY_AUTH_FILE=auth */
	char in[LINE_MAX_LEN];      /* what came, short of a whole line */
	size_t in_len;
	char *out;                  /* JSON lines ready to send */
	size_t out_len, off;
	char error[512];            /* rlbpf pull's "rlbpf pull: WHY" */
	int exit_code;
};

/* The next line of its output into line; false at its end. */
static bool read_line(struct pull *p, char *line, size_t len)
{
	for (;;) {
		char *nl = memchr(p->in, '\n', p->in_len);
		/* a line longer than the buffer is cut where the buffer ends */
		if (nl || p->in_len == sizeof(p->in) || (p->fd < 0 && p->in_len)) {
			size_t n = nl ? (size_t)(nl - p->in) : p->in_len;
			snprintf(line, len, "%.*s", (int)n, p->in);
			n += nl != NULL;
			memmove(p->in, p->in + n, p->in_len - n);
			p->in_len -= n;
			return true;
		}
		if (p->fd < 0)
			return false;
		ssize_t got = read(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got > 0) {
			p->in_len += (size_t)got;
			continue;
		}
		close(p->fd);
		p->fd = -1;
	}
}

/* Reaps rlbpf pull and removes what was left for it. */
static void end(struct pull *p)
{
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->pid > 0) {
		p->exit_code = rl_api_rlbpf_reap(p->pid);
		p->pid = -1;
	}
	if (p->auth[0]) {
		unlink(p->auth);
		p->auth[0] = '\0';
	}
}

static void queue(struct pull *p, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t n = text ? strlen(text) : 0;
	char *grown = text ? realloc(p->out, p->out_len + n + 2) : NULL;
	if (grown) {
		memcpy(grown + p->out_len, text, n);
		grown[p->out_len + n] = '\n';
		p->out = grown;
		p->out_len += n + 1;
	}
	free(text);
}

/* Reads on until it has messages to send (what is queued then holds more
 * than "Pulling from" when hold); false at the end of rlbpf pull. */
static bool advance(struct pull *p, bool hold)
{
	char line[LINE_MAX_LEN];
	bool more = false;
	while (!more && read_line(p, line, sizeof(line))) {
		/* its error, rather than a warning of rlbpf's before it */
		bool error = !strncmp(line, "rlbpf pull: ", 12);
		if (error || !strncmp(line, "rlbpf: ", 7)) {
			if (error || !p->error[0])
				snprintf(p->error, sizeof(p->error), "%s", strstr(line, ": ") + 2);
			continue;
		}
		json_t *list = json_array(), *m;
		size_t i;
		rl_api_pull_messages(line, list);
		json_array_foreach(list, i, m) {
			queue(p, m);
			more |= !hold || !json_object_get(m, "id") ||
				strncmp(json_string_value(json_object_get(m, "status")), "Pulling from", 12);
		}
		json_decref(list);
	}
	return more;
}

static size_t next(void *ctx, char *buf, size_t max)
{
	struct pull *p = ctx;
	if (p->off >= p->out_len) {
		p->off = p->out_len = 0;
		if (p->pid > 0 && !advance(p, false)) {
			end(p);
			if (p->exit_code) {
				const char *why = p->error[0] ? p->error : "rlbpf pull failed";
				json_t *m = json_pack("{s:{s:s},s:s}", "errorDetail", "message", why, "error", why);
				queue(p, m);
				json_decref(m);
			}
		}
	}
	size_t n = p->out_len - p->off < max ? p->out_len - p->off : max;
	memcpy(buf, p->out + p->off, n);
	p->off += n;
	return n;
}

/* The client went, or all is sent: a pull under way is let finish (its
 * image is wanted, and a pull cut short would leave its download). */
static void done(void *ctx)
{
	struct pull *p = ctx;
	char line[LINE_MAX_LEN];
	while (read_line(p, line, sizeof(line)))
		;
	end(p);
	free(p->out);
}

/* NAME and TAG as one reference: TAG may be a digest. */
static bool reference(const struct rl_api_request *r, char *ref, size_t len, struct rl_api_reply *out)
{
	const char *name = r->query(r, "fromImage"), *tag = r->query(r, "tag");
	if (r->query(r, "fromSrc")) {
		rl_api_error(out, 501, "rlbpf does not import images (fromSrc); load a docker save "
			     "archive with docker load instead");
		return false;
	}
	if (!name || !name[0]) {
		rl_api_error(out, 400, "fromImage: the image to pull is needed");
		return false;
	}
	const char *last = strrchr(name, '/');
	bool tagged = strchr(name, '@') || strchr(last ? last : name, ':');
	if ((!tag || !tag[0]) && !tagged) {
		rl_api_error(out, 400, "tag: rlbpf pulls one tag at a time, not all of %s; name the tag",
			     name);
		return false;
	}
	int n = !tag || !tag[0] ? snprintf(ref, len, "%s", name)
				: snprintf(ref, len, "%s%s%s", name, strchr(tag, ':') ? "@" : ":", tag);
	if (n < 0 || (size_t)n >= len || (tagged && tag && tag[0])) {
		rl_api_error(out, 400, "fromImage, tag: '%.200s' and '%.60s' are not one image "
			     "reference; give NAME and TAG apart", name, tag ? tag : "");
		return false;
	}
	return true;
}

/* X-Registry-Auth's credentials into a file of the user's that only rlbpf
 * pull's environment names: never on a command line. */
static bool credentials(const struct rl_api_request *r, const char *ref, struct pull *p,
			struct rl_api_reply *out)
{
	char host[256], why[256], dir[PATH_MAX];
	json_t *file;
	rl_api_registry_host(ref, host, sizeof(host));
	const char *header = r->header(r, "X-Registry-Auth");
	int have = rl_api_registry_auth(header, host, &file, why, sizeof(why));
	if (have < 0) {
		rl_api_error(out, 400, "%s", why);
		return false;
	}
	if (!have)
		return true;
	struct rl_error err = {0};
	int fd = -1;
	if (rl_runtime_dir(dir, sizeof(dir), &err) == 0 &&
	    snprintf(p->auth, sizeof(p->auth), "%s/api-auth-XXXXXX", dir) < (int)sizeof(p->auth))
		fd = mkostemp(p->auth, O_CLOEXEC); /* 0600 */
	bool ok = fd >= 0 && json_dumpfd(file, fd, JSON_COMPACT) == 0;
	json_decref(file);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		if (fd >= 0)
			unlink(p->auth);
		p->auth[0] = '\0';
		rl_api_error(out, 500, "cannot keep the registry credentials for rlbpf pull: %s",
			     err.msg[0] ? err.msg : strerror(errno));
		return false;
	}
	snprintf(p->env, sizeof(p->env), "REGISTRY_AUTH_FILE=%s", p->auth);
	return true;
}

void rl_api_image_pull(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[MAX_REF], why[512];
	const char *platform = r->query(r, "platform");
	struct pull *p = calloc(1, sizeof(*p));
	if (!p)
		return rl_api_error(out, 500, "out of memory");
	*p = (struct pull){.pid = -1, .fd = -1};
	if (!reference(r, ref, sizeof(ref), out) || !credentials(r, ref, p, out)) {
		free(p);
		return;
	}
	/* Docker's default: a registry on a loopback address may be plain HTTP */
	char host[256];
	rl_api_registry_host(ref, host, sizeof(host));
	char *args[8];
	size_t n = 0;
	args[n++] = "pull";
	if (rl_api_registry_loopback(host))
		args[n++] = "--tls-verify=false";
	if (platform && platform[0]) {
		args[n++] = "--platform";
		args[n++] = (char *)platform;
	}
	args[n++] = "--";
	args[n++] = ref;
	args[n] = NULL;
	int pipe_fds[2];
	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		end(p);
		free(p);
		return rl_api_error(out, 500, "cannot run rlbpf pull: %s", strerror(errno));
	}
	p->fd = pipe_fds[0];
	p->pid = rl_api_rlbpf_start(args, -1, pipe_fds[1], p->env[0] ? p->env : NULL, why,
				    sizeof(why));
	close(pipe_fds[1]);
	if (p->pid < 0) {
		end(p);
		free(p);
		return rl_api_error(out, 500, "%s", why);
	}
	if (!advance(p, true)) {
		end(p);
		if (p->exit_code) {
			const char *e = p->error[0] ? p->error : "rlbpf pull failed";
			bool missing = strstr(e, "unknown") || strstr(e, "not found") || strstr(e, "NOT_FOUND");
			rl_api_error(out, missing ? 404 : strstr(e, "invalid") ? 400 : 500, "%s", e);
			free(p->out);
			free(p);
			return;
		}
	}
	*out = (struct rl_api_reply){.status = 200, .stream = next, .stream_done = done, .ctx = p,
				     .type = "application/json"};
}
