#include "supervise/logfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "supervise/status.h"

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int write_record(int logfd, const char *stream, bool partial, const char *text, size_t len)
{
	char head[80];
	char now[40];
	rl_now_rfc3339(now, sizeof(now));
	int n = snprintf(head, sizeof(head), "%s %s %c ", now, stream, partial ? 'P' : 'F');
	struct iovec iov[3] = {
		{.iov_base = head, .iov_len = (size_t)n},
		{.iov_base = (void *)text, .iov_len = len},
		{.iov_base = "\n", .iov_len = 1},
	};
	return write_all(logfd, iov, 3);
}

int rl_log_append(int logfd, struct rl_log_stream *s, const char *data, size_t len)
{
	while (len > 0) {
		size_t take = sizeof(s->buf) - s->len < len ? sizeof(s->buf) - s->len : len;
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		data += take;
		len -= take;
		size_t start = 0;
		for (char *nl; (nl = memchr(s->buf + start, '\n', s->len - start));) {
			size_t end = (size_t)(nl - s->buf);
			int r = write_record(logfd, s->name, false, s->buf + start, end - start);
			if (r < 0)
				return r;
			start = end + 1;
		}
		memmove(s->buf, s->buf + start, s->len - start);
		s->len -= start;
		if (s->len == sizeof(s->buf)) {
			int r = write_record(logfd, s->name, true, s->buf, s->len);
			if (r < 0)
				return r;
			s->len = 0;
		}
	}
	return 0;
}

int rl_log_flush(int logfd, struct rl_log_stream *s)
{
	if (s->len == 0)
		return 0;
	/* The stream ended without a newline: a piece, as Docker keeps it. */
	int r = write_record(logfd, s->name, true, s->buf, s->len);
	s->len = 0;
	return r;
}

bool rl_log_parse(char *line, struct rl_log_record *rec)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1 || (size_t)(sp1 - line) >= sizeof(rec->time))
		return false;
	char *sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2[1] == '\0' || (sp2[2] != ' ' && sp2[2] != '\0'))
		return false;
	size_t stream_len = (size_t)(sp2 - sp1 - 1);
	if (stream_len == 6 && strncmp(sp1 + 1, "stdout", 6) == 0)
		rec->is_stderr = false;
	else if (stream_len == 6 && strncmp(sp1 + 1, "stderr", 6) == 0)
		rec->is_stderr = true;
	else
		return false;
	if (sp2[1] != 'F' && sp2[1] != 'P')
		return false;
	rec->partial = sp2[1] == 'P';
	memcpy(rec->time, line, (size_t)(sp1 - line));
	rec->time[sp1 - line] = '\0';
	rec->text = sp2[2] ? sp2 + 3 : sp2 + 2;
	rec->len = strlen(rec->text);
	return true;
}
