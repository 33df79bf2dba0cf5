/* rlbpf system service [--timeout SECONDS] [unix://PATH]: the Docker
 * Engine API for this user, served by the rlbpf-api helper in place of
 * this process. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "lib/paths.h"
#include "lib/spawn.h"

static void usage(FILE *out)
{
	fputs("Usage: rlbpf system service [OPTIONS] [unix://PATH]\n"
	      "\n"
	      "Serve the Docker Engine API for this user, on $XDG_RUNTIME_DIR/rlbpf.sock\n"
	      "(mode 0600) unless PATH is given; point the docker CLI at it with\n"
	      "DOCKER_HOST=unix://$XDG_RUNTIME_DIR/rlbpf.sock.\n"
	      "\n"
	      "Options:\n"
	      "  -t, --timeout SECONDS  exit after SECONDS without a request (0: never, the default)\n"
	      "  -h, --help             show this help\n",
	      out);
}

static int service(int argc, char **argv)
{
	static const struct option longs[] = {
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *timeout = "0";
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:t:h", longs, NULL)) != -1) {
		char *end;
		switch (c) {
		case 't':
			errno = 0;
			if (strtol(optarg, &end, 10) < 0 || errno || *end || !optarg[0]) {
				fprintf(stderr, "rlbpf system service: invalid --timeout '%s': give whole "
						"seconds, 0 for never\n", optarg);
				return RL_EXIT_INTERNAL;
			}
			timeout = optarg;
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("system service", c, argv);
		}
	}
	char path[PATH_MAX], helper[PATH_MAX];
	struct rl_error err = {0};
	if (argc - optind > 1) {
		fprintf(stderr, "rlbpf system service: unexpected argument '%s'; give at most one "
				"unix://PATH\n", argv[optind + 1]);
		return RL_EXIT_INTERNAL;
	}
	if (optind < argc) {
		if (strncmp(argv[optind], "unix://", 7) != 0 || argv[optind][7] != '/') {
			fprintf(stderr, "rlbpf system service: '%s' is not unix:///ABSOLUTE/PATH; "
					"only unix sockets are served\n", argv[optind]);
			return RL_EXIT_INTERNAL;
		}
		snprintf(path, sizeof(path), "%s", argv[optind] + 7);
	} else {
		char run[PATH_MAX - 16];
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		/* the same path for the CLI's DOCKER_HOST as Podman's podman.sock */
		if (!xdg || xdg[0] != '/' || rl_runtime_dir(run, sizeof(run), &err) < 0) {
			fprintf(stderr, "rlbpf system service: XDG_RUNTIME_DIR is not set (or not "
					"usable); give unix://PATH\n");
			return RL_EXIT_INTERNAL;
		}
		snprintf(path, sizeof(path), "%s/rlbpf.sock", xdg);
	}
	if (rl_libexec_path("rlbpf-api", helper, sizeof(helper), &err) < 0) {
		rl_error_print(&err, "rlbpf system service");
		return RL_EXIT_INTERNAL;
	}
	char *args[] = {helper, "--timeout", (char *)timeout, path, NULL};
	execv(helper, args);
	fprintf(stderr, "rlbpf system service: cannot run %s: %s\n", helper, strerror(errno));
	return RL_EXIT_INTERNAL;
}

int cmd_system(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "service"))
		return service(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "rlbpf system: %s%s; the one subcommand is 'service'\n",
		argc >= 2 ? "unknown subcommand " : "missing subcommand", argc >= 2 ? argv[1] : "");
	return RL_EXIT_INTERNAL;
}
