/* The OCI distribution protocol over libcurl (registry.h). */
#include "image/registry.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/paths.h"

#define MAX_TOKENS 8
#define MAX_REDIRECTS 5
#define MAX_ATTEMPTS 6     /* broken transfers of one blob */
#define MAX_WAITS 5        /* 429s honoured per request */
#define MANIFEST_MAX (4u << 20)
#define ERROR_BODY_MAX 4096

static const char MANIFEST_ACCEPT[] =
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
	"application/vnd.docker.distribution.manifest.list.v2+json, "
	"application/vnd.docker.distribution.manifest.v2+json";

struct token {
	char *scope, *value;
	time_t expires;
};

struct rl_registry {
	char host[256];      /* as the reference names it */
	char api_host[256];  /* what is contacted */
	char base[300];      /* scheme://api_host, once the ping settled it */
	bool verify;
	char *ca;            /* the system's CAs plus certs.d's, or NULL */
	size_t ca_len;
	struct rl_creds creds;
	bool have_creds;
	enum { AUTH_NONE, AUTH_BASIC, AUTH_BEARER } scheme;
	char realm[1024], service[256];
	struct token tokens[MAX_TOKENS];
	size_t n_tokens;
};

/* What one response said, beyond its body. */
struct response {
	long status;
	char *body;
	size_t len, max;
	bool overflow;
	char digest[80], content_type[128], www_auth[1024], content_range[128];
	long retry_after;
};

/* ---- small helpers */

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct response *rs = ctx;
	size_t len = size * n;
	char line[1200];
	snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), data);
	trim(line);
	/* each response (a 100, a redirect's) starts over */
	if (strncmp(line, "HTTP/", 5) == 0) {
		rs->digest[0] = rs->content_type[0] = rs->www_auth[0] = rs->content_range[0] = '\0';
		rs->retry_after = -1;
		return len;
	}
	char *colon = strchr(line, ':');
	if (!colon)
		return len;
	*colon = '\0';
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "Docker-Content-Digest") == 0)
		snprintf(rs->digest, sizeof(rs->digest), "%s", v);
	else if (strcasecmp(line, "Content-Type") == 0)
		snprintf(rs->content_type, sizeof(rs->content_type), "%.*s", (int)strcspn(v, ";"), v);
	else if (strcasecmp(line, "WWW-Authenticate") == 0)
		snprintf(rs->www_auth, sizeof(rs->www_auth), "%s", v);
	else if (strcasecmp(line, "Content-Range") == 0)
		snprintf(rs->content_range, sizeof(rs->content_range), "%s", v);
	else if (strcasecmp(line, "Retry-After") == 0) {
		char *end;
		long s = strtol(v, &end, 10);
		rs->retry_after = *v && !*end && s >= 0 ? s : 1;
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct response *rs = ctx;
	size_t len = size * n;
	if (rs->len + len > rs->max) {
		rs->overflow = true;
		return 0;
	}
	char *grown = realloc(rs->body, rs->len + len + 1);
	if (!grown)
		return 0;
	rs->body = grown;
	memcpy(rs->body + rs->len, data, len);
	rs->len += len;
	rs->body[rs->len] = '\0';
	return len;
}

/* The registry's own words from an {"errors": [...]} body, else the status. */
static void error_words(const char *body, size_t len, long status, char *out, size_t outlen)
{
	_cleanup_json_ json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (code || msg) {
		char text[256];
		snprintf(text, sizeof(text), "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
		for (char *p = text; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		/* Docker's words for a code: MANIFEST_UNKNOWN is "manifest unknown" */
		size_t code_len = code ? strlen(code) : 0, text_len = strlen(text);
		for (char *p = text; p < text + (code_len < text_len ? code_len : text_len); p++)
			*p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
		snprintf(out, outlen, "%s", text);
	} else {
		snprintf(out, outlen, "HTTP %ld", status);
	}
}

static bool same_origin(const struct rl_registry *r, const char *url)
{
	size_t n = strlen(r->base);
	return strncmp(url, r->base, n) == 0 && (url[n] == '/' || url[n] == '?' || url[n] == '\0');
}

static char *certs_d_ca(const char *host)
{
	char cfg[PATH_MAX / 2], path[PATH_MAX];
	if (rl_config_home(cfg, sizeof(cfg)) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/rlbpf/certs.d/%s/ca.crt", cfg, host);
	return access(path, R_OK) == 0 ? strdup(path) : NULL;
}

static int append_file(char **buf, size_t *len, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!*buf && !(*buf = malloc(1)))
		return -ENOMEM;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *grown = realloc(*buf, *len + n + 1);
		if (!grown)
			return -ENOMEM;
		*buf = grown;
		memcpy(*buf + *len, chunk, n);
		*len += n;
	}
	(*buf)[*len] = '\n';
	(*len)++;
	return 0;
}

/* A registry listed with insecure = true in Podman's registries.conf
 * (the user's, then the system's): plain HTTP is allowed for it. */
static bool listed_insecure(const char *host)
{
	char paths[2][PATH_MAX], cfg[PATH_MAX / 2];
	size_t n = 0;
	if (rl_config_home(cfg, sizeof(cfg)) == 0)
		snprintf(paths[n++], PATH_MAX, "%s/containers/registries.conf", cfg);
	snprintf(paths[n++], PATH_MAX, "/etc/containers/registries.conf");
	for (size_t i = 0; i < n; i++) {
		_cleanup_fclose_ FILE *f = fopen(paths[i], "re");
		char line[1024], location[300] = "";
		bool insecure = false, in_block = false;
		while (f && fgets(line, sizeof(line), f)) {
			char *p = line;
			while (isspace((unsigned char)*p))
				p++;
			trim(p);
			if (*p == '#' || !*p)
				continue;
			if (*p == '[') {
				if (in_block && insecure && strcmp(location, host) == 0)
					return true;
				in_block = strcmp(p, "[[registry]]") == 0;
				location[0] = '\0';
				insecure = false;
				continue;
			}
			char key[64], val[300];
			if (!in_block || sscanf(p, "%63[^ =] = %299[^\n]", key, val) != 2)
				continue;
			char *v = val;
			size_t vl = strlen(v);
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v[vl - 1] = '\0';
				v++;
			}
			if (strcmp(key, "location") == 0)
				snprintf(location, sizeof(location), "%s", v);
			else if (strcmp(key, "insecure") == 0)
				insecure = strcmp(v, "true") == 0;
		}
		if (in_block && insecure && strcmp(location, host) == 0)
			return true;
	}
	return false;
}

/* ---- one request */

static CURL *easy_for(const struct rl_registry *r, const char *url, struct response *rs,
		      struct curl_slist *headers, char errbuf[CURL_ERROR_SIZE])
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
	/* a stalled transfer (under 1 byte/s for 30 s) is a broken one */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "rlbpf");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (!r->verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (r->ca) {
		struct curl_blob blob = {.data = r->ca, .len = r->ca_len, .flags = CURL_BLOB_NOCOPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	errbuf[0] = '\0';
	return e;
}

static void response_reset(struct response *rs, size_t max)
{
	free(rs->body);
	memset(rs, 0, sizeof(*rs));
	rs->max = max;
	rs->retry_after = -1;
}

static struct token *token_for(struct rl_registry *r, const char *scope)
{
	for (size_t i = 0; i < r->n_tokens; i++)
		if (strcmp(r->tokens[i].scope, scope) == 0)
			return &r->tokens[i];
	return NULL;
}

/* A "key=value, key="value"" parameter of a challenge. */
static void challenge_param(const char *ch, const char *key, char *out, size_t len)
{
	out[0] = '\0';
	size_t klen = strlen(key);
	for (const char *p = ch; (p = strcasestr(p, key)); p += klen) {
		if (p > ch && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *v = p + klen;
		while (*v == ' ')
			v++;
		if (*v++ != '=')
			continue;
		while (*v == ' ')
			v++;
		size_t n = *v == '"' ? strcspn(++v, "\"") : strcspn(v, ", ");
		snprintf(out, len, "%.*s", (int)n, v);
		return;
	}
}

static int curl_failure(const struct rl_registry *r, CURLcode c, const char *errbuf, struct rl_error *err)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(c);
	if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE)
		return rl_fail(err, EACCES, "%s: %s; put the registry's CA in "
			       "~/.config/rlbpf/certs.d/%s/ca.crt, or use --tls-verify=false", r->host, why, r->host);
	if (c == CURLE_SSL_CONNECT_ERROR && r->verify)
		return rl_fail(err, ECONNREFUSED, "cannot reach %s over HTTPS: %s (a plain HTTP registry "
			       "needs --tls-verify=false, or insecure = true in registries.conf)", r->host, why);
	return rl_fail(err, ECONNREFUSED, "cannot reach %s: %s", r->host, why);
}

/* Retry-After's seconds, within reason: 1 when absent or past a minute. */
static unsigned retry_seconds(const struct response *rs)
{
	return (unsigned)(rs->retry_after > 0 && rs->retry_after <= 60 ? rs->retry_after : 1);
}

/* curl_easy_perform, waiting out 429s; 0 with rs holding the answer, or
 * the transfer's failure. */
static int perform(const struct rl_registry *r, CURL *e, struct response *rs, size_t max,
		   const char *errbuf, struct rl_error *err)
{
	for (int waits = 0;; waits++) {
		CURLcode c = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rs->status);
		if (c != CURLE_OK)
			return curl_failure(r, c, errbuf, err);
		if (rs->status != 429 || waits >= MAX_WAITS)
			return 0;
		sleep(retry_seconds(rs));
		response_reset(rs, max);
	}
}

/* The token for scope from the realm, with the credentials if any. */
static int fetch_token(struct rl_registry *r, const char *scope, struct rl_error *err)
{
	char *s = curl_easy_escape(NULL, scope, 0), *svc = curl_easy_escape(NULL, r->service, 0);
	char url[2048];
	int n = snprintf(url, sizeof(url), "%s%sservice=%s%s%s", r->realm, strchr(r->realm, '?') ? "&" : "?",
			 svc ? svc : "", scope[0] ? "&scope=" : "", scope[0] && s ? s : "");
	curl_free(s);
	curl_free(svc);
	if (n >= (int)sizeof(url))
		return rl_fail(err, ENAMETOOLONG, "token URL too long");
	if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7))
		return rl_fail(err, EINVAL, "%s: the token realm '%.200s' is not an http(s) URL", r->host, r->realm);
	if (strncmp(r->base, "https://", 8) == 0 && strncmp(url, "http://", 7) == 0)
		return rl_fail(err, EPERM, "%s: the token realm '%.200s' is plain HTTP, where credentials "
			       "would go in the clear; refusing it", r->host, r->realm);
	struct response rs = {0};
	response_reset(&rs, 256 * 1024);
	char errbuf[CURL_ERROR_SIZE];
	CURL *e = easy_for(r, url, &rs, NULL, errbuf);
	if (!e)
		return rl_fail(err, ENOMEM, "out of memory");
	if (r->have_creds) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, r->creds.user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, r->creds.secret);
	}
	int ret = perform(r, e, &rs, 256 * 1024, errbuf, err);
	curl_easy_cleanup(e);
	if (ret < 0) {
		free(rs.body);
		return ret;
	}
	if (rs.status != 200) {
		char words[300];
		error_words(rs.body, rs.len, rs.status, words, sizeof(words));
		free(rs.body);
		return rl_fail(err, rs.status == 401 || rs.status == 403 ? EACCES : EPROTO,
			       "%s: the token service refused%s: %s", r->host,
			       r->have_creds ? " the credentials" : "", words);
	}
	_cleanup_json_ json_t *j = json_loadb(rs.body ? rs.body : "", rs.len, 0, NULL);
	free(rs.body);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	if (!tok || !tok[0])
		return rl_fail(err, EPROTO, "%s: the token service gave no token", r->host);
	json_int_t life = json_integer_value(json_object_get(j, "expires_in"));
	if (life < 60)
		life = 60; /* the spec's minimum */
	if (life > 86400)
		life = 86400; /* a day at most: no clock arithmetic on a hostile number */
	struct token *t = token_for(r, scope);
	if (!t) {
		if (r->n_tokens == MAX_TOKENS) {
			free(r->tokens[0].scope);
			free(r->tokens[0].value);
			memmove(&r->tokens[0], &r->tokens[1], sizeof(r->tokens[0]) * (MAX_TOKENS - 1));
			r->n_tokens--;
		}
		t = &r->tokens[r->n_tokens++];
		*t = (struct token){.scope = strdup(scope)};
	}
	free(t->value);
	t->value = strdup(tok);
	/* a little early, so that no request carries a token about to lapse */
	t->expires = time(NULL) + (time_t)life - 10;
	if (!t->scope || !t->value)
		return rl_fail(err, ENOMEM, "out of memory");
	return 0;
}

/* Learns the challenge of a 401: Bearer (realm, service) or Basic. */
static void take_challenge(struct rl_registry *r, const char *ch)
{
	if (strncasecmp(ch, "Bearer", 6) == 0) {
		r->scheme = AUTH_BEARER;
		challenge_param(ch, "realm", r->realm, sizeof(r->realm));
		challenge_param(ch, "service", r->service, sizeof(r->service));
	} else if (strncasecmp(ch, "Basic", 5) == 0) {
		r->scheme = AUTH_BASIC;
	}
}

/* The Authorization header for a request within scope, fetching a token
 * when none is fresh. NULL when the request goes without. */
static struct curl_slist *with_auth(struct rl_registry *r, struct curl_slist *h, const char *scope,
				    struct rl_error *err, int *ret)
{
	*ret = 0;
	char line[16384];
	if (r->scheme == AUTH_BASIC && r->have_creds) {
		char plain[sizeof(r->creds.user) + sizeof(r->creds.secret) + 2];
		unsigned char b64[4 * sizeof(plain) / 3 + 8];
		int n = snprintf(plain, sizeof(plain), "%s:%s", r->creds.user, r->creds.secret);
		EVP_EncodeBlock(b64, (unsigned char *)plain, n);
		snprintf(line, sizeof(line), "Authorization: Basic %s", b64);
		OPENSSL_cleanse(plain, sizeof(plain));
		h = curl_slist_append(h, line);
		OPENSSL_cleanse(line, sizeof(line));
	} else if (r->scheme == AUTH_BEARER) {
		struct token *t = token_for(r, scope);
		if ((!t || t->expires <= time(NULL)) && (*ret = fetch_token(r, scope, err)) < 0)
			return h;
		t = token_for(r, scope);
		if (snprintf(line, sizeof(line), "Authorization: Bearer %s", t->value) >= (int)sizeof(line))
			*ret = rl_fail(err, E2BIG, "%s: the token service gave a token of over 16 KiB", r->host);
		else
			h = curl_slist_append(h, line);
	}
	return h;
}

/* GET url (a path under the registry, or a redirect's absolute URL): auth,
 * 429 and redirects handled; *rs holds the final response. */
static int get(struct rl_registry *r, const char *path, const char *accept, const char *scope,
	       size_t max, struct response *rs, struct rl_error *err)
{
	char url[4096];
	if (snprintf(url, sizeof(url), "%s%s", r->base, path) >= (int)sizeof(url))
		return rl_fail(err, ENAMETOOLONG, "URL too long");
	int redirects = 0, waits = 0, auth_tries = 0;
	for (;;) {
		response_reset(rs, max);
		struct curl_slist *h = accept ? curl_slist_append(NULL, accept) : NULL;
		int ret = 0;
		if (same_origin(r, url))
			h = with_auth(r, h, scope, err, &ret);
		if (ret < 0) {
			curl_slist_free_all(h);
			return ret;
		}
		char errbuf[CURL_ERROR_SIZE];
		CURL *e = easy_for(r, url, rs, h, errbuf);
		if (!e) {
			curl_slist_free_all(h);
			return rl_fail(err, ENOMEM, "out of memory");
		}
		CURLcode c = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rs->status);
		char *next = NULL;
		curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &next);
		char next_url[4096] = "";
		if (next)
			snprintf(next_url, sizeof(next_url), "%s", next);
		curl_easy_cleanup(e);
		curl_slist_free_all(h);
		if (c == CURLE_WRITE_ERROR && rs->overflow)
			return rl_fail(err, EFBIG, "%s: the answer to %s is larger than %zu bytes; refusing it",
				       r->host, path, max);
		if (c != CURLE_OK)
			return curl_failure(r, c, errbuf, err);
		/* only the registry's own challenge: another host (a redirect's
		 * CDN) must not move where credentials go */
		if (rs->status == 401 && auth_tries++ < 2 && rs->www_auth[0] && same_origin(r, url) &&
		    (r->scheme != AUTH_BASIC || !r->have_creds)) {
			take_challenge(r, rs->www_auth);
			/* a new scope in the challenge replaces a stale token */
			struct token *t = token_for(r, scope);
			if (t)
				t->expires = 0;
			if (r->scheme != AUTH_NONE)
				continue;
		}
		if (rs->status == 429 && waits++ < MAX_WAITS) {
			sleep(retry_seconds(rs));
			continue;
		}
		if (rs->status >= 300 && rs->status < 400 && next_url[0]) {
			if (redirects++ >= MAX_REDIRECTS)
				return rl_fail(err, ELOOP, "%s: too many redirects for %s", r->host, path);
			snprintf(url, sizeof(url), "%s", next_url);
			continue;
		}
		return 0;
	}
}

/* ---- opening, login */

static int ping(struct rl_registry *r, const char *scheme, struct rl_error *err)
{
	snprintf(r->base, sizeof(r->base), "%s://%s", scheme, r->api_host);
	struct response rs = {0};
	r->scheme = AUTH_NONE;
	char errbuf[CURL_ERROR_SIZE];
	response_reset(&rs, 64 * 1024);
	CURL *e = easy_for(r, r->base, &rs, NULL, errbuf);
	if (!e)
		return rl_fail(err, ENOMEM, "out of memory");
	char url[400];
	snprintf(url, sizeof(url), "%s/v2/", r->base);
	curl_easy_setopt(e, CURLOPT_URL, url);
	int ret = perform(r, e, &rs, 64 * 1024, errbuf, err);
	if (ret == 0 && rs.status == 401)
		take_challenge(r, rs.www_auth);
	else if (ret == 0 && rs.status != 200)
		ret = rl_fail(err, EPROTO, "%s does not answer as a registry (GET /v2/: HTTP %ld)",
			      r->host, rs.status);
	curl_easy_cleanup(e);
	free(rs.body);
	return ret;
}

struct rl_registry *rl_registry_open(const struct rl_registry_opts *o, struct rl_error *err)
{
	static bool ready;
	if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return rl_fail(err, EIO, "cannot start libcurl"), NULL;
	ready = true;
	struct rl_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return rl_fail(err, ENOMEM, "out of memory"), NULL;
	snprintf(r->host, sizeof(r->host), "%s", o->host);
	snprintf(r->api_host, sizeof(r->api_host), "%s",
		 strcmp(o->host, "docker.io") == 0 ? "registry-1.docker.io" : o->host);
	bool insecure = !o->tls_verify || listed_insecure(o->host);
	r->verify = !insecure;
	if (o->creds) {
		r->creds = *o->creds;
		r->have_creds = true;
	}
	_cleanup_free_ char *extra = certs_d_ca(o->host);
	if (extra && r->verify) {
		/* curl takes one bundle: the system's and the registry's own */
		int a = append_file(&r->ca, &r->ca_len, "/etc/ssl/certs/ca-certificates.crt");
		int b = append_file(&r->ca, &r->ca_len, extra);
		if ((a < 0 && a != -ENOENT) || b < 0) {
			rl_fail(err, b < 0 ? -b : -a, "cannot read %s", b < 0 ? extra : "the system's CAs");
			rl_registry_close(r);
			return NULL;
		}
	}
	int ret = ping(r, "https", err);
	if (ret < 0 && insecure && ret != -EPROTO) {
		struct rl_error first = *err;
		if ((ret = ping(r, "http", err)) < 0 && ret != -EPROTO)
			*err = first;
	}
	if (ret < 0) {
		rl_registry_close(r);
		return NULL;
	}
	return r;
}

void rl_registry_close(struct rl_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tokens; i++) {
		free(r->tokens[i].scope);
		if (r->tokens[i].value)
			OPENSSL_cleanse(r->tokens[i].value, strlen(r->tokens[i].value));
		free(r->tokens[i].value);
	}
	free(r->ca);
	OPENSSL_cleanse(&r->creds, sizeof(r->creds));
	free(r);
}

int rl_registry_check_login(struct rl_registry *r, struct rl_error *err)
{
	if (r->scheme == AUTH_BEARER)
		return fetch_token(r, "", err);
	if (r->scheme == AUTH_NONE)
		return 0;
	struct response rs = {0};
	int ret = get(r, "/v2/", NULL, "", 64 * 1024, &rs, err);
	if (ret == 0 && rs.status != 200) {
		char words[300];
		error_words(rs.body, rs.len, rs.status, words, sizeof(words));
		ret = rl_fail(err, EACCES, "%s refused the credentials: %s", r->host, words);
	}
	free(rs.body);
	return ret;
}

/* ---- manifests */

static void hex_of(const unsigned char md[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	hex_of(md, out);
}

int rl_registry_manifest(struct rl_registry *r, const char *repo, const char *ref, char **body,
			 size_t *len, char media_type[128], char digest[72], struct rl_error *err)
{
	char path[1024], scope[600];
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repo, ref);
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	struct response rs = {0};
	int ret = get(r, path, MANIFEST_ACCEPT, scope, MANIFEST_MAX, &rs, err);
	if (ret < 0) {
		free(rs.body);
		return ret;
	}
	if (rs.status != 200) {
		char words[300];
		error_words(rs.body, rs.len, rs.status, words, sizeof(words));
		free(rs.body);
		if (rs.status == 404)
			return rl_fail(err, ENOENT, "manifest for %s/%s:%s not found: %s", r->host, repo, ref, words);
		if (rs.status == 401 || rs.status == 403)
			return rl_fail(err, EACCES, "%s/%s: %s (pull access denied; log in with rlbpf login %s)",
				       r->host, repo, words, r->host);
		return rl_fail(err, EPROTO, "%s/%s:%s: %s", r->host, repo, ref, words);
	}
	char hex[65];
	sha256_hex(rs.body ? rs.body : "", rs.len, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	bool by_digest = strncmp(ref, "sha256:", 7) == 0;
	if ((rs.digest[0] && strncmp(rs.digest, "sha256:", 7) == 0 && strcmp(rs.digest, digest) != 0) ||
	    (by_digest && strcmp(ref, digest) != 0)) {
		free(rs.body);
		return rl_fail(err, EBADMSG, "%s/%s:%s: the manifest's bytes are %s, not %s as %s; refusing it",
			       r->host, repo, ref, digest, by_digest ? ref : rs.digest,
			       by_digest ? "asked for" : "the registry says");
	}
	snprintf(media_type, 128, "%s", rs.content_type);
	*body = rs.body ? rs.body : strdup("");
	*len = rs.len;
	return *body ? 0 : rl_fail(err, ENOMEM, "out of memory");
}

/* ---- blobs */

struct xfer {
	struct rl_blob *b;
	int fd;                /* <hex>.partial, flocked */
	EVP_MD_CTX *md;
	CURL *e;
	struct curl_slist *h;
	struct response rs;    /* headers, and an error's body */
	char url[4096];
	char errbuf[CURL_ERROR_SIZE];
	uint64_t range_from;   /* what this response should start at */
	bool no_range;         /* the server ignored or garbled Range */
	bool started;          /* the body of this response has begun */
	bool bad_range, too_big;
	int attempts, redirects, waits, auth_tries;
	uint64_t not_before_ms; /* CLOCK_MONOTONIC: a 429's Retry-After */
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void md_restart(struct xfer *x)
{
	EVP_DigestInit_ex(x->md, EVP_sha256(), NULL);
	x->b->done = 0;
	if (ftruncate(x->fd, 0) < 0)
		x->too_big = true;
}

static size_t on_blob(char *data, size_t size, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 206)
		return on_body(data, size, n, &x->rs);
	if (!x->started) {
		x->started = true;
		if (status == 200 && x->b->done > 0) {
			md_restart(x);
		} else if (status == 206) {
			char want[64];
			snprintf(want, sizeof(want), "bytes %llu-", (unsigned long long)x->range_from);
			const char *slash = strchr(x->rs.content_range, '/');
			if (x->range_from != x->b->done || strncmp(x->rs.content_range, want, strlen(want)) != 0 ||
			    !slash || strtoull(slash + 1, NULL, 10) != x->b->size) {
				x->bad_range = true;
				return 0;
			}
		}
	}
	if (x->b->done + len > x->b->size) {
		x->too_big = true;
		return 0;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = pwrite(x->fd, data + off, len - off, (off_t)(x->b->done + off));
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	EVP_DigestUpdate(x->md, data, len);
	x->b->done += len;
	return len;
}

static int xfer_start(struct rl_registry *r, CURLM *m, struct xfer *x, const char *scope,
		      struct rl_error *err)
{
	response_reset(&x->rs, ERROR_BODY_MAX);
	x->started = x->bad_range = x->too_big = false;
	curl_slist_free_all(x->h);
	x->h = NULL;
	int ret = 0;
	if (same_origin(r, x->url))
		x->h = with_auth(r, NULL, scope, err, &ret);
	if (ret < 0)
		return ret;
	x->range_from = x->no_range ? 0 : x->b->done;
	if (x->no_range && x->b->done)
		md_restart(x);
	if (x->range_from) {
		char range[64];
		snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)x->range_from);
		x->h = curl_slist_append(x->h, range);
	}
	x->e = easy_for(r, x->url, &x->rs, x->h, x->errbuf);
	if (!x->e)
		return rl_fail(err, ENOMEM, "out of memory");
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, on_blob);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
	x->b->state = RL_BLOB_FETCHING;
	return curl_multi_add_handle(m, x->e) == CURLM_OK ? 0 : rl_fail(err, EIO, "libcurl refused a transfer");
}

static void blob_path(const char *dir, const char *hex, const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "%s/%s%s", dir, hex, suffix);
}

/* Whether dir holds the blob whole (it was checked when it was renamed in). */
static bool have_blob(const char *dir, const struct rl_blob *b)
{
	char path[PATH_MAX];
	struct stat st;
	blob_path(dir, b->hex, "", path, sizeof(path));
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == b->size;
}

/* Opens and locks the blob's .partial; what an earlier, interrupted pull
 * left in it is hashed and kept, to be resumed. 1 when locked, 0 when
 * another pull holds it (and wait is false), negative on error. */
static int claim(const char *dir, struct xfer *x, bool wait, struct rl_error *err)
{
	char path[PATH_MAX];
	blob_path(dir, x->b->hex, ".partial", path, sizeof(path));
	for (;;) {
		x->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (x->fd < 0)
			return rl_fail_errno(err, errno, "cannot write %s", path);
		if (flock(x->fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
			int e = errno;
			close(x->fd);
			x->fd = -1;
			return e == EWOULDBLOCK ? 0 : rl_fail_errno(err, e, "cannot lock %s", path);
		}
		/* the file locked must still be the .partial: the pull that held
		 * it may have renamed it into place meanwhile */
		struct stat mine, there;
		if (fstat(x->fd, &mine) == 0 && stat(path, &there) == 0 && mine.st_ino == there.st_ino &&
		    mine.st_dev == there.st_dev)
			break;
		close(x->fd);
		x->fd = -1;
	}
	if (!(x->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(x->md, EVP_sha256(), NULL))
		return rl_fail(err, ENOMEM, "cannot set up sha256");
	struct stat st;
	x->b->done = 0;
	if (fstat(x->fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < x->b->size) {
		char buf[65536];
		ssize_t n;
		off_t off = 0;
		while (off < st.st_size && (n = pread(x->fd, buf, sizeof(buf), off)) > 0) {
			EVP_DigestUpdate(x->md, buf, (size_t)n);
			off += n;
		}
		x->b->done = (uint64_t)off;
	} else if (ftruncate(x->fd, 0) < 0) {
		return rl_fail_errno(err, errno, "cannot write %s", path);
	}
	return 1;
}

static void release(const char *dir, struct xfer *x)
{
	char path[PATH_MAX];
	if (x->fd >= 0) {
		/* only our own file: another pull may have made a new one */
		struct stat mine, there;
		blob_path(dir, x->b->hex, ".partial", path, sizeof(path));
		if (fstat(x->fd, &mine) == 0 && stat(path, &there) == 0 && mine.st_ino == there.st_ino &&
		    mine.st_dev == there.st_dev)
			unlink(path);
		close(x->fd);
		x->fd = -1;
	}
	EVP_MD_CTX_free(x->md);
	x->md = NULL;
	curl_slist_free_all(x->h);
	x->h = NULL;
	free(x->rs.body);
	x->rs.body = NULL;
}

/* A finished response: 1 done, 0 to try again, negative to give up. */
static int finished(struct rl_registry *r, const char *dir, struct xfer *x, CURLcode c,
		    const char *scope, struct rl_error *err)
{
	long status = 0;
	char *next = NULL;
	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->e, CURLINFO_REDIRECT_URL, &next);
	char digest[72];
	snprintf(digest, sizeof(digest), "sha256:%s", x->b->hex);
	if (x->too_big)
		return rl_fail(err, EBADMSG, "blob %s: the registry sent more than its %llu bytes; refusing it",
			       digest, (unsigned long long)x->b->size);
	if (x->bad_range) {
		/* a 206 for some other range: start over without one */
		x->no_range = true;
		return x->attempts++ < MAX_ATTEMPTS ? 0 : rl_fail(err, EPROTO, "blob %s: bad ranges", digest);
	}
	if (c != CURLE_OK && !(status >= 300 && status != 200 && status != 206 && c == CURLE_WRITE_ERROR)) {
		if (x->attempts++ < MAX_ATTEMPTS)
			return 0;
		return curl_failure(r, c, x->errbuf, err);
	}
	if (status == 200 || status == 206) {
		if (x->b->done < x->b->size)
			return x->attempts++ < MAX_ATTEMPTS ? 0
				: rl_fail(err, EPROTO, "blob %s: the transfer keeps ending early", digest);
		unsigned char md[32];
		unsigned int n = 0;
		char hex[65];
		EVP_DigestFinal_ex(x->md, md, &n);
		hex_of(md, hex);
		if (strcmp(hex, x->b->hex) != 0)
			return rl_fail(err, EBADMSG, "blob %s does not match its digest (its bytes are "
				       "sha256:%s); nothing of it was kept", digest, hex);
		char from[PATH_MAX], to[PATH_MAX];
		blob_path(dir, x->b->hex, ".partial", from, sizeof(from));
		blob_path(dir, x->b->hex, "", to, sizeof(to));
		if (fdatasync(x->fd) < 0 || rename(from, to) < 0)
			return rl_fail_errno(err, errno, "cannot keep blob %s", digest);
		close(x->fd);
		x->fd = -1;
		x->b->state = RL_BLOB_DONE;
		return 1;
	}
	if (status >= 300 && status < 400 && next) {
		if (x->redirects++ >= MAX_REDIRECTS)
			return rl_fail(err, ELOOP, "blob %s: too many redirects", digest);
		snprintf(x->url, sizeof(x->url), "%s", next);
		return 0;
	}
	if (status == 401 && x->auth_tries++ < 2 && x->rs.www_auth[0] && same_origin(r, x->url)) {
		take_challenge(r, x->rs.www_auth);
		struct token *t = token_for(r, scope);
		if (t)
			t->expires = 0;
		return 0;
	}
	if (status == 429 && x->waits++ < MAX_WAITS) {
		x->not_before_ms = now_ms() + (uint64_t)retry_seconds(&x->rs) * 1000;
		return 0;
	}
	char words[300];
	error_words(x->rs.body, x->rs.len, status, words, sizeof(words));
	return rl_fail(err, status == 404 ? ENOENT : EPROTO, "blob %s: %s", digest, words);
}

/* Runs the transfers of xs (claimed) to their end, parallel at a time. */
static int run_transfers(struct rl_registry *r, const char *repo, const char *dir, struct xfer *xs,
			 size_t n, int parallel, rl_blob_progress cb, void *ctx, struct rl_blob *blobs,
			 size_t nblobs, struct rl_error *err)
{
	char scope[600];
	snprintf(scope, sizeof(scope), "repository:%s:pull", repo);
	CURLM *m = curl_multi_init();
	if (!m)
		return rl_fail(err, ENOMEM, "out of memory");
	curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	size_t running = 0, left = 0;
	for (size_t i = 0; i < n; i++)
		left += xs[i].fd >= 0 && xs[i].b->state != RL_BLOB_DONE;
	int ret = 0;
	struct timespec last = {0};
	while (left && ret == 0) {
		/* start what may start, in the manifest's order (the loader
		 * unpacks in that order), as long as there is room */
		uint64_t now = now_ms();
		for (size_t i = 0; i < n && running < (size_t)parallel && ret == 0; i++) {
			struct xfer *x = &xs[i];
			if (x->e || x->b->state == RL_BLOB_DONE || x->fd < 0 || x->not_before_ms > now)
				continue;
			if ((ret = xfer_start(r, m, x, scope, err)) == 0)
				running++;
		}
		int still = 0;
		curl_multi_perform(m, &still);
		CURLMsg *msg;
		int queued;
		while (ret == 0 && (msg = curl_multi_info_read(m, &queued))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct xfer *x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			CURLcode c = msg->data.result;
			int f = finished(r, dir, x, c, scope, err);
			curl_multi_remove_handle(m, x->e);
			curl_easy_cleanup(x->e);
			x->e = NULL;
			running--;
			if (f < 0)
				ret = f;
			else if (f == 1)
				left--;
			if (cb)
				cb(ctx, blobs, nblobs);
		}
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (cb && (t.tv_sec - last.tv_sec) * 1000000000L + (t.tv_nsec - last.tv_nsec) > 100000000L) {
			cb(ctx, blobs, nblobs);
			last = t;
		}
		/* nothing to wait for when a transfer may start now */
		bool startable = false;
		for (size_t i = 0; i < n && !startable && running < (size_t)parallel; i++)
			startable = !xs[i].e && xs[i].fd >= 0 && xs[i].b->state != RL_BLOB_DONE &&
				    xs[i].not_before_ms <= now_ms();
		if (left && ret == 0 && !startable)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	for (size_t i = 0; i < n; i++)
		if (xs[i].e) {
			curl_multi_remove_handle(m, xs[i].e);
			curl_easy_cleanup(xs[i].e);
			xs[i].e = NULL;
		}
	curl_multi_cleanup(m);
	return ret;
}

int rl_registry_blobs(struct rl_registry *r, const char *repo, const char *dir,
		      struct rl_blob *blobs, size_t n, int parallel, rl_blob_progress cb, void *ctx,
		      struct rl_error *err)
{
	struct xfer *xs = calloc(n ? n : 1, sizeof(*xs));
	if (!xs)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t nx = 0, busy = 0;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct rl_blob *b = &blobs[i];
		if (have_blob(dir, b)) {
			b->state = RL_BLOB_EXISTS;
			b->done = b->size;
			continue;
		}
		struct xfer *x = &xs[nx++];
		x->b = b;
		x->fd = -1;
		snprintf(x->url, sizeof(x->url), "%s/v2/%s/blobs/sha256:%s", r->base, repo, b->hex);
		b->state = RL_BLOB_WAITING;
		int c = claim(dir, x, false, err);
		if (c < 0)
			ret = c;
		else if (c == 0)
			busy++;
	}
	if (cb)
		cb(ctx, blobs, n);
	if (ret == 0)
		ret = run_transfers(r, repo, dir, xs, nx, parallel, cb, ctx, blobs, n, err);
	/* blobs another pull was fetching: theirs once its lock goes, else ours */
	for (size_t i = 0; i < nx && ret == 0 && busy; i++) {
		struct xfer *x = &xs[i];
		if (x->fd >= 0 || x->b->state == RL_BLOB_DONE)
			continue;
		if ((ret = claim(dir, x, true, err)) < 0)
			break;
		ret = 0;
		if (have_blob(dir, x->b)) {
			x->b->state = RL_BLOB_EXISTS;
			x->b->done = x->b->size;
			release(dir, x);
			continue;
		}
		ret = run_transfers(r, repo, dir, x, 1, 1, cb, ctx, blobs, n, err);
	}
	for (size_t i = 0; i < nx; i++)
		release(dir, &xs[i]);
	free(xs);
	return ret;
}
