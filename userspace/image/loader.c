#include "image/loader.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "image/unpack.h"

#define MAX_JSON (16 << 20) /* manifests and configs are small */
#define MAX_INDEX_DEPTH 3

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"


/* ---- digests */

typedef char hex64[65];

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* "sha256:<64 hex>" into hex; anything else is refused by name. */
static int parse_digest(const char *digest, const char *where, hex64 hex, struct rl_error *err)
{
	if (!digest)
		return rl_fail(err, EINVAL, "%s has no digest; refusing the image", where);
	const char *colon = strchr(digest, ':');
	if (!colon || colon == digest)
		return rl_fail(err, EINVAL, "%s has a malformed digest '%.80s'; refusing the image",
			       where, digest);
	if (strncmp(digest, "sha256:", 7) != 0)
		return rl_fail(err, ENOTSUP,
			       "%s uses the digest algorithm '%.*s', which rlbpf does not check; only sha256 is supported",
			       where, (int)(colon - digest), digest);
	if (!is_hex64(digest + 7, strlen(digest + 7)))
		return rl_fail(err, EINVAL, "%s has a malformed digest '%.80s'; refusing the image",
			       where, digest);
	memcpy(hex, digest + 7, 65);
	return 0;
}

struct sha {
	EVP_MD_CTX *ctx;
};

static int sha_init(struct sha *s, struct rl_error *err)
{
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->ctx);
		s->ctx = NULL;
		return rl_fail(err, ENOMEM, "cannot set up sha256 (libcrypto)");
	}
	return 0;
}

static void sha_final(struct sha *s, hex64 hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(s->ctx, md, &n);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int sha_buf(const void *buf, size_t len, hex64 hex, struct rl_error *err)
{
	struct sha s;
	int r = sha_init(&s, err);
	if (r < 0)
		return r;
	EVP_DigestUpdate(s.ctx, buf, len);
	sha_final(&s, hex);
	return 0;
}

/* ---- reading the archive's files, never outside it */

static int open_in(int srcfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, srcfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Opens a file the manifest names; `names` says who names it. */
static int open_named(int srcfd, const char *path, const char *names, const char *kind,
		      struct rl_error *err)
{
	if (!path || !path[0])
		return rl_fail(err, EINVAL, "%s names a %s with no path; refusing the image", names, kind);
	int fd = open_in(srcfd, path, O_RDONLY);
	if (fd == -ENOENT)
		return rl_fail(err, ENOENT, "%s names the %s '%.200s', which is not in the archive",
			       names, kind, path);
	if (fd == -EXDEV || fd == -ELOOP)
		return rl_fail(err, EPERM,
			       "%s names the %s '%.200s', which is outside the archive; refusing a hostile archive",
			       names, kind, path);
	if (fd < 0)
		return rl_fail_errno(err, -fd, "cannot open the %s '%.200s'", kind, path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rl_fail(err, EINVAL, "%s names the %s '%.200s', which is not a file", names,
			       kind, path);
	}
	return fd;
}

static int read_all(int fd, const char *what, char **out, size_t *len, struct rl_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return rl_fail_errno(err, errno, "cannot read %s", what);
	if (st.st_size > MAX_JSON)
		return rl_fail(err, EFBIG, "%s is %lld bytes, too large for a manifest or config",
			       what, (long long)st.st_size);
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return rl_fail_errno(err, n < 0 ? errno : EIO, "cannot read %s", what);
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

static json_t *parse_json(const char *buf, size_t len, const char *what, struct rl_error *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		rl_fail(err, EINVAL, "%s is not valid JSON (line %d: %s); refusing the image", what,
			jerr.line, jerr.text);
	return j;
}

/* ---- what the archive holds */

struct layer_ref {
	char *path;
	hex64 digest;  /* of the blob as stored, "" when the archive gives none */
	uint64_t size; /* expected size, with digest (OCI) */
	bool sized;
	hex64 diff_id; /* of the uncompressed tar, "" when not checked */
};

struct plan {
	hex64 id;
	char *config;
	size_t config_len;
	struct layer_ref *layers;
	size_t n_layers;
	json_t *tags; /* array of strings */
};

struct plans {
	struct plan *v;
	size_t n;
};

static void plans_free(struct plans *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].config);
		for (size_t k = 0; k < p->v[i].n_layers; k++)
			free(p->v[i].layers[k].path);
		free(p->v[i].layers);
		json_decref(p->v[i].tags);
	}
	free(p->v);
	*p = (struct plans){0};
}

/* The image with this config, merged with one seen before (two tags of
 * one image). *fresh tells whether it is new. */
static struct plan *plan_for(struct plans *p, const hex64 id, bool *fresh)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].id, id) == 0) {
			*fresh = false;
			return &p->v[i];
		}
	struct plan *grown = realloc(p->v, (p->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	p->v = grown;
	struct plan *pl = &p->v[p->n];
	*pl = (struct plan){0};
	memcpy(pl->id, id, sizeof(hex64));
	if (!(pl->tags = json_array()))
		return NULL;
	p->n++;
	*fresh = true;
	return pl;
}

static void add_tag(struct plan *pl, const char *tag)
{
	size_t i;
	json_t *t;
	if (!tag || !tag[0])
		return;
	json_array_foreach(pl->tags, i, t)
		if (strcmp(json_string_value(t), tag) == 0)
			return;
	json_array_append_new(pl->tags, json_string(tag));
}

/* Parses and checks an image config. */
static int parse_config(const char *buf, size_t len, const char *what, json_t **doc,
			struct rl_error *err)
{
	*doc = parse_json(buf, len, what, err);
	if (!*doc)
		return -EINVAL;
	if (!json_is_object(*doc))
		return rl_fail(err, EINVAL, "%s is not a JSON object; refusing the image", what);
	const char *os = json_string_value(json_object_get(*doc, "os"));
	if (os && strcmp(os, "linux") != 0)
		return rl_fail(err, ENOTSUP, "%s is an image for '%s'; rlbpf runs Linux images", what, os);
	return 0;
}

static json_t *diff_ids_of(json_t *config)
{
	return json_object_get(json_object_get(config, "rootfs"), "diff_ids");
}

/* The digest a docker-archive path carries in its name, if any:
 * "<hex>.json", "<hex>.tar", "blobs/sha256/<hex>". */
static bool digest_in_name(const char *path, hex64 hex)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strcspn(base, ".");
	if (strncmp(path, "blobs/sha256/", 13) == 0 && base == path + 13 && is_hex64(base, strlen(base))) {
		memcpy(hex, base, 65);
		return true;
	}
	if (is_hex64(base, n) && (strcmp(base + n, ".json") == 0 || strcmp(base + n, ".tar") == 0)) {
		memcpy(hex, base, 64);
		hex[64] = '\0';
		return true;
	}
	return false;
}

static int plan_docker(int srcfd, struct plans *plans, struct rl_error *err)
{
	_cleanup_close_ int mfd = open_named(srcfd, "manifest.json", "the archive", "manifest", err);
	if (mfd < 0)
		return mfd;
	_cleanup_free_ char *mbuf = NULL;
	size_t mlen;
	int r = read_all(mfd, "manifest.json", &mbuf, &mlen, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *manifest = parse_json(mbuf, mlen, "manifest.json", err);
	if (!manifest)
		return -EINVAL;
	if (!json_is_array(manifest) || json_array_size(manifest) == 0)
		return rl_fail(err, EINVAL,
			       "manifest.json is not a list of images as 'docker save' writes; refusing the archive");
	size_t i;
	json_t *m;
	json_array_foreach(manifest, i, m) {
		const char *cfg_path = json_string_value(json_object_get(m, "Config"));
		json_t *layers = json_object_get(m, "Layers");
		json_t *tags = json_object_get(m, "RepoTags");
		if (!cfg_path || !json_is_array(layers))
			return rl_fail(err, EINVAL,
				       "manifest.json: image %zu has no Config or no Layers; refusing the archive",
				       i + 1);
		_cleanup_close_ int cfd = open_named(srcfd, cfg_path, "manifest.json", "config", err);
		if (cfd < 0)
			return cfd;
		_cleanup_free_ char *cbuf = NULL;
		size_t clen;
		hex64 id, named;
		_cleanup_json_ json_t *config = NULL;
		if ((r = read_all(cfd, cfg_path, &cbuf, &clen, err)) < 0 ||
		    (r = sha_buf(cbuf, clen, id, err)) < 0 ||
		    (r = parse_config(cbuf, clen, cfg_path, &config, err)) < 0)
			return r;
		if (digest_in_name(cfg_path, named) && strcmp(named, id) != 0)
			return rl_fail(err, EBADMSG,
				       "the config %.200s does not match its digest (its sha256 is %s); refusing a corrupt or tampered archive",
				       cfg_path, id);
		json_t *diff_ids = diff_ids_of(config);
		if (!json_is_array(diff_ids) || json_array_size(diff_ids) != json_array_size(layers))
			return rl_fail(err, EINVAL,
				       "the config %.200s lists %zu layers but manifest.json %zu; refusing the archive",
				       cfg_path, json_array_size(diff_ids), json_array_size(layers));
		bool fresh;
		struct plan *pl = plan_for(plans, id, &fresh);
		if (!pl)
			return rl_fail(err, ENOMEM, "out of memory");
		size_t k;
		json_t *t;
		if (json_is_array(tags))
			json_array_foreach(tags, k, t)
				add_tag(pl, json_string_value(t));
		if (!fresh)
			continue;
		pl->config = RL_TAKE(cbuf);
		pl->config_len = clen;
		pl->n_layers = json_array_size(layers);
		if (!(pl->layers = calloc(pl->n_layers + 1, sizeof(*pl->layers))))
			return rl_fail(err, ENOMEM, "out of memory");
		json_t *l;
		json_array_foreach(layers, k, l) {
			struct layer_ref *lr = &pl->layers[k];
			const char *path = json_string_value(l);
			char where[64];
			snprintf(where, sizeof(where), "layer %zu in the config's rootfs.diff_ids", k + 1);
			if ((r = parse_digest(json_string_value(json_array_get(diff_ids, k)), where,
					      lr->diff_id, err)) < 0)
				return r;
			if (!path)
				return rl_fail(err, EINVAL, "manifest.json: layer %zu is not a path", k + 1);
			if (!(lr->path = strdup(path)))
				return rl_fail(err, ENOMEM, "out of memory");
			/* Docker 25 and later store layers as OCI blobs. */
			if (strncmp(path, "blobs/", 6) == 0)
				digest_in_name(path, lr->digest);
		}
	}
	return 0;
}

/* GOARCH of this machine, as image platforms name it. */
static const char *our_arch(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return "";
	static const char *const map[][2] = {
		{"x86_64", "amd64"}, {"aarch64", "arm64"}, {"i686", "386"},   {"i386", "386"},
		{"armv7l", "arm"},   {"armv6l", "arm"},    {"ppc64le", "ppc64le"},
		{"s390x", "s390x"},  {"riscv64", "riscv64"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(u.machine, map[i][0]) == 0)
			return map[i][1];
	return "";
}

/* Reads the blob a descriptor names, checking its digest and size. */
static int read_blob(int srcfd, json_t *desc, const char *what, char **buf, size_t *len,
		     hex64 hex, struct rl_error *err)
{
	int r = parse_digest(json_string_value(json_object_get(desc, "digest")), what, hex, err);
	if (r < 0)
		return r;
	char path[96];
	snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
	_cleanup_close_ int fd = open_in(srcfd, path, O_RDONLY);
	if (fd < 0)
		return rl_fail(err, ENOENT, "%s names the blob sha256:%s, which is missing from the layout",
			       what, hex);
	if ((r = read_all(fd, path, buf, len, err)) < 0)
		return r;
	hex64 got;
	if ((r = sha_buf(*buf, *len, got, err)) < 0)
		return r;
	if (strcmp(got, hex) != 0)
		return rl_fail(err, EBADMSG,
			       "the blob sha256:%.12s (%s) does not match its digest (its sha256 is %.12s...); refusing a corrupt or tampered image",
			       hex, what, got);
	json_t *size = json_object_get(desc, "size");
	if (json_is_integer(size) && (uint64_t)json_integer_value(size) != *len)
		return rl_fail(err, EBADMSG, "the blob sha256:%.12s is %zu bytes, but %s says %lld", hex,
			       *len, what, (long long)json_integer_value(size));
	return 0;
}

static int plan_oci_manifest(int srcfd, json_t *desc, const char *tag, int depth,
			     struct plans *plans, struct rl_error *err)
{
	char what[64];
	snprintf(what, sizeof(what), depth ? "an image index" : "index.json");
	_cleanup_free_ char *buf = NULL;
	size_t len;
	hex64 hex;
	int r = read_blob(srcfd, desc, what, &buf, &len, hex, err);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "the manifest sha256:%.12s", hex);
	_cleanup_json_ json_t *m = parse_json(buf, len, what, err);
	if (!m)
		return -EINVAL;
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	if (!mt)
		mt = json_string_value(json_object_get(desc, "mediaType"));
	bool is_index = (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0)) ||
			(!mt && json_is_array(json_object_get(m, "manifests")));
	if (is_index) {
		if (depth >= MAX_INDEX_DEPTH)
			return rl_fail(err, ELOOP, "%s nests image indexes too deep; refusing the image", what);
		/* A multi-platform image: the one for this machine. */
		const char *arch = our_arch();
		size_t i;
		json_t *d;
		json_array_foreach(json_object_get(m, "manifests"), i, d) {
			json_t *p = json_object_get(d, "platform");
			const char *os = json_string_value(json_object_get(p, "os"));
			const char *a = json_string_value(json_object_get(p, "architecture"));
			bool only = json_array_size(json_object_get(m, "manifests")) == 1;
			if ((os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0) || (only && !p))
				return plan_oci_manifest(srcfd, d, tag, depth + 1, plans, err);
		}
		return rl_fail(err, ENOENT, "%s has no image for linux/%s", what, arch);
	}
	if (mt && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		return rl_fail(err, ENOTSUP, "%s is a '%.100s', not an image manifest rlbpf knows", what, mt);

	json_t *cdesc = json_object_get(m, "config");
	json_t *layers = json_object_get(m, "layers");
	if (!json_is_object(cdesc) || !json_is_array(layers))
		return rl_fail(err, EINVAL, "%s has no config or no layers; refusing the image", what);
	_cleanup_free_ char *cbuf = NULL;
	size_t clen;
	hex64 id;
	if ((r = read_blob(srcfd, cdesc, what, &cbuf, &clen, id, err)) < 0)
		return r;
	char cwhat[64];
	snprintf(cwhat, sizeof(cwhat), "the config sha256:%.12s", id);
	_cleanup_json_ json_t *config = NULL;
	if ((r = parse_config(cbuf, clen, cwhat, &config, err)) < 0)
		return r;
	json_t *diff_ids = diff_ids_of(config);
	if (json_is_array(diff_ids) && json_array_size(diff_ids) != json_array_size(layers))
		return rl_fail(err, EINVAL, "%s lists %zu layers but its config %zu; refusing the image",
			       what, json_array_size(layers), json_array_size(diff_ids));
	bool fresh;
	struct plan *pl = plan_for(plans, id, &fresh);
	if (!pl)
		return rl_fail(err, ENOMEM, "out of memory");
	add_tag(pl, tag);
	if (!fresh)
		return 0;
	pl->config = RL_TAKE(cbuf);
	pl->config_len = clen;
	pl->n_layers = json_array_size(layers);
	if (!(pl->layers = calloc(pl->n_layers + 1, sizeof(*pl->layers))))
		return rl_fail(err, ENOMEM, "out of memory");
	size_t k;
	json_t *l;
	json_array_foreach(layers, k, l) {
		struct layer_ref *lr = &pl->layers[k];
		char lwhat[96];
		snprintf(lwhat, sizeof(lwhat), "layer %zu of %s", k + 1, what);
		const char *lmt = json_string_value(json_object_get(l, "mediaType"));
		if (lmt && strstr(lmt, "encrypted"))
			return rl_fail(err, ENOTSUP, "%s is encrypted (%s); rlbpf cannot unpack it", lwhat, lmt);
		if ((r = parse_digest(json_string_value(json_object_get(l, "digest")), lwhat, lr->digest,
				      err)) < 0)
			return r;
		json_t *size = json_object_get(l, "size");
		lr->sized = json_is_integer(size);
		lr->size = lr->sized ? (uint64_t)json_integer_value(size) : 0;
		char path[96];
		snprintf(path, sizeof(path), "blobs/sha256/%s", lr->digest);
		if (!(lr->path = strdup(path)))
			return rl_fail(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int plan_oci(int srcfd, struct plans *plans, struct rl_error *err)
{
	_cleanup_close_ int lfd = open_in(srcfd, "oci-layout", O_RDONLY);
	if (lfd >= 0) {
		_cleanup_free_ char *buf = NULL;
		size_t len;
		int r = read_all(lfd, "oci-layout", &buf, &len, err);
		if (r < 0)
			return r;
		_cleanup_json_ json_t *j = parse_json(buf, len, "oci-layout", err);
		const char *v = j ? json_string_value(json_object_get(j, "imageLayoutVersion")) : NULL;
		if (!v || strncmp(v, "1.", 2) != 0)
			return rl_fail(err, ENOTSUP,
				       "oci-layout has imageLayoutVersion '%s'; rlbpf reads version 1.x",
				       v ? v : "?");
	}
	_cleanup_close_ int ifd = open_named(srcfd, "index.json", "the layout", "index", err);
	if (ifd < 0)
		return ifd;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = read_all(ifd, "index.json", &buf, &len, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *index = parse_json(buf, len, "index.json", err);
	if (!index)
		return -EINVAL;
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return rl_fail(err, EINVAL, "index.json lists no image; refusing the layout");
	size_t i;
	json_t *d;
	json_array_foreach(manifests, i, d) {
		json_t *ann = json_object_get(d, "annotations");
		const char *tag = json_string_value(json_object_get(ann, "io.containerd.image.name"));
		if (!tag)
			tag = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		if ((r = plan_oci_manifest(srcfd, d, tag, 0, plans, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- checking and unpacking */

/* A layer's sums (taken while it was applied) against what the manifest
 * and the config say; on a mismatch the caller throws the rootfs away. */
static int check_layer(const struct rl_layer_sums *sums, const struct layer_ref *lr, const char *what,
		       struct rl_error *err)
{
	if (lr->digest[0] && strcmp(sums->raw, lr->digest) != 0)
		return rl_fail(err, EBADMSG,
			       "%s does not match its digest sha256:%.12s... (its sha256 is %.12s...); refusing a corrupt or tampered image",
			       what, lr->digest, sums->raw);
	if (lr->sized && sums->raw_size != lr->size)
		return rl_fail(err, EBADMSG, "%s is %llu bytes, but the manifest says %llu; refusing the image",
			       what, (unsigned long long)sums->raw_size, (unsigned long long)lr->size);
	if (lr->diff_id[0] && strcmp(sums->raw, lr->diff_id) != 0 && strcmp(sums->plain, lr->diff_id) != 0)
		return rl_fail(err, EBADMSG,
			       "%s does not match its diff ID sha256:%.12s... from the config (its sha256 is %.12s...); refusing a corrupt or tampered image",
			       what, lr->diff_id, sums->plain);
	return 0;
}

static int write_json(int dirfd, const char *name, json_t *doc, struct rl_error *err)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return rl_fail(err, ENOMEM, "out of memory");
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	ssize_t n = fd < 0 ? -1 : write(fd, text, len);
	free(text);
	if (n < 0 || (size_t)n != len)
		return rl_fail_errno(err, n < 0 ? errno : EIO, "cannot write %s", name);
	return 0;
}

/* A layout rlbpf-pull is still filling (rl_image_load_fetched), and who. */
static pid_t fetcher_pid;

static bool fetcher_alive(void)
{
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)fetcher_pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f || !fgets(stat, sizeof(stat), f))
		return false;
	/* "PID (comm) S ...": a zombie has finished */
	const char *paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Waits until the fetcher has linked path in, or gives up with its end. */
static int wait_fetched(int srcfd, const char *path, const char *what, struct rl_error *err)
{
	for (;;) {
		bool alive = fetcher_alive();
		int fd = open_in(srcfd, path, O_RDONLY);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if ((fd = open_in(srcfd, ".failed", O_RDONLY)) >= 0) {
			close(fd);
			return rl_fail(err, EIO, "%s: the download failed", what);
		}
		if (!alive)
			return rl_fail(err, EIO, "%s: the download ended without it", what);
		usleep(10000);
	}
}

static int unpack_image(int srcfd, int outfd, const char *outdir, size_t index,
			const struct plan *pl, const struct rl_layer_ids *ids, struct rl_error *err)
{
	char dir[32], rootfs[PATH_MAX];
	snprintf(dir, sizeof(dir), "img-%zu", index);
	if (mkdirat(outfd, dir, 0700) < 0)
		return rl_fail_errno(err, errno, "cannot create %s/%s", outdir, dir);
	_cleanup_close_ int dfd = openat(outfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || mkdirat(dfd, "rootfs", 0755) < 0)
		return rl_fail_errno(err, errno, "cannot create %s/%s/rootfs", outdir, dir);
	if (snprintf(rootfs, sizeof(rootfs), "%s/%s/rootfs", outdir, dir) >= (int)sizeof(rootfs))
		return rl_fail(err, ENAMETOOLONG, "path too long: %s", outdir);
	for (size_t k = 0; k < pl->n_layers; k++) {
		const struct layer_ref *lr = &pl->layers[k];
		char what[128];
		const char *digest = lr->digest[0] ? lr->digest : lr->diff_id;
		snprintf(what, sizeof(what), "layer %zu of %zu (sha256:%.12s)", k + 1, pl->n_layers,
			 digest);
		if (fetcher_pid > 0 && lr->path) {
			int w = wait_fetched(srcfd, lr->path, what, err);
			if (w < 0)
				return w;
		}
		_cleanup_close_ int fd = open_named(srcfd, lr->path, "the manifest", "layer", err);
		if (fd < 0)
			return fd;
		/* checked as it is applied: one read for the sums and the
		 * whiteouts, one to unpack */
		struct rl_layer_sums sums = {0};
		int r = rl_layer_apply_summed(rootfs, fd, what, ids, &sums, err);
		/* a tampered blob is told as such, not as the damage it does */
		if (r == 0 || (sums.raw[0] && lr->digest[0] && strcmp(sums.raw, lr->digest) != 0))
			r = check_layer(&sums, lr, what, err) < 0 ? -EBADMSG : r;
		if (r < 0)
			return r;
	}
	_cleanup_close_ int cfd = openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (cfd < 0 || write(cfd, pl->config, pl->config_len) != (ssize_t)pl->config_len)
		return rl_fail_errno(err, errno ? errno : EIO, "cannot write %s/%s/config.json", outdir, dir);
	uint64_t size;
	int r = rl_tree_size(rootfs, &size, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *meta = json_pack("{s:I}", "Size", (json_int_t)size);
	return meta ? write_json(dfd, "image.json", meta, err) : rl_fail(err, ENOMEM, "out of memory");
}

/* Unpacks the archive itself into OUTDIR/.input with the same care as a
 * layer: it is as untrusted. */
static int unpack_input(const char *input, int outfd, const char *outdir, int *srcfd,
			struct rl_error *err)
{
	_cleanup_close_ int fd = open(input, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot read %s", input);
	if (mkdirat(outfd, ".input", 0700) < 0)
		return rl_fail_errno(err, errno, "cannot create %s/.input", outdir);
	char dir[PATH_MAX], what[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/.input", outdir);
	snprintf(what, sizeof(what), "the archive %s", input);
	struct rl_layer_ids none = {.keep_owner = false};
	int r = rl_layer_apply(dir, fd, what, &none, err);
	if (r < 0)
		return r;
	*srcfd = openat(outfd, ".input", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return *srcfd < 0 ? rl_fail_errno(err, errno, "cannot open %s", dir) : 0;
}

int rl_image_load_into(const char *input, const char *outdir, struct rl_error *err)
{
	struct rl_layer_ids ids;
	int r = rl_layer_ids_here(&ids, err);
	if (r < 0)
		return r;
	_cleanup_close_ int outfd = open(outdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0)
		return rl_fail_errno(err, errno, "cannot open %s", outdir);
	struct stat st;
	if (stat(input, &st) < 0)
		return rl_fail_errno(err, errno, "cannot read %s", input);
	_cleanup_close_ int srcfd = -1;
	if (S_ISDIR(st.st_mode)) {
		if ((srcfd = open(input, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return rl_fail_errno(err, errno, "cannot open %s", input);
	} else if (S_ISREG(st.st_mode)) {
		if ((r = unpack_input(input, outfd, outdir, &srcfd, err)) < 0)
			return r;
	} else {
		return rl_fail(err, EINVAL, "%s is neither a file nor a directory", input);
	}

	struct plans plans = {0};
	_cleanup_close_ int probe = open_in(srcfd, "manifest.json", O_RDONLY);
	if (probe >= 0 || probe == -EXDEV || probe == -ELOOP) {
		r = plan_docker(srcfd, &plans, err);
	} else {
		_cleanup_close_ int probe2 = open_in(srcfd, "index.json", O_RDONLY);
		if (probe2 >= 0 || probe2 == -EXDEV || probe2 == -ELOOP)
			r = plan_oci(srcfd, &plans, err);
		else
			r = rl_fail(err, EINVAL,
				    "%s is neither a 'docker save' archive nor an OCI image layout: it has no manifest.json and no index.json",
				    input);
	}
	_cleanup_json_ json_t *images = json_array();
	if (r == 0 && !images)
		r = rl_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < plans.n; i++) {
		const struct plan *pl = &plans.v[i];
		r = unpack_image(srcfd, outfd, outdir, i, pl, &ids, err);
		char dir[32];
		snprintf(dir, sizeof(dir), "img-%zu", i);
		json_t *entry = r < 0 ? NULL
				      : json_pack("{s:s, s:s+, s:O}", "dir", dir, "id", "sha256:", pl->id,
						  "tags", pl->tags);
		if (r == 0 && (!entry || json_array_append_new(images, entry) < 0))
			r = rl_fail(err, ENOMEM, "out of memory");
	}
	if (r == 0) {
		_cleanup_json_ json_t *result = json_pack("{s:O}", "images", images);
		r = result ? write_json(outfd, "result.json", result, err)
			   : rl_fail(err, ENOMEM, "out of memory");
	}
	plans_free(&plans);
	return r;
}

int rl_image_load_fetched(const char *input, const char *outdir, pid_t fetcher,
			  struct rl_error *err)
{
	fetcher_pid = fetcher;
	return rl_image_load_into(input, outdir, err);
}
