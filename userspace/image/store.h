/* The user's image store, $XDG_DATA_HOME/rlbpf/images (default
 * ~/.local/share/rlbpf/images):
 *
 *   <64 hex>/rootfs/          the unpacked image; its files owned by the
 *                             subordinate ids (container uid N is host
 *                             subuid-start+N-1), root by the caller
 *   <64 hex>/config.json      the image config, byte for byte: the hex is
 *                             its sha256, the image ID as Docker computes it
 *   <64 hex>/image.json       {"Size": bytes}
 *   repositories.json         {"name:tag": "sha256:<hex>", ...}, replaced
 *                             atomically (rename) under .lock
 *   .lock                     flock: every change of the store holds it
 *   .tmp-XXXXXX/              a load in progress (flocked by its loader)
 *   .rm-<hex>-XXXXXX/         an image being removed (flocked likewise)
 *
 * Readers take no lock: an image directory appears (rename) complete, and
 * the index is replaced whole. Stale .tmp-/.rm- directories (their process
 * died) are swept by the next load or rmi. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>

#include "lib/error.h"

struct rl_store {
	char dir[PATH_MAX]; /* .../rlbpf/images, absolute */
};

/* Finds (and creates, 0700) the store. */
int rl_store_open(struct rl_store *s, struct rl_error *err);

#include "image/reference.h"

/* ---- lookups (no lock) */

/* Resolves NAME[:TAG] or an ID (an unambiguous prefix of the 64 hex, with or
 * without "sha256:") to the image's id "sha256:<hex>". A name is tried
 * first, as Docker does. When a name matched, name_tag (if not NULL) gets
 * the normalized "name:tag", else "". -ENOENT for an unknown image,
 * -EINVAL for an ambiguous prefix or a malformed reference. */
int rl_store_lookup(const struct rl_store *s, const char *ref, char id[72], char *name_tag,
		    size_t len, struct rl_error *err);

/* <store>/<hex> of an id "sha256:<hex>". */
int rl_store_image_dir(const struct rl_store *s, const char *id, char *buf, size_t len,
		       struct rl_error *err);

struct rl_store_image {
	char id[72];       /* "sha256:<hex>" */
	char **tags;       /* "name:tag", sorted; NULL when untagged */
	size_t n_tags;
	time_t created;    /* from the config's "created"; 0 when absent */
	uint64_t size;
};

/* Every image in the store, newest first (by created, then id). */
int rl_store_list(const struct rl_store *s, struct rl_store_image **out, size_t *n,
		  struct rl_error *err);
void rl_store_list_free(struct rl_store_image *v, size_t n);

/* ---- changes (under the lock) */

/* What `rlbpf load` reports, one per image in the archive. */
struct rl_loaded {
	char id[72];
	char **tags; /* normalized; NULL when the archive names none */
	size_t n_tags;
	char **retagged_from; /* per tag: the id it named before, or NULL */
};

/* Loads a docker-archive or OCI layout (file, directory, or NULL for stdin)
 * into the store: the rlbpf-unpack helper unpacks it inside the user
 * namespace into a temporary directory of the store, which is then renamed
 * into place and tagged. On failure nothing of it stays. */
int rl_store_load(const struct rl_store *s, const char *input, struct rl_loaded **out,
		  size_t *n, struct rl_error *err);

/* The same for an OCI layout that rlbpf-pull (process fetcher) is still
 * filling: layers are unpacked as their blobs arrive. */
int rl_store_load_fetched(const struct rl_store *s, const char *layout, pid_t fetcher,
			  struct rl_loaded **out, size_t *n, struct rl_error *err);
void rl_loaded_free(struct rl_loaded *v, size_t n);

/* Tags the image `source` (any reference rl_store_lookup takes) as target
 * (NAME[:TAG]); a tag that named another image moves. */
int rl_store_tag(const struct rl_store *s, const char *source, const char *target,
		 struct rl_error *err);

/* rmi: a NAME[:TAG] is untagged, and the image deleted when no tag is left;
 * an ID deletes the image (refused while it has several tags, unless
 * force). An image an existing container (running or stopped) uses is not
 * deleted: untagging its last tag is refused, unless force, which untags it
 * and keeps it, untagged, until `rmi ID` once the containers are gone.
 * Prints Docker's "Untagged: ..." and "Deleted: sha256:..." lines to out
 * (unless NULL). */
int rl_store_remove(const struct rl_store *s, const char *ref, bool force, FILE *out,
		    struct rl_error *err);

/* Takes an exclusive flock on <store>/<name> (created), returns its fd. */
int rl_store_lock(const struct rl_store *s, const char *name, struct rl_error *err);
