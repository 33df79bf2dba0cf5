/* /containers/ID/logs: the log as docker logs reads it (stdout, stderr,
 * tail, timestamps, follow), in multiplexed frames. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/log_reader.h"

#define FRAME_MAX (8 + RL_LOG_PIECE + 64)

struct logs {
	struct rl_log_reader log;
	bool out, err, timestamps;
	long skip;       /* records to leave out first, for tail */
	char frame[FRAME_MAX];
	size_t len, off; /* what is left of the frame being sent */
};

static size_t next(void *ctx, char *buf, size_t max)
{
	struct logs *l = ctx;
	struct rl_log_record rec;
	while (l->off >= l->len) {
		if (rl_log_reader_next(&l->log, &rec) != 1)
			return 0;
		if (rec.is_stderr ? !l->err : !l->out)
			continue;
		if (l->skip > 0) {
			l->skip--;
			continue;
		}
		l->len = rl_log_frame(&rec, l->timestamps, l->frame, sizeof(l->frame));
		l->off = 0;
	}
	size_t n = l->len - l->off < max ? l->len - l->off : max;
	memcpy(buf, l->frame + l->off, n);
	l->off += n;
	return n;
}

static void done(void *ctx)
{
	rl_log_reader_close(&((struct logs *)ctx)->log);
}

/* How many of the log's records (of the streams asked for) to leave out
 * so that the last `tail` remain. */
static long records_before_tail(struct logs *l, long tail)
{
	struct rl_log_reader count = {.st = l->log.st};
	struct rl_log_record rec;
	long n = 0;
	while (rl_log_reader_next(&count, &rec) == 1)
		n += rec.is_stderr ? l->err : l->out;
	rl_log_reader_close(&count);
	return n > tail ? n - tail : 0;
}

bool rl_api_logs(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160];
	if (strcmp(r->method, "GET") || !rl_api_container_ref(r->path, "logs", ref, sizeof(ref)))
		return false;
	struct logs *l = calloc(1, sizeof(*l));
	if (!l) {
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	if (!rl_api_find_container(ref, &l->log.st, out)) {
		free(l);
		return true;
	}
	l->out = rl_api_query_true(r, "stdout");
	l->err = rl_api_query_true(r, "stderr");
	l->timestamps = rl_api_query_true(r, "timestamps");
	l->log.follow = rl_api_query_true(r, "follow");
	l->log.client = rl_api_client_fd(r);
	const char *tail = r->query(r, "tail");
	if (tail && strcmp(tail, "all") && tail[0]) {
		char *end;
		long t = strtol(tail, &end, 10);
		if (*end || t < 0) {
			free(l);
			rl_api_error(out, 400, "tail: a number of lines, or all, is needed, not '%s'",
				     tail);
			return true;
		}
		l->skip = records_before_tail(l, t);
	}
	*out = (struct rl_api_reply){.status = 200, .stream = next, .stream_done = done, .ctx = l};
	return true;
}
