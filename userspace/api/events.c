/* /events: what docker events shows, for containers: create, start, die
 * and destroy. They are read off the state itself (inotify on the
 * containers directory and on each container's), so containers that the
 * rlbpf command changes have their events too. The past is what this
 * service saw since its first request, the last EVENTS_KEPT of it, in
 * memory; nothing is written down. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api.h"
#include "api/container_event.h"
#include "api/json_lines.h"
#include "lib/humantime.h"
#include "lib/paths.h"
#include "supervise/status.h"

#define EVENTS_KEPT 1024
/* a look without a change too: a supervisor that died writes nothing */
#define RESCAN_MS 1000
/* A record that reads as ended without an end written down: its
 * supervisor is gone, and the end is usually written a moment later, by
 * whoever reaped it. Only if it is not is the end told this long after. */
#define UNWRITTEN_END_NS 2000000000LL
#define CONTAINER_DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF)

/* The record, shared by the watcher and every /events connection. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t recorded = PTHREAD_COND_INITIALIZER;
static struct rl_container_event kept[EVENTS_KEPT];
static unsigned long long next_seq; /* kept[seq % EVENTS_KEPT] */
/* why there are no events, when there are none */
static char watch_failed[sizeof(((struct rl_error *)0)->msg)];

/* A container as the watcher last saw it. */
struct seen {
	char id[65], name[130], image[256];
	char started_at[40], finished_at[40];
	bool running;  /* a start told, and no die since */
	int exit_code; /* of the last reading */
	long long unwritten_since; /* ended by the reading, not by the record: since when */
	bool listed;   /* in this scan */
};

struct watcher {
	int fd, dir_wd;
	char dir[PATH_MAX + 16];
	struct seen *c;
	size_t n;
};

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A time the state recorded, else now. */
static long long at(const char *rfc3339)
{
	double t = rfc3339 && rfc3339[0] ? rl_parse_rfc3339(rfc3339) : 0;
	return t > 0 ? (long long)(t * 1e9) : now_ns();
}

static void record(const struct seen *c, const char *action, int exit_code, long long time_ns)
{
	struct rl_container_event e = {.exit_code = exit_code, .time_ns = time_ns};
	snprintf(e.id, sizeof(e.id), "%s", c->id);
	snprintf(e.name, sizeof(e.name), "%s", c->name);
	snprintf(e.image, sizeof(e.image), "%s", c->image);
	snprintf(e.action, sizeof(e.action), "%s", action);
	pthread_mutex_lock(&record_lock);
	kept[next_seq++ % EVENTS_KEPT] = e;
	pthread_cond_broadcast(&recorded);
	pthread_mutex_unlock(&record_lock);
}

/* A start and an end seen in one look, in the order they happened. */
static void record_run(const struct seen *c, bool started, bool died, int exit_code)
{
	long long start = at(c->started_at), end = at(c->finished_at);
	if (started && died && end < start) {
		record(c, "die", exit_code, end);
		died = false;
	}
	if (started)
		record(c, "start", 0, start);
	if (died)
		record(c, "die", exit_code, end);
}

static struct seen *find_seen(struct watcher *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->c[i].id, id))
			return &w->c[i];
	return NULL;
}

struct scan {
	struct watcher *w;
	bool quiet; /* the first look: what is there already happened before */
};

static int look_at(const struct rl_state *st, void *ctx)
{
	struct scan *sc = ctx;
	struct watcher *w = sc->w;
	struct rl_status s;
	struct rl_error ignored;
	json_t *config;
	struct seen *c = find_seen(w, st->id);
	if (!c) {
		/* a watch before the first look at it: nothing it does is missed */
		inotify_add_watch(w->fd, st->dir, CONTAINER_DIR_EVENTS);
		/* not a container until its record is written */
		if (rl_state_config(st, &config, &ignored) < 0)
			return 0;
		const char *image = json_string_value(json_object_get(config, "Image"));
		struct seen *grown = realloc(w->c, (w->n + 1) * sizeof(*grown));
		if (!grown) {
			json_decref(config);
			return 0;
		}
		w->c = grown;
		c = &w->c[w->n++];
		*c = (struct seen){0};
		snprintf(c->id, sizeof(c->id), "%s", st->id);
		snprintf(c->name, sizeof(c->name), "%s", st->name);
		snprintf(c->image, sizeof(c->image), "%s", image ? image : "");
		const char *created = json_string_value(json_object_get(config, "Created"));
		json_decref(config);
		if (!sc->quiet)
			record(c, "create", 0, at(created));
	}
	c->listed = true;
	if (rl_status_read(st, &s, &ignored) < 0)
		return 0; /* being written or removed: the next look */
	bool started = s.started_at[0] && strcmp(s.started_at, c->started_at);
	/* an end told already (unwritten, then written) is not told twice */
	bool died = s.finished_at[0] && strcmp(s.finished_at, c->finished_at) &&
		    (c->running || started);
	bool unwritten = s.state == RL_EXITED && !s.finished_at[0];
	if (!unwritten)
		c->unwritten_since = 0;
	else if (!c->unwritten_since)
		c->unwritten_since = now_ns();
	else if (c->running && !started && now_ns() - c->unwritten_since > UNWRITTEN_END_NS)
		died = true;
	snprintf(c->started_at, sizeof(c->started_at), "%s", s.started_at);
	snprintf(c->finished_at, sizeof(c->finished_at), "%s", s.finished_at);
	c->exit_code = s.exit_code;
	if (sc->quiet)
		c->running = s.state == RL_RUNNING;
	else
		record_run(c, started, died, s.exit_code);
	if (!sc->quiet && (started || died)) /* restarted after it died: running */
		c->running = started && (!died || at(c->started_at) > at(c->finished_at));
	return 0;
}

/* Compares the state with what was seen last and records the difference. */
static void scan(struct watcher *w, bool quiet)
{
	struct scan sc = {.w = w, .quiet = quiet};
	struct rl_error ignored;
	for (size_t i = 0; i < w->n; i++)
		w->c[i].listed = false;
	if (rl_state_each(look_at, &sc, &ignored) < 0)
		return;
	size_t left = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct seen *c = &w->c[i];
		if (c->listed) {
			w->c[left++] = *c;
			continue;
		}
		/* its end not told yet: removed running (rm -f kills with
		 * SIGKILL), or gone before the end was written */
		if (c->running)
			record(c, "die", c->unwritten_since ? c->exit_code : 137, now_ns());
		record(c, "destroy", 0, now_ns());
	}
	w->n = left;
}

static void *watch(void *arg)
{
	struct watcher *w = arg;
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		struct pollfd p = {.fd = w->fd, .events = POLLIN};
		ssize_t n = poll(&p, 1, RESCAN_MS) > 0 ? read(w->fd, buf, sizeof(buf)) : 0;
		if (n < 0 && errno != EINTR)
			break;
		/* which file changed does not matter, a look at all tells what;
		 * but a new container's directory is watched at once, before
		 * it has a name to be listed by: a container made, run and
		 * removed within one look is seen too */
		for (char *e = buf; n > 0 && e < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)e;
			char dir[sizeof(w->dir) + NAME_MAX + 2];
			if (ev->wd == w->dir_wd && (ev->mask & IN_ISDIR) && ev->len &&
			    snprintf(dir, sizeof(dir), "%s/%s", w->dir, ev->name) < (int)sizeof(dir))
				inotify_add_watch(w->fd, dir, CONTAINER_DIR_EVENTS);
			e += sizeof(*ev) + ev->len;
		}
		scan(w, false);
	}
	return NULL;
}

static void start_watching(void)
{
	static struct watcher w;
	struct rl_error err = {0};
	char runtime[PATH_MAX];
	const char *why = NULL;
	if (rl_runtime_dir(runtime, sizeof(runtime), &err) < 0) {
		why = err.msg;
	} else {
		snprintf(w.dir, sizeof(w.dir), "%s/containers", runtime);
		/* as rlbpf makes it for its first container: watched before then */
		if (mkdir(w.dir, 0700) < 0 && errno != EEXIST)
			why = strerror(errno);
		else if ((w.fd = inotify_init1(IN_CLOEXEC)) < 0 ||
			 (w.dir_wd = inotify_add_watch(w.fd, w.dir, IN_CREATE | IN_DELETE | IN_MOVED_TO |
									    IN_MOVED_FROM | IN_ONLYDIR)) < 0)
			why = strerror(errno);
	}
	/* what is there now, before the first request is served: what
	 * happens from then on is told */
	if (!why)
		scan(&w, true);
	pthread_t t;
	if (!why && pthread_create(&t, NULL, watch, &w) != 0)
		why = "cannot start a thread";
	if (why)
		snprintf(watch_failed, sizeof(watch_failed), "%s", why);
	else
		pthread_detach(t);
}

/* One /events connection: where it is in the record, and what it wants. */
struct listener {
	unsigned long long seq;
	json_t *filters;
	long long since, until; /* until 0: none */
	int sock;               /* the client's, to see it go */
	struct rl_json_lines line;
};

/* The next event for l, waiting for it; false at the end (until has
 * passed, or the client has gone). */
static bool next_event(struct listener *l, struct rl_container_event *e)
{
	bool found = false;
	pthread_mutex_lock(&record_lock);
	while (!found) {
		if (l->seq + EVENTS_KEPT < next_seq)
			l->seq = next_seq - EVENTS_KEPT; /* fell behind the record: lost */
		while (l->seq < next_seq && !found) {
			*e = kept[l->seq++ % EVENTS_KEPT];
			found = e->time_ns >= l->since && (!l->until || e->time_ns <= l->until) &&
				rl_event_filters_match(l->filters, e);
		}
		if (found || (l->until && now_ns() > l->until) || rl_api_client_gone(l->sock))
			break;
		struct timespec wake;
		clock_gettime(CLOCK_REALTIME, &wake);
		wake.tv_sec += 1;
		pthread_cond_timedwait(&recorded, &record_lock, &wake);
	}
	pthread_mutex_unlock(&record_lock);
	return found;
}

static size_t next(void *ctx, char *buf, size_t max)
{
	struct listener *l = ctx;
	if (rl_json_lines_empty(&l->line)) {
		struct rl_container_event e;
		if (!next_event(l, &e) || !rl_json_lines_set(&l->line, rl_container_event_json(&e)))
			return 0;
	}
	return rl_json_lines_copy(&l->line, buf, max);
}

static void done(void *ctx)
{
	struct listener *l = ctx;
	json_decref(l->filters);
	rl_json_lines_free(&l->line);
}

static bool time_arg(const struct rl_api_request *r, const char *key, long long *ns,
		     struct rl_api_reply *out)
{
	const char *text = r->query(r, key);
	if (!text || !text[0])
		return true;
	if (rl_event_time_parse(text, ns))
		return true;
	rl_api_error(out, 400, "%s: Unix seconds such as 1733400000 or 1733400000.5 are needed, "
		     "not '%s'", key, text);
	return false;
}

bool rl_api_events(const struct rl_api_request *r, struct rl_api_reply *out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, start_watching);
	if (strcmp(r->path, "/events") || strcmp(r->method, "GET"))
		return false;
	if (watch_failed[0]) {
		rl_api_error(out, 500, "cannot watch the containers for events: %s", watch_failed);
		return true;
	}
	long long since = 0, until = 0;
	char why[300];
	json_t *filters;
	if (!time_arg(r, "since", &since, out) || !time_arg(r, "until", &until, out))
		return true;
	if (until && since > until) {
		rl_api_error(out, 400, "since is after until; give an until later than since");
		return true;
	}
	if (!rl_event_filters_parse(r->query(r, "filters"), &filters, why, sizeof(why))) {
		rl_api_error(out, 400, "%s", why);
		return true;
	}
	struct listener *l = calloc(1, sizeof(*l));
	if (!l) {
		json_decref(filters);
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	*l = (struct listener){.filters = filters, .since = since, .until = until,
			       .sock = rl_api_client_fd(r)};
	pthread_mutex_lock(&record_lock);
	/* without since, what comes from now on; with it, the record too */
	l->seq = since ? (next_seq > EVENTS_KEPT ? next_seq - EVENTS_KEPT : 0) : next_seq;
	pthread_mutex_unlock(&record_lock);
	*out = (struct rl_api_reply){.status = 200, .stream = next, .stream_done = done, .ctx = l};
	return true;
}
