/* What every route does with its request: errors in Docker's shape, true
 * query arguments, and the container a path names. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"

void rl_api_error(struct rl_api_reply *out, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*out = (struct rl_api_reply){.status = status, .body = json_pack("{s:s}", "message", msg)};
}


bool rl_api_query_true(const struct rl_api_request *r, const char *key)
{
	const char *v = r->query(r, key);
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True"));
}

/* h or w of a resize: a whole number of rows or columns. */
static bool dimension(const char *v, unsigned short *n)
{
	char *end;
	if (!v || v[0] < '0' || v[0] > '9')
		return false;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (*end || errno || x > 65535)
		return false;
	*n = (unsigned short)x;
	return true;
}

bool rl_api_query_size(const struct rl_api_request *r, struct winsize *ws)
{
	return dimension(r->query(r, "h"), &ws->ws_row) && dimension(r->query(r, "w"), &ws->ws_col);
}

bool rl_api_container_ref(const char *path, const char *action, char *ref, size_t len)
{
	static const char prefix[] = "/containers/";
	size_t p = sizeof(prefix) - 1, a = strlen(action);
	if (strncmp(path, prefix, p))
		return false;
	const char *start = path + p, *slash = strchr(start, '/');
	size_t n = slash ? (size_t)(slash - start) : strlen(start);
	if (!n || n >= len || (a ? !slash || strcmp(slash + 1, action) : slash != NULL))
		return false;
	memcpy(ref, start, n);
	ref[n] = '\0';
	return true;
}

/* "/v1.44/containers/json" -> "/containers/json": the client's version
 * prefix, which every route accepts alike. */
const char *rl_api_strip_version(const char *url)
{
	if (url[0] == '/' && url[1] == 'v' && url[2] >= '0' && url[2] <= '9') {
		const char *p = url + 2;
		p += strspn(p, "0123456789.");
		if (*p == '/')
			return p;
	}
	return url;
}

bool rl_api_client_gone(int sock)
{
	/* not POLLRDHUP: a client's half-close (the docker CLI's end of
	 * stdin) is no going away; a unix socket whose peer closed is HUP */
	struct pollfd p = {.fd = sock};
	return sock > 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}
