/* rlbpf logs [-f] [--tail N] [-t] CONTAINER */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "cli/commands.h"
#include "supervise/logfile.h"
#include "supervise/state.h"
#include "supervise/status.h"

struct log_view {
	bool timestamps;
	bool at_line_start[2]; /* per stream: the next text begins a line */
};

static void print_record(struct log_view *v, const struct rl_log_record *rec)
{
	FILE *out = rec->is_stderr ? stderr : stdout;
	if (v->timestamps && v->at_line_start[rec->is_stderr])
		fprintf(out, "%s ", rec->time);
	fwrite(rec->text, 1, rec->len, out);
	if (!rec->partial)
		fputc('\n', out);
	v->at_line_start[rec->is_stderr] = !rec->partial;
	fflush(out);
}

/* Prints the records of a chunk of whole lines; returns how many lines. */
static size_t print_lines(struct log_view *v, char *text, size_t len, size_t skip)
{
	size_t lines = 0;
	for (char *line = text; line < text + len;) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		if (!nl)
			break;
		*nl = '\0';
		struct rl_log_record rec;
		if (rl_log_parse(line, &rec) && lines++ >= skip)
			print_record(v, &rec);
		line = nl + 1;
	}
	return lines;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 0;
	for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))); p++)
		n++;
	return n;
}

static void usage(FILE *out)
{
	fputs("Usage: rlbpf logs [OPTIONS] CONTAINER\n"
	      "\n"
	      "Show what a detached container wrote on stdout and stderr.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --follow       keep printing new output until the container stops\n"
	      "  -n, --tail N       only the last N lines (or 'all')\n"
	      "  -t, --timestamps   prefix each line with its RFC 3339 time\n"
	      "  -h, --help         show this help\n",
	      out);
}

/* Reads what has been appended since *off, keeping a partial last line for
 * the next round. */
static int read_more(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		if (*cap - *len < 65536) {
			char *grown = realloc(*buf, *cap * 2 + 65536);
			if (!grown)
				return -ENOMEM;
			*buf = grown;
			*cap = *cap * 2 + 65536;
		}
		ssize_t n = read(fd, *buf + *len, *cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

int cmd_logs(int argc, char **argv)
{
	static const struct option longs[] = {
		{"follow", no_argument, NULL, 'f'},
		{"tail", required_argument, NULL, 'n'},
		{"timestamps", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct log_view view = {.at_line_start = {true, true}};
	bool follow = false;
	long tail = -1;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:fn:th", longs, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f': follow = true; break;
		case 't': view.timestamps = true; break;
		case 'h': usage(stdout); return 0;
		case 'n':
			if (strcmp(optarg, "all") == 0) {
				tail = -1;
				break;
			}
			tail = strtol(optarg, &end, 10);
			if (!*optarg || *end || tail < 0) {
				fprintf(stderr, "rlbpf logs: --tail takes a number of lines or 'all', not '%s'\n", optarg);
				return RL_EXIT_INTERNAL;
			}
			break;
		default:
			fprintf(stderr, "rlbpf logs: %s '%s'; see 'rlbpf logs --help'\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return RL_EXIT_INTERNAL;
		}
	}
	if (optind != argc - 1) {
		fputs("rlbpf logs: give exactly one container; see 'rlbpf logs --help'\n", stderr);
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_state st;
	struct rl_status s;
	if (rl_state_find(argv[optind], &st, &err) < 0 || rl_status_read(&st, &s, &err) < 0) {
		rl_error_print(&err, "rlbpf logs");
		return RL_EXIT_INTERNAL;
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/container.log", st.dir);
	/* A foreground container wrote to its terminal, not to a log. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		fprintf(stderr, "rlbpf logs: cannot read %s: %s\n", path, strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	_cleanup_close_ int watch = follow ? inotify_init1(IN_CLOEXEC | IN_NONBLOCK) : -1;
	if (watch >= 0 && fd >= 0)
		inotify_add_watch(watch, path, IN_MODIFY);

	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	bool first = true;
	for (;;) {
		if (fd >= 0 && read_more(fd, &buf, &len, &cap) < 0)
			break;
		char *last_nl = len ? memrchr(buf, '\n', len) : NULL;
		size_t whole = last_nl ? (size_t)(last_nl - buf) + 1 : 0;
		size_t skip = 0;
		if (first && tail >= 0) {
			size_t lines = count_lines(buf, whole);
			skip = lines > (size_t)tail ? lines - (size_t)tail : 0;
		}
		first = false;
		print_lines(&view, buf, whole, skip);
		if (whole)
			memmove(buf, buf + whole, len - whole);
		len -= whole;
		if (!follow)
			break;
		struct rl_status now;
		if (rl_status_read(&st, &now, &err) < 0 || now.state != RL_RUNNING) {
			/* One last read: the supervisor flushes before it records the end. */
			if (fd >= 0 && read_more(fd, &buf, &len, &cap) == 0 && len) {
				char *nl = memrchr(buf, '\n', len);
				if (nl)
					print_lines(&view, buf, (size_t)(nl - buf) + 1, 0);
			}
			break;
		}
		struct pollfd p = {.fd = watch, .events = POLLIN};
		/* The timeout also notices a container that ends without output. */
		poll(&p, 1, 500);
		char drain[4096];
		while (watch >= 0 && read(watch, drain, sizeof(drain)) > 0)
			;
	}
	return 0;
}
