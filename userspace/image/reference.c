/* Image references (reference.h). */
#include "image/reference.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		size_t sep = i;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		if (i == sep || i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* host[:port], host being dot-separated [A-Za-z0-9-] labels. */
static bool valid_domain(const char *s, size_t n)
{
	size_t host = n;
	const char *colon = memchr(s, ':', n);
	if (colon) {
		host = (size_t)(colon - s);
		if (host + 1 == n)
			return false;
		for (size_t i = host + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
	}
	if (host == 0)
		return false;
	for (size_t i = 0; i < host; i++) {
		char c = s[i];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '.'))
			return false;
		if (c == '.' && (i == 0 || i + 1 == host || s[i - 1] == '.'))
			return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

int rl_ref_normalize(const char *ref, char *out, size_t len, struct rl_error *err)
{
	if (!ref[0])
		return rl_fail(err, EINVAL, "an image name cannot be empty");
	if (strchr(ref, '@'))
		return rl_fail(err, EINVAL,
			       "'%.200s': references by digest are not supported; use NAME[:TAG] or the image ID",
			       ref);
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(ref, ':');
	const char *tag = "latest";
	size_t name_len = strlen(ref);
	if (colon && (!slash || colon > slash)) {
		tag = colon + 1;
		name_len = (size_t)(colon - ref);
	}
	if (!valid_tag(tag))
		return rl_fail(err, EINVAL,
			       "invalid reference format: '%.200s': a tag is up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
			       ref);
	/* Components; the first may be a registry host when more follow. */
	const char *name = ref;
	size_t first = strcspn(name, "/");
	bool has_more = first < name_len;
	if (first > name_len)
		first = name_len;
	bool domain = has_more && (memchr(name, '.', first) || memchr(name, ':', first) ||
				   (first == 9 && strncmp(name, "localhost", 9) == 0));
	for (size_t i = 0; i < first && !domain; i++)
		if (isupper((unsigned char)name[i]))
			domain = has_more;
	if (domain && !valid_domain(name, first))
		return rl_fail(err, EINVAL, "invalid reference format: '%.200s': bad registry host", ref);
	for (size_t at = domain ? first + 1 : 0; at <= name_len;) {
		size_t n = strcspn(name + at, "/");
		if (at + n > name_len)
			n = name_len - at;
		if (!valid_component(name + at, n))
			return rl_fail(err, EINVAL,
				       "invalid reference format: '%.200s': repository names are lowercase letters and digits, separated by '.', '_', '__', '-' or '/'",
				       ref);
		at += n + 1;
	}
	if (name_len > 255)
		return rl_fail(err, EINVAL, "invalid reference format: '%.80s...': name too long", ref);
	/* Docker Hub's own names, as Docker shows them. */
	if (domain && ((first == 9 && strncmp(name, "docker.io", 9) == 0) ||
		       (first == 15 && strncmp(name, "index.docker.io", 15) == 0))) {
		name += first + 1;
		name_len -= first + 1;
	}
	if (name_len > 8 && strncmp(name, "library/", 8) == 0 && !memchr(name + 8, '/', name_len - 8)) {
		name += 8;
		name_len -= 8;
	}
	if (snprintf(out, len, "%.*s:%s", (int)name_len, name, tag) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "image name too long: %.80s", ref);
	return 0;
}

const char *rl_ref_tag(const char *name_tag)
{
	const char *colon = strrchr(name_tag, ':');
	return colon ? colon + 1 : "";
}


bool rl_ref_valid_digest(const char *d)
{
	bool ok = d && strlen(d) == 71 && strncmp(d, "sha256:", 7) == 0;
	for (size_t i = 7; ok && i < 71; i++)
		ok = (d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f');
	return ok;
}

/* Whether the first of more components is a registry host, as Docker
 * decides: it has a '.' or a ':', is localhost, or has capitals. */
static bool first_is_host(const char *name, size_t first, size_t len)
{
	if (first >= len)
		return false;
	if (memchr(name, '.', first) || memchr(name, ':', first) ||
	    (first == 9 && strncmp(name, "localhost", 9) == 0))
		return true;
	for (size_t i = 0; i < first; i++)
		if (isupper((unsigned char)name[i]))
			return true;
	return false;
}

int rl_pull_ref_parse(const char *text, struct rl_pull_ref *out, struct rl_error *err)
{
	memset(out, 0, sizeof(*out));
	char name[600];
	const char *at = strchr(text, '@');
	size_t name_len = at ? (size_t)(at - text) : strlen(text);
	if (name_len >= sizeof(name))
		return rl_fail(err, EINVAL, "invalid reference format: '%.80s...': name too long", text);
	memcpy(name, text, name_len);
	name[name_len] = '\0';
	if (at) {
		const char *d = at + 1;
		if (!rl_ref_valid_digest(d))
			return rl_fail(err, EINVAL, "invalid reference format: '%.200s': a digest is "
				       "sha256: and 64 lowercase hex digits", text);
		memcpy(out->digest, d, 72);
	}
	const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
	bool tagged = colon && (!slash || colon > slash);
	int r;
	if (!at || tagged) {
		if ((r = rl_ref_normalize(name, out->name, sizeof(out->name), err)) < 0)
			return r;
	} else {
		/* a digest alone: the name checked with a stand-in tag */
		char probe[sizeof(out->name)];
		if ((r = rl_ref_normalize(name, probe, sizeof(probe), err)) < 0)
			return r;
	}
	if (tagged) {
		snprintf(out->tag, sizeof(out->tag), "%s", colon + 1);
		name[colon - name] = '\0';
	} else if (!at) {
		snprintf(out->tag, sizeof(out->tag), "latest");
	}
	size_t len = strlen(name), first = strcspn(name, "/");
	const char *repo = name;
	if (first_is_host(name, first, len)) {
		snprintf(out->host, sizeof(out->host), "%.*s", (int)first, name);
		repo = name + first + 1;
		if (strcmp(out->host, "index.docker.io") == 0)
			snprintf(out->host, sizeof(out->host), "docker.io");
	} else {
		snprintf(out->host, sizeof(out->host), "docker.io");
	}
	if (strcmp(out->host, "docker.io") == 0 && !strchr(repo, '/'))
		r = snprintf(out->repo, sizeof(out->repo), "library/%s", repo);
	else
		r = snprintf(out->repo, sizeof(out->repo), "%s", repo);
	if (r >= (int)sizeof(out->repo))
		return rl_fail(err, EINVAL, "invalid reference format: '%.80s...': name too long", text);
	snprintf(out->full, sizeof(out->full), "%s/%s%s%s%s%s", out->host, out->repo, out->tag[0] ? ":" : "",
		 out->tag, out->digest[0] ? "@" : "", out->digest);
	return 0;
}
