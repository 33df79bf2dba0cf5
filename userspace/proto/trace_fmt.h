/* How `rlbpf trace` shows an event: one text line under the columns
 * TIME CONTAINER PID CPID USER HUSER COMM EVENT DETAIL, or one JSON object
 * with stable field names (README: "rlbpf trace"). Pure functions of the
 * event and the names looked up for it, so they are unit-testable. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "proto/agent_proto.h"

/* Copies at most max bytes of src (stopping at a NUL) into dst[max + 1],
 * with anything but printable ASCII replaced by '?': names and file names
 * come from containers, and a terminal or a JSON parser must not get their
 * control bytes or broken UTF-8. */
void rl_trace_clean(char *dst, const char *src, size_t max);

/* The DETAIL column: what happened, in words. */
void rl_trace_detail(const struct rl_event_meta *m, const struct rl_event *ev, char *buf,
		     size_t len);

/* HH:MM:SS.mmm local time of the event. */
void rl_trace_time(const struct rl_event_meta *m, char *buf, size_t len);

/* The header line and one event line; no_trunc keeps long names whole. */
void rl_trace_print_header(FILE *out, bool no_trunc);
void rl_trace_print_line(FILE *out, const struct rl_event_meta *m, const struct rl_event *ev,
			 const char *user, const char *huser, bool no_trunc);

/* The JSON object of an event (new reference). */
json_t *rl_trace_json(const struct rl_event_meta *m, const struct rl_event *ev, const char *user,
		      const char *huser);
