/* Registry credentials (auth.h). */
#include "image/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/paths.h"

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

static const char *home(void)
{
	const char *h = getenv("HOME");
	return h && h[0] == '/' ? h : NULL;
}

/* The files to read, in order; n of them written into paths. */
static size_t read_order(char paths[4][PATH_MAX])
{
	size_t n = 0;
	char cfg[PATH_MAX / 2];
	const char *v = getenv("REGISTRY_AUTH_FILE"), *h = home();
	if (v && v[0])
		snprintf(paths[n++], PATH_MAX, "%s", v);
	if ((v = getenv("XDG_RUNTIME_DIR")) && v[0] == '/')
		snprintf(paths[n++], PATH_MAX, "%s/containers/auth.json", v);
	if (rl_config_home(cfg, sizeof(cfg)) == 0)
		snprintf(paths[n++], PATH_MAX, "%s/containers/auth.json", cfg);
	if (h)
		snprintf(paths[n++], PATH_MAX, "%s/.docker/config.json", h);
	return n;
}

/* The keys a registry may be stored under. */
static size_t keys_of(const char *registry, const char *keys[4])
{
	size_t n = 0;
	keys[n++] = registry;
	if (strcmp(registry, "docker.io") == 0) {
		keys[n++] = DOCKER_HUB_KEY;
		keys[n++] = "index.docker.io";
		keys[n++] = "registry-1.docker.io";
	}
	return n;
}

static int decode_auth(const char *b64, const char *file, const char *registry, struct rl_creds *out,
		       struct rl_error *err)
{
	size_t len = strlen(b64);
	unsigned char *plain = malloc(len + 4);
	if (!plain)
		return rl_fail(err, ENOMEM, "out of memory");
	int n = len % 4 == 0 ? EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len) : -1;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes */
	while (n > 0 && len && b64[--len] == '=')
		n--;
	char *colon = n > 0 ? memchr(plain, ':', (size_t)n) : NULL;
	if (!colon) {
		free(plain);
		return rl_fail(err, EINVAL, "%s: the auth of %s is not base64 of user:password; "
			       "log in again with rlbpf login %s", file, registry, registry);
	}
	size_t ulen = (size_t)(colon - (char *)plain), slen = (size_t)n - ulen - 1;
	int r = 0;
	if (ulen >= sizeof(out->user) || slen >= sizeof(out->secret))
		r = rl_fail(err, ENAMETOOLONG, "%s: the credentials of %s are too long", file, registry);
	else {
		memcpy(out->user, plain, ulen);
		out->user[ulen] = '\0';
		memcpy(out->secret, colon + 1, slen);
		out->secret[slen] = '\0';
		r = 1;
	}
	OPENSSL_cleanse(plain, len + 4);
	free(plain);
	return r;
}

/* docker-credential-NAME get: the server on stdin, JSON on stdout. */
static int from_helper(const char *name, const char *server, struct rl_creds *out, struct rl_error *err)
{
	char prog[128];
	for (const char *p = name; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-' && *p != '_')
			return rl_fail(err, EINVAL, "credential helper name '%.60s' is not a plain name", name);
	if (snprintf(prog, sizeof(prog), "docker-credential-%s", name) >= (int)sizeof(prog))
		return rl_fail(err, EINVAL, "credential helper name too long");
	int in[2], outp[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot run %s", prog);
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return rl_fail_errno(err, errno, "cannot run %s", prog);
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		execlp(prog, prog, "get", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (pid > 0)
		(void)!write(in[1], server, strlen(server));
	close(in[1]);
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	while (pid > 0 && got < sizeof(buf) - 1 && (n = read(outp[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(outp[0]);
	buf[got] = '\0';
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return rl_fail_errno(err, ECHILD, "cannot run %s", prog);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return rl_fail(err, ENOENT, "the credential helper %s is not on PATH", prog);
	/* helpers say "credentials not found in native keychain" and fail */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0;
	_cleanup_json_ json_t *j = json_loads(buf, 0, NULL);
	OPENSSL_cleanse(buf, sizeof(buf));
	const char *u = json_string_value(json_object_get(j, "Username"));
	const char *s = json_string_value(json_object_get(j, "Secret"));
	if (!u || !s)
		return rl_fail(err, EINVAL, "%s gave no Username and Secret", prog);
	if (snprintf(out->user, sizeof(out->user), "%s", u) >= (int)sizeof(out->user) ||
	    snprintf(out->secret, sizeof(out->secret), "%s", s) >= (int)sizeof(out->secret))
		return rl_fail(err, ENAMETOOLONG, "%s gave credentials too long", prog);
	return 1;
}

int rl_auth_lookup(const char *registry, struct rl_creds *out, struct rl_error *err)
{
	char paths[4][PATH_MAX];
	const char *keys[4];
	size_t n = read_order(paths), nk = keys_of(registry, keys);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		json_error_t je;
		if (access(paths[i], F_OK) < 0)
			continue;
		_cleanup_json_ json_t *j = json_load_file(paths[i], 0, &je);
		if (!j)
			return rl_fail(err, EINVAL, "%s: %s (line %d); fix or remove it", paths[i], je.text, je.line);
		for (size_t k = 0; k < nk; k++) {
			const char *helper = json_string_value(json_object_get(json_object_get(j, "credHelpers"), keys[k]));
			if (helper)
				return from_helper(helper, keys[k], out, err);
			const char *b64 = json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"), keys[k]), "auth"));
			if (b64 && b64[0])
				return decode_auth(b64, paths[i], registry, out, err);
		}
		const char *store = json_string_value(json_object_get(j, "credsStore"));
		if (store) {
			int r = from_helper(store, strcmp(registry, "docker.io") ? registry : DOCKER_HUB_KEY, out, err);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

int rl_auth_file_for_write(char *path, size_t len, struct rl_error *err)
{
	/* the first file read: Docker's comes only after the config home's */
	char paths[4][PATH_MAX];
	if (read_order(paths) == 0)
		return rl_fail(err, ENOENT, "no HOME, XDG_RUNTIME_DIR or REGISTRY_AUTH_FILE to keep credentials in");
	if (snprintf(path, len, "%s", paths[0]) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "auth file path too long");
	return 0;
}

/* Reads the file (an empty object when missing), sets (c) or removes (c
 * NULL) the registry's entry, and writes it back through a temporary file
 * and rename. */
static int edit_file(const char *registry, const struct rl_creds *c, struct rl_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], dir[PATH_MAX];
	int r = rl_auth_file_for_write(path, sizeof(path), err);
	if (r < 0)
		return r;
	json_error_t je;
	_cleanup_json_ json_t *j = access(path, F_OK) == 0 ? json_load_file(path, 0, &je) : json_object();
	if (!j)
		return rl_fail(err, EINVAL, "%s: %s (line %d); fix or remove it", path, je.text, je.line);
	if (!json_is_object(j))
		return rl_fail(err, EINVAL, "%s is not a JSON object; fix or remove it", path);
	json_t *auths = json_object_get(j, "auths");
	if (!json_is_object(auths) && json_object_set_new(j, "auths", json_object()) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	auths = json_object_get(j, "auths");
	if (!c) {
		if (json_object_del(auths, registry) < 0)
			return -ENOENT;
	} else {
		size_t plen = strlen(c->user) + 1 + strlen(c->secret);
		char *plain = malloc(plen + 1), *b64 = malloc(4 * (plen / 3 + 1) + 1);
		if (!plain || !b64) {
			free(plain);
			free(b64);
			return rl_fail(err, ENOMEM, "out of memory");
		}
		snprintf(plain, plen + 1, "%s:%s", c->user, c->secret);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, (int)plen);
		json_object_set_new(auths, registry, json_pack("{s:s}", "auth", b64));
		OPENSSL_cleanse(plain, plen);
		free(plain);
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if ((r = rl_mkdir_p(dir, 0700, err)) < 0)
			return r;
	}
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot write %s", path);
	fchmod(fd, 0600);
	if (json_dumpfd(j, fd, JSON_INDENT(1)) < 0 || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		r = rl_fail_errno(err, errno ? errno : EIO, "cannot write %s", tmp);
		close(fd);
		unlink(tmp);
		return r;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		r = rl_fail_errno(err, errno, "cannot replace %s", path);
		unlink(tmp);
		return r;
	}
	return 0;
}

int rl_auth_store(const char *registry, const struct rl_creds *c, struct rl_error *err)
{
	return edit_file(registry, c, err);
}

int rl_auth_remove(const char *registry, struct rl_error *err)
{
	return edit_file(registry, NULL, err);
}
