/* Registries as the Docker daemon sees them: which host an image name
 * names, which hosts may be plain HTTP without being configured, and the
 * credentials the CLI sends in X-Registry-Auth. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/image.h"

#define MAX_HEADER 16384 /* far above any credentials */

void rl_api_registry_host(const char *name, char *host, size_t len)
{
	size_t n = strcspn(name, "/");
	bool named = name[n] == '/' && (memchr(name, '.', n) || memchr(name, ':', n) ||
					(n == 9 && !strncmp(name, "localhost", 9)));
	snprintf(host, len, "%.*s", named ? (int)n : 9, named ? name : "docker.io");
}

bool rl_api_registry_loopback(const char *host)
{
	char addr[64];
	struct in6_addr a6;
	struct in_addr a4;
	/* "[::1]:5000", "127.0.0.1:5000", "localhost" */
	if (host[0] == '[') {
		size_t n = strcspn(host + 1, "]");
		snprintf(addr, sizeof(addr), "%.*s", (int)n, host + 1);
		return host[1 + n] == ']' && inet_pton(AF_INET6, addr, &a6) == 1 &&
		       IN6_IS_ADDR_LOOPBACK(&a6);
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(host, ":"), host);
	if (!strcmp(addr, "localhost"))
		return true;
	return inet_pton(AF_INET, addr, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static int b64_value(char c)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (c == '-')
		c = '+';
	else if (c == '_')
		c = '/';
	const char *p = c ? strchr(set, c) : NULL;
	return p ? (int)(p - set) : -1;
}

/* base64 or base64url, padded or not; NULL when it is neither. */
static char *b64_decode(const char *in, size_t *out_len)
{
	size_t n = strlen(in);
	while (n && in[n - 1] == '=')
		n--;
	char *out = malloc(n * 3 / 4 + 1);
	size_t o = 0;
	unsigned bits = 0, have = 0;
	for (size_t i = 0; out && i < n; i++) {
		int v = b64_value(in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		bits = bits << 6 | (unsigned)v;
		if ((have += 6) >= 8) {
			have -= 8;
			out[o++] = (char)(bits >> have & 0xff);
		}
	}
	if (out)
		out[o] = '\0';
	*out_len = o;
	return out;
}

static char *b64_encode(const char *in, size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *p = out;
	for (size_t i = 0; out && i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16 | (i + 1 < n ? (unsigned char)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)in[i + 2] : 0);
		*p++ = set[v >> 18 & 63];
		*p++ = set[v >> 12 & 63];
		*p++ = i + 1 < n ? set[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? set[v & 63] : '=';
	}
	if (out)
		*p = '\0';
	return out;
}

/* Overwrites a secret before its memory goes back. */
static void forget(char *s, size_t n)
{
	if (s)
		explicit_bzero(s, n);
	free(s);
}

int rl_api_registry_auth(const char *header, const char *host, json_t **file, char *why,
			 size_t why_len)
{
	*file = NULL;
	if (!header || !header[0] || !strcmp(header, "e30=") || !strcmp(header, "e30"))
		return 0;
	size_t len = 0;
	char *text = strlen(header) < MAX_HEADER ? b64_decode(header, &len) : NULL;
	json_t *doc = text ? json_loadb(text, len, 0, NULL) : NULL;
	forget(text, len);
	int r = -1;
	const char *user = json_string_value(json_object_get(doc, "username"));
	const char *password = json_string_value(json_object_get(doc, "password"));
	const char *token = json_string_value(json_object_get(doc, "identitytoken"));
	if (!json_is_object(doc))
		snprintf(why, why_len, "X-Registry-Auth: not base64url of a JSON object; log in again "
			 "with docker login");
	else if (token && token[0] && !(password && password[0]))
		snprintf(why, why_len, "X-Registry-Auth: rlbpf cannot use identity tokens; log in to %s "
			 "with a user name and password", host);
	else if (!user || !user[0] || !password) {
		r = 0; /* {} or a name alone: no credentials, as Docker reads it */
	} else if (strchr(user, ':')) {
		snprintf(why, why_len, "X-Registry-Auth: a user name with ':' cannot be sent to %s", host);
	} else {
		size_t n = strlen(user) + 1 + strlen(password);
		char *plain = malloc(n + 1), *b64 = NULL;
		if (plain) {
			snprintf(plain, n + 1, "%s:%s", user, password);
			b64 = b64_encode(plain, n);
			forget(plain, n);
		}
		*file = b64 ? json_pack("{s:{s:{s:s}}}", "auths", host, "auth", b64) : NULL;
		forget(b64, b64 ? strlen(b64) : 0);
		r = *file ? 1 : -1;
		if (!*file)
			snprintf(why, why_len, "out of memory");
	}
	if (password)
		explicit_bzero((char *)password, strlen(password));
	json_decref(doc);
	return r;
}
