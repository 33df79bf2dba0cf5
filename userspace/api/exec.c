/* docker exec: POST /containers/ID/exec records a command, POST
 * /exec/ID/start runs it as this installation's `rlbpf exec` (one way
 * into a container), hijacked or detached, /exec/ID/resize sizes its
 * terminal and GET /exec/ID/json tells how it ended. As Docker's, the
 * records live in the service's memory only: a bounded table, where an
 * ended exec stays readable for a while, for the CLI's exit status. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/exec_run.h"
#include "api/log_reader.h"
#include "supervise/status.h"

#define EXECS 256
#define ENDED_KEEP_S 600      /* an ended exec's ExitCode stays readable */
#define UNSTARTED_KEEP_S 3600 /* one created and never started */
#define RESIZE_WAIT_S 10      /* as Docker: a resize may come before the start */
#define HANGUP_GRACE_S 10     /* a client gone: SIGHUP, then SIGKILL after this */
#define ID_LEN 64
#define ID_BUF 128 /* a longer one in a path is nobody's: 404 */
#define BODY_MAX (256 * 1024) /* a create's, kept while the exec is */
#define MAX_ARGS 1024

enum exec_state { EXEC_FREE, EXEC_CREATED, EXEC_STARTING, EXEC_RUNNING, EXEC_ENDED };

struct exec {
	enum exec_state state;
	char id[ID_LEN + 1];
	char container[65];
	json_t *config; /* the create's body, checked */
	pid_t pid;
	int term; /* the terminal's master while it runs with Tty, or -1 */
	int exit_code;
	time_t since; /* monotonic seconds: created, or ended */
};

static pthread_mutex_t execs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t execs_changed = PTHREAD_COND_INITIALIZER;
static struct exec execs[EXECS];

static time_t now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* Whether path is /exec/ID/ACTION, with ID into id (ID_BUF bytes). */
static bool exec_ref(const char *path, const char *action, char *id)
{
	static const char prefix[] = "/exec/";
	size_t p = sizeof(prefix) - 1;
	if (strncmp(path, prefix, p))
		return false;
	const char *start = path + p, *slash = strchr(start, '/');
	size_t n = slash ? (size_t)(slash - start) : 0;
	if (!n || n >= ID_BUF || strcmp(slash + 1, action))
		return false;
	memcpy(id, start, n);
	id[n] = '\0';
	return true;
}

/* Under execs_lock. */
static struct exec *find(const char *id)
{
	for (size_t i = 0; i < EXECS; i++)
		if (execs[i].state != EXEC_FREE && !strcmp(execs[i].id, id))
			return &execs[i];
	return NULL;
}

static void drop(struct exec *e)
{
	json_decref(e->config);
	*e = (struct exec){.state = EXEC_FREE, .term = -1};
}

/* A place for a new exec, under execs_lock: a free one, after dropping
 * what has been kept long enough; else the oldest ended one; else NULL. */
static struct exec *place(void)
{
	time_t now = now_s();
	struct exec *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < EXECS; i++) {
		struct exec *e = &execs[i];
		if ((e->state == EXEC_ENDED && now - e->since > ENDED_KEEP_S) ||
		    ((e->state == EXEC_CREATED || e->state == EXEC_STARTING) &&
		     now - e->since > UNSTARTED_KEEP_S))
			drop(e);
		if (e->state == EXEC_FREE && !free_slot)
			free_slot = e;
		if (e->state == EXEC_ENDED && (!oldest || e->since < oldest->since))
			oldest = e;
	}
	if (!free_slot && oldest)
		drop(free_slot = oldest);
	return free_slot;
}

static bool is_bool(json_t *v)
{
	return !v || json_is_null(v) || json_is_boolean(v);
}

/* A JSON array of strings (null: none); each KEY=VALUE when kv. */
static bool strings(json_t *v, bool kv)
{
	size_t i;
	json_t *s;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, s) {
		const char *str = json_string_value(s);
		if (!str || (kv && (str[0] == '=' || !strchr(str, '='))))
			return false;
	}
	return true;
}

/* [rows, columns], or null; rows and cols 0 when not given. */
static bool console_size(json_t *v, unsigned short *rows, unsigned short *cols)
{
	*rows = *cols = 0;
	if (!v || json_is_null(v))
		return true;
	json_t *h = json_array_get(v, 0), *w = json_array_get(v, 1);
	if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(h) ||
	    !json_is_integer(w) || json_integer_value(h) < 0 || json_integer_value(h) > 65535 ||
	    json_integer_value(w) < 0 || json_integer_value(w) > 65535)
		return false;
	*rows = (unsigned short)json_integer_value(h);
	*cols = (unsigned short)json_integer_value(w);
	return true;
}

/* Whether a create's body is one rlbpf exec can run; why when not. */
static bool valid_config(json_t *c, char *why, size_t len)
{
	json_t *cmd = json_object_get(c, "Cmd");
	const char *user = json_string_value(json_object_get(c, "User"));
	const char *dir = json_string_value(json_object_get(c, "WorkingDir"));
	unsigned short rows, cols;
	if (!json_array_size(cmd))
		snprintf(why, len, "No exec command specified");
	else if (!strings(cmd, false) || json_array_size(cmd) > MAX_ARGS)
		snprintf(why, len, "Cmd: an array of at most %d strings is needed", MAX_ARGS);
	else if (!strings(json_object_get(c, "Env"), true))
		snprintf(why, len, "Env: an array of KEY=VALUE strings is needed");
	else if (json_array_size(json_object_get(c, "Env")) > MAX_ARGS)
		snprintf(why, len, "Env: at most %d variables", MAX_ARGS);
	else if (!user && !json_is_null(json_object_get(c, "User")) && json_object_get(c, "User"))
		snprintf(why, len, "User: a string is needed (UID[:GID] or a name)");
	else if (dir ? dir[0] && dir[0] != '/'
		     : !json_is_null(json_object_get(c, "WorkingDir")) && json_object_get(c, "WorkingDir"))
		snprintf(why, len, "WorkingDir: an absolute path is needed");
	else if (json_is_true(json_object_get(c, "Privileged")))
		snprintf(why, len, "Privileged: --privileged is not for rootless containers");
	else if (!is_bool(json_object_get(c, "Privileged")) || !is_bool(json_object_get(c, "Tty")) ||
		 !is_bool(json_object_get(c, "AttachStdin")) ||
		 !is_bool(json_object_get(c, "AttachStdout")) ||
		 !is_bool(json_object_get(c, "AttachStderr")))
		snprintf(why, len, "Privileged, Tty, AttachStdin, AttachStdout and AttachStderr take "
			 "true or false");
	else if (!console_size(json_object_get(c, "ConsoleSize"), &rows, &cols))
		snprintf(why, len, "ConsoleSize: [rows, columns] is needed, each 0 to 65535");
	else
		return true;
	return false;
}

static bool running(const struct rl_state *st)
{
	struct rl_status s;
	struct rl_error ignored;
	return rl_status_read(st, &s, &ignored) == 0 && s.state == RL_RUNNING;
}

static void create(const char *ref, const struct rl_api_request *r, struct rl_api_reply *out)
{
	json_error_t jerr;
	json_t *config = json_loadb(r->body, r->body_len, 0, &jerr);
	char why[256];
	struct rl_state st;
	unsigned char bytes[ID_LEN / 2];
	if (r->body_len > BODY_MAX) {
		rl_api_error(out, 413, "an exec's body can have at most %d bytes", BODY_MAX);
	} else if (!json_is_object(config)) {
		rl_api_error(out, 400, "the body is not a JSON object: %s", jerr.text);
	} else if (!valid_config(config, why, sizeof(why))) {
		rl_api_error(out, 400, "%s", why);
	} else if (!rl_api_find_container(ref, &st, out)) {
		/* its 404 is in out */
	} else if (!running(&st)) {
		rl_api_error(out, 409, "container %s is not running", st.id);
	} else if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		rl_api_error(out, 500, "cannot make an exec id: %s", strerror(errno));
	} else {
		pthread_mutex_lock(&execs_lock);
		struct exec *e = place();
		if (e) {
			*e = (struct exec){.state = EXEC_CREATED, .config = json_incref(config),
					   .term = -1, .since = now_s()};
			for (size_t i = 0; i < sizeof(bytes); i++)
				sprintf(e->id + 2 * i, "%02x", bytes[i]);
			snprintf(e->container, sizeof(e->container), "%s", st.id);
			*out = (struct rl_api_reply){.status = 201,
						     .body = json_pack("{s:s}", "Id", e->id)};
		}
		pthread_mutex_unlock(&execs_lock);
		if (!e)
			rl_api_error(out, 503, "%d execs are running or waiting for their start "
				     "already; wait for one to end", EXECS);
	}
	json_decref(config);
}

/* What a start brings: {"Detach", "Tty", "ConsoleSize"}, all optional. */
struct start {
	char id[ID_LEN + 1];
	bool detach;
	unsigned short rows, cols;
};

/* rlbpf exec's arguments for e, pointing into its config (kept while it
 * runs); how it gets its stdio. Under execs_lock. */
static void exec_args(const struct exec *e, const struct start *s, const char *argv[],
		      struct rl_exec_stdio *how)
{
	json_t *c = e->config, *v;
	size_t n = 0, i;
	unsigned short rows, cols;
	console_size(json_object_get(c, "ConsoleSize"), &rows, &cols);
	*how = (struct rl_exec_stdio){
		.tty = json_is_true(json_object_get(c, "Tty")),
		.in = !s->detach && json_is_true(json_object_get(c, "AttachStdin")),
		.out = !s->detach && json_is_true(json_object_get(c, "AttachStdout")),
		.err = !s->detach && json_is_true(json_object_get(c, "AttachStderr")),
		.rows = s->rows ? s->rows : rows,
		.cols = s->cols ? s->cols : cols,
	};
	const char *user = json_string_value(json_object_get(c, "User"));
	const char *dir = json_string_value(json_object_get(c, "WorkingDir"));
	argv[n++] = "rlbpf";
	argv[n++] = "exec";
	if (how->in)
		argv[n++] = "-i";
	if (how->tty)
		argv[n++] = "-t";
	if (user && user[0])
		argv[n++] = "-u", argv[n++] = user;
	if (dir && dir[0])
		argv[n++] = "-w", argv[n++] = dir;
	json_array_foreach(json_object_get(c, "Env"), i, v)
		argv[n++] = "-e", argv[n++] = json_string_value(v);
	argv[n++] = "--";
	argv[n++] = e->container;
	json_array_foreach(json_object_get(c, "Cmd"), i, v)
		argv[n++] = json_string_value(v);
	argv[n] = NULL;
}

/* Starts the exec that s names, which start() left STARTING: RUNNING
 * with io, or ENDED (125) and NULL with err. */
static struct exec *launch(const struct start *s, struct rl_exec_io *io, bool *tty,
			   struct rl_error *err)
{
	const char *args[11 + 3 * MAX_ARGS];
	struct rl_exec_stdio how;
	char path[4096];
	pthread_mutex_lock(&execs_lock);
	struct exec *e = find(s->id);
	if (!e || e->state != EXEC_STARTING) {
		pthread_mutex_unlock(&execs_lock);
		rl_fail(err, ENOENT, "exec %s was dropped before it started", s->id);
		return NULL;
	}
	exec_args(e, s, args, &how);
	e->state = EXEC_RUNNING; /* from here on, it is not dropped */
	pthread_mutex_unlock(&execs_lock);
	*tty = how.tty;
	int r = rl_api_rlbpf_path(path, sizeof(path)) < 0
			? rl_fail(err, ENOENT, "cannot find the rlbpf command beside rlbpf-api")
			: rl_exec_spawn(path, (char *const *)args, &how, io, err);
	pthread_mutex_lock(&execs_lock);
	if (r < 0) {
		e->state = EXEC_ENDED;
		e->exit_code = RL_EXIT_INTERNAL;
		e->since = now_s();
	} else {
		e->pid = io->pid;
		e->term = io->term;
	}
	pthread_cond_broadcast(&execs_changed);
	pthread_mutex_unlock(&execs_lock);
	return r < 0 ? NULL : e;
}

/* Relays e's process until it ends, then records how: before the
 * client's stream ends, as it reads the exit code right after. */
static void finish(struct exec *e, struct rl_exec_io *io, int sock, const char *early,
		   size_t early_len, bool tty)
{
	int code = rl_exec_relay(io, sock, early, early_len, tty, HANGUP_GRACE_S);
	pthread_mutex_lock(&execs_lock);
	e->state = EXEC_ENDED;
	e->exit_code = code;
	e->since = now_s();
	if (e->term >= 0)
		close(e->term);
	e->term = -1;
	pthread_cond_broadcast(&execs_changed);
	pthread_mutex_unlock(&execs_lock);
}

/* The 101 never went: the exec may be started again. */
static void unstart(void *ctx)
{
	struct start *s = ctx;
	pthread_mutex_lock(&execs_lock);
	struct exec *e = find(s->id);
	if (e && e->state == EXEC_STARTING)
		e->state = EXEC_CREATED;
	pthread_cond_broadcast(&execs_changed);
	pthread_mutex_unlock(&execs_lock);
}

static void serve(void *ctx, int sock, const char *early, size_t early_len)
{
	struct start *s = ctx;
	struct rl_exec_io io;
	struct rl_error err = {0};
	bool tty = false;
	struct exec *e = launch(s, &io, &tty, &err);
	if (e) {
		finish(e, &io, sock, early, early_len, tty);
	} else {
		/* as Docker does, the error goes down the stream */
		char text[sizeof(err.msg) + 8], frame[sizeof(text) + 8];
		int n = snprintf(text, sizeof(text), "%s\r\n", err.msg);
		struct rl_log_record rec = {.is_stderr = true, .partial = true, .text = text,
					    .len = (size_t)n};
		size_t len = tty ? (size_t)n : rl_log_frame(&rec, false, frame, sizeof(frame));
		rl_api_send_all(sock, tty ? text : frame, len);
	}
	shutdown(sock, SHUT_WR);
}

struct detached {
	struct exec *e;
	struct rl_exec_io io;
	bool tty;
};

static void *run_detached(void *arg)
{
	struct detached *d = arg;
	finish(d->e, &d->io, -1, NULL, 0, d->tty);
	free(d);
	return NULL;
}

/* A start's body into s; false with why. */
static bool start_body(const struct rl_api_request *r, struct start *s, char *why, size_t len)
{
	if (!r->body_len)
		return true;
	json_error_t jerr;
	json_t *b = json_loadb(r->body, r->body_len, 0, &jerr);
	bool ok = false;
	if (!json_is_object(b))
		snprintf(why, len, "the body is not a JSON object: %s", jerr.text);
	else if (!is_bool(json_object_get(b, "Detach")) || !is_bool(json_object_get(b, "Tty")))
		snprintf(why, len, "Detach and Tty take true or false");
	else if (!console_size(json_object_get(b, "ConsoleSize"), &s->rows, &s->cols))
		snprintf(why, len, "ConsoleSize: [rows, columns] is needed, each 0 to 65535");
	else
		ok = true;
	s->detach = json_is_true(json_object_get(b, "Detach"));
	json_decref(b);
	return ok;
}

static void start(const char *id, const struct rl_api_request *r, struct rl_api_reply *out)
{
	struct start s = {0};
	char why[256];
	if (!start_body(r, &s, why, sizeof(why)))
		return rl_api_error(out, 400, "%s", why);
	snprintf(s.id, sizeof(s.id), "%s", id);
	struct rl_state st;
	pthread_mutex_lock(&execs_lock);
	struct exec *e = find(id);
	enum exec_state state = e ? e->state : EXEC_FREE;
	bool tty = e && json_is_true(json_object_get(e->config, "Tty"));
	if (e)
		snprintf(st.id, sizeof(st.id), "%s", e->container);
	pthread_mutex_unlock(&execs_lock);
	if (state == EXEC_FREE)
		return rl_api_error(out, 404, "No such exec instance: %s", id);
	if (state != EXEC_CREATED)
		return rl_api_error(out, 409, "exec command %s %s", id,
				    state == EXEC_ENDED ? "has already run" : "is already running");
	if (!rl_api_find_container(st.id, &st, out))
		return;
	if (!running(&st))
		return rl_api_error(out, 409, "container %s is not running", st.id);
	pthread_mutex_lock(&execs_lock);
	e = find(id);
	bool mine = e && e->state == EXEC_CREATED;
	if (mine)
		e->state = EXEC_STARTING;
	pthread_mutex_unlock(&execs_lock);
	if (!mine)
		return rl_api_error(out, 409, "exec command %s is already running", id);
	if (!s.detach) {
		struct start *kept = malloc(sizeof(*kept));
		if (!kept)
			return rl_api_error(out, 500, "out of memory");
		*kept = s;
		*out = (struct rl_api_reply){.status = 101, .hijack = serve, .hijack_abort = unstart,
					     .raw = tty, .ctx = kept};
		return;
	}
	/* detached: started before the answer, run to its end by a thread */
	struct detached *d = malloc(sizeof(*d));
	struct rl_error err = {0};
	pthread_t thread;
	pthread_attr_t attr;
	if (!d)
		return rl_api_error(out, 500, "out of memory");
	if (!(d->e = launch(&s, &d->io, &d->tty, &err))) {
		free(d);
		return rl_api_error(out, 500, "%s", err.msg);
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, run_detached, d) != 0) {
		kill(d->io.pid, SIGKILL);
		run_detached(d);
		rl_api_error(out, 500, "cannot follow the exec: out of threads");
	} else {
		*out = (struct rl_api_reply){.status = 200};
	}
	pthread_attr_destroy(&attr);
}

static void resize(const char *id, const struct rl_api_request *r, struct rl_api_reply *out)
{
	struct winsize ws = {0};
	if (!rl_api_query_size(r, &ws))
		return rl_api_error(out, 400, RL_API_SIZE_NEEDED);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RESIZE_WAIT_S;
	pthread_mutex_lock(&execs_lock);
	struct exec *e;
	int waited = 0;
	while ((e = find(id)) && (e->state == EXEC_CREATED || e->state == EXEC_STARTING) &&
	       waited != ETIMEDOUT)
		waited = pthread_cond_timedwait(&execs_changed, &execs_lock, &until);
	if (!e)
		rl_api_error(out, 404, "No such exec instance: %s", id);
	else if (e->state != EXEC_RUNNING)
		rl_api_error(out, 409, "exec %s is not running", id);
	else if (e->term < 0)
		rl_api_error(out, 400, "exec %s has no terminal: only one started with Tty can be "
			     "resized", id);
	else if (ioctl(e->term, TIOCSWINSZ, &ws) < 0)
		rl_api_error(out, 500, "cannot resize the exec's terminal: %s", strerror(errno));
	else
		*out = (struct rl_api_reply){.status = 200};
	pthread_mutex_unlock(&execs_lock);
}

static void inspect(const char *id, struct rl_api_reply *out)
{
	pthread_mutex_lock(&execs_lock);
	struct exec *e = find(id);
	if (!e) {
		pthread_mutex_unlock(&execs_lock);
		return rl_api_error(out, 404, "No such exec instance: %s", id);
	}
	json_t *c = e->config, *cmd = json_object_get(c, "Cmd"), *args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append_new(args, json_string(json_string_value(json_array_get(cmd, i))));
	const char *user = json_string_value(json_object_get(c, "User"));
	json_t *process = json_pack("{s:b,s:s,s:o,s:b}", "tty",
				    json_is_true(json_object_get(c, "Tty")), "entrypoint",
				    json_string_value(json_array_get(cmd, 0)), "arguments", args,
				    "privileged", 0);
	if (user && user[0]) /* omitted when empty, as Docker does */
		json_object_set_new(process, "user", json_string(user));
	json_t *body = json_pack(
		"{s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b,s:s,s:n,s:i}", "ID", e->id, "Running",
		e->state == EXEC_RUNNING, "ExitCode",
		e->state == EXEC_ENDED ? json_integer(e->exit_code) : json_null(), "ProcessConfig",
		process, "OpenStdin", json_is_true(json_object_get(c, "AttachStdin")), "OpenStderr",
		json_is_true(json_object_get(c, "AttachStderr")), "OpenStdout",
		json_is_true(json_object_get(c, "AttachStdout")), "CanRemove",
		e->state == EXEC_ENDED, "ContainerID", e->container, "DetachKeys", "Pid",
		(int)e->pid);
	pthread_mutex_unlock(&execs_lock);
	*out = body ? (struct rl_api_reply){.status = 200, .body = body}
		    : (struct rl_api_reply){0};
	if (!body)
		rl_api_error(out, 500, "out of memory");
}

bool rl_api_exec(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160], id[ID_BUF];
	bool post = !strcmp(r->method, "POST");
	if (post && rl_api_container_ref(r->path, "exec", ref, sizeof(ref)))
		create(ref, r, out);
	else if (post && exec_ref(r->path, "start", id))
		start(id, r, out);
	else if (post && exec_ref(r->path, "resize", id))
		resize(id, r, out);
	else if (!strcmp(r->method, "GET") && exec_ref(r->path, "json", id))
		inspect(id, out);
	else
		return false;
	return true;
}
