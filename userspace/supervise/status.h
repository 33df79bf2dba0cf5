/* How a container is doing, as its supervisor records it in status.json,
 * and what is really true: a "running" record whose supervisor is gone is
 * reported as exited, never shown as running. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "lib/error.h"
#include "supervise/state.h"

enum rl_run_state {
	RL_CREATED,
	RL_RUNNING,
	RL_EXITED,
};

struct rl_status {
	enum rl_run_state state;
	pid_t pid;                   /* host pid of the container's PID 1 */
	unsigned long long pid_start; /* its start time */
	pid_t supervisor;            /* the process that waits for it */
	unsigned long long sup_start; /* its start time, against pid reuse */
	int exit_code;
	bool oom_killed;
	char error[256];
	char started_at[40]; /* RFC 3339 with nanoseconds, UTC; "" if never */
	char finished_at[40];
};

const char *rl_run_state_name(enum rl_run_state s); /* "created", "running", "exited" */

/* The current time as RFC 3339 UTC with nanoseconds, as Docker prints it. */
void rl_now_rfc3339(char *buf, size_t len);

/* Start time of a process in clock ticks since boot (field 22 of stat), or
 * 0 when it does not exist or has ended (a zombie). */
unsigned long long rl_proc_start_time(pid_t pid);

int rl_status_write(const struct rl_state *st, const struct rl_status *s, struct rl_error *err);

/* Reads status.json and checks it against the processes: a running record
 * whose supervisor is gone becomes exited with an Error that says so. A
 * missing file reads as created. */
int rl_status_read(const struct rl_state *st, struct rl_status *s, struct rl_error *err);

/* "Up 5 minutes", "Exited (0) 3 seconds ago", "Created": the STATUS that
 * docker ps shows, for rlbpf ps and the Docker API alike. */
void rl_status_text(const struct rl_status *s, char *buf, size_t len);

/* Records that the container ended with `code` (best effort: the end
 * happened whether or not it can be written down). */
void rl_status_record_exit(const struct rl_state *st, int code, bool oom_killed);
