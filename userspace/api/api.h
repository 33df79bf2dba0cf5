/* rlbpf-api: the Docker Engine API, served to the one user who runs it,
 * over the same state and image store as the rlbpf command. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <sys/ioctl.h>

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
	/* early: what the client sent after its request, before the 101 */
	void (*hijack)(void *ctx, int sock, const char *early, size_t early_len);
	/* a hijack that never happens (the client went before the 101):
	 * undoes what the route holds for it; ctx is freed after */
	void (*hijack_abort)(void *ctx);
	bool raw; /* the hijacked stream is a terminal's (not multiplexed) */
	/* logs: the body as it comes, in Docker's multiplexed frames; 0 ends */
	size_t (*stream)(void *ctx, char *buf, size_t max);
	void (*stream_done)(void *ctx);
	void *ctx; /* freed with free() after */
	/* text's or stream's Content-Type (NULL: text/plain; Docker's
	 * multiplexed stream) */
	const char *type;
};

/* The request as the routes see it. query(), header(): a query argument,
 * a request header, or NULL. */
struct rl_api_request {
	const char *method;
	const char *path; /* without the /v1.NN prefix */
	const char *(*query)(const struct rl_api_request *r, const char *key);
	const char *(*header)(const struct rl_api_request *r, const char *name);
	void *conn;
	const char *body; /* NUL-terminated; "" when none */
	size_t body_len;
};

/* A route that streams (wait's late body, attach's hijacked connection)
 * sets this instead of a reply body: server.c then calls it to make the
 * response, in the connection's own thread. */
struct rl_api_stream;
struct rl_api_reply;

/* The client's socket, to see it go while a reply waits (-1: none). */
int rl_api_client_fd(const struct rl_api_request *r);
/* Whether the client at sock (> 0) has closed its socket (a half-close is
 * not going away). */
bool rl_api_client_gone(int sock);

/* Docker's error body, {"message": ...}. */
void rl_api_error(struct rl_api_reply *out, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool rl_api_query_true(const struct rl_api_request *r, const char *key);
/* A resize's h and w (rows and columns, 0 to 65535) into ws. */
bool rl_api_query_size(const struct rl_api_request *r, struct winsize *ws);
#define RL_API_SIZE_NEEDED "resize needs h and w: whole numbers of rows and columns, 0 to 65535"
/* "/v1.44/containers/json" -> "/containers/json": the client's version
 * prefix, which every route accepts alike. */
const char *rl_api_strip_version(const char *url);
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
bool rl_api_exec(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_stats(const struct rl_api_request *r, struct rl_api_reply *out);
bool rl_api_events(const struct rl_api_request *r, struct rl_api_reply *out); /* first: watches from the first request */

/* A route that takes its body as it arrives rather than whole (load's
 * archive may be any size). Asked at the headers: false when the request
 * is not its; else up is set, or out holds the answer (the body is then
 * dropped). write takes each piece (false: drop the rest); finish makes
 * the reply and frees ctx, and is called once, also when the client
 * goes away (out is then discarded). */
struct rl_api_upload {
	bool (*write)(void *ctx, const char *data, size_t len);
	void (*finish)(void *ctx, struct rl_api_reply *out);
	void *ctx;
};
bool rl_api_image_load(const struct rl_api_request *r, struct rl_api_upload *up, struct rl_api_reply *out);

/* In a child of the service, before its exec: no fd of the service's
 * past stderr, no blocked signal, every signal's default action. */
void rl_api_child_defaults(void);

/* Runs the rlbpf command (this installation's) with args; its stdout
 * (trimmed) into out, its last line of stderr into why. The exit code. */
int rl_api_rlbpf(char *const args[], char *out, size_t out_len, char *why, size_t why_len);
/* That command's path: 0, or -1 when rlbpf-api is not in an installation. */
int rl_api_rlbpf_path(char *buf, size_t len);

/* Sends all of p on a hijacked socket; false when the client is gone. */
bool rl_api_send_all(int sock, const void *p, size_t n);

/* Whether the last start of container id failed: its attach and wait
 * end then, as Docker's do. */
bool rl_api_start_failed(const char *id);


/* Sets a running container's terminal size: 200, or an HTTP status with
 * why. */
int rl_api_resize(const struct rl_state *st, unsigned height, unsigned width, char *why,
		  size_t len);
