/* rlbpf stats [--no-stream] [--format F] [--no-trunc] [CONTAINER...]: the
 * caller's running containers (or the named ones) with CPU, memory and task
 * counts from the rlbpfd agent, refreshed every second as docker stats
 * refreshes. The agent keeps the counters because nothing else can on a
 * host whose cgroups a rootless user cannot use. */
#include "cli/stats.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/agent_client.h"
#include "cli/commands.h"
#include "lib/humantime.h"
#include "lib/memsize.h"
#include "supervise/state.h"
#include "supervise/stats_sample.h"
#include "supervise/status.h"
#include "lib/template.h"

#define PROG "rlbpf stats"
/* docker stats' status when a container or the daemon cannot be read;
 * usage errors stay rlbpf's own 125. */
#define EXIT_FAILED 1
#define FIRST_INTERVAL_NS 500000000ULL
#define REFRESH_NS 1000000000ULL

/* ---- the text */

double rl_stats_cpu_percent(uint64_t cpu_before_ns, uint64_t cpu_after_ns, uint64_t wall_ns)
{
	if (wall_ns == 0 || cpu_after_ns < cpu_before_ns)
		return 0.0;
	return (double)(cpu_after_ns - cpu_before_ns) / (double)wall_ns * 100.0;
}

json_t *rl_stats_row(const char *container, const char *id, const char *name, bool no_trunc,
		     const struct rl_stats_values *v)
{
	char shown_id[65], cpu[32] = "--", usage[64] = "-- / --", perc[32] = "--", pids[24] = "--";
	snprintf(shown_id, sizeof(shown_id), "%.*s", no_trunc ? 64 : 12, id);
	if (v && v->valid) {
		char used[16], limit[16];
		rl_memsize_format_docker(v->mem_usage, used, sizeof(used));
		rl_memsize_format_docker(v->mem_limit, limit, sizeof(limit));
		snprintf(cpu, sizeof(cpu), "%.2f%%", v->cpu_percent);
		snprintf(usage, sizeof(usage), "%s / %s", used, limit);
		snprintf(perc, sizeof(perc), "%.2f%%",
			 v->mem_limit ? (double)v->mem_usage / (double)v->mem_limit * 100.0 : 0.0);
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)v->pids);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", "--",
			 "CPUPerc", cpu, "Container", container, "ID", shown_id, "MemPerc", perc,
			 "MemUsage", usage, "Name", name, "NetIO", "--", "PIDs", pids);
}

/* The column titles, for a table's header line: the same template renders
 * it over these. */
static json_t *header_row(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", "BLOCK I/O",
			 "CPUPerc", "CPU %", "Container", "CONTAINER", "ID", "CONTAINER ID",
			 "MemPerc", "MEM %", "MemUsage", "MEM USAGE / LIMIT", "Name", "NAME",
			 "NetIO", "NET I/O", "PIDs", "PIDS");
}

static const char default_table[] =
	"{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.PIDs}}";

/* Docker replaces the two-character escapes \t and \n in a format before
 * parsing it, so that they can be typed in a shell. */
static char *unescape(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	while (*s) {
		if (s[0] == '\\' && (s[1] == 't' || s[1] == 'n')) {
			*o++ = s[1] == 't' ? '\t' : '\n';
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

int rl_stats_format_parse(const char *text, struct rl_stats_format *f, struct rl_error *err)
{
	*f = (struct rl_stats_format){.kind = RL_STATS_TABLE};
	if (!text || strcmp(text, "table") == 0) {
		f->tmpl = strdup(default_table);
	} else if (strcmp(text, "json") == 0) {
		f->kind = RL_STATS_JSON;
		return 0;
	} else if (strncmp(text, "table", 5) == 0 && (text[5] == ' ' || text[5] == '\t')) {
		f->tmpl = unescape(text + 5 + strspn(text + 5, " \t"));
	} else {
		f->kind = RL_STATS_TEMPLATE;
		f->tmpl = unescape(text);
	}
	if (!f->tmpl)
		return rl_fail(err, ENOMEM, "out of memory");
	/* Rendered over the header once: a template that cannot be parsed, or
	 * names a function that does not exist, is refused now, not at the
	 * first refresh. */
	json_t *probe = header_row();
	char *out = NULL;
	int r = rl_template_render(f->tmpl, probe, &out, err);
	json_decref(probe);
	free(out);
	if (r < 0)
		rl_stats_format_free(f);
	return r;
}

void rl_stats_format_free(struct rl_stats_format *f)
{
	free(f->tmpl);
	f->tmpl = NULL;
}

/* Display width of a cell: UTF-8 continuation bytes take no column. */
static size_t width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

#define ALIGN_MIN 10
#define ALIGN_PAD 3
#define ALIGN_COLS 64

void rl_stats_align(FILE *out, const char *text)
{
	size_t widths[ALIGN_COLS] = {0};
	/* First pass: how wide each column is over all lines. */
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *cell = line;
		for (size_t col = 0; col < ALIGN_COLS; col++) {
			const char *tab = memchr(cell, '\t', len - (size_t)(cell - line));
			if (!tab)
				break;
			size_t w = width(cell, (size_t)(tab - cell)) + ALIGN_PAD;
			if (w < ALIGN_MIN)
				w = ALIGN_MIN;
			if (w > widths[col])
				widths[col] = w;
			cell = tab + 1;
		}
		line += len + (line[len] == '\n');
	}
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *cell = line;
		for (size_t col = 0;; col++) {
			const char *tab =
				col < ALIGN_COLS ? memchr(cell, '\t', len - (size_t)(cell - line)) : NULL;
			if (!tab) {
				fwrite(cell, 1, len - (size_t)(cell - line), out);
				break;
			}
			size_t n = (size_t)(tab - cell);
			fwrite(cell, 1, n, out);
			for (size_t w = width(cell, n); w < widths[col]; w++)
				fputc(' ', out);
			cell = tab + 1;
		}
		fputc('\n', out);
		line += len + (line[len] == '\n');
	}
}

/* Renders `tmpl` over `doc` and adds the line to `buf`. */
static int render_line(FILE *buf, const char *tmpl, json_t *doc, struct rl_error *err)
{
	char *line = NULL;
	int r = rl_template_render(tmpl, doc, &line, err);
	if (r < 0)
		return r;
	fprintf(buf, "%s\n", line);
	free(line);
	return 0;
}

int rl_stats_write(FILE *out, const struct rl_stats_format *f, json_t *const *rows, size_t n,
		   struct rl_error *err)
{
	if (f->kind == RL_STATS_JSON) {
		for (size_t i = 0; i < n; i++) {
			char *text = json_dumps(rows[i], JSON_COMPACT | JSON_SORT_KEYS);
			if (!text)
				return rl_fail(err, ENOMEM, "out of memory");
			fprintf(out, "%s\n", text);
			free(text);
		}
		return 0;
	}
	if (f->kind == RL_STATS_TEMPLATE) {
		for (size_t i = 0; i < n; i++) {
			int r = render_line(out, f->tmpl, rows[i], err);
			if (r < 0)
				return r;
		}
		return 0;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *buf = open_memstream(&text, &len);
	if (!buf)
		return rl_fail_errno(err, errno, "cannot lay out the table");
	json_t *header = header_row();
	int r = header ? render_line(buf, f->tmpl, header, err) : rl_fail(err, ENOMEM, "out of memory");
	json_decref(header);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = render_line(buf, f->tmpl, rows[i], err);
	if (fclose(buf) != 0 && r == 0)
		r = rl_fail_errno(err, errno, "cannot lay out the table");
	if (r == 0)
		rl_stats_align(out, text);
	free(text);
	return r;
}

/* ---- the command */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One container followed. */
struct followed {
	struct rl_state st;
	char ref[sizeof(((struct rl_state *)0)->name)]; /* the "Container" value */
	double started;   /* Unix time it started, for a first CPU % without a sample */
	bool listed;      /* still running at this refresh (all mode) */
	bool ended;
	bool sampled;     /* cpu_ns and at_ns hold a sample */
	bool told;        /* what is wrong with it was said on stderr */
	uint64_t cpu_ns;  /* the last sample */
	uint64_t at_ns;   /* when, CLOCK_MONOTONIC */
	/* its creation (newest first, as ps) and its --memory, as recorded: a
	 * cgroup keeps the cap, not the agent */
	struct rl_stats_recorded rec;
	struct rl_stats_values v;
};

struct stats_run {
	struct followed *c;
	size_t n;
	bool named;       /* CONTAINER... given: these only, until they end */
	bool no_trunc;
	uint64_t host_mem;
	struct rl_agent_conn conn;
};

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct followed *find_followed(struct stats_run *run, const char *id)
{
	for (size_t i = 0; i < run->n; i++)
		if (strcmp(run->c[i].st.id, id) == 0)
			return &run->c[i];
	return NULL;
}

static struct followed *add_followed(struct stats_run *run, const struct rl_state *st,
				     const char *ref)
{
	struct followed *grown = realloc(run->c, (run->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	run->c = grown;
	struct followed *f = &run->c[run->n++];
	*f = (struct followed){.st = *st};
	snprintf(f->ref, sizeof(f->ref), "%s", ref ? ref : st->id);
	if (!ref)
		f->ref[12] = '\0'; /* Docker names a listed container by its short ID */
	rl_stats_recorded_read(st, &f->rec);
	return f;
}

static int list_running(const struct rl_state *st, void *ctx)
{
	struct stats_run *run = ctx;
	struct rl_status s;
	struct rl_error ignored;
	if (rl_status_read(st, &s, &ignored) < 0 || s.state != RL_RUNNING)
		return 0;
	struct followed *f = find_followed(run, st->id);
	if (!f && !(f = add_followed(run, st, NULL)))
		return -ENOMEM;
	f->listed = true;
	/* ended by the agent's word but running by the record: restarted */
	f->ended = false;
	f->started = rl_parse_rfc3339(s.started_at);
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	double x = ((const struct followed *)a)->rec.created;
	double y = ((const struct followed *)b)->rec.created;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* All mode: the caller's running containers now. Those that ended are
 * dropped, new ones join, and the others keep their last sample. */
static int relist(struct stats_run *run, struct rl_error *err)
{
	for (size_t i = 0; i < run->n; i++)
		run->c[i].listed = false;
	int r = rl_state_each(list_running, run, err);
	if (r == -ENOMEM)
		return rl_fail(err, ENOMEM, "out of memory");
	if (r < 0)
		return r;
	size_t kept = 0;
	for (size_t i = 0; i < run->n; i++)
		if (run->c[i].listed)
			run->c[kept++] = run->c[i];
	run->n = kept;
	qsort(run->c, run->n, sizeof(*run->c), newest_first);
	return 0;
}

/* Says once what keeps a container's values from showing. */
static void tell(struct followed *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(struct followed *f, const char *fmt, ...)
{
	if (f->told)
		return;
	f->told = true;
	va_list ap;
	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The agent's answer for one container, turned into its row's values. */
static void take_sample(struct stats_run *run, struct followed *f,
			const struct rl_msg_stats_reply *rep)
{
	uint64_t at = now_ns(CLOCK_MONOTONIC);
	if (rep->flags & RL_STATS_ENDED) {
		f->ended = true;
		f->v.valid = false;
		return;
	}
	f->v.valid = true;
	if (f->sampled) {
		f->v.cpu_percent = rl_stats_cpu_percent(f->cpu_ns, rep->cpu_ns, at - f->at_ns);
	} else {
		/* Joined during a stream: until there are two samples, the
		 * average since it started says the most. */
		double since = (double)now_ns(CLOCK_REALTIME) / 1e9 - f->started;
		f->v.cpu_percent = f->started > 0 && since > 0
					   ? rl_stats_cpu_percent(0, rep->cpu_ns, (uint64_t)(since * 1e9))
					   : 0.0;
	}
	f->sampled = true;
	f->cpu_ns = rep->cpu_ns;
	f->at_ns = at;
	f->v.mem_usage = rl_stats_mem_usage(&f->st, rep);
	f->v.mem_limit = rl_stats_mem_limit(rep, &f->rec, run->host_mem);
	f->v.pids = rep->nr_threads;
}

/* Asks the agent about one container. A refusal about that container
 * leaves its row at "--"; an agent that cannot be read ends the command. */
static int sample(struct stats_run *run, struct followed *f, struct rl_error *err)
{
	struct rl_msg_stats_reply rep;
	char why[400] = "";
	int r = rl_stats_ask(&run->conn, f->st.id, &stop, &rep, why, sizeof(why));
	if (r < 0 && r != -ENOENT && r != -EPERM && !stop)
		return rl_fail(err, -r, "%s", why);
	if (stop)
		return 0;
	f->v.valid = false;
	if (r == 0) {
		take_sample(run, f, &rep);
	} else if (r == -ENOENT) {
		/* The agent forgets a container whose processes are gone; one
		 * that is still running was never registered with it. */
		if (rl_stats_still_running(&f->st))
			tell(f, "%s is not tracked by rlbpfd: it started while the agent was not "
				"running; its values show as --, and 'rlbpf restart %s' registers it",
			     f->st.name, f->st.name);
		else
			f->ended = true;
	} else if (r == -EPERM) {
		tell(f, "rlbpfd does not give the values of %s: %s", f->st.name, why);
	}
	return 0;
}

static int refresh(struct stats_run *run, struct rl_error *err)
{
	if (!run->named) {
		int r = relist(run, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < run->n && !stop; i++) {
		struct followed *f = &run->c[i];
		if (f->ended)
			continue;
		if (run->named && !rl_stats_still_running(&f->st)) {
			f->ended = true;
			f->v.valid = false;
			continue;
		}
		int r = sample(run, f, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool all_ended(const struct stats_run *run)
{
	for (size_t i = 0; i < run->n; i++)
		if (!run->c[i].ended)
			return false;
	return true;
}

/* One refresh on stdout, written at once so that a redraw does not
 * flicker. 1 when stdout is gone (a closed pipe): nobody is reading. */
static int show(struct stats_run *run, const struct rl_stats_format *fmt, bool redraw,
		struct rl_error *err)
{
	json_t **rows = calloc(run->n ? run->n : 1, sizeof(*rows));
	if (!rows)
		return rl_fail(err, ENOMEM, "out of memory");
	int r = 0;
	size_t n = 0;
	for (size_t i = 0; i < run->n && r == 0; i++) {
		struct followed *f = &run->c[i];
		/* Docker drops a container that dies from the whole list, but
		 * keeps one it was asked for, as "--". */
		if (f->ended && !run->named)
			continue;
		if (!(rows[n++] = rl_stats_row(f->ref, f->st.id, f->st.name, run->no_trunc, &f->v)))
			r = rl_fail(err, ENOMEM, "out of memory");
	}
	char *text = NULL;
	size_t len = 0;
	FILE *buf = r == 0 ? open_memstream(&text, &len) : NULL;
	if (r == 0 && !buf)
		r = rl_fail_errno(err, errno, "cannot lay out the table");
	if (r == 0) {
		if (redraw)
			fputs("\033[2J\033[H", buf);
		r = rl_stats_write(buf, fmt, rows, n, err);
		fclose(buf);
	}
	if (r == 0 && (fwrite(text, 1, len, stdout) != len || fflush(stdout) == EOF))
		r = 1;
	free(text);
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i]);
	free(rows);
	return r;
}

/* Sleeps until `deadline` (CLOCK_MONOTONIC ns) or a signal. */
static void sleep_until(uint64_t deadline)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ULL),
			      .tv_nsec = (long)(deadline % 1000000000ULL)};
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void usage(FILE *out)
{
	fputs("Usage: rlbpf stats [OPTIONS] [CONTAINER...]\n"
	      "\n"
	      "Show CPU, memory and task counts of your running containers (or the named\n"
	      "ones), as docker stats does, refreshed every second. The rlbpfd agent\n"
	      "keeps the counters; start it with `sudo rlbpfd`.\n"
	      "\n"
	      "Options:\n"
	      "      --no-stream        print one table and exit\n"
	      "      --format FORMAT    json: one JSON object per container a line;\n"
	      "                         a Go template such as '{{.Name}} {{.MemUsage}}';\n"
	      "                         'table TEMPLATE' for chosen columns with a header\n"
	      "      --no-trunc         show full IDs\n"
	      "  -h, --help             show this help\n"
	      "\n"
	      "Columns: CONTAINER ID, NAME, CPU % (100% is one full core), MEM USAGE / LIMIT\n"
	      "(resident memory; the limit is the --memory cap, or the host's memory),\n"
	      "MEM %, PIDS (tasks, threads included). Ctrl-C stops.\n",
	      out);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longs[] = {
		{"no-stream", no_argument, NULL, 's'},
		{"format", required_argument, NULL, 'F'},
		{"no-trunc", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool no_stream = false;
	const char *format = NULL;
	struct stats_run run = {0};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
		switch (c) {
		case 's': no_stream = true; break;
		case 'F': format = optarg; break;
		case 't': run.no_trunc = true; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, PROG ": %s '%s'; see 'rlbpf stats --help'\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return RL_EXIT_INTERNAL;
		}
	}
	struct rl_error err = {0};
	struct rl_stats_format fmt;
	if (rl_stats_format_parse(format, &fmt, &err) < 0) {
		rl_error_print(&err, PROG ": bad --format");
		return RL_EXIT_INTERNAL;
	}

	int code = 0;
	run.named = optind < argc;
	for (int i = optind; i < argc && code == 0; i++) {
		struct rl_state st;
		struct rl_status s;
		if (rl_state_find(argv[i], &st, &err) < 0 || rl_status_read(&st, &s, &err) < 0) {
			rl_error_print(&err, PROG);
			code = EXIT_FAILED;
		} else if (s.state != RL_RUNNING) {
			fprintf(stderr, PROG ": container %s is not running; 'rlbpf restart %s' starts it again\n",
				argv[i], argv[i]);
			code = EXIT_FAILED;
		} else if (!find_followed(&run, st.id)) {
			struct followed *f = add_followed(&run, &st, argv[i]);
			if (!f) {
				fputs(PROG ": out of memory\n", stderr);
				code = EXIT_FAILED;
			} else {
				f->started = rl_parse_rfc3339(s.started_at);
			}
		}
	}
	char why[300];
	if (code == 0 && rl_agent_connect(RL_AGENT_SOCKET, &run.conn, why, sizeof(why)) < 0) {
		fprintf(stderr, PROG ": cannot reach rlbpfd, which keeps the counters: %s\n", why);
		code = EXIT_FAILED;
	}
	if (code != 0) {
		rl_stats_format_free(&fmt);
		free(run.c);
		return code;
	}

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: sleeps end */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	run.host_mem = rl_stats_host_memory();
	bool redraw = !no_stream && isatty(STDOUT_FILENO);

	/* CPU % needs two samples: the first table waits for a short interval
	 * rather than showing nothing meaningful. */
	int r = refresh(&run, &err);
	uint64_t next = now_ns(CLOCK_MONOTONIC) + (run.n ? FIRST_INTERVAL_NS : 0);
	while (r == 0 && !stop) {
		sleep_until(next);
		next = now_ns(CLOCK_MONOTONIC) + REFRESH_NS;
		if (stop || (r = refresh(&run, &err)) < 0 || stop)
			break;
		if ((r = show(&run, &fmt, redraw, &err)) != 0)
			break;
		if (no_stream || (run.named && all_ended(&run)))
			break;
	}
	if (r < 0) {
		rl_error_print(&err, PROG);
		code = EXIT_FAILED;
	}
	rl_agent_close(&run.conn);
	rl_stats_format_free(&fmt);
	free(run.c);
	return code;
}
