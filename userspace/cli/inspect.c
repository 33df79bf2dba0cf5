/* rlbpf inspect [-f TEMPLATE] NAME|ID... */
#include "supervise/inspect_doc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "lib/template.h"

static void usage(FILE *out)
{
	fputs("Usage: rlbpf inspect [OPTIONS] CONTAINER [CONTAINER...]\n"
	      "\n"
	      "Show containers as a JSON array, in Docker's shape plus an Rlbpf section.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --format TEMPLATE  print each through a Go-style template, e.g.\n"
	      "                         '{{.State.Pid}}', '{{json .State}}', '{{.Name}}'\n"
	      "  -h, --help             show this help\n",
	      out);
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option longs[] = {
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *format = NULL;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:f:h", longs, NULL)) != -1) {
		if (c == 'f') {
			format = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "rlbpf inspect: %s '%s'; see 'rlbpf inspect --help'\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return RL_EXIT_INTERNAL;
		}
	}
	if (optind >= argc) {
		fputs("rlbpf inspect: no container given; see 'rlbpf inspect --help'\n", stderr);
		return RL_EXIT_INTERNAL;
	}
	int code = 0;
	json_t *all = json_array();
	for (int i = optind; i < argc; i++) {
		struct rl_error err = {0};
		struct rl_state st;
		struct rl_status s;
		json_t *config = NULL;
		if (rl_state_find(argv[i], &st, &err) < 0 || rl_status_read(&st, &s, &err) < 0 ||
		    rl_state_config(&st, &config, &err) < 0) {
			rl_error_print(&err, "rlbpf inspect");
			code = RL_EXIT_INTERNAL;
			continue;
		}
		json_t *doc = rl_inspect_doc(&st, config, &s);
		json_decref(config);
		if (!format) {
			json_array_append_new(all, doc);
			continue;
		}
		char *out = NULL;
		if (rl_template_render(format, doc, &out, &err) < 0) {
			rl_error_print(&err, "rlbpf inspect");
			json_decref(doc);
			json_decref(all);
			return RL_EXIT_INTERNAL;
		}
		printf("%s\n", out);
		free(out);
		json_decref(doc);
	}
	if (!format && (json_array_size(all) > 0 || code == 0)) {
		char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free(text);
	}
	json_decref(all);
	return code;
}
