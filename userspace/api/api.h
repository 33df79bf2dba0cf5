/* rlbpf-api: the Docker Engine API, served to the one user who runs it,
 * over the same state and image store as the rlbpf command. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "supervise/state.h"

#define RL_API_VERSION "1.44"
#define RL_API_MIN_VERSION "1.24"
#define RL_API_SERVER "rlbpf/0.1.0"

/* What a route answers: an HTTP status and a JSON body (NULL: none), or,
 * for the few that answer text, that text. */
struct rl_api_reply {
	unsigned status;
	json_t *body;
	const char *text;
	/* wait: blocks until it has the body; attach: serves the hijacked
	 * socket until the container's output ends */
	json_t *(*late_body)(void *ctx);
	void (*hijack)(void *ctx, int sock);
	/* logs: the body as it comes, in Docker's multiplexed frames; 0 ends */
	size_t (*stream)(void *ctx, char *buf, size_t max);
	void (*stream_done)(void *ctx);
	void *ctx; /* freed with free() after */
};

/* The request as the routes see it. query(): a query argument or NULL. */
struct rl_api_request {
	const char *method;
	const char *path; /* without the /v1.NN prefix */
	const char *(*query)(const struct rl_api_request *r, const char *key);
	void *conn;
	const char *body; /* NUL-terminated; "" when none */
	size_t body_len;
};

/* A route that streams (wait's late body, attach's hijacked connection)
 * sets this instead of a reply body: server.c then calls it to make the
 * response, in the connection's own thread. */
struct rl_api_stream;
struct rl_api_reply;

/* Docker's error body, {"message": ...}. */
void rl_api_error(struct rl_api_reply *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool rl_api_query_true(const struct rl_api_request *r, const char *key);
/* Whether path is /containers/REF/ACTION (ACTION "": /containers/REF),
 * with REF into ref. */
bool rl_api_container_ref(const char *path, const char *action, char *ref, size_t len);
/* The container ref names, into st; false after a 404 into out. */
bool rl_api_find_container(const char *ref, struct rl_state *st, struct rl_api_reply *out);

/* The routes, by concern: each returns false when the path is not its. */
bool rl_api_system(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_containers(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_images(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_lifecycle(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_attach(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_logs(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_stats(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_events(const struct rl_api_request *r, struct rl_api_reply *out); /* first: watches from the first request */

/* Runs the rlbpf command (this installation's) with args; its stdout
 * (trimmed) into out, its last line of stderr into why. The exit code. */
int rl_api_rlbpf(char *const args[], char *out, size_t out_len, char *why, size_t why_len);

/* Whether the last start of container id failed: its attach and wait
 * end then, as Docker's do. */
bool rl_api_start_failed(const char *id);

/* Whether an attach of the container is still streaming its output: an
 * auto-removed container is removed only after (its log goes with it). */
void rl_api_attach_hold(const char *id, int delta);
bool rl_api_attached(const char *id);
