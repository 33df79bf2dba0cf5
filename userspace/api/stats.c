/* /containers/ID/stats: what docker stats reads, Docker's stats document
 * made of the agent's counters (the numbers rlbpf stats shows). One
 * document, or with stream one a second until the container ends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/json_lines.h"
#include "lib/fsutil.h"
#include "supervise/stats_sample.h"
#include "supervise/status.h"

#define INTERVAL_NS 1000000000ULL
#define NEVER "0001-01-01T00:00:00Z" /* Go's zero time: Docker's "no sample" */

/* One reading of a container, with the host's CPU time beside it: the
 * docker CLI's CPU % is the container's share of the host's. */
struct reading {
	bool taken;
	char read[40];
	uint64_t cpu_ns, system_ns;
	uint64_t mem_usage, mem_limit, pids, pids_limit;
	json_t *networks; /* NULL: none counted */
};

struct stats {
	struct rl_state st;
	struct rl_stats_recorded rec;
	struct rl_agent_conn conn;
	bool host_network;
	uint64_t host_mem;
	long online_cpus;
	struct reading pre, now;
	struct rl_json_lines line; /* the document being sent */
	uint64_t taken_ns; /* CLOCK_MONOTONIC of the last reading */
};

static uint64_t monotonic_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* The host's CPU time in nanoseconds, as Docker counts it: the first line
 * of /proc/stat, every field, in clock ticks. */
static uint64_t host_cpu_ns(void)
{
	char text[512];
	if (rl_read_file("/proc/stat", text, sizeof(text), NULL) <= 0 || strncmp(text, "cpu ", 4))
		return 0;
	uint64_t ticks = 0;
	char *p = text + 4, *end;
	for (;;) {
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		ticks += v;
		p = end;
	}
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? ticks * (1000000000ULL / (uint64_t)hz) : 0;
}

/* The container's interfaces but lo, from its network namespace's
 * counters, as Docker's "networks". */
static json_t *networks(pid_t pid)
{
	char path[64], text[4096];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	if (rl_read_file(path, text, sizeof(text), NULL) <= 0)
		return NULL;
	json_t *out = json_object();
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue; /* the two header lines */
		*colon = '\0';
		char *name = line + strspn(line, " ");
		unsigned long long v[16];
		if (!strcmp(name, "lo") ||
		    sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
			   &v[10], &v[11]) != 12)
			continue;
		json_object_set_new(out, name,
				    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes",
					      (json_int_t)v[0], "rx_packets", (json_int_t)v[1],
					      "rx_errors", (json_int_t)v[2], "rx_dropped",
					      (json_int_t)v[3], "tx_bytes", (json_int_t)v[8],
					      "tx_packets", (json_int_t)v[9], "tx_errors",
					      (json_int_t)v[10], "tx_dropped", (json_int_t)v[11]));
	}
	return out;
}

/* Reads the container now into s->now (the last reading into s->pre).
 * 0; 1 when it has ended; a negative errno with why. */
static int take(struct stats *s, char *why, size_t len)
{
	struct rl_msg_stats_reply rep;
	int r = rl_stats_ask(&s->conn, s->st.id, NULL, &rep, why, len);
	if (r == -ENOENT && rl_stats_still_running(&s->st)) {
		snprintf(why, len, "%s is not tracked by rlbpfd: it started while the agent was not "
			 "running; 'rlbpf restart %s' registers it", s->st.name, s->st.name);
		return -ENOENT;
	}
	if (r == -ENOENT || (r == 0 && (rep.flags & RL_STATS_ENDED)))
		return 1;
	if (r < 0)
		return r;
	json_decref(s->pre.networks);
	s->pre = s->now;
	struct reading *n = &s->now;
	*n = (struct reading){.taken = true, .cpu_ns = rep.cpu_ns, .system_ns = host_cpu_ns(),
			      .mem_usage = rl_stats_mem_usage(&s->st, &rep), .pids = rep.nr_threads,
			      .mem_limit = rl_stats_mem_limit(&rep, &s->rec, s->host_mem),
			      .pids_limit = rl_stats_pids_limit(&rep, &s->rec)};
	rl_now_rfc3339(n->read, sizeof(n->read));
	s->taken_ns = monotonic_ns();
	if (!s->host_network && rep.init_pid)
		n->networks = networks((pid_t)rep.init_pid);
	return 0;
}

/* The agent counts CPU time as a whole: no split into user and kernel
 * time, nor per CPU, so those are left out rather than shown as 0. */
static json_t *cpu_stats(const struct reading *r, long online_cpus)
{
	return json_pack("{s:{s:I},s:I,s:i,s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage",
			 (json_int_t)r->cpu_ns, "system_cpu_usage", (json_int_t)r->system_ns,
			 "online_cpus", r->taken ? (int)online_cpus : 0, "throttling_data",
			 "periods", 0, "throttled_periods", 0, "throttled_time", 0);
}

/* Docker's stats document; a container that has ended reads as zeros, as
 * Docker's do. The usage is already without inactive file cache (the
 * agent's count), so no "stats" are given for the CLI to subtract. */
static json_t *document(const struct stats *s)
{
	char name[sizeof(s->st.name) + 1];
	snprintf(name, sizeof(name), "/%s", s->st.name);
	const struct reading *n = &s->now, *p = &s->pre;
	json_t *pids = json_pack("{s:I}", "current", (json_int_t)n->pids);
	if (n->pids_limit)
		json_object_set_new(pids, "limit", json_integer((json_int_t)n->pids_limit));
	json_t *doc = json_pack(
		"{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:{s:I,s:I,s:{}},s:{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}}",
		"read", n->taken ? n->read : NEVER, "preread", p->taken ? p->read : NEVER, "name",
		name, "id", s->st.id, "pids_stats", pids, "cpu_stats",
		cpu_stats(n, s->online_cpus), "precpu_stats", cpu_stats(p, s->online_cpus),
		"memory_stats", "usage", (json_int_t)n->mem_usage, "limit",
		(json_int_t)n->mem_limit, "stats", "blkio_stats", "io_service_bytes_recursive",
		"io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
		"io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
		"sectors_recursive");
	if (doc && n->networks)
		json_object_set(doc, "networks", n->networks);
	return doc;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec t = {.tv_sec = (time_t)(ns / 1000000000ULL),
			     .tv_nsec = (long)(ns % 1000000000ULL)};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* stream: a document a second; the end comes with the container's, or
 * when the client has gone (the next write fails). */
static size_t next(void *ctx, char *buf, size_t max)
{
	struct stats *s = ctx;
	if (rl_json_lines_empty(&s->line)) {
		char why[400];
		uint64_t since = monotonic_ns() - s->taken_ns;
		if (since < INTERVAL_NS)
			sleep_ns(INTERVAL_NS - since);
		if (!rl_stats_still_running(&s->st) || take(s, why, sizeof(why)) != 0 ||
		    !rl_json_lines_set(&s->line, document(s)))
			return 0;
	}
	return rl_json_lines_copy(&s->line, buf, max);
}

static void done(void *ctx)
{
	struct stats *s = ctx;
	rl_agent_close(&s->conn);
	json_decref(s->pre.networks);
	json_decref(s->now.networks);
	rl_json_lines_free(&s->line);
}

/* A boolean query argument as Docker reads it; absent: dflt. False with
 * a 400 into out when it is not one. */
static bool flag(const struct rl_api_request *r, const char *key, bool dflt, bool *v,
		 struct rl_api_reply *out)
{
	const char *text = r->query(r, key);
	if (!text || !text[0]) {
		*v = dflt;
		return true;
	}
	if (!strcmp(text, "1") || !strcasecmp(text, "true")) {
		*v = true;
		return true;
	}
	if (!strcmp(text, "0") || !strcasecmp(text, "false")) {
		*v = false;
		return true;
	}
	rl_api_error(out, 400, "%s: 1, 0, true or false is needed, not '%s'", key, text);
	return false;
}

bool rl_api_stats(const struct rl_api_request *r, struct rl_api_reply *out)
{
	char ref[160], why[400];
	if (strcmp(r->method, "GET") || !rl_api_container_ref(r->path, "stats", ref, sizeof(ref)))
		return false;
	bool stream, one_shot;
	if (!flag(r, "stream", true, &stream, out) || !flag(r, "one-shot", false, &one_shot, out))
		return true;
	if (stream && one_shot) {
		rl_api_error(out, 400, "one-shot is for stream=0 only; drop one of them");
		return true;
	}
	struct stats *s = calloc(1, sizeof(*s));
	if (!s) {
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	s->conn.fd = -1;
	if (!rl_api_find_container(ref, &s->st, out)) {
		free(s);
		return true;
	}
	rl_stats_recorded_read(&s->st, &s->rec);
	json_t *config = NULL;
	struct rl_error ignored;
	if (rl_state_config(&s->st, &config, &ignored) == 0) {
		const char *mode = json_string_value(
			json_object_get(json_object_get(config, "HostConfig"), "NetworkMode"));
		s->host_network = mode && !strcmp(mode, "host");
		json_decref(config);
	}
	s->host_mem = rl_stats_host_memory();
	s->online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc = 1; /* not running: one document of zeros, as Docker's */
	if (rl_stats_still_running(&s->st)) {
		if (rl_agent_connect(RL_AGENT_SOCKET, &s->conn, why, sizeof(why)) < 0) {
			free(s);
			rl_api_error(out, 503, "cannot reach rlbpfd, which keeps the counters: %s", why);
			return true;
		}
		rc = take(s, why, sizeof(why));
		/* CPU % needs two readings: a second apart, as Docker's */
		if (rc == 0 && !stream && !one_shot) {
			sleep_ns(INTERVAL_NS);
			rc = take(s, why, sizeof(why));
		}
	}
	if (rc < 0) {
		done(s);
		free(s);
		rl_api_error(out, rc == -ENOENT || rc == -EPERM ? 409 : 503, "%s", why);
		return true;
	}
	if (!stream || rc == 1) {
		*out = (struct rl_api_reply){.status = 200, .body = document(s)};
		done(s);
		free(s);
		return true;
	}
	if (!rl_json_lines_set(&s->line, document(s))) {
		done(s);
		free(s);
		rl_api_error(out, 500, "out of memory");
		return true;
	}
	*out = (struct rl_api_reply){.status = 200, .stream = next, .stream_done = done, .ctx = s};
	return true;
}
