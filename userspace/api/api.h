/* rlbpf-api: the Docker Engine API, served to the one user who runs it,
 * over the same state and image store as the rlbpf command. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#define RL_API_VERSION "1.44"
#define RL_API_MIN_VERSION "1.24"
#define RL_API_SERVER "rlbpf/0.1.0"

/* What a route answers: an HTTP status and a JSON body (NULL: none), or,
 * for the few that answer text, that text. */
struct rl_api_reply {
	unsigned status;
	json_t *body;
	const char *text;
};

/* The request as the routes see it. query(): a query argument or NULL. */
struct rl_api_request {
	const char *method;
	const char *path; /* without the /v1.NN prefix */
	const char *(*query)(const struct rl_api_request *r, const char *key);
	void *conn;
};

/* Docker's error body, {"message": ...}. */
void rl_api_error(struct rl_api_reply *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool rl_api_query_true(const struct rl_api_request *r, const char *key);

/* The routes, by concern: each returns false when the path is not its. */
bool rl_api_system(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_containers(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_images(const struct rl_api_request *r, struct rl_api_reply *out);
