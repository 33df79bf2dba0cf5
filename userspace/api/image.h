/* What the image routes (images.c, image_*.c) share. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "api/api.h"

/* The name in /images/NAME/ACTION (ACTION NULL: /images/NAME) into name. */
bool rl_api_image_name(const char *path, const char *action, char *name, size_t len);

/* POST /images/create: a pull, its progress streamed. */
void rl_api_image_pull(const struct rl_api_request *r, struct rl_api_reply *out);
/* GET /images/NAME/json. */
void rl_api_image_inspect(const char *name, struct rl_api_reply *out);

/* Starts this installation's rlbpf with args, stdin from in (-1:
 * /dev/null), stdout and stderr to out, with our environment plus env
 * ("VAR=VALUE", replacing ours; NULL: none). Its pid, or -1 with why. */
pid_t rl_api_rlbpf_start(char *const args[], int in, int out, const char *env, char *why,
			 size_t why_len);
/* Waits for it: its exit code, 128+N when signal N killed it. */
int rl_api_rlbpf_reap(pid_t pid);

/* ---- registries, as the Docker daemon sees them (image_registry.c) */

/* The registry host of an image name: its first part when that has a '.'
 * or ':' or is localhost, else docker.io. */
void rl_api_registry_host(const char *name, char *host, size_t len);
/* Whether Docker treats the registry as insecure (plain HTTP allowed)
 * without being told: a loopback address, 127.0.0.0/8 or ::1. */
bool rl_api_registry_loopback(const char *host);
/* X-Registry-Auth (base64url of {username, password, ...}) as an auth
 * file's JSON, {"auths": {host: {"auth": base64 of user:password}}}, into
 * *file. 0: the header names no credentials; 1: *file set; -1: refused,
 * with why. */
int rl_api_registry_auth(const char *header, const char *host, json_t **file, char *why,
			 size_t why_len);

/* ---- rlbpf pull's plain progress as Docker's JSON messages (image_progress.c) */

/* Appends the messages Docker sends for that line of rlbpf pull's output
 * (none for the last, the image's full name) to list. */
void rl_api_pull_messages(const char *line, json_t *list);
