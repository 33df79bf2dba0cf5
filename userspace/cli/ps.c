/* rlbpf ps [-a] [-q] [--format json] */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "lib/humantime.h"
#include "supervise/state.h"
#include "supervise/status.h"

struct row {
	struct rl_state st;
	struct rl_status s;
	json_t *config;
	double created;
};

struct rows {
	struct row *v;
	size_t n;
	bool all;
};

static int collect(const struct rl_state *st, void *ctx)
{
	struct rows *rows = ctx;
	struct row r = {.st = *st};
	struct rl_error ignored;
	if (rl_status_read(st, &r.s, &ignored) < 0 || rl_state_config(st, &r.config, &ignored) < 0)
		return 0; /* half made or half removed: not listed */
	if (!rows->all && r.s.state != RL_RUNNING) {
		json_decref(r.config);
		return 0;
	}
	r.created = rl_parse_rfc3339(json_string_value(json_object_get(r.config, "Created")));
	struct row *grown = realloc(rows->v, (rows->n + 1) * sizeof(*grown));
	if (!grown) {
		json_decref(r.config);
		return -1;
	}
	rows->v = grown;
	rows->v[rows->n++] = r;
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	double x = ((const struct row *)a)->created, y = ((const struct row *)b)->created;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* "0.0.0.0:8080->80/tcp, 0.0.0.0:5353->53/udp" from HostConfig.PortBindings,
 * as docker ps shows a running container's ports; nothing once it exited. */
static void ports_text(json_t *config, bool running, char *buf, size_t len)
{
	buf[0] = '\0';
	json_t *bindings = json_object_get(json_object_get(config, "HostConfig"), "PortBindings");
	const char *key;
	json_t *list;
	size_t used = 0;
	if (!running)
		return;
	json_object_foreach(bindings, key, list) {
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b) {
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			const char *port = json_string_value(json_object_get(b, "HostPort"));
			int n = snprintf(buf + used, len - used, "%s%s:%s->%s", used ? ", " : "",
					 ip && ip[0] ? ip : "0.0.0.0", port ? port : "", key);
			if (n < 0 || (size_t)n >= len - used)
				return;
			used += (size_t)n;
		}
	}
}

/* "\"sleep 3600\"" as Docker shows it, cut to 20 characters. */
static void command_text(json_t *config, char *buf, size_t len)
{
	char joined[256] = "";
	size_t used = 0;
	json_t *cmd = json_object_get(json_object_get(config, "Config"), "Cmd");
	size_t i;
	json_t *word;
	json_array_foreach(cmd, i, word) {
		int n = snprintf(joined + used, sizeof(joined) - used, "%s%s", i ? " " : "",
				 json_string_value(word) ? json_string_value(word) : "");
		if (n < 0 || (size_t)n >= sizeof(joined) - used)
			break;
		used += (size_t)n;
	}
	if (strlen(joined) > 20)
		snprintf(buf, len, "\"%.19s…\"", joined);
	else
		snprintf(buf, len, "\"%s\"", joined);
}

static void usage(FILE *out)
{
	fputs("Usage: rlbpf ps [OPTIONS]\n"
	      "\n"
	      "List containers (running ones unless -a).\n"
	      "\n"
	      "Options:\n"
	      "  -a, --all            show all containers, also created and exited ones\n"
	      "  -q, --quiet          only the IDs\n"
	      "      --format json    one JSON object a line\n"
	      "  -h, --help           show this help\n",
	      out);
}

int cmd_ps(int argc, char **argv)
{
	static const struct option longs[] = {
		{"all", no_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rows rows = {0};
	bool quiet = false, json = false;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:aqh", longs, NULL)) != -1) {
		switch (c) {
		case 'a': rows.all = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		case 'F':
			if (strcmp(optarg, "json") != 0) {
				fprintf(stderr, "rlbpf ps: unknown format '%s'; use --format json\n", optarg);
				return RL_EXIT_INTERNAL;
			}
			json = true;
			break;
		default:
			fprintf(stderr, "rlbpf ps: %s '%s'; see 'rlbpf ps --help'\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return RL_EXIT_INTERNAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rlbpf ps: unexpected argument '%s'; see 'rlbpf ps --help'\n", argv[optind]);
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	if (rl_state_each(collect, &rows, &err) < 0) {
		rl_error_print(&err, "rlbpf ps");
		return RL_EXIT_INTERNAL;
	}
	qsort(rows.v, rows.n, sizeof(*rows.v), newest_first);
	if (!quiet && !json)
		printf("%-12s   %-15s   %-22s   %-18s   %-26s   %-6s   %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES");
	for (size_t i = 0; i < rows.n; i++) {
		struct row *r = &rows.v[i];
		char status[96], command[64], created[64], ago[80], ports[512];
		ports_text(r->config, r->s.state == RL_RUNNING, ports, sizeof(ports));
		rl_status_text(&r->s, status, sizeof(status));
		command_text(r->config, command, sizeof(command));
		rl_human_duration((double)time(NULL) - r->created, created, sizeof(created));
		snprintf(ago, sizeof(ago), "%s ago", created);
		const char *image = json_string_value(json_object_get(r->config, "Image"));
		if (quiet) {
			printf("%.12s\n", r->st.id);
		} else if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", r->st.id,
					      "Image", image ? image : "", "Command", command,
					      "CreatedAt", json_string_value(json_object_get(r->config, "Created")) ?: "",
					      "State", rl_run_state_name(r->s.state), "Status", status,
					      "Ports", ports, "Names", r->st.name);
			char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
			if (text)
				printf("%s\n", text);
			free(text);
			json_decref(o);
		} else {
			printf("%.12s   %-15.15s   %-22s   %-18s   %-26s   %-6s   %s\n", r->st.id,
			       image ? image : "", command, ago, status, ports, r->st.name);
		}
		json_decref(r->config);
	}
	free(rows.v);
	return 0;
}
