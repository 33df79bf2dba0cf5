/* rlbpf-api: serves the Docker Engine API on a unix socket of the user's
 * (rlbpf system service starts it), with libmicrohttpd. Hardened as the
 * agent is: bounded connections, request sizes and time, and nothing
 * outside the user's own state and images (it runs as the user).
 *
 * Usage: rlbpf-api [--timeout SECONDS] SOCKET
 * SOCKET: a path (made 0600), or "-" for a socket systemd passes
 * (LISTEN_FDS). --timeout: exit after that long without a request (0, the
 * default: never). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api.h"

#define PROG "rlbpf-api"
#define MAX_CONNECTIONS 64
#define CONNECTION_MEMORY (64 * 1024) /* a request's headers and body */
#define CONNECTION_TIMEOUT 600        /* seconds idle */
#define SYSTEMD_FIRST_FD 3
#define MAX_BODY (1024 * 1024) /* a create's JSON, with room to spare */

static atomic_llong last_request; /* monotonic seconds */

static long long now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static const char *query(const struct rl_api_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header(const struct rl_api_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int rl_api_client_fd(const struct rl_api_request *r)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return info ? info->connect_fd : -1;
}

static void common_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Api-Version", RL_API_VERSION);
	MHD_add_response_header(resp, "Ostype", "linux");
	MHD_add_response_header(resp, "Server", RL_API_SERVER);
	MHD_add_response_header(resp, "Docker-Experimental", "false");
	MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
}

/* wait: the headers go at once, the body when late_body has it. */
struct late {
	struct rl_api_reply r;
	char *text;
	size_t off, len;
	bool done;
};

static ssize_t late_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct late *l = cls;
	(void)pos;
	if (!l->done) {
		json_t *body = l->r.late_body(l->r.ctx);
		l->text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		l->len = l->text ? strlen(l->text) : 0;
		l->done = true;
	}
	if (l->off >= l->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = l->len - l->off < max ? l->len - l->off : max;
	memcpy(buf, l->text + l->off, n);
	l->off += n;
	return (ssize_t)n;
}

static void late_free(void *cls)
{
	struct late *l = cls;
	free(l->text);
	free(l->r.ctx);
	free(l);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rl_api_reply *r = cls;
	(void)pos;
	size_t n = r->stream(r->ctx, buf, max);
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	struct rl_api_reply *r = cls;
	if (r->stream_done)
		r->stream_done(r->ctx);
	free(r->ctx);
	free(r);
}

/* A hijack's reply, between the 101 and the upgrade that serves it:
 * upgraded() and the request's completion each hold it, and whichever
 * comes first owns its ctx; a completion that comes first (the client went,
 * or the 101 could not be sent) undoes the route's hold with hijack_abort. */
struct hijack {
	struct rl_api_reply r;
	atomic_bool taken;
	atomic_int refs;
};

static void hijack_release(struct hijack *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1)
		free(h);
}

/* The request has ended: undoes the hijack if nothing served it. */
static void hijack_end(struct hijack *h)
{
	if (!atomic_exchange(&h->taken, true)) {
		if (h->r.hijack_abort)
			h->r.hijack_abort(h->r.ctx);
		free(h->r.ctx);
	}
	hijack_release(h);
}

/* attach, exec: the connection is the route's after the 101. */
static void upgraded(void *cls, struct MHD_Connection *c, void *req, const char *extra,
		     size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct hijack *h = cls;
	(void)c;
	(void)req;
	if (!atomic_exchange(&h->taken, true)) {
		h->r.hijack(h->r.ctx, sock, extra, extra_len);
		free(h->r.ctx);
	}
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	hijack_release(h);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct rl_api_reply *r,
				  struct hijack **hijacked)
{
	struct MHD_Response *resp;
	if (r->late_body) {
		struct late *l = calloc(1, sizeof(*l));
		if (!l)
			return MHD_NO;
		l->r = *r;
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, late_read, l,
							 late_free);
		if (!resp) {
			late_free(l);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "Content-Type", "application/json");
	} else if (r->stream) {
		struct rl_api_reply *kept = malloc(sizeof(*kept));
		resp = kept ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
								 stream_read, kept, stream_free)
			    : NULL;
		if (!resp) {
			if (kept) {
				*kept = *r;
				stream_free(kept);
			}
			return MHD_NO;
		}
		*kept = *r;
		MHD_add_response_header(resp, "Content-Type",
					r->type ? r->type : "application/vnd.docker.multiplexed-stream");
	} else if (r->hijack) {
		struct hijack *h = calloc(1, sizeof(*h));
		resp = h ? MHD_create_response_for_upgrade(upgraded, h) : NULL;
		if (!resp) {
			free(h);
			if (r->hijack_abort)
				r->hijack_abort(r->ctx);
			free(r->ctx);
			return MHD_NO;
		}
		h->r = *r;
		atomic_init(&h->refs, 2);
		*hijacked = h;
		MHD_add_response_header(resp, "Connection", "Upgrade");
		MHD_add_response_header(resp, "Upgrade", "tcp");
		MHD_add_response_header(resp, "Content-Type",
					r->raw ? "application/vnd.docker.raw-stream"
					       : "application/vnd.docker.multiplexed-stream");
	} else {
		char *text = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
		const char *data = text ? text : r->text ? r->text : "";
		resp = MHD_create_response_from_buffer(strlen(data), (void *)data,
						       MHD_RESPMEM_MUST_COPY);
		free(text);
		free(r->ctx);
		if (!resp)
			return MHD_NO;
		if (r->body || !r->text)
			MHD_add_response_header(resp, "Content-Type", "application/json");
		else
			MHD_add_response_header(resp, "Content-Type",
						r->type ? r->type : "text/plain; charset=utf-8");
	}
	common_headers(resp);
	enum MHD_Result q = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return q;
}

/* A request's body, gathered across the calls that bring it; or, for a
 * route that takes it as it arrives, handed on piece by piece. */
struct pending {
	char *body;
	size_t len;
	bool too_big;
	bool uploading;
	struct rl_api_upload up;
	struct rl_api_reply refused; /* the upload route's answer at the headers */
	struct hijack *hijack;       /* its reply, until the request ends */
};

/* Requests under way, hijacked connections included: --timeout counts
 * idle time only while there is none. */
static atomic_int open_requests;

static void completed(void *cls, struct MHD_Connection *c, void **state,
		      enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	struct pending *p = *state;
	if (p && p->up.finish) { /* the client went before the end of its upload */
		struct rl_api_reply unsent = {0};
		p->up.finish(p->up.ctx, &unsent);
		json_decref(unsent.body);
	}
	if (p) {
		/* an upgrade ends its request "completed" as it begins: upgraded()
		 * serves the ctx; any other end means it never will */
		if (p->hijack && why != MHD_REQUEST_TERMINATED_COMPLETED_OK)
			hijack_end(p->hijack);
		else if (p->hijack)
			hijack_release(p->hijack);
		json_decref(p->refused.body);
		free(p->body);
		free(p);
		atomic_fetch_sub(&open_requests, 1);
		atomic_store(&last_request, now_s());
	}
	*state = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	(void)cls;
	(void)version;
	struct pending *p = *state;
	struct rl_api_request r = {.method = method, .path = rl_api_strip_version(url), .query = query,
				   .header = header, .conn = c, .body = ""};
	if (!p) { /* headers only: the body, if any, comes next */
		if (!(p = calloc(1, sizeof(*p))))
			return MHD_NO;
		*state = p;
		atomic_fetch_add(&open_requests, 1);
		p->uploading = rl_api_image_load(&r, &p->up, &p->refused);
		return MHD_YES;
	}
	if (*upload_size) {
		if (p->uploading) {
			atomic_store(&last_request, now_s()); /* a long upload is no idle time */
			if (p->up.write && !p->up.write(p->up.ctx, upload, *upload_size))
				p->up.write = NULL; /* the route has what it needs to answer */
		} else if (p->len + *upload_size > MAX_BODY) {
			p->too_big = true;
		} else if (!p->too_big) {
			char *grown = realloc(p->body, p->len + *upload_size + 1);
			if (!grown)
				return MHD_NO;
			memcpy(grown + p->len, upload, *upload_size);
			p->body = grown;
			p->len += *upload_size;
			p->body[p->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_store(&last_request, now_s());
	r.body = p->body ? p->body : "";
	r.body_len = p->len;
	struct rl_api_reply out = {0};
	if (p->up.finish) {
		p->up.finish(p->up.ctx, &out);
		p->up.finish = NULL;
	} else if (p->uploading) {
		out = p->refused;
		p->refused = (struct rl_api_reply){0};
	} else if (p->too_big)
		rl_api_error(&out, 413, "the request body is larger than %d bytes", MAX_BODY);
	else if (!rl_api_events(&r, &out) && !rl_api_system(&r, &out) && !rl_api_containers(&r, &out) &&
		 !rl_api_images(&r, &out) && !rl_api_lifecycle(&r, &out) && !rl_api_attach(&r, &out) &&
		 !rl_api_logs(&r, &out) && !rl_api_exec(&r, &out) && !rl_api_stats(&r, &out))
		/* 501, not Docker's 404: the CLI reads a 404 on create as "no such
		 * image" and would go and pull it. "not supported": docker inspect
		 * then tries the next kind of object (container, image, network...) */
		rl_api_error(&out, 501, "rlbpf's Docker API does not serve %s %s yet (not supported); "
			     "use rlbpf for it", method, r.path);
	enum MHD_Result q = send_reply(c, &out, &p->hijack);
	json_decref(out.body);
	return q;
}

/* The socket: systemd's (socket activation), or one made here, 0600 and
 * the user's, in place of a stale one nobody listens on. */
static int listen_socket(const char *path)
{
	if (!strcmp(path, "-")) {
		const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
		if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) != 1) {
			fprintf(stderr, PROG ": no socket from systemd (LISTEN_PID, LISTEN_FDS); give a path\n");
			return -1;
		}
		/* not for the rlbpf commands we run, nor their containers */
		fcntl(SYSTEMD_FIRST_FD, F_SETFD, FD_CLOEXEC);
		return SYSTEMD_FIRST_FD;
	}
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, PROG ": socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		fprintf(stderr, PROG ": %s is served already; stop that service first\n", path);
		close(fd);
		return -1;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	mode_t old = umask(0177);
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {{"timeout", required_argument, NULL, 't'}, {0}};
	long timeout = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		char *end;
		if (c != 't' || (timeout = strtol(optarg, &end, 10), *end || timeout < 0)) {
			fprintf(stderr, PROG ": usage: " PROG " [--timeout SECONDS] SOCKET|-\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, PROG ": usage: " PROG " [--timeout SECONDS] SOCKET|-\n");
		return 2;
	}
	const char *path = argv[optind];
	int fd = listen_socket(path);
	if (fd < 0)
		return 1;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL); /* the server's thread inherits it */
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&last_request, now_s());
	struct MHD_Daemon *d = MHD_start_daemon(
		/* a thread a connection: wait and attach block for the
		 * container's lifetime */
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE,
		0, NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, PROG ": cannot start serving %s\n", path);
		return 1;
	}
	fprintf(stderr, PROG ": serving the Docker API %s on %s\n", RL_API_VERSION, path);
	for (;;) {
		struct timespec wait = {.tv_sec = 1};
		int sig = sigtimedwait(&stop, NULL, &wait);
		if (sig > 0)
			break;
		if (timeout && !atomic_load(&open_requests) &&
		    now_s() - atomic_load(&last_request) >= timeout)
			break;
	}
	/* no MHD_stop_daemon: it would join every connection's thread, and a
	 * wait or an attach lasts as long as its container; they end with us */
	MHD_quiesce_daemon(d);
	if (strcmp(path, "-"))
		unlink(path);
	_exit(0);
}
