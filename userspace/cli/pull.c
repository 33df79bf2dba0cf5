/* rlbpf pull, login and logout: the registry work is the rlbpf-pull
 * helper's (image/rlbpf_pull.c), which keeps libcurl and TLS out of rlbpf;
 * the image it leaves as an OCI layout is loaded here, through the same
 * loader and checks as `rlbpf load`. */
#include "cli/pull.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/commands.h"
#include "image/store.h"
#include "lib/boolopt.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/paths.h"
#include "lib/spawn.h"
#include "supervise/status.h"

/* The helper at work: its pid, the read ends of its "ready" pipe and of
 * its stderr. */
struct fetch {
	pid_t pid;
	int ready, errors;
};

static int fetch_start(char **argv, int out_fd, struct fetch *f, struct rl_error *err)
{
	int ready[2], errp[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot start %s", argv[0]);
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return rl_fail_errno(err, errno, "cannot start %s", argv[0]);
	}
	fflush(NULL);
	f->pid = fork();
	if (f->pid == 0) {
		/* stdout where the progress goes, stderr kept, "ready" on 3 */
		if (out_fd != 1)
			dup2(out_fd, 1);
		dup2(errp[1], 2);
		if (ready[1] != 3)
			dup2(ready[1], 3);
		fcntl(3, F_SETFD, 0);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(125);
	}
	close(ready[1]);
	close(errp[1]);
	if (f->pid < 0) {
		close(ready[0]);
		close(errp[0]);
		return rl_fail_errno(err, errno, "cannot start %s", argv[0]);
	}
	f->ready = ready[0];
	f->errors = errp[0];
	return 0;
}

/* Whether the helper said the layout has its manifest and config. */
static bool fetch_ready(struct fetch *f)
{
	char word[8];
	ssize_t n;
	while ((n = read(f->ready, word, sizeof(word))) < 0 && errno == EINTR)
		;
	close(f->ready);
	f->ready = -1;
	return n > 0;
}

/* Reaps the helper; its one-line error becomes err's message. */
static int fetch_finish(struct fetch *f, struct rl_error *err)
{
	if (f->ready >= 0)
		close(f->ready);
	char text[1024], drain[256];
	size_t got = 0;
	ssize_t n;
	while ((n = read(f->errors, got < sizeof(text) - 1 ? text + got : drain,
			 got < sizeof(text) - 1 ? sizeof(text) - 1 - got : sizeof(drain))) > 0)
		if (got < sizeof(text) - 1)
			got += (size_t)n;
	close(f->errors);
	text[got] = '\0';
	int status = 0;
	while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* the helper's line, without its "rlbpf pull: " */
	char *line = text, *colon = strstr(text, ": ");
	if (strncmp(text, "rlbpf ", 6) == 0 && colon)
		line = colon + 2;
	line[strcspn(line, "\n")] = '\0';
	return rl_fail(err, EIO, "%s", line[0] ? line : "the registry helper failed");
}

static int helper_path(char *buf, size_t len, struct rl_error *err)
{
	return rl_libexec_path("rlbpf-pull", buf, len, err);
}

int rl_pull(const struct rl_pull_args *a, FILE *out, struct rl_error *err)
{
	char helper[PATH_MAX], data[PATH_MAX], layout[PATH_MAX];
	int r;
	if ((r = helper_path(helper, sizeof(helper), err)) < 0 || (r = rl_data_dir(data, sizeof(data), err)) < 0)
		return r;
	if (snprintf(layout, sizeof(layout), "%s/pulls", data) >= (int)sizeof(layout) - 16 ||
	    (r = rl_mkdir_p(layout, 0700, err)) < 0)
		return r < 0 ? r : rl_fail(err, ENAMETOOLONG, "data directory path too long");
	strcat(layout, "/XXXXXX");
	if (!mkdtemp(layout))
		return rl_fail_errno(err, errno, "cannot create a directory in %s", data);
	char *argv[14];
	int n = 0;
	argv[n++] = helper;
	argv[n++] = "pull";
	if (a->quiet)
		argv[n++] = "-q";
	if (!a->tls_verify)
		argv[n++] = "--tls-verify=false";
	if (a->platform) {
		argv[n++] = "--platform";
		argv[n++] = (char *)a->platform;
	}
	argv[n++] = "--ready-fd";
	argv[n++] = "3";
	argv[n++] = "--";
	argv[n++] = (char *)a->ref;
	argv[n++] = layout;
	argv[n] = NULL;
	fflush(out);
	struct fetch f = {.pid = -1, .ready = -1, .errors = -1};
	if ((r = fetch_start(argv, fileno(out), &f, err)) < 0) {
		rl_remove_tree(layout);
		return r;
	}
	/* once the manifest and config are in, the layers are unpacked as
	 * they arrive, while the rest downloads */
	bool ready = fetch_ready(&f);
	_cleanup_json_ json_t *result = NULL;
	if (ready) {
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/pull.json", layout);
		result = json_load_file(path, 0, NULL);
	}
	const char *name = json_string_value(json_object_get(result, "name"));
	const char *config = json_string_value(json_object_get(result, "config"));
	const char *full = json_string_value(json_object_get(result, "full"));
	struct rl_store s;
	bool fresh = true;
	struct rl_error load_err = {0};
	int loaded_r = ready && json_is_object(result) ? rl_store_open(&s, &load_err) : -EIO;
	if (loaded_r == 0 && name && name[0] && config) {
		char id[72];
		struct rl_error ignored;
		fresh = !(rl_store_lookup(&s, name, id, NULL, 0, &ignored) == 0 && strcmp(id, config) == 0);
	}
	if (loaded_r == 0 && fresh) {
		struct rl_loaded *loaded = NULL;
		size_t count = 0;
		loaded_r = rl_store_load_fetched(&s, layout, f.pid, &loaded, &count, &load_err);
		rl_loaded_free(loaded, count);
	}
	/* a refused image is not worth the rest of its download */
	if (loaded_r < 0 && ready)
		kill(f.pid, SIGTERM);
	/* the helper's own error says more than the loader's "download failed" */
	r = fetch_finish(&f, err);
	if (r == 0 && loaded_r < 0)
		r = ready ? (*err = load_err, loaded_r)
			  : rl_fail(err, EIO, "the registry helper left no result in %s", layout);
	if (rl_remove_tree(layout) < 0)
		fprintf(stderr, "rlbpf: cannot remove %s\n", layout);
	if (r < 0)
		return r;
	if (!a->quiet && name && name[0])
		fprintf(out, "Status: %s for %s\n", fresh ? "Downloaded newer image" : "Image is up to date", name);
	else if (!a->quiet)
		fprintf(out, "Status: Downloaded newer image for %s\n", full ? full : a->ref);
	fprintf(out, "%s\n", full ? full : a->ref);
	fflush(out);
	return 0;
}

static void pull_usage(FILE *out)
{
	fputs("Usage: rlbpf pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
	      "\n"
	      "Download an image from a registry into your store (docker.io when NAME\n"
	      "names no registry host). Layers already fetched are not fetched again.\n"
	      "\n"
	      "Options:\n"
	      "      --platform OS/ARCH[/VARIANT]  the image of a multi-platform index to take\n"
	      "                                    (default: this machine's)\n"
	      "  -q, --quiet                       print only the image's full name\n"
	      "      --tls-verify=false            allow plain HTTP and unverified TLS\n",
	      out);
}

int cmd_pull(int argc, char **argv)
{
	static const struct option longs[] = {
		{"platform", required_argument, NULL, 'P'}, {"quiet", no_argument, NULL, 'q'},
		{"tls-verify", optional_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rl_pull_args a = {.tls_verify = true};
	struct rl_error err = {0};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'P': a.platform = optarg; break;
		case 'q': a.quiet = true; break;
		case 't':
			if (rl_bool_option("--tls-verify", optarg, &a.tls_verify, &err) < 0) {
				rl_error_print(&err, "rlbpf pull");
				return RL_EXIT_INTERNAL;
			}
			break;
		case 'h': pull_usage(stdout); return 0;
		default: return cli_bad_option("pull", c, argv);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rlbpf pull: give one image, as NAME[:TAG] or NAME@DIGEST; see 'rlbpf pull --help'\n");
		return RL_EXIT_INTERNAL;
	}
	a.ref = argv[optind];
	if (rl_pull(&a, stdout, &err) < 0) {
		rl_error_print(&err, "rlbpf pull");
		return RL_EXIT_INTERNAL;
	}
	return 0;
}

/* login and logout are the helper's whole: it prompts, checks and writes. */
static int exec_helper(const char *cmd, int argc, char **argv)
{
	char helper[PATH_MAX];
	struct rl_error err = {0};
	if (helper_path(helper, sizeof(helper), &err) < 0) {
		rl_error_print(&err, cmd);
		return 1;
	}
	/* argv[0] is the command's name: the helper's first argument */
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args)
		return 1;
	args[0] = helper;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	fflush(NULL);
	execv(helper, args);
	fprintf(stderr, "rlbpf %s: cannot run %s: %s\n", cmd, helper, strerror(errno));
	free(args);
	return 1;
}

int cmd_login(int argc, char **argv)
{
	return exec_helper("login", argc, argv);
}

int cmd_logout(int argc, char **argv)
{
	return exec_helper("logout", argc, argv);
}
