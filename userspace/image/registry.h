/* The OCI distribution protocol, as the rlbpf-pull helper speaks it: a
 * /v2/ ping that settles the scheme and the auth challenge, Basic auth or
 * Bearer tokens (anonymous or with credentials, cached per scope until
 * they expire), manifests by tag or digest with their bytes checked, and
 * blobs into a content-addressed directory, several at once, each checked
 * while it streams and resumed with Range after a broken transfer.
 * Redirects are followed by hand, so that Authorization never goes to
 * another host; 429 waits out Retry-After; a registry's {"errors": [...]}
 * body becomes one line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/auth.h"
#include "lib/error.h"

struct rl_registry;

struct rl_registry_opts {
	const char *host;     /* the reference's host: "127.0.0.1:15001", "docker.io" */
	bool tls_verify;      /* false: HTTPS unverified, then plain HTTP */
	const struct rl_creds *creds; /* NULL: anonymous */
};

/* Connects: pings /v2/ over HTTPS (or HTTP where allowed) and reads the
 * challenge. NULL with err on failure (unreachable, TLS, refused creds). */
struct rl_registry *rl_registry_open(const struct rl_registry_opts *o, struct rl_error *err);
void rl_registry_close(struct rl_registry *r);

/* For login: whether the credentials given to open are accepted (a token
 * for them, or /v2/ with Basic auth). 0, or -EACCES with the registry's
 * words. */
int rl_registry_check_login(struct rl_registry *r, struct rl_error *err);

/* A manifest or index of repo, by tag or "sha256:..." digest. On success
 * *body (malloc'd, *len bytes), its media type and its digest
 * ("sha256:<hex>", computed from the bytes and checked against the
 * registry's Docker-Content-Digest and against a requested digest). */
int rl_registry_manifest(struct rl_registry *r, const char *repo, const char *ref, char **body,
			 size_t *len, char media_type[128], char digest[72], struct rl_error *err);

/* One blob to fetch into dir/<hex> (through dir/<hex>.partial). */
struct rl_blob {
	char hex[65];
	uint64_t size;
	/* progress, read by the callback */
	uint64_t done;
	enum { RL_BLOB_WAITING, RL_BLOB_EXISTS, RL_BLOB_FETCHING, RL_BLOB_DONE } state;
};

/* Called as blobs move on (and about ten times a second while bytes flow). */
typedef void (*rl_blob_progress)(void *ctx, const struct rl_blob *blobs, size_t n);

/* Fetches those of blobs that dir lacks, at most `parallel` at once, each
 * verified against its digest and size before it is renamed into place;
 * a blob another pull is fetching is waited for. On failure no .partial
 * of this call is left and err names the blob. */
int rl_registry_blobs(struct rl_registry *r, const char *repo, const char *dir,
		      struct rl_blob *blobs, size_t n, int parallel, rl_blob_progress cb, void *ctx,
		      struct rl_error *err);
