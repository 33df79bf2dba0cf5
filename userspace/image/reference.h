/* Image references as Docker reads them: NAME[:TAG] for the store, and
 * [HOST/]REPO[:TAG][@DIGEST] for a registry. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/error.h"

/* Normalizes NAME[:TAG] as Docker does: the tag defaults to "latest",
 * "docker.io/library/" and "docker.io/" are dropped. Names are lowercase
 * [a-z0-9] components separated by ".", "_", "__" or "-"s, joined by "/",
 * the first of which may be a registry host[:port]; tags are
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. Writes "name:tag" to out.
 * 0, or -EINVAL (err says why). */
int rl_ref_normalize(const char *ref, char *out, size_t len, struct rl_error *err);

/* Splits a normalized "name:tag" at its tag's colon (returns the tag). */
const char *rl_ref_tag(const char *name_tag);


/* Whether d is "sha256:" and 64 lowercase hex digits, the only digests
 * rlbpf checks. */
bool rl_ref_valid_digest(const char *d);

/* A reference to pull, split as the distribution protocol wants it. */
struct rl_pull_ref {
	char host[256];  /* the registry; "docker.io" for Docker Hub */
	char repo[256];  /* "library/busybox" for a one-part Docker Hub name */
	char tag[129];   /* "" when only a digest was given */
	char digest[72]; /* "sha256:<64 hex>" or "" */
	char name[600];  /* the store's "name:tag" (rl_ref_normalize's); "" for a digest alone */
	char full[800];  /* as Docker prints it: "docker.io/library/busybox:latest" */
};

/* Docker's rules: no registry host means docker.io (served from
 * registry-1.docker.io), a one-part name there gets library/, the tag
 * defaults to latest unless a digest is given. 0, or -EINVAL with err. */
int rl_pull_ref_parse(const char *text, struct rl_pull_ref *out, struct rl_error *err);
