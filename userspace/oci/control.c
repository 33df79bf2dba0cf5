/* pause, resume and update (control.h). */
#include "oci/control.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/memsize.h"
#include "oci/cgroups.h"
#include "oci/state.h"

/* The container named by the one argument left, loaded, and its status
 * (not stopped); else 1 with err set. */
static int load_one(const char *root, int argc, char **argv, struct rl_oci_state *st,
		    enum rl_oci_status *status, struct rl_error *err)
{
	if (optind != argc - 1)
		return rl_fail(err, EINVAL, "%s: requires exactly one container id", argv[0]), 1;
	if (rl_oci_state_load(root, argv[optind], st, err) < 0)
		return 1;
	if ((*status = rl_oci_status_of(st)) == RL_OCI_STOPPED) {
		rl_oci_state_free(st);
		return rl_fail(err, ESRCH, "container not running"), 1;
	}
	return 0;
}

static int pause_or_resume(const char *root, int argc, char **argv, bool pause,
			   struct rl_error *err)
{
	struct rl_oci_state st;
	enum rl_oci_status status;
	optind = 1;
	if (load_one(root, argc, argv, &st, &status, err))
		return 1;
	int r = 0;
	if (pause && status != RL_OCI_RUNNING)
		r = rl_fail(err, EINVAL, "container not running: it is %s", rl_oci_status_name(status));
	else if (!pause && status != RL_OCI_PAUSED)
		r = rl_fail(err, EINVAL, "container not paused: it is %s", rl_oci_status_name(status));
	else
		r = rl_oci_cgroups_freeze(st.cgroups, pause, err);
	rl_oci_state_free(&st);
	return r < 0;
}

int rl_oci_cmd_pause(const char *root, int argc, char **argv, struct rl_error *err)
{
	return pause_or_resume(root, argc, argv, true, err);
}

int rl_oci_cmd_resume(const char *root, int argc, char **argv, struct rl_error *err)
{
	return pause_or_resume(root, argc, argv, false, err);
}

/* --resources FILE, or - for stdin: linux.resources' shape. */
static json_t *read_resources(const char *from, struct rl_error *err)
{
	json_error_t je;
	json_t *res = strcmp(from, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
					     : json_load_file(from, JSON_REJECT_DUPLICATES, &je);
	if (!res)
		return rl_fail(err, EINVAL, "--resources %s: %s (line %d)", from, je.text, je.line), NULL;
	if (!json_is_object(res)) {
		json_decref(res);
		return rl_fail(err, EINVAL, "--resources %s: expected a JSON object, as linux.resources "
			       "in config.json", from), NULL;
	}
	return res;
}

/* A flag's whole number into res.group.key; memory sizes take k/m/g. */
static int set_number(json_t *res, const char *group, const char *key, const char *flag,
		      const char *text, bool size, struct rl_error *err)
{
	uint64_t v;
	if (size && strcmp(text, "-1") == 0) {
		v = (uint64_t)-1; /* runc's "unlimited" */
	} else if (size) {
		/* its message names --memory */
		if (rl_memsize_parse(text, 0, &v, err) < 0)
			return strcmp(flag, "memory") ? rl_fail(err, EINVAL, "--%s: %s", flag, err->msg) : -EINVAL;
	} else {
		char *end;
		errno = 0;
		long long n = strtoll(text, &end, 10);
		if (*text == '\0' || *end || errno || n < -1)
			return rl_fail(err, EINVAL, "--%s takes a whole number, not %s", flag, text);
		v = (uint64_t)n;
	}
	json_t *g = json_object_get(res, group);
	if (!g)
		json_object_set_new(res, group, g = json_object());
	return json_object_set_new(g, key, json_integer(v == (uint64_t)-1 ? -1 : (json_int_t)v)) < 0
		       ? rl_fail(err, ENOMEM, "out of memory") : 0;
}

int rl_oci_cmd_update(const char *root, int argc, char **argv, struct rl_error *err)
{
	static const struct option longopts[] = {
		{"resources", required_argument, NULL, 'r'},
		{"memory", required_argument, NULL, 'm'},
		{"memory-swap", required_argument, NULL, 's'},
		{"memory-reservation", required_argument, NULL, 'R'},
		{"pids-limit", required_argument, NULL, 'p'},
		{"cpu-quota", required_argument, NULL, 'q'},
		{"cpu-period", required_argument, NULL, 'P'},
		{"cpu-shares", required_argument, NULL, 'S'},
		{"cpuset-cpus", required_argument, NULL, 'c'},
		{"cpuset-mems", required_argument, NULL, 'M'},
		{0},
	};
	json_t *res = NULL, *flags = json_object();
	int c, r = 0;
	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "+r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			json_decref(res);
			r = (res = read_resources(optarg, err)) ? 0 : -1;
			break;
		case 'm': r = set_number(flags, "memory", "limit", "memory", optarg, true, err); break;
		case 's': r = set_number(flags, "memory", "swap", "memory-swap", optarg, true, err); break;
		case 'R': r = set_number(flags, "memory", "reservation", "memory-reservation", optarg, true, err); break;
		case 'p': r = set_number(flags, "pids", "limit", "pids-limit", optarg, false, err); break;
		case 'q': r = set_number(flags, "cpu", "quota", "cpu-quota", optarg, false, err); break;
		case 'P': r = set_number(flags, "cpu", "period", "cpu-period", optarg, false, err); break;
		case 'S': r = set_number(flags, "cpu", "shares", "cpu-shares", optarg, false, err); break;
		case 'c':
		case 'M': {
			json_t *cpu = json_object_get(flags, "cpu");
			if (!cpu)
				json_object_set_new(flags, "cpu", cpu = json_object());
			json_object_set_new(cpu, c == 'c' ? "cpus" : "mems", json_string(optarg));
			break;
		}
		default:
			r = rl_fail(err, EINVAL, "update: unknown option; see 'rlbpf-runtime update --help'");
		}
	}
	if (r == 0 && !res && !json_object_size(flags))
		r = rl_fail(err, EINVAL, "update: nothing to change; give --resources FILE (- for "
			    "stdin) or a flag such as --memory or --pids-limit");
	if (r < 0) {
		json_decref(res);
		json_decref(flags);
		return 1;
	}
	if (!res)
		res = json_object();
	/* flags win over the file, as runc's do */
	const char *k;
	json_t *v;
	json_object_foreach(flags, k, v) {
		json_t *g = json_object_get(res, k);
		if (json_is_object(g))
			json_object_update(g, v);
		else
			json_object_set(res, k, v);
	}
	json_decref(flags);
	struct rl_oci_state st;
	enum rl_oci_status status;
	if (load_one(root, argc, argv, &st, &status, err)) {
		json_decref(res);
		return 1;
	}
	if (st.cgroups)
		r = rl_oci_cgroups_update(st.cgroups, res, err);
	else if (st.agent_limits)
		r = rl_fail(err, EOPNOTSUPP, "update: this container's limits are kept by rlbpfd, which "
			    "takes them when the container starts; recreate it with the new limits");
	else
		r = rl_fail(err, EOPNOTSUPP, "update: this container has no cgroups of its own "
			    "(rlbpf-runtime makes them as the host's root, at linux.cgroupsPath)");
	json_decref(res);
	rl_oci_state_free(&st);
	return r < 0;
}
