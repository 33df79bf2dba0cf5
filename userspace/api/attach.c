/* /containers/ID/attach: the hijacked connection carries what the
 * container writes, in Docker's multiplexed frames (a byte for the stream,
 * three of zero, the length in four big-endian bytes, then the bytes), read
 * from its log as the supervisor writes it, until it has ended and the log
 * is read to its end. stdin is not served yet. */
#include <errno.h>
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
#include "supervise/logfile.h"
#include "supervise/state.h"
#include "supervise/status.h"

#define HOLDS 64

static pthread_mutex_t holds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char id[72];
	int n;
} holds[HOLDS];

void rl_api_attach_hold(const char *id, int delta)
{
	pthread_mutex_lock(&holds_lock);
	int free_slot = -1;
	for (int i = 0; i < HOLDS; i++) {
		if (holds[i].n && !strcmp(holds[i].id, id)) {
			holds[i].n += delta;
			pthread_mutex_unlock(&holds_lock);
			return;
		}
		if (!holds[i].n && free_slot < 0)
			free_slot = i;
	}
	if (delta > 0 && free_slot >= 0) {
		snprintf(holds[free_slot].id, sizeof(holds[free_slot].id), "%s", id);
		holds[free_slot].n = delta;
	}
	pthread_mutex_unlock(&holds_lock);
}

bool rl_api_attached(const char *id)
{
	bool held = false;
	pthread_mutex_lock(&holds_lock);
	for (int i = 0; i < HOLDS && !held; i++)
		held = holds[i].n > 0 && !strcmp(holds[i].id, id);
	pthread_mutex_unlock(&holds_lock);
	return held;
}

static bool send_all(int sock, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(sock, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static bool frame(int sock, bool is_stderr, const char *data, size_t len, bool newline)
{
	size_t n = len + (newline ? 1 : 0);
	unsigned char h[8] = {is_stderr ? 2 : 1, 0, 0, 0, (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
	return send_all(sock, h, sizeof(h)) && send_all(sock, data, len) &&
	       (!newline || send_all(sock, "\n", 1));
}

struct attach {
	struct rl_state st;
	bool out, err;
};

static bool ended(const struct rl_state *st)
{
	struct rl_status s;
	struct rl_error ignored;
	return access(st->dir, F_OK) < 0 ||
	       (rl_status_read(st, &s, &ignored) == 0 && s.state == RL_EXITED);
}

static void pause_ms(long ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};
	nanosleep(&t, NULL);
}

/* Follows the log from its start: the attach comes before the start. */
static void follow(const struct attach *a, int sock)
{
	char path[sizeof(a->st.dir) + 32];
	snprintf(path, sizeof(path), "%s/container.log", a->st.dir);
	int fd = -1;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0;
	for (;;) {
		if (!f && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
			f = fdopen(fd, "re");
		bool over = ended(&a->st); /* asked before the read: nothing is missed */
		ssize_t n;
		while (f && (n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] != '\n') { /* a line still being written */
				fseek(f, -n, SEEK_CUR);
				break;
			}
			line[n - 1] = '\0';
			struct rl_log_record rec;
			if (!rl_log_parse(line, &rec) || (rec.is_stderr ? !a->err : !a->out))
				continue;
			if (!frame(sock, rec.is_stderr, rec.text, rec.len, !rec.partial))
				goto out;
		}
		if (f)
			clearerr(f);
		if (over)
			break;
		pause_ms(20);
	}
out:
	free(line);
	if (f)
		fclose(f);
}

static void serve(void *ctx, int sock)
{
	struct attach *a = ctx;
	follow(a, sock);
	shutdown(sock, SHUT_WR);
	rl_api_attach_hold(a->st.id, -1);
}

bool rl_api_attach(const struct rl_api_request *r, struct rl_api_reply *out)
{
	const char *p = r->path;
	size_t n = strlen(p);
	static const char tail[] = "/attach";
	if (strcmp(r->method, "POST") || strncmp(p, "/containers/", 12) ||
	    n <= 12 + sizeof(tail) - 1 || strcmp(p + n - (sizeof(tail) - 1), tail))
		return false;
	char ref[160];
	size_t len = n - 12 - (sizeof(tail) - 1);
	if (len >= sizeof(ref) || memchr(p + 12, '/', len))
		return false;
	memcpy(ref, p + 12, len);
	ref[len] = '\0';
	struct attach *a = calloc(1, sizeof(*a));
	struct rl_error err = {0};
	if (!a) {
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	if (rl_state_find(ref, &a->st, &err) < 0) {
		free(a);
		rl_api_error(out, 404, "No such container: %s", ref);
		return true;
	}
	if (rl_api_query_true(r, "stdin")) {
		free(a);
		rl_api_error(out, 501, "attaching stdin is not served by rlbpf's Docker API yet");
		return true;
	}
	a->out = rl_api_query_true(r, "stdout");
	a->err = rl_api_query_true(r, "stderr");
	rl_api_attach_hold(a->st.id, 1);
	*out = (struct rl_api_reply){.status = 101, .hijack = serve, .ctx = a};
	return true;
}
