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
#include "api/log_reader.h"

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

struct attach {
	struct rl_log_reader log;
	bool out, err;
};

static void serve(void *ctx, int sock)
{
	struct attach *a = ctx;
	struct rl_log_record rec;
	char buf[8 + RL_LOG_PIECE + 64];
	while (rl_log_reader_next(&a->log, &rec) == 1) {
		if (rec.is_stderr ? !a->err : !a->out)
			continue;
		size_t n = rl_log_frame(&rec, false, buf, sizeof(buf));
		if (n && !send_all(sock, buf, n))
			break;
	}
	rl_log_reader_close(&a->log);
	shutdown(sock, SHUT_WR);
	rl_api_attach_hold(a->log.st.id, -1);
}


bool rl_api_attach(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160];
	if (strcmp(r->method, "POST") || !rl_api_container_ref(r->path, "attach", ref, sizeof(ref)))
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
	if (rl_api_query_true(r, "stdin")) {
		free(a);
		rl_api_error(out, 501, "attaching stdin is not served by rlbpf's Docker API yet");
		return true;
	}
	a->out = rl_api_query_true(r, "stdout");
	a->err = rl_api_query_true(r, "stderr");
	a->log.follow = true;
	a->log.gone = rl_api_start_failed;
	rl_api_attach_hold(a->log.st.id, 1);
	*out = (struct rl_api_reply){.status = 101, .hijack = serve, .ctx = a};
	return true;
}
