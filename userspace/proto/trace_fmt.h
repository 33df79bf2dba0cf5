/* How `rlbpf trace` shows an event: one text line under the columns
 * TIME CONTAINER PID CPID USER HUSER COMM EVENT DETAIL, or one JSON object
 * with stable field names (README: "rlbpf trace"). Pure functions of the
 * event and the names looked up for it, so they are unit-testable. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "proto/agent_proto.h"

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
