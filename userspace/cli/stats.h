/* rlbpf stats: what docker stats shows, from the agent's counters. The
 * arithmetic and the text are apart from the command so that they can be
 * tested without an agent or a container. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/error.h"

/* CPU % as docker stats means it: 100 is one core busy for the whole
 * interval, so a container can show more than 100 on several cores. 0 when
 * the interval is empty or the counter went back (a container restarted
 * under the same ID starts its count again). */
double rl_stats_cpu_percent(uint64_t cpu_before_ns, uint64_t cpu_after_ns, uint64_t wall_ns);

/* One container at one refresh. valid false: nothing to show (the agent
 * does not track it, or it ended), printed as Docker prints it, "--". */
struct rl_stats_values {
	bool valid;
	double cpu_percent;
	uint64_t mem_usage;
	uint64_t mem_limit; /* the cap, or the host's memory when there is none */
	uint64_t pids;
};

/* A row as Docker's template sees it, every value a string: BlockIO,
 * CPUPerc, Container (as the user named it, else the short ID), ID (12 hex
 * digits unless no_trunc), MemPerc, MemUsage, Name, NetIO, PIDs. rlbpf
 * counts neither network nor block I/O: those are "--". */
json_t *rl_stats_row(const char *container, const char *id, const char *name, bool no_trunc,
		     const struct rl_stats_values *v);

/* How --format asks for the rows (Docker's words): NULL or "table" for the
 * default columns, "table TEMPLATE" for chosen ones (a header line, then
 * the cells that TEMPLATE separates with \t aligned in columns), "json" for
 * one object a line, any other TEMPLATE for one rendered line per row. A
 * literal \t or \n in the format is a tab or a newline, as in Docker. */
struct rl_stats_format {
	enum { RL_STATS_TABLE, RL_STATS_JSON, RL_STATS_TEMPLATE } kind;
	char *tmpl; /* malloc'd; NULL for json */
};

/* Parses and checks the format (a bad template is refused here, before
 * anything is sampled). */
int rl_stats_format_parse(const char *text, struct rl_stats_format *f, struct rl_error *err);
void rl_stats_format_free(struct rl_stats_format *f);

/* Writes one refresh: the rows through the format. */
int rl_stats_write(FILE *out, const struct rl_stats_format *f, json_t *const *rows, size_t n,
		   struct rl_error *err);

/* Aligns tab-separated cells in columns as Docker's tabwriter does: each
 * column as wide as its widest cell plus 3 spaces, and at least 10; the
 * last cell of a line (no tab after it) is not padded. */
void rl_stats_align(FILE *out, const char *text);
