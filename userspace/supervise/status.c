#include "supervise/status.h"

#include "lib/humantime.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/humantime.h"

static const char *const state_names[] = {"created", "running", "exited"};

const char *rl_run_state_name(enum rl_run_state s)
{
	return s <= RL_EXITED ? state_names[s] : "unknown";
}

void rl_now_rfc3339(char *buf, size_t len)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", now.tv_nsec);
}

unsigned long long rl_proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || rl_read_file(path, buf, sizeof(buf), NULL) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	const char *p = strrchr(buf, ')');
	/* A zombie has ended, whether or not anyone has reaped it yet. */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	unsigned long long start = 0;
	for (int field = 2; p && *p; p++)
		if (*p == ' ' && ++field == 22) {
			start = strtoull(p + 1, NULL, 10);
			break;
		}
	return start;
}

int rl_status_write(const struct rl_state *st, const struct rl_status *s, struct rl_error *err)
{
	json_t *doc = json_pack("{s:s, s:i, s:I, s:i, s:I, s:i, s:b, s:s, s:s, s:s}", "Status",
				rl_run_state_name(s->state), "Pid", (int)s->pid, "PidStart",
				(json_int_t)s->pid_start, "SupervisorPid",
				(int)s->supervisor, "SupervisorStart", (json_int_t)s->sup_start,
				"ExitCode", s->exit_code, "OOMKilled", s->oom_killed, "Error",
				s->error, "StartedAt", s->started_at, "FinishedAt", s->finished_at);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text)
		return rl_fail(err, ENOMEM, "cannot build the status of %s", st->name);
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/status.json.tmp", st->dir);
	snprintf(path, sizeof(path), "%s/status.json", st->dir);
	int r = rl_write_file(tmp, text, strlen(text), 0600, err);
	free(text);
	if (r == 0 && rename(tmp, path) < 0)
		r = rl_fail_errno(err, errno, "cannot save %s", path);
	return r;
}

static void copy_string(json_t *doc, const char *key, char *buf, size_t len)
{
	const char *v = json_string_value(json_object_get(doc, key));
	snprintf(buf, len, "%s", v ? v : "");
}

static bool alive(pid_t pid, unsigned long long start)
{
	return pid > 0 && rl_proc_start_time(pid) == start && start != 0;
}

int rl_status_read(const struct rl_state *st, struct rl_status *s, struct rl_error *err)
{
	*s = (struct rl_status){.state = RL_CREATED};
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/status.json", st->dir);
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	if (!doc) {
		if (errno == ENOENT || access(path, F_OK) < 0)
			return 0;
		return rl_fail(err, EINVAL, "corrupt %s: %s; remove the container with 'rlbpf rm -f %s'",
			       path, jerr.text, st->name);
	}
	const char *state = json_string_value(json_object_get(doc, "Status"));
	for (int i = RL_CREATED; state && i <= RL_EXITED; i++)
		if (strcmp(state, state_names[i]) == 0)
			s->state = (enum rl_run_state)i;
	s->pid = (pid_t)json_integer_value(json_object_get(doc, "Pid"));
	s->pid_start = (unsigned long long)json_integer_value(json_object_get(doc, "PidStart"));
	s->supervisor = (pid_t)json_integer_value(json_object_get(doc, "SupervisorPid"));
	s->sup_start = (unsigned long long)json_integer_value(json_object_get(doc, "SupervisorStart"));
	s->exit_code = (int)json_integer_value(json_object_get(doc, "ExitCode"));
	s->oom_killed = json_is_true(json_object_get(doc, "OOMKilled"));
	copy_string(doc, "Error", s->error, sizeof(s->error));
	copy_string(doc, "StartedAt", s->started_at, sizeof(s->started_at));
	copy_string(doc, "FinishedAt", s->finished_at, sizeof(s->finished_at));
	json_decref(doc);

	/* Signals go to these pids: a record that names no process of its own
	 * (0, 1, negative: "everyone") is damaged, not obeyed. */
	if (s->state == RL_RUNNING && (s->pid <= 1 || s->supervisor <= 1))
		return rl_fail(err, EINVAL,
			       "corrupt %s: it names no container process; remove the container with 'rlbpf rm -f %s'",
			       path, st->name);
	/* The container dies with its supervisor (parent-death signal). A PID 1
	 * that changed its uid has lost that signal: finish the job, so that a
	 * running record without a living supervisor is a container that is gone. */
	if (s->state != RL_EXITED && s->supervisor > 0 && !alive(s->supervisor, s->sup_start)) {
		if (alive(s->pid, s->pid_start)) {
			int fd = (int)syscall(SYS_pidfd_open, s->pid, 0);
			if (fd >= 0 && alive(s->pid, s->pid_start))
				syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			if (fd >= 0)
				close(fd);
		}
		s->state = RL_EXITED;
		s->exit_code = 137;
		snprintf(s->error, sizeof(s->error),
			 "the supervisor (pid %d) died without recording the end; the container was killed with it",
			 (int)s->supervisor);
		s->pid = 0;
	}
	return 0;
}

void rl_status_record_exit(const struct rl_state *st, int code, bool oom_killed)
{
	struct rl_status status = {.state = RL_EXITED, .exit_code = code, .oom_killed = oom_killed};
	struct rl_status before;
	struct rl_error ignored;
	if (rl_status_read(st, &before, &ignored) == 0)
		snprintf(status.started_at, sizeof(status.started_at), "%s", before.started_at);
	rl_now_rfc3339(status.finished_at, sizeof(status.finished_at));
	rl_status_write(st, &status, &ignored);
}

void rl_status_text(const struct rl_status *s, char *buf, size_t len)
{
	char span[64];
	double now = (double)time(NULL);
	if (s->state == RL_RUNNING) {
		rl_human_duration(now - rl_parse_rfc3339(s->started_at), span, sizeof(span));
		snprintf(buf, len, "Up %s", span);
	} else if (s->state == RL_EXITED) {
		double end = rl_parse_rfc3339(s->finished_at);
		if (end < 0) {
			snprintf(buf, len, "Exited (%d)", s->exit_code);
			return;
		}
		rl_human_duration(now - end, span, sizeof(span));
		snprintf(buf, len, "Exited (%d) %s ago", s->exit_code, span);
	} else {
		snprintf(buf, len, "Created");
	}
}
