/* rlbpf load, images, rmi and tag: the image store's commands. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "lib/humantime.h"
#include "image/store.h"
#include "lib/memsize.h"

int cli_bad_option(const char *cmd, int c, char **argv)
{
	fprintf(stderr, "rlbpf %s: %s '%s'; see 'rlbpf %s --help'\n", cmd,
		c == ':' ? "missing value for" : "unknown option", argv[optind - 1], cmd);
	return RL_EXIT_INTERNAL;
}

static int flush_stdout(const char *cmd)
{
	if (fflush(stdout) != 0) {
		fprintf(stderr, "rlbpf %s: cannot write the output: %s\n", cmd, strerror(errno));
		return RL_EXIT_INTERNAL;
	}
	return 0;
}

/* ---- load */

static void load_usage(FILE *out)
{
	fputs("Usage: rlbpf load [OPTIONS]\n"
	      "\n"
	      "Load images from a 'docker save' archive or an OCI image layout (a directory,\n"
	      "or a tar of one, as skopeo and umoci make). Every blob is checked against its\n"
	      "digest; layers are applied in order with their whiteouts, inside a user\n"
	      "namespace, so that files keep their owners shifted into your subordinate\n"
	      "range. Archives that reach outside the image are refused, and nothing of them\n"
	      "stays.\n"
	      "\n"
	      "Options:\n"
	      "  -i, --input FILE   the archive or layout (default, or '-': stdin)\n"
	      "  -q, --quiet        print only the 'Loaded image' lines\n"
	      "  -h, --help         show this help\n",
	      out);
}

int cmd_load(int argc, char **argv)
{
	static const struct option longs[] = {
		{"input", required_argument, NULL, 'i'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *input = NULL;
	bool quiet = false;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:i:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'i': input = strcmp(optarg, "-") == 0 ? NULL : optarg; break;
		case 'q': quiet = true; break;
		case 'h': load_usage(stdout); return 0;
		default: return cli_bad_option("load", c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rlbpf load: unexpected argument '%s'; give the archive with -i FILE\n",
			argv[optind]);
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_store s;
	struct rl_loaded *loaded = NULL;
	size_t n = 0;
	if (rl_store_open(&s, &err) < 0 || rl_store_load(&s, input, &loaded, &n, &err) < 0) {
		rl_error_print(&err, "rlbpf load");
		return RL_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < loaded[i].n_tags; k++) {
			if (loaded[i].retagged_from[k] && !quiet)
				printf("The image %s already exists, renaming the old one with ID %s to empty string\n",
				       loaded[i].tags[k], loaded[i].retagged_from[k]);
			printf("Loaded image: %s\n", loaded[i].tags[k]);
		}
		if (loaded[i].n_tags == 0)
			printf("Loaded image ID: %s\n", loaded[i].id);
	}
	rl_loaded_free(loaded, n);
	return flush_stdout("load");
}

/* ---- images */

static void images_usage(FILE *out)
{
	fputs("Usage: rlbpf images [OPTIONS] [REPOSITORY[:TAG]]\n"
	      "\n"
	      "List the images in your store, newest first: one row per tag, untagged\n"
	      "images as <none>.\n"
	      "\n"
	      "Options:\n"
	      "  -q, --quiet          only the image IDs, each once\n"
	      "      --no-trunc       full image IDs\n"
	      "      --format json    one JSON object a line, as Docker prints them\n"
	      "  -h, --help           show this help\n",
	      out);
}

/* Docker's sizes: three significant digits, decimal units. */
static void human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	size_t u;
	double v = rl_size_scale(bytes, 1000, sizeof(units) / sizeof(units[0]), &u);
	snprintf(buf, len, "%.3g%s", v, units[u]);
}

struct image_row {
	char repo[512], tag[160], id[72], created[64], created_at[64], size[32];
};

static void split_tag(const char *name_tag, struct image_row *row)
{
	const char *tag = rl_ref_tag(name_tag);
	snprintf(row->repo, sizeof(row->repo), "%.*s", (int)(tag - name_tag - 1), name_tag);
	snprintf(row->tag, sizeof(row->tag), "%s", tag);
}

/* REPOSITORY or REPOSITORY:TAG, as `docker images` filters. */
static bool row_matches(const struct image_row *row, const char *filter_repo,
			const char *filter_tag)
{
	if (!filter_repo)
		return true;
	if (strcmp(row->repo, filter_repo) != 0)
		return false;
	return !filter_tag || strcmp(row->tag, filter_tag) == 0;
}

static void print_json_row(const struct image_row *row, bool untagged)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Containers",
			      "N/A", "CreatedAt", row->created_at, "CreatedSince", row->created,
			      "Digest", "<none>", "ID", row->id, "Repository",
			      untagged ? "<none>" : row->repo, "SharedSize", "N/A", "Size", row->size,
			      "Tag", untagged ? "<none>" : row->tag, "UniqueSize", "N/A",
			      "VirtualSize", row->size);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

int cmd_images(int argc, char **argv)
{
	static const struct option longs[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"no-trunc", no_argument, NULL, 'T'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool quiet = false, json = false, no_trunc = false;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'T': no_trunc = true; break;
		case 'h': images_usage(stdout); return 0;
		case 'F':
			if (strcmp(optarg, "json") != 0) {
				fprintf(stderr, "rlbpf images: unknown format '%s'; use --format json\n", optarg);
				return RL_EXIT_INTERNAL;
			}
			json = true;
			break;
		default: return cli_bad_option("images", c, argv);
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "rlbpf images: unexpected argument '%s'; give at most one REPOSITORY[:TAG]\n",
			argv[optind + 1]);
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	char filter[512], *filter_tag = NULL;
	const char *filter_repo = NULL;
	if (optind < argc) {
		const char *arg = argv[optind];
		const char *slash = strrchr(arg, '/'), *colon = strrchr(arg, ':');
		bool tagged = colon && (!slash || colon > slash);
		if (rl_ref_normalize(arg, filter, sizeof(filter), &err) < 0) {
			rl_error_print(&err, "rlbpf images");
			return RL_EXIT_INTERNAL;
		}
		char *t = (char *)rl_ref_tag(filter);
		t[-1] = '\0';
		filter_repo = filter;
		filter_tag = tagged ? t : NULL;
	}
	struct rl_store s;
	struct rl_store_image *v = NULL;
	size_t n = 0;
	if (rl_store_open(&s, &err) < 0 || rl_store_list(&s, &v, &n, &err) < 0) {
		rl_error_print(&err, "rlbpf images");
		return RL_EXIT_INTERNAL;
	}

	/* Rows first, so that the columns fit their contents as Docker's do. */
	struct image_row *rows = NULL;
	bool *untagged = NULL;
	size_t n_rows = 0, cap = 0;
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		struct image_row base = {0};
		snprintf(base.id, sizeof(base.id), "%s", no_trunc ? v[i].id : v[i].id + 7);
		if (!no_trunc)
			base.id[12] = '\0';
		if (v[i].created > 0) {
			char span[48];
			rl_human_duration(difftime(now, v[i].created), span, sizeof(span));
			snprintf(base.created, sizeof(base.created), "%s ago", span);
			struct tm tm;
			gmtime_r(&v[i].created, &tm);
			strftime(base.created_at, sizeof(base.created_at), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
		} else {
			snprintf(base.created, sizeof(base.created), "N/A");
		}
		human_size(v[i].size, base.size, sizeof(base.size));
		for (size_t k = 0; k < (v[i].n_tags ? v[i].n_tags : 1); k++) {
			struct image_row row = base;
			if (v[i].n_tags) {
				split_tag(v[i].tags[k], &row);
				if (!row_matches(&row, filter_repo, filter_tag))
					continue;
			} else {
				if (filter_repo)
					continue;
				snprintf(row.repo, sizeof(row.repo), "<none>");
				snprintf(row.tag, sizeof(row.tag), "<none>");
			}
			if (n_rows == cap) {
				cap = cap ? 2 * cap : 16;
				struct image_row *grown = realloc(rows, cap * sizeof(*rows));
				bool *grown_u = realloc(untagged, cap * sizeof(*untagged));
				if (grown)
					rows = grown;
				if (grown_u)
					untagged = grown_u;
				if (!grown || !grown_u) {
					fprintf(stderr, "rlbpf images: out of memory\n");
					free(rows);
					free(untagged);
					rl_store_list_free(v, n);
					return RL_EXIT_INTERNAL;
				}
			}
			untagged[n_rows] = v[i].n_tags == 0;
			rows[n_rows++] = row;
		}
	}
	rl_store_list_free(v, n);

	if (quiet) {
		for (size_t i = 0; i < n_rows; i++) {
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = strcmp(rows[k].id, rows[i].id) == 0;
			if (!seen)
				printf("%s\n", rows[i].id);
		}
	} else if (json) {
		for (size_t i = 0; i < n_rows; i++)
			print_json_row(&rows[i], untagged[i]);
	} else {
		int w_repo = (int)strlen("REPOSITORY"), w_tag = (int)strlen("TAG"),
		    w_id = (int)strlen("IMAGE ID"), w_created = (int)strlen("CREATED");
		for (size_t i = 0; i < n_rows; i++) {
			int l;
			if ((l = (int)strlen(rows[i].repo)) > w_repo)
				w_repo = l;
			if ((l = (int)strlen(rows[i].tag)) > w_tag)
				w_tag = l;
			if ((l = (int)strlen(rows[i].id)) > w_id)
				w_id = l;
			if ((l = (int)strlen(rows[i].created)) > w_created)
				w_created = l;
		}
		printf("%-*s   %-*s   %-*s   %-*s   %s\n", w_repo, "REPOSITORY", w_tag, "TAG", w_id,
		       "IMAGE ID", w_created, "CREATED", "SIZE");
		for (size_t i = 0; i < n_rows; i++)
			printf("%-*s   %-*s   %-*s   %-*s   %s\n", w_repo, rows[i].repo, w_tag,
			       rows[i].tag, w_id, rows[i].id, w_created, rows[i].created, rows[i].size);
	}
	free(rows);
	free(untagged);
	return flush_stdout("images");
}

/* ---- rmi */

static void rmi_usage(FILE *out)
{
	fputs("Usage: rlbpf rmi [OPTIONS] IMAGE [IMAGE...]\n"
	      "\n"
	      "Remove images. IMAGE is NAME[:TAG] (the tag is removed, and the image with its\n"
	      "last tag) or an ID prefix (the image, with all its tags: needs -f when it has\n"
	      "several). An image that a container (running or stopped) was made from is\n"
	      "kept while that container exists: removing its last tag needs -f, which\n"
	      "only untags it.\n"
	      "\n"
	      "Options:\n"
	      "  -f, --force   remove an ID with several tags; untag an image in use\n"
	      "  -h, --help    show this help\n",
	      out);
}

int cmd_rmi(int argc, char **argv)
{
	static const struct option longs[] = {
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool force = false;
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:fh", longs, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': rmi_usage(stdout); return 0;
		default: return cli_bad_option("rmi", c, argv);
		}
	}
	if (optind == argc) {
		fprintf(stderr, "rlbpf rmi: no image given; see 'rlbpf rmi --help'\n");
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_store s;
	if (rl_store_open(&s, &err) < 0) {
		rl_error_print(&err, "rlbpf rmi");
		return RL_EXIT_INTERNAL;
	}
	int code = 0;
	for (int i = optind; i < argc; i++) {
		err = (struct rl_error){0};
		if (rl_store_remove(&s, argv[i], force, stdout, &err) < 0) {
			fflush(stdout);
			rl_error_print(&err, "rlbpf rmi");
			code = RL_EXIT_INTERNAL;
		}
	}
	int r = flush_stdout("rmi");
	return code ? code : r;
}

/* ---- tag */

static void tag_usage(FILE *out)
{
	fputs("Usage: rlbpf tag SOURCE TARGET\n"
	      "\n"
	      "Name an image: SOURCE is NAME[:TAG] or an ID prefix, TARGET is NAME[:TAG]\n"
	      "(the tag defaults to latest). A TARGET that named another image moves.\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help   show this help\n",
	      out);
}

int cmd_tag(int argc, char **argv)
{
	static const struct option longs[] = {
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
		if (c == 'h') {
			tag_usage(stdout);
			return 0;
		}
		return cli_bad_option("tag", c, argv);
	}
	if (argc - optind != 2) {
		fprintf(stderr, "rlbpf tag: needs exactly SOURCE and TARGET; see 'rlbpf tag --help'\n");
		return RL_EXIT_INTERNAL;
	}
	struct rl_error err = {0};
	struct rl_store s;
	if (rl_store_open(&s, &err) < 0 ||
	    rl_store_tag(&s, argv[optind], argv[optind + 1], &err) < 0) {
		rl_error_print(&err, "rlbpf tag");
		return RL_EXIT_INTERNAL;
	}
	return 0;
}
