#include "api/log_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "supervise/status.h"

static bool ended(const struct rl_state *st)
{
	struct rl_status s;
	struct rl_error ignored;
	return access(st->dir, F_OK) < 0 ||
	       (rl_status_read(st, &s, &ignored) == 0 && s.state == RL_EXITED);
}

int rl_log_reader_next(struct rl_log_reader *r, struct rl_log_record *rec)
{
	char path[sizeof(r->st.dir) + 32];
	snprintf(path, sizeof(path), "%s/container.log", r->st.dir);
	/* watched before it is read: no change falls between */
	if (r->follow && !r->watching) {
		rl_state_watch_open(&r->watch, &r->st);
		r->watching = true;
	}
	for (;;) {
		if (!r->f)
			r->f = fopen(path, "re");
		/* asked before the read: a line written just before the end is
		 * still read */
		bool over = !r->follow || ended(&r->st) || (r->gone && r->gone(r->st.id));
		ssize_t n;
		while (r->f && (n = getline(&r->line, &r->cap, r->f)) > 0) {
			if (r->line[n - 1] != '\n') { /* a line still being written */
				fseek(r->f, -n, SEEK_CUR);
				break;
			}
			r->line[n - 1] = '\0';
			if (rl_log_parse(r->line, rec))
				return 1;
		}
		if (r->f)
			clearerr(r->f);
		if (over || rl_api_client_gone(r->client))
			return 0;
		/* a failed start is not in the directory: asked again soon */
		rl_state_watch_wait(&r->watch, 100);
	}
}

void rl_log_reader_close(struct rl_log_reader *r)
{
	if (r->f)
		fclose(r->f);
	if (r->watching)
		rl_state_watch_close(&r->watch);
	r->watching = false;
	free(r->line);
	r->f = NULL;
	r->line = NULL;
}

size_t rl_log_frame(const struct rl_log_record *rec, bool timestamps, char *buf, size_t len)
{
	size_t t = timestamps ? strlen(rec->time) + 1 : 0;
	size_t n = t + rec->len + (rec->partial ? 0 : 1);
	if (8 + n > len)
		return 0;
	unsigned char *h = (unsigned char *)buf;
	h[0] = rec->is_stderr ? 2 : 1;
	h[1] = h[2] = h[3] = 0;
	h[4] = (unsigned char)(n >> 24);
	h[5] = (unsigned char)(n >> 16);
	h[6] = (unsigned char)(n >> 8);
	h[7] = (unsigned char)n;
	if (timestamps) {
		memcpy(buf + 8, rec->time, t - 1);
		buf[8 + t - 1] = ' ';
	}
	memcpy(buf + 8 + t, rec->text, rec->len);
	if (!rec->partial)
		buf[8 + n - 1] = '\n';
	return 8 + n;
}

size_t rl_log_raw(const struct rl_log_record *rec, char *buf, size_t len)
{
	size_t n = rec->len + (rec->partial ? 0 : 1);
	if (n > len)
		return 0;
	memcpy(buf, rec->text, rec->len);
	if (!rec->partial)
		buf[n - 1] = '\n';
	return n;
}
