/* A container's log read as a stream of records, from its start, for
 * attach and logs: with follow, a read waits for more until the container
 * has ended and its log is read to the end. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "supervise/logfile.h"
#include "supervise/state.h"
#include "supervise/state_watch.h"

struct rl_log_reader {
	struct rl_state st;
	bool follow;
	bool (*gone)(const char *id); /* also ends a follow: a start that failed */
	int client; /* > 0: the client's socket; a follow ends when it has gone */
	void *f;    /* the log, once it exists */
	struct rl_state_watch watch;
	bool watching; /* watch is open: a follow has waited once */
	char *line; /* the last record's line (rec points into it) */
	size_t cap;
};

/* 1 with the next record, 0 at the end, -1 when the reader is closed. */
int rl_log_reader_next(struct rl_log_reader *r, struct rl_log_record *rec);
void rl_log_reader_close(struct rl_log_reader *r);

/* Docker's multiplexed frame of a record into buf (at least 8 + the
 * record's length + 1 + the time's length + 1): its length. */
size_t rl_log_frame(const struct rl_log_record *rec, bool timestamps, char *buf, size_t len);
/* A terminal's record as its bytes alone (no frame): its length. */
size_t rl_log_raw(const struct rl_log_record *rec, char *buf, size_t len);
