/* rlbpf run: from options to a running container and back to an exit code. */
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "commands.h"
#include "container.h"
#include "idmap.h"
#include "image.h"
#include "run_opts.h"
#include "seccomp.h"
#include "state.h"
#include "supervise.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct strv {
	char **v;
	size_t n;
};

static int strv_add(struct strv *s, char *owned)
{
	char **grown = realloc(s->v, (s->n + 2) * sizeof(*grown));
	if (!owned || !grown) {
		free(owned);
		if (grown)
			s->v = grown;
		return -ENOMEM;
	}
	s->v = grown;
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* -e KEY=VALUE replaces a default with the same KEY, as Docker. */
static int env_set(struct strv *env, const char *kv)
{
	size_t key = strcspn(kv, "=");
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], kv, key + 1) == 0) {
			char *copy = strdup(kv);
			if (!copy)
				return -ENOMEM;
			free(env->v[i]);
			env->v[i] = copy;
			return 0;
		}
	return strv_add(env, strdup(kv));
}

/* Docker's order: a default PATH, the image's Env, HOSTNAME, TERM for -t,
 * then -e, each replacing an earlier value of the same name. */
static int build_env(const struct rl_run_opts *o, const struct rl_image_config *image,
		     const char *hostname, struct strv *env)
{
	char *host = NULL;
	if (asprintf(&host, "HOSTNAME=%s", hostname) < 0)
		host = NULL;
	int r = strv_add(env, strdup("PATH=" DEFAULT_PATH));
	for (size_t i = 0; r == 0 && i < image->n_env; i++)
		r = env_set(env, image->env[i]);
	if (r == 0)
		r = env_set(env, host);
	free(host);
	if (r == 0 && o->tty)
		r = env_set(env, "TERM=xterm");
	for (size_t i = 0; r == 0 && i < o->n_env; i++)
		r = env_set(env, o->env[i]);
	return r;
}

/* The image's Entrypoint, then COMMAND if given, else the image's Cmd. */
static int build_argv(const struct rl_run_opts *o, const struct rl_image_config *image,
		      struct strv *argv)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < image->n_entrypoint; i++)
		r = strv_add(argv, strdup(image->entrypoint[i]));
	char *const *cmd = o->n_cmd ? o->cmd : image->cmd;
	size_t n = o->n_cmd ? o->n_cmd : image->n_cmd;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = strv_add(argv, strdup(cmd[i]));
	return r;
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The record later commands read (ps, inspect): Docker's names. */
static char *record_json(const struct rl_run_opts *o, const struct rl_state *st,
			 const struct rl_image *img, const struct strv *argv, const struct strv *env,
			 const char *hostname)
{
	char created[64];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(created + n, sizeof(created) - n, ".%09ldZ", now.tv_nsec);

	json_t *binds = json_array();
	for (size_t i = 0; binds && i < o->n_volumes; i++)
		json_array_append_new(binds, json_sprintf("%s:%s:%s", o->volumes[i].host,
							  o->volumes[i].container,
							  o->volumes[i].read_only ? "ro" : "rw"));
	json_t *security = json_array();
	if (security && o->no_new_privileges)
		json_array_append_new(security, json_string("no-new-privileges"));
	if (security && o->seccomp == RL_SECCOMP_UNCONFINED)
		json_array_append_new(security, json_string("seccomp=unconfined"));
	if (security && o->seccomp == RL_SECCOMP_PROFILE)
		json_array_append_new(security, json_sprintf("seccomp=%s", o->seccomp_profile));

	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:{s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:b},"
		" s:{s:o, s:b, s:b, s:o, s:o, s:o}}",
		"Id", st->id, "Name", st->name, "Created", created, "Image", img->ref,
		"Rootfs", img->rootfs, "Args", strv_json(argv->v, argv->n),
		"Config", "Cmd", strv_json(argv->v, argv->n), "Env", strv_json(env->v, env->n),
		"WorkingDir", o->workdir ? o->workdir : "", "User", o->user ? o->user : "",
		"Image", img->ref, "Hostname", hostname, "Tty", o->tty, "OpenStdin", o->interactive,
		"HostConfig", "Binds", binds, "ReadonlyRootfs", o->read_only, "AutoRemove", o->rm,
		"CapAdd", strv_json(o->cap_add, o->n_cap_add), "CapDrop",
		strv_json(o->cap_drop, o->n_cap_drop), "SecurityOpt", security);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	return text;
}

static void warn_single_map(void)
{
	struct passwd *pw = getpwuid(getuid());
	fprintf(stderr,
		"rlbpf run: no subordinate uid/gid range for %s in /etc/subuid or /etc/subgid (or no newuidmap): using a single-id map, only container uid 0 exists; 'rlbpf setup' shows the fix\n",
		pw ? pw->pw_name : "this user");
}

int cmd_run(int argc, char **argv)
{
	struct rl_run_opts o;
	struct rl_error err = {0};
	int r = rl_run_opts_parse(argc, argv, &o, &err);
	if (r == 1) {
		rl_run_usage(stdout);
		rl_run_opts_free(&o);
		return 0;
	}
	int code = RL_EXIT_INTERNAL;
	struct rl_seccomp *seccomp = NULL;
	struct strv env = {0}, cmd = {0};
	char *record = NULL;
	struct rl_state st = {0};
	bool have_state = false;
	struct rl_container c = {.pid = -1, .userns_fd = -1, .pty_master = -1};
	struct rl_image img = {0};
	struct rl_idmap idmap;
	uint64_t caps;
	if (r < 0)
		goto out;

	/* Everything that can be refused is checked before anything is made. */
	if ((r = rl_caps_resolve(o.cap_add, o.n_cap_add, o.cap_drop, o.n_cap_drop, &caps, &err)) < 0 ||
	    (r = rl_seccomp_build(o.seccomp, o.seccomp_profile, caps, &seccomp, &err)) < 0 ||
	    (r = rl_image_resolve(o.image, &img, &err)) < 0 || (r = rl_idmap_plan(&idmap, &err)) < 0)
		goto out;
	if ((r = build_argv(&o, &img.config, &cmd)) < 0) {
		rl_fail(&err, ENOMEM, "out of memory");
		goto out;
	}
	if (cmd.n == 0) {
		r = rl_fail(&err, EINVAL, "no command given and %s has no default; add COMMAND after it",
			    img.ref);
		goto out;
	}
	if (idmap.single)
		warn_single_map();

	if ((r = rl_state_create(o.name, &st, &err)) < 0)
		goto out;
	have_state = true;
	char short_id[13];
	snprintf(short_id, sizeof(short_id), "%.12s", st.id);
	const char *hostname = o.hostname ? o.hostname : short_id;
	if ((r = build_env(&o, &img.config, hostname, &env)) < 0) {
		rl_fail(&err, ENOMEM, "out of memory");
		goto out;
	}
	record = record_json(&o, &st, &img, &cmd, &env, hostname);
	if (!record) {
		r = rl_fail(&err, ENOMEM, "cannot build the container's record");
		goto out;
	}
	if ((r = rl_state_write_etc(&st, hostname, &err)) < 0 ||
	    (r = rl_state_record(&st, record, &err)) < 0)
		goto out;

	struct rl_container_spec spec = {
		.opts = &o,
		.idmap = &idmap,
		.mounts = {.lower = img.rootfs, .state_dir = st.dir, .volumes = o.volumes,
			   .n_volumes = o.n_volumes, .read_only = o.read_only,
			   .tty_group = !idmap.single && idmap.subgid.count >= 5,
			   .discard_upper = o.rm},
		.hostname = hostname,
		.user = o.user ? o.user : img.config.user,
		.workdir = o.workdir ? o.workdir : img.config.workdir,
		.env = env.v,
		.argv = cmd.v,
		.caps = caps,
		.seccomp = seccomp,
	};
	sigset_t handled, old;
	rl_supervise_signals(&handled);
	sigprocmask(SIG_BLOCK, &handled, &old);
	r = rl_container_start(&spec, &c, &err);
	if (r < 0) {
		code = c.exit_code;
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	code = rl_supervise(c.pid, c.pty_master, o.interactive);
	sigprocmask(SIG_SETMASK, &old, NULL);
	r = 0;
out:
	if (r < 0)
		rl_error_print(&err, "rlbpf run");
	/* A failed start leaves nothing; a finished one stays unless --rm. */
	if (have_state && (r < 0 || o.rm)) {
		struct rl_error rm_err = {0};
		if (rl_state_remove(&st, c.userns_fd, &rm_err) < 0)
			rl_error_print(&rm_err, "rlbpf run");
	}
	if (c.userns_fd >= 0)
		close(c.userns_fd);
	if (c.pty_master >= 0)
		close(c.pty_master);
	rl_seccomp_free(seccomp);
	rl_image_free(&img);
	free(record);
	strv_free(&env);
	strv_free(&cmd);
	rl_run_opts_free(&o);
	return code;
}
