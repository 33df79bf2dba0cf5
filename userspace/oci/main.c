/* rlbpf-runtime: rlbpf as an OCI runtime, with runc's command line, for
 * Podman, containerd and Kubernetes to drive. A separate program because
 * runc's run, exec, ps and kill mean other things than rlbpf's commands of
 * the same names. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "oci/commands.h"
#include "oci/control.h"
#include "oci/exec.h"
#include "oci/lifecycle.h"
#include "oci/state.h"
#include "supervise/status.h"

#ifndef RLBPF_VERSION
#define RLBPF_VERSION "0.1"
#endif

struct globals {
	const char *root, *log, *log_format;
	FILE *log_file; /* opened first: exec leaves the host's mounts behind */
	bool debug;
};

/* runc writes its failure to stderr; callers with --log read the log file,
 * json for those that ask (Podman: the last "error" line). */
static void log_error(const struct globals *g, const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	FILE *f = g->log_file;
	if (!f)
		return;
	char now[64];
	rl_now_rfc3339(now, sizeof(now));
	if (g->log_format && strcmp(g->log_format, "json") == 0) {
		fputs("{\"level\":\"error\",\"msg\":\"", f);
		for (const char *p = msg; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(f, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
		fprintf(f, "\",\"time\":\"%s\"}\n", now);
	} else {
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", now, msg);
	}
	fflush(f);
}

static void usage(FILE *out)
{
	fputs("Usage: rlbpf-runtime [global options] COMMAND [options] ID [...]\n"
	      "An OCI runtime with runc's command line: rlbpf's rootless containers for Podman,\n"
	      "containerd and Kubernetes, their limits kept by rlbpfd on cgroup v1.\n"
	      "\n"
	      "Commands: create, start, run, state, kill, delete, exec, list, ps, features,\n"
	      "          pause, resume, update (containers whose cgroups it made as root)\n"
	      "\n"
	      "Global options:\n"
	      "  --root DIR            state directory (default /run/rlbpf-runtime as root,\n"
	      "                        $XDG_RUNTIME_DIR/rlbpf-runtime otherwise)\n"
	      "  --log FILE            where errors are also written\n"
	      "  --log-format FORMAT   text or json\n"
	      "  --debug               accepted\n"
	      "  --systemd-cgroup      refused: rlbpf-runtime does not use systemd\n"
	      "  --cgroup-manager M    cgroupfs or disabled; systemd is refused\n"
	      "  -v, --version         print the version\n",
	      out);
}

static int parse_create(int argc, char **argv, struct rl_oci_create_opts *o, bool *detach,
			struct rl_error *err)
{
	static const struct option longopts[] = {
		{"bundle", required_argument, NULL, 'b'},   {"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'}, {"no-pivot", no_argument, NULL, 'P'},
		{"no-new-keyring", no_argument, NULL, 'K'}, {"preserve-fds", required_argument, NULL, 'F'},
		{"detach", no_argument, NULL, 'd'},	    {"keep", no_argument, NULL, 'k'},
		{"no-subreaper", no_argument, NULL, 'S'},   {0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+b:d", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'c': o->console_socket = optarg; break;
		case 'P': o->no_pivot = true; break;
		case 'K':
		case 'k':
		case 'S': break;
		case 'F': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 1024)
				return rl_fail(err, EINVAL, "--preserve-fds takes a number from 0 to 1024");
			o->preserve_fds = (int)n;
			break;
		}
		case 'd':
			if (!detach)
				return rl_fail(err, EINVAL, "%s: unknown option -d", argv[0]);
			*detach = true;
			break;
		default:
			return rl_fail(err, EINVAL, "%s: unknown option %s; see rlbpf-runtime --help", argv[0],
				       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return rl_fail(err, EINVAL, "%s: requires exactly one container id", argv[0]);
	o->id = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},	      {"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'}, {"debug", no_argument, NULL, 'D'},
		{"systemd-cgroup", no_argument, NULL, 's'},   {"cgroup-manager", required_argument, NULL, 'm'},
		{"rootless", required_argument, NULL, 'R'},   {"criu", required_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'v'},	      {"help", no_argument, NULL, 'h'}, {0},
	};
	struct globals g = {0};
	struct rl_error err = {0};
	int c;
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': g.root = optarg; break;
		case 'l': g.log = optarg; break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				log_error(&g, "--log-format takes text or json");
				return 1;
			}
			g.log_format = optarg;
			break;
		case 'D': g.debug = true; break;
		case 's':
			log_error(&g, "--systemd-cgroup is not supported: rlbpf-runtime makes no systemd "
				      "units; leave it out (cgroupfs)");
			return 1;
		case 'm':
			if (strcmp(optarg, "cgroupfs") && strcmp(optarg, "disabled")) {
				log_error(&g, "--cgroup-manager takes cgroupfs or disabled: rlbpf-runtime makes no systemd units");
				return 1;
			}
			break;
		case 'R':
		case 'C': break;
		case 'v':
			printf("rlbpf-runtime version %s\nspec: 1.1.0\n", RLBPF_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (g.log && !(g.log_file = fopen(g.log, "ae")))
		fprintf(stderr, "rlbpf-runtime: cannot open the log %s: %s\n", g.log, strerror(errno));
	char root[4096];
	if (rl_oci_root(g.root, root, sizeof(root), &err) < 0) {
		log_error(&g, err.msg);
		return 1;
	}
	int cargc = argc - optind;
	char **cargv = argv + optind;
	const char *cmd = cargv[0];
	int rc;
	if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) {
		struct rl_oci_create_opts o = {.root = root};
		bool detach = false, run = cmd[0] == 'r';
		if (parse_create(cargc, cargv, &o, run ? &detach : NULL, &err) < 0)
			rc = 1;
		else if (run)
			rc = rl_oci_run(&o, detach, &err);
		else
			rc = rl_oci_create(&o, &err) < 0 ? 1 : 0;
		if (rc < 0)
			rc = 1;
	} else if (strcmp(cmd, "start") == 0) {
		rc = cargc != 2 ? rl_fail(&err, EINVAL, "start: requires exactly one container id"), 1
				: rl_oci_start(root, cargv[1], &err) < 0;
	} else if (strcmp(cmd, "state") == 0) {
		rc = rl_oci_cmd_state(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "kill") == 0) {
		rc = rl_oci_cmd_kill(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "delete") == 0) {
		rc = rl_oci_cmd_delete(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "exec") == 0) {
		rc = rl_oci_cmd_exec(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "list") == 0) {
		rc = rl_oci_cmd_list(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "ps") == 0) {
		rc = rl_oci_cmd_ps(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "features") == 0) {
		rc = rl_oci_cmd_features(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "pause") == 0) {
		rc = rl_oci_cmd_pause(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "resume") == 0) {
		rc = rl_oci_cmd_resume(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "update") == 0) {
		rc = rl_oci_cmd_update(root, cargc, cargv, &err);
	} else if (strcmp(cmd, "checkpoint") == 0 || strcmp(cmd, "restore") == 0) {
		rc = rl_oci_cmd_unsupported(root, cargc, cargv, &err);
	} else {
		rl_fail(&err, EINVAL, "unknown command %s; see rlbpf-runtime --help", cmd);
		rc = 1;
	}
	if (err.msg[0] && (rc == 1 || rc == 125 || rc == 126 || rc == 127 || err.code))
		log_error(&g, err.msg);
	return rc;
}
