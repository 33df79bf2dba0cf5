/* /containers/ID/attach: the hijacked connection carries what the
 * container writes, in Docker's multiplexed frames (a byte for the stream,
 * three of zero, the length in four big-endian bytes, then the bytes), read
 * from its log as the supervisor writes it, until it has ended and the log
 * is read to its end; with a terminal, its bytes as they are. stdin goes to
 * the container through its supervisor's attach socket. Also resize. */
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/log_reader.h"
#include "supervise/attach_socket.h"
#include "supervise/state_watch.h"
#include "supervise/status.h"

/* The hijacked socket is non-blocking (libmicrohttpd's): a full buffer
 * is waited out. */
bool rl_api_send_all(int sock, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(sock, c, n, MSG_NOSIGNAL);
		struct pollfd out = {.fd = sock, .events = POLLOUT};
		if (w < 0 && errno == EAGAIN && poll(&out, 1, -1) >= 0)
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

struct attach {
	struct rl_log_reader log;
	int hold; /* the record is kept for us until the log is read */
	bool out, err, in, tty;
	int stop; /* an eventfd: the output has ended, input is over too */
	int sock;
	char *early; /* input that came with the request */
	size_t early_len;
};

static bool waits_for_start(const struct rl_state *st)
{
	struct rl_status s;
	struct rl_error ignored;
	return !rl_api_start_failed(st->id) &&
	       (rl_status_read(st, &s, &ignored) < 0 || s.state == RL_CREATED);
}

/* Waits up to ms for fd to be ready for events; false once stop is. */
static bool ready_unless_stopped(int fd, short events, int stop, int ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = stop, .events = POLLIN}};
	while (poll(p, 2, ms) < 0)
		if (errno != EINTR)
			return false;
	return !p[1].revents;
}

static bool write_unless_stopped(int fd, const char *buf, size_t n, int stop)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EAGAIN && ready_unless_stopped(fd, POLLOUT, stop, -1))
			continue;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		n -= (size_t)w;
	}
	return true;
}

/* The client's bytes into the container's input, which exists once the
 * container has started (docker run attaches before it starts). The
 * client's half-close is the end of input: a pipe's end is closed, so the
 * program reads EOF; a terminal's stays, where ^D is the user's. */
static void *pump_input(void *p)
{
	struct attach *a = p;
	int fd = -1;
	bool tty = false;
	struct rl_error err;
	while (rl_attach_connect(a->log.st.dir, &fd, &tty, &err) < 0)
		if (!waits_for_start(&a->log.st) || !ready_unless_stopped(-1, 0, a->stop, 10))
			return NULL;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	bool open = write_unless_stopped(fd, a->early, a->early_len, a->stop);
	char buf[8192];
	while (open && ready_unless_stopped(a->sock, POLLIN, a->stop, -1)) {
		ssize_t n = recv(a->sock, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		open = n > 0 && write_unless_stopped(fd, buf, (size_t)n, a->stop);
	}
	close(fd);
	return NULL;
}

static void serve(void *ctx, int sock, const char *early, size_t early_len)
{
	struct attach *a = ctx;
	pthread_t input;
	a->sock = sock;
	if (early_len && (a->early = malloc(early_len))) {
		memcpy(a->early, early, early_len);
		a->early_len = early_len;
	}
	bool pumping = a->in && (a->stop = eventfd(0, EFD_CLOEXEC)) >= 0 &&
		       pthread_create(&input, NULL, pump_input, a) == 0;
	struct rl_log_record rec;
	char buf[8 + RL_LOG_PIECE + 64];
	a->log.client = sock;
	while (rl_log_reader_next(&a->log, &rec) == 1) {
		if (rec.is_stderr ? !a->err : !a->out)
			continue;
		/* A terminal's bytes go raw: it has one stream. */
		size_t n = a->tty ? rl_log_raw(&rec, buf, sizeof(buf))
				  : rl_log_frame(&rec, false, buf, sizeof(buf));
		if (n && !rl_api_send_all(sock, buf, n))
			break;
	}
	rl_log_reader_close(&a->log);
	shutdown(sock, SHUT_WR);
	if (pumping) {
		(void)!eventfd_write(a->stop, 1);
		pthread_join(input, NULL);
	}
	if (a->stop > 0)
		close(a->stop);
	free(a->early);
	if (a->hold >= 0)
		close(a->hold);
}

/* The 101 never went: the hold goes, and the log was not opened yet. */
static void attach_abort(void *ctx)
{
	struct attach *a = ctx;
	if (a->hold >= 0)
		close(a->hold);
}

static bool configured_tty(const struct rl_state *st)
{
	json_t *config;
	struct rl_error ignored;
	if (rl_state_config(st, &config, &ignored) < 0)
		return false;
	bool tty = json_is_true(json_object_get(json_object_get(config, "Config"), "Tty"));
	json_decref(config);
	return tty;
}

int rl_api_resize(const struct rl_state *st, unsigned height, unsigned width, char *why,
		  size_t len)
{
	int fd;
	bool tty;
	struct rl_error err;
	/* asked first: the attach socket would give a pipe's input away */
	if (!configured_tty(st))
		return snprintf(why, len, "container %s has no terminal (run it with -t)", st->name),
		       400;
	if (rl_attach_connect(st->dir, &fd, &tty, &err) < 0)
		return snprintf(why, len, "Container %s is not running", st->name), 409;
	struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
	int status = 200;
	if (!tty)
		status = 400, snprintf(why, len, "container %s has no terminal (run it with -t)",
				       st->name);
	else if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
		status = 500, snprintf(why, len, "cannot resize the terminal: %s", strerror(errno));
	close(fd);
	return status;
}

static void resize(const struct rl_api_request *r, const char *ref, struct rl_api_reply *out)
{
	struct rl_state st;
	struct winsize ws;
	char why[256];
	if (!rl_api_query_size(r, &ws))
		return rl_api_error(out, 400, RL_API_SIZE_NEEDED);
	if (!rl_api_find_container(ref, &st, out))
		return;
	unsigned status = (unsigned)rl_api_resize(&st, ws.ws_row, ws.ws_col, why, sizeof(why));
	if (status != 200)
		return rl_api_error(out, status, "%s", why);
	*out = (struct rl_api_reply){.status = 200};
}

bool rl_api_attach(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160];
	if (strcmp(r->method, "POST"))
		return false;
	if (rl_api_container_ref(r->path, "resize", ref, sizeof(ref))) {
		resize(r, ref, out);
		return true;
	}
	if (!rl_api_container_ref(r->path, "attach", ref, sizeof(ref)))
		return false;
	struct attach *a = calloc(1, sizeof(*a));
	if (!a) {
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	if (!rl_api_find_container(ref, &a->log.st, out)) {
		free(a);
		return true;
	}
	a->in = rl_api_query_true(r, "stdin");
	a->out = rl_api_query_true(r, "stdout");
	a->err = rl_api_query_true(r, "stderr");
	a->tty = configured_tty(&a->log.st);
	a->stop = -1;
	a->log.follow = true;
	a->log.gone = rl_api_start_failed;
	a->hold = rl_state_hold(&a->log.st);
	*out = (struct rl_api_reply){.status = 101, .hijack = serve, .hijack_abort = attach_abort,
				     .ctx = a, .raw = a->tty};
	return true;
}
