/* rlbpf-pull: the registry side of `rlbpf pull`, `login` and `logout`, a
 * helper of its own so that rlbpf itself, which starts on every `run`,
 * loads no libcurl or TLS library.
 *
 *   rlbpf-pull pull [--platform OS/ARCH[/VARIANT]] [-q] [--tls-verify=BOOL] [--ready-fd N] REF LAYOUT
 *   rlbpf-pull login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=BOOL] REGISTRY
 *   rlbpf-pull logout REGISTRY
 *
 * pull fetches what the user's blob store ($XDG_DATA_HOME/rlbpf/blobs)
 * lacks and leaves in LAYOUT (an empty directory of the caller's) an OCI
 * image layout of hard links into the blob store, with the image's name
 * as its ref.name, and pull.json ({"name", "config", "digest", "full"})
 * for rlbpf, which loads the layout into its image store. The manifest,
 * the config and those files come first (then "ready" on --ready-fd), the
 * layers each as soon as it is checked, so that rlbpf can unpack while
 * the rest downloads; a failure leaves LAYOUT/.failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include "image/auth.h"
#include "image/reference.h"
#include "image/registry.h"
#include "lib/boolopt.h"
#include "lib/cleanup.h"
#include "lib/paths.h"

#define PARALLEL 6
#define MAX_LAYERS 256
#define BLOB_MAX (64ULL << 30)

static const char MT_OCI_INDEX[] = "application/vnd.oci.image.index.v1+json";
static const char MT_DOCKER_LIST[] = "application/vnd.docker.distribution.manifest.list.v2+json";
static const char MT_OCI_MANIFEST[] = "application/vnd.oci.image.manifest.v1+json";
static const char MT_DOCKER_MANIFEST[] = "application/vnd.docker.distribution.manifest.v2+json";

/* ---- platforms */

struct platform {
	char os[32], arch[32], variant[32];
};

static void our_platform(struct platform *p)
{
	struct utsname u;
	const char *m = uname(&u) == 0 ? u.machine : "x86_64";
	snprintf(p->os, sizeof(p->os), "linux");
	snprintf(p->arch, sizeof(p->arch), "%.31s",
		 strcmp(m, "x86_64") == 0    ? "amd64"
		 : strcmp(m, "aarch64") == 0 ? "arm64"
		 : strncmp(m, "arm", 3) == 0 ? "arm"
		 : strcmp(m, "i686") == 0    ? "386"
					     : m);
	p->variant[0] = '\0';
}

static int parse_platform(const char *text, struct platform *p, struct rl_error *err)
{
	memset(p, 0, sizeof(*p));
	int n = sscanf(text, "%31[a-z0-9]/%31[a-z0-9]/%31[a-z0-9]", p->os, p->arch, p->variant);
	char again[128];
	snprintf(again, sizeof(again), "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
	if (n < 2 || strcmp(again, text) != 0)
		return rl_fail(err, EINVAL, "--platform takes OS/ARCH[/VARIANT], such as linux/arm64, not %.80s", text);
	return 0;
}

/* The manifest of an index that is for p: os and architecture equal, and
 * the variant too when one was asked for. */
static json_t *choose(json_t *index, const struct platform *p, const char *name, struct rl_error *err)
{
	size_t i;
	json_t *d;
	char have[512] = "";
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		json_t *pl = json_object_get(d, "platform");
		const char *os = json_string_value(json_object_get(pl, "os"));
		const char *arch = json_string_value(json_object_get(pl, "architecture"));
		const char *var = json_string_value(json_object_get(pl, "variant"));
		if (os && arch && strcmp(os, p->os) == 0 && strcmp(arch, p->arch) == 0 &&
		    (!p->variant[0] || (var && strcmp(var, p->variant) == 0)))
			return d;
		size_t l = strlen(have);
		if (os && arch && strcmp(os, "unknown") != 0 && l < sizeof(have) - 80)
			snprintf(have + l, sizeof(have) - l, "%s%.20s/%.20s%s%.20s", l ? ", " : "", os, arch,
				 var ? "/" : "", var ? var : "");
	}
	rl_fail(err, ENOENT, "%s has no image for %s/%s%s%s; it has %s", name, p->os, p->arch,
		p->variant[0] ? "/" : "", p->variant, have[0] ? have : "none");
	return NULL;
}

/* ---- progress, as Docker shows it */

struct progress {
	bool quiet, tty;
	size_t shown;      /* layers lines drawn (tty) */
	size_t n_layers;   /* the first n blobs; the config follows */
	int *said;         /* per layer, the last state printed (plain lines) */
	/* each layer is linked into the layout once checked, for the loader
	 * that waits on it */
	const char *dir, *layout;
	bool *linked;
	int link_error;
};

static int link_blob(const char *dir, const char *layout, const char *hex, struct rl_error *err);

static void link_ready(struct progress *pr, const struct rl_blob *blobs)
{
	for (size_t i = 0; i < pr->n_layers && pr->layout; i++) {
		if (pr->linked[i] || (blobs[i].state != RL_BLOB_EXISTS && blobs[i].state != RL_BLOB_DONE))
			continue;
		struct rl_error e;
		if (link_blob(pr->dir, pr->layout, blobs[i].hex, &e) < 0)
			pr->link_error = -e.code;
		pr->linked[i] = true;
	}
}

static void human(uint64_t b, char *out, size_t len)
{
	if (b >= 1000000000ULL)
		snprintf(out, len, "%.2fGB", b / 1e9);
	else if (b >= 1000000)
		snprintf(out, len, "%.1fMB", b / 1e6);
	else if (b >= 1000)
		snprintf(out, len, "%.1fkB", b / 1e3);
	else
		snprintf(out, len, "%lluB", (unsigned long long)b);
}

static void on_progress(void *ctx, const struct rl_blob *blobs, size_t n)
{
	struct progress *pr = ctx;
	(void)n;
	link_ready(pr, blobs);
	if (pr->quiet)
		return;
	if (!pr->tty) {
		for (size_t i = 0; i < pr->n_layers; i++) {
			int st = (int)blobs[i].state;
			if (st == pr->said[i] || (st == RL_BLOB_FETCHING && pr->said[i] == RL_BLOB_WAITING))
				continue;
			if (st == RL_BLOB_EXISTS)
				printf("%.12s: Already exists\n", blobs[i].hex);
			else if (st == RL_BLOB_DONE) {
				if (pr->said[i] < 0)
					printf("%.12s: Pulling fs layer\n", blobs[i].hex);
				printf("%.12s: Download complete\n", blobs[i].hex);
			} else if (pr->said[i] < 0)
				printf("%.12s: Pulling fs layer\n", blobs[i].hex);
			else
				continue;
			pr->said[i] = st;
		}
		fflush(stdout);
		return;
	}
	if (pr->shown)
		printf("\033[%zuA", pr->shown);
	for (size_t i = 0; i < pr->n_layers; i++) {
		const struct rl_blob *b = &blobs[i];
		char line[160];
		if (b->state == RL_BLOB_EXISTS)
			snprintf(line, sizeof(line), "%.12s: Already exists", b->hex);
		else if (b->state == RL_BLOB_DONE)
			snprintf(line, sizeof(line), "%.12s: Download complete", b->hex);
		else if (b->state == RL_BLOB_WAITING || !b->done)
			snprintf(line, sizeof(line), "%.12s: %s", b->hex,
				 b->state == RL_BLOB_WAITING ? "Waiting" : "Pulling fs layer");
		else {
			char bar[51], have[16], total[16];
			size_t fill = b->size ? (size_t)(50 * b->done / b->size) : 50;
			for (size_t k = 0; k < 50; k++)
				bar[k] = k < fill ? '=' : k == fill ? '>' : ' ';
			bar[50] = '\0';
			human(b->done, have, sizeof(have));
			human(b->size, total, sizeof(total));
			snprintf(line, sizeof(line), "%.12s: Downloading [%s] %s/%s", b->hex, bar, have, total);
		}
		printf("\r\033[K%s\n", line);
	}
	pr->shown = pr->n_layers;
	fflush(stdout);
}

/* ---- the blob store and the layout */

static int blob_dir(char *out, size_t len, struct rl_error *err)
{
	char data[PATH_MAX];
	int r = rl_data_dir(data, sizeof(data), err);
	if (r < 0)
		return r;
	if (snprintf(out, len, "%s/blobs/sha256", data) >= (int)len)
		return rl_fail(err, ENAMETOOLONG, "blob store path too long");
	return rl_mkdir_p(out, 0700, err);
}

/* "sha256:<64 hex>" of a descriptor, and its size. */
static int descriptor(json_t *d, const char *what, struct rl_blob *b, struct rl_error *err)
{
	const char *digest = json_string_value(json_object_get(d, "digest"));
	json_t *size = json_object_get(d, "size");
	if (!rl_ref_valid_digest(digest))
		return rl_fail(err, EINVAL, "%s has no sha256 digest rlbpf can check; refusing the image", what);
	if (!json_is_integer(size) || json_integer_value(size) < 0 ||
	    (uint64_t)json_integer_value(size) > BLOB_MAX)
		return rl_fail(err, EINVAL, "%s has no size, or a size past 64 GiB; refusing the image", what);
	memset(b, 0, sizeof(*b));
	memcpy(b->hex, digest + 7, 65);
	b->size = (uint64_t)json_integer_value(size);
	return 0;
}

/* The manifest's bytes as a blob of the store too (rename into place). */
static int keep_bytes(const char *dir, const char *hex, const char *data, size_t len, struct rl_error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	if (snprintf(path, sizeof(path), "%s/%s", dir, hex) >= (int)sizeof(path))
		return rl_fail(err, ENAMETOOLONG, "blob store path too long");
	if (access(path, F_OK) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return rl_fail_errno(err, errno, "cannot write in %s", dir);
	bool ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, 0644) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return rl_fail_errno(err, errno ? errno : EIO, "cannot write %s", path);
	}
	return 0;
}

static int link_blob(const char *dir, const char *layout, const char *hex, struct rl_error *err)
{
	char from[PATH_MAX], to[PATH_MAX];
	if (snprintf(from, sizeof(from), "%s/%s", dir, hex) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/blobs/sha256/%s", layout, hex) >= (int)sizeof(to))
		return rl_fail(err, ENAMETOOLONG, "path too long for blob %s", hex);
	if (link(from, to) < 0 && errno != EEXIST)
		return rl_fail_errno(err, errno, "cannot link %s into %s", from, layout);
	return 0;
}

static int write_json(const char *layout, const char *file, json_t *j, struct rl_error *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", layout, file) >= (int)sizeof(path)) {
		json_decref(j);
		return rl_fail(err, ENAMETOOLONG, "layout path too long");
	}
	int r = j ? json_dump_file(j, path, JSON_COMPACT) : -1;
	json_decref(j);
	return r < 0 ? rl_fail(err, EIO, "cannot write %s", path) : 0;
}

/* ---- pull */

struct pull_opts {
	struct platform platform;
	bool quiet, tls_verify;
	const char *ref, *layout;
	int ready_fd; /* told "ready" once the layout has its manifest and config */
};

static int pull(const struct pull_opts *o, struct rl_error *err)
{
	struct rl_pull_ref ref;
	int r = rl_pull_ref_parse(o->ref, &ref, err);
	if (r < 0)
		return r;
	char dir[PATH_MAX];
	if ((r = blob_dir(dir, sizeof(dir), err)) < 0)
		return r;
	struct rl_creds creds;
	int have = rl_auth_lookup(ref.host, &creds, err);
	if (have < 0)
		return have;
	struct rl_registry_opts ro = {.host = ref.host, .tls_verify = o->tls_verify, .creds = have ? &creds : NULL};
	struct rl_registry *reg = rl_registry_open(&ro, err);
	if (!reg)
		return -EIO;
	if (!o->quiet)
		printf("%s: Pulling from %s\n", ref.tag[0] && !ref.digest[0] ? ref.tag : ref.digest, ref.repo);
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	char mt[128], digest[72], top[72];
	r = rl_registry_manifest(reg, ref.repo, ref.digest[0] ? ref.digest : ref.tag, &body, &len, mt, top, err);
	_cleanup_json_ json_t *m = r == 0 ? json_loadb(body, len, 0, NULL) : NULL;
	if (r == 0 && !json_is_object(m))
		r = rl_fail(err, EINVAL, "%s: the manifest is not a JSON object; refusing it", ref.full);
	memcpy(digest, top, sizeof(digest));
	if (r == 0) {
		const char *own = json_string_value(json_object_get(m, "mediaType"));
		if (own)
			snprintf(mt, sizeof(mt), "%s", own);
		bool index = strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0 ||
			     (!mt[0] && json_is_array(json_object_get(m, "manifests")));
		if (index) {
			json_t *d = choose(m, &o->platform, ref.full, err);
			const char *dd = json_string_value(json_object_get(d, "digest"));
			if (!d)
				r = -ENOENT;
			else if (!rl_ref_valid_digest(dd))
				r = rl_fail(err, EINVAL, "%s: the index names a manifest without a sha256 digest", ref.full);
			if (r == 0) {
				char sub[72];
				snprintf(sub, sizeof(sub), "%s", dd);
				free(body);
				body = NULL;
				json_decref(m);
				m = NULL;
				r = rl_registry_manifest(reg, ref.repo, sub, &body, &len, mt, digest, err);
				if (r == 0 && !json_is_object(m = json_loadb(body, len, 0, NULL)))
					r = rl_fail(err, EINVAL, "%s: the manifest is not a JSON object; refusing it", ref.full);
				if (r == 0 && (own = json_string_value(json_object_get(m, "mediaType"))))
					snprintf(mt, sizeof(mt), "%s", own);
			}
		}
	}
	if (r == 0 && strcmp(mt, MT_OCI_MANIFEST) != 0 && strcmp(mt, MT_DOCKER_MANIFEST) != 0)
		r = rl_fail(err, ENOTSUP, "%s is a '%.100s', not an image manifest rlbpf knows "
			    "(OCI, or Docker's schema 2)", ref.full, mt[0] ? mt : "manifest without a media type");
	json_t *layers = json_object_get(m, "layers");
	size_t n = json_array_size(layers);
	if (r == 0 && (!json_is_array(layers) || n > MAX_LAYERS))
		r = rl_fail(err, EINVAL, "%s: the manifest lists no layers, or more than %d", ref.full, MAX_LAYERS);
	struct rl_blob *blobs = r == 0 ? calloc(n + 1, sizeof(*blobs)) : NULL;
	int *said = r == 0 ? calloc(n + 1, sizeof(int)) : NULL;
	if (r == 0 && (!blobs || !said))
		r = rl_fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < n; i++) {
		char what[128];
		snprintf(what, sizeof(what), "layer %zu of %.70s", i + 1, ref.full);
		const char *lmt = json_string_value(json_object_get(json_array_get(layers, i), "mediaType"));
		if (lmt && strstr(lmt, "encrypted"))
			r = rl_fail(err, ENOTSUP, "%s is encrypted (%s); rlbpf cannot unpack it", what, lmt);
		else
			r = descriptor(json_array_get(layers, i), what, &blobs[i], err);
		said[i] = -1;
	}
	if (r == 0)
		r = descriptor(json_object_get(m, "config"), "the config", &blobs[n], err);
	/* the config first, then the layout, so that the loader can start on
	 * the layers as they come */
	if (r == 0)
		r = rl_registry_blobs(reg, ref.repo, dir, &blobs[n], 1, 1, NULL, NULL, err);
	if (r == 0)
		r = keep_bytes(dir, digest + 7, body, len, err);
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/blobs/sha256", o->layout);
	bool started = false;
	if (r == 0)
		r = rl_mkdir_p(sub, 0700, err);
	started = r == 0;
	if (r == 0)
		r = link_blob(dir, o->layout, digest + 7, err);
	if (r == 0)
		r = link_blob(dir, o->layout, blobs[n].hex, err);
	if (r == 0)
		r = write_json(o->layout, "oci-layout", json_pack("{s:s}", "imageLayoutVersion", "1.0.0"), err);
	if (r == 0) {
		json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", digest, "size", (json_int_t)len);
		if (desc && ref.name[0])
			json_object_set_new(desc, "annotations",
					    json_pack("{s:s}", "org.opencontainers.image.ref.name", ref.name));
		r = write_json(o->layout, "index.json",
			       json_pack("{s:i, s:[o]}", "schemaVersion", 2, "manifests", desc), err);
	}
	if (r == 0) {
		char config[72];
		snprintf(config, sizeof(config), "sha256:%s", blobs[n].hex);
		r = write_json(o->layout, "pull.json",
			       json_pack("{s:s, s:s, s:s, s:s}", "name", ref.name, "config", config, "digest", top,
					 "full", ref.full), err);
	}
	if (r == 0 && o->ready_fd >= 0) {
		(void)!write(o->ready_fd, "ready\n", 6);
		close(o->ready_fd);
	}
	bool *linked = r == 0 ? calloc(n + 1, sizeof(bool)) : NULL;
	if (r == 0 && !linked)
		r = rl_fail(err, ENOMEM, "out of memory");
	struct progress pr = {.quiet = o->quiet, .tty = isatty(1), .n_layers = n, .said = said,
			      .dir = dir, .layout = o->layout, .linked = linked};
	if (r == 0)
		r = rl_registry_blobs(reg, ref.repo, dir, blobs, n, PARALLEL, on_progress, &pr, err);
	rl_registry_close(reg);
	if (r == 0) {
		link_ready(&pr, blobs);
		if (pr.link_error)
			r = rl_fail(err, pr.link_error, "cannot link the layers into %s", o->layout);
	}
	if (r < 0 && started) {
		/* the loader waiting on this layout stops */
		char failed[PATH_MAX];
		snprintf(failed, sizeof(failed), "%s/.failed", o->layout);
		int fd = open(failed, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	free(linked);
	if (r == 0 && !o->quiet)
		printf("Digest: %s\n", top);
	free(blobs);
	free(said);
	fflush(stdout);
	return r;
}

/* ---- login, logout */

/* "https://index.docker.io/v1/", "docker.io", "host/" all name a host. */
static void registry_key(const char *given, char *out, size_t len)
{
	const char *p = given;
	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	size_t n = strcspn(p, "/");
	snprintf(out, len, "%.*s", (int)n, p);
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
		snprintf(out, len, "docker.io");
}

static int prompt(const char *what, bool echo, char *out, size_t len, struct rl_error *err)
{
	_cleanup_fclose_ FILE *tty = fopen("/dev/tty", "r+e");
	if (!tty)
		return rl_fail(err, EINVAL, "no terminal to ask for the %s: give it with %s", what,
			       echo ? "-u" : "-p or --password-stdin");
	struct termios old, quiet;
	bool restore = !echo && tcgetattr(fileno(tty), &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	fprintf(tty, "%s: ", echo ? "Username" : "Password");
	fflush(tty);
	bool got = fgets(out, (int)len, tty) != NULL;
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputc('\n', tty);
	}
	if (!got)
		return rl_fail(err, EINVAL, "no %s given", what);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int login(int argc, char **argv, struct rl_error *err)
{
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'}, {"password", required_argument, NULL, 'p'},
		{"password-stdin", no_argument, NULL, 's'}, {"tls-verify", optional_argument, NULL, 't'},
		{0},
	};
	struct rl_creds c = {0};
	bool from_stdin = false, verify = true, have_user = false, have_pass = false;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+u:p:", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			have_user = snprintf(c.user, sizeof(c.user), "%s", optarg) < (int)sizeof(c.user);
			break;
		case 'p':
			have_pass = snprintf(c.secret, sizeof(c.secret), "%s", optarg) < (int)sizeof(c.secret);
			break;
		case 's': from_stdin = true; break;
		case 't':
			if (rl_bool_option("--tls-verify", optarg, &verify, err) < 0)
				return -EINVAL;
			break;
		default: return rl_fail(err, EINVAL, "usage: rlbpf login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY");
		}
	}
	if (optind != argc - 1)
		return rl_fail(err, EINVAL, "usage: rlbpf login [-u USER] [-p PASSWORD | --password-stdin] REGISTRY");
	if (from_stdin && have_pass)
		return rl_fail(err, EINVAL, "--password and --password-stdin are mutually exclusive");
	char host[256];
	registry_key(argv[optind], host, sizeof(host));
	int r = 0;
	if (!have_user && (r = prompt("username", true, c.user, sizeof(c.user), err)) < 0)
		return r;
	if (from_stdin) {
		if (!fgets(c.secret, sizeof(c.secret), stdin))
			return rl_fail(err, EINVAL, "--password-stdin: nothing on stdin");
		c.secret[strcspn(c.secret, "\r\n")] = '\0';
	} else if (!have_pass && (r = prompt("password", false, c.secret, sizeof(c.secret), err)) < 0) {
		return r;
	}
	if (!c.user[0] || !c.secret[0])
		return rl_fail(err, EINVAL, "a username and a password are needed");
	struct rl_registry_opts ro = {.host = host, .tls_verify = verify, .creds = &c};
	struct rl_registry *reg = rl_registry_open(&ro, err);
	if (!reg)
		return -EIO;
	r = rl_registry_check_login(reg, err);
	rl_registry_close(reg);
	if (r == 0)
		r = rl_auth_store(host, &c, err);
	OPENSSL_cleanse(&c, sizeof(c));
	if (r == 0)
		puts("Login Succeeded");
	return r;
}

static int logout(int argc, char **argv, struct rl_error *err)
{
	if (argc != 2)
		return rl_fail(err, EINVAL, "usage: rlbpf logout REGISTRY");
	char host[256];
	registry_key(argv[1], host, sizeof(host));
	int r = rl_auth_remove(host, err);
	if (r == -ENOENT)
		return rl_fail(err, ENOENT, "not logged in to %s", host);
	if (r == 0)
		printf("Removed login credentials for %s\n", host);
	return r;
}

int main(int argc, char **argv)
{
	struct rl_error err = {0};
	/* a credential helper that exits unread is its own error, not ours */
	signal(SIGPIPE, SIG_IGN);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (strcmp(cmd, "login") == 0) {
		if (login(argc - 1, argv + 1, &err) < 0) {
			fprintf(stderr, "rlbpf login: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(cmd, "logout") == 0) {
		if (logout(argc - 1, argv + 1, &err) < 0) {
			fprintf(stderr, "rlbpf logout: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (strcmp(cmd, "pull") != 0) {
		fprintf(stderr, "rlbpf-pull: a helper of rlbpf; use rlbpf pull, login or logout\n");
		return 2;
	}
	static const struct option opts[] = {
		{"platform", required_argument, NULL, 'P'}, {"quiet", no_argument, NULL, 'q'},
		{"tls-verify", optional_argument, NULL, 't'}, {"ready-fd", required_argument, NULL, 'R'},
		{0},
	};
	struct pull_opts o = {.tls_verify = true, .ready_fd = -1};
	our_platform(&o.platform);
	int opt, r = 0;
	optind = 1;
	while (r == 0 && (opt = getopt_long(argc - 1, argv + 1, "+q", opts, NULL)) != -1) {
		switch (opt) {
		case 'P': r = parse_platform(optarg, &o.platform, &err); break;
		case 'q': o.quiet = true; break;
		case 'R': {
			char *end;
			long fd = strtol(optarg, &end, 10);
			if (*end || fd < 3 || fd > 1023 || fcntl((int)fd, F_GETFD) < 0)
				r = rl_fail(&err, EINVAL, "--ready-fd takes an open descriptor above 2");
			/* credential helpers must not hold it open */
			else if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
				r = rl_fail_errno(&err, errno, "--ready-fd");
			o.ready_fd = (int)fd;
			break;
		}
		case 't': r = rl_bool_option("--tls-verify", optarg, &o.tls_verify, &err); break;
		default: r = rl_fail(&err, EINVAL, "usage: rlbpf pull [--platform OS/ARCH] [-q] NAME[:TAG|@DIGEST]");
		}
	}
	if (r == 0 && optind != argc - 3)
		r = rl_fail(&err, EINVAL, "usage: rlbpf pull [--platform OS/ARCH] [-q] NAME[:TAG|@DIGEST]");
	if (r == 0) {
		o.ref = argv[1 + optind];
		o.layout = argv[2 + optind];
		r = pull(&o, &err);
	}
	if (r < 0) {
		fflush(stdout);
		fprintf(stderr, "rlbpf pull: %s\n", err.msg);
		return 125;
	}
	return 0;
}
