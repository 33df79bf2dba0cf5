/* Registry credentials where Podman and Docker keep them, for rlbpf pull,
 * login and logout (the rlbpf-pull helper). Files are read in this order,
 * the first that names the registry winning: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
 * ~/.docker/config.json. In each: "auths" {"HOST": {"auth": base64 of
 * "user:secret"}}, and Docker's credential helpers, "credHelpers"
 * {"HOST": "NAME"} and "credsStore": "NAME" (docker-credential-NAME get,
 * the server on its stdin, {"Username","Secret"} on its stdout). */
#pragma once
#include <stddef.h>

#include "lib/error.h"

struct rl_creds {
	char user[256];
	char secret[4096];
};

/* The credentials for registry (the reference's host, "docker.io" for
 * Docker Hub, which is also found under Docker's
 * "https://index.docker.io/v1/"). 1 with *out, 0 when none are stored, or
 * a negative errno (a file or helper that fails says so in err). */
int rl_auth_lookup(const char *registry, struct rl_creds *out, struct rl_error *err);

/* Where login writes: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json (Podman's), else
 * ~/.config/containers/auth.json. */
int rl_auth_file_for_write(char *path, size_t len, struct rl_error *err);

/* Stores (replacing) or removes the registry's entry in that file,
 * atomically, mode 0600. Remove returns -ENOENT when it held none. */
int rl_auth_store(const char *registry, const struct rl_creds *c, struct rl_error *err);
int rl_auth_remove(const char *registry, struct rl_error *err);
