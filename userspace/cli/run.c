/* rlbpf run: from options to a running container and back to an exit code. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "lib/cleanup.h"
#include "cli/commands.h"
#include "cli/pull.h"
#include "runtime/cgroup2.h"
#include "runtime/container.h"
#include "runtime/idmap.h"
#include "image/image.h"
#include "runtime/run_opts.h"
#include "runtime/seccomp.h"
#include "lib/spawn.h"
#include "supervise/attach_socket.h"
#include "supervise/state.h"
#include "supervise/state_watch.h"
#include "supervise/status.h"
#include "supervise/supervise.h"
#include "supervise/trace_register.h"
#include "supervise/detach.h"
#include "lib/fsutil.h"
#include "supervise/logfile.h"
#include "net/network.h"
#include "net/portfwd.h"
#include "lib/userdb.h"

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

/* The image's Entrypoint, then COMMAND if given, else the image's Cmd.
 * --entrypoint replaces the first and, as in Docker, drops the image's Cmd:
 * it was written for the image's own entrypoint. */
static int build_argv(const struct rl_run_opts *o, const struct rl_image_config *image,
		      struct strv *argv)
{
	int r = 0;
	if (o->entrypoint && o->entrypoint[0])
		r = strv_add(argv, strdup(o->entrypoint));
	for (size_t i = 0; !o->entrypoint && r == 0 && i < image->n_entrypoint; i++)
		r = strv_add(argv, strdup(image->entrypoint[i]));
	bool own = o->n_cmd || o->entrypoint;
	char *const *cmd = own ? o->cmd : image->cmd;
	size_t n = own ? o->n_cmd : image->n_cmd;
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

/* The record later commands read (ps, inspect, exec, restart), in Docker's
 * names; RunArgs are the `run` arguments, parsed again by exec and restart
 * so that they apply the very same options. */
static char *record_json(const struct rl_run_opts *o, const struct rl_state *st,
			 const struct rl_image *img, const struct strv *argv, const struct strv *env,
			 const char *hostname, int n_args, char **args)
{
	char created[40];
	rl_now_rfc3339(created, sizeof(created));
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
	const char *user = o->user ? o->user : img->config.user;
	const char *workdir = o->workdir ? o->workdir : img->config.workdir;
	/* Docker's shapes: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} */
	json_t *ports = json_object();
	for (size_t i = 0; ports && i < o->n_ports; i++) {
		const struct rl_port *p = &o->ports[i];
		char key[16], host_port[8];
		snprintf(key, sizeof(key), "%u/%s", p->ctr_port, rl_port_proto_name(p->proto));
		snprintf(host_port, sizeof(host_port), "%u", p->host_port);
		json_t *list = json_object_get(ports, key);
		if (!list)
			json_object_set_new(ports, key, list = json_array());
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", p->host_ip, "HostPort",
						      host_port));
	}

	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o,"
		" s:{s:o, s:o, s:s, s:s, s:s, s:s, s:b, s:b},"
		" s:{s:I, s:I, s:I, s:o, s:o, s:s, s:b, s:b, s:b, s:o, s:o, s:o},"
		" s:{s:s, s:s, s:s}}",
		"Id", st->id, "Name", st->name, "Created", created, "Image", img->ref, "ImageID",
		img->id, "Rootfs", img->rootfs, "Path", argv->v[0],
		"Args", strv_json(argv->v + 1, argv->n - 1), "RunArgs", strv_json(args, (size_t)n_args),
		"Config", "Cmd", strv_json(argv->v, argv->n), "Env", strv_json(env->v, env->n),
		"WorkingDir", workdir ? workdir : "", "User", user ? user : "", "Image", img->ref,
		"Hostname", hostname, "Tty", o->tty, "OpenStdin", o->interactive,
		"HostConfig", "Memory", (json_int_t)o->limits.memory, "PidsLimit",
		(json_int_t)o->limits.pids_limit, "NanoCpus", (json_int_t)o->limits.nano_cpus,
		"Binds", binds, "PortBindings", ports ? ports : json_object(),
		"NetworkMode", rl_network_name(o->network), "AllowHostLoopback",
		o->allow_host_loopback, "ReadonlyRootfs", o->read_only, "AutoRemove", o->rm,
		"CapAdd", strv_json(o->cap_add, o->n_cap_add), "CapDrop",
		strv_json(o->cap_drop, o->n_cap_drop), "SecurityOpt", security,
		"Enforcement", "Memory", o->limits.memory ? rl_limits_enforcer(&o->limits) : "",
		"Pids", o->limits.pids_limit ? rl_limits_enforcer(&o->limits) : "", "Cpu", "");
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	return text;
}

static void warn_single_map(void)
{
	char name[64];
	if (rl_userdb_lookup(getuid(), name, sizeof(name), NULL, 0) < 0)
		snprintf(name, sizeof(name), "this user");
	fprintf(stderr,
		"rlbpf run: no subordinate uid/gid range for %s in /etc/subuid or /etc/subgid (or no newuidmap): using a single-id map, only container uid 0 exists; 'rlbpf setup' shows the fix\n",
		name);
}

/* Everything one start of a container needs, checked before anything is
 * made, then the state it was given. */
struct launch {
	struct rl_run_opts o;
	uint64_t caps;
	struct rl_seccomp *seccomp;
	struct rl_image img;
	struct rl_idmap idmap;
	struct strv env, cmd;
	struct rl_state st;
	bool have_state, fresh_state;
	char short_id[13];
	const char *hostname;
	struct rl_container c;
	int lock_fd;   /* the container's lock, held while it is ours to start */
	int exit_code; /* what the CLI exits with when the start fails */
	bool quiet;    /* restart: the caller prints what it wants */
	int *port_fds; /* listening, one for each -p, from before the start */
	char cgroup_parent[PATH_MAX]; /* where its cgroup goes, with by_cgroup2 */
	struct rl_trace_registration *registration; /* asked, not yet answered */
};

static void close_ports(struct launch *l)
{
	for (size_t i = 0; l->port_fds && i < l->o.n_ports; i++)
		if (l->port_fds[i] >= 0)
			close(l->port_fds[i]);
	free(RL_TAKE(l->port_fds));
}

static void launch_free(struct launch *l)
{
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	close_ports(l);
	rl_slirp_stop(&l->c.slirp);
	if (l->c.userns_fd >= 0)
		close(l->c.userns_fd);
	if (l->c.netns_fd >= 0)
		close(l->c.netns_fd);
	if (l->c.pty_master >= 0)
		close(l->c.pty_master);
	rl_seccomp_free(l->seccomp);
	rl_image_free(&l->img);
	strv_free(&l->env);
	strv_free(&l->cmd);
	rl_run_opts_free(&l->o);
}

/* The `run` arguments as exec and restart will parse them again, pinned to
 * what they meant at run time: a rootfs path made absolute, and a seccomp
 * profile copied into the state directory (the file given may change, or
 * sit on a volume the container can write). */
static int pinned_args(struct launch *l, int argc, char **argv, char ***out, char **profile_arg,
		       struct rl_error *err)
{
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return rl_fail(err, ENOMEM, "out of memory");
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	*out = args;
	if (strchr(l->o.image, '/') && l->o.image_arg > 0 && l->o.image_arg < argc)
		args[l->o.image_arg] = l->img.rootfs;
	if (l->o.seccomp != RL_SECCOMP_PROFILE)
		return 0;
	char copy[PATH_MAX + 16];
	snprintf(copy, sizeof(copy), "%s/seccomp.json", l->st.dir);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	_cleanup_fclose_ FILE *f = fopen(l->o.seccomp_profile, "re");
	if (!f || getdelim(&text, &len, '\0', f) < 0)
		return rl_fail_errno(err, errno, "cannot read seccomp profile %s", l->o.seccomp_profile);
	int r = rl_write_file(copy, text, strlen(text), 0600, err);
	if (r < 0)
		return r;
	/* One string serves both spellings: --security-opt=seccomp=COPY, and
	 * seccomp=COPY after a separate --security-opt. */
	static const char joined[] = "--security-opt=";
	if (asprintf(profile_arg, "%sseccomp=%s", joined, copy) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	for (int i = 1; i < l->o.image_arg && i < argc; i++) {
		const char *a = args[i];
		if (strncmp(a, "--security-opt=seccomp", 22) == 0 && !strstr(a, "unconfined"))
			args[i] = *profile_arg;
		else if (strcmp(a, "--security-opt") == 0 && i + 1 < argc &&
			 strncmp(args[i + 1], "seccomp", 7) == 0 && !strstr(args[i + 1], "unconfined"))
			args[i + 1] = *profile_arg + strlen(joined);
	}
	return 0;
}

/* Parses `run` arguments and prepares the container: a new state directory,
 * or the given one (restart). Returns 1 for --help. */
/* A delegated cgroup v2 keeps --memory and --pids-limit in the kernel's
 * own terms; without one, rlbpfd does (and is asked at the start). */
static void choose_enforcer(struct launch *l)
{
	struct rl_limits *lim = &l->o.limits;
	if (!rl_limits_enforced(lim) || lim->enforce == RL_CHOOSE_EBPF)
		return;
	struct rl_cgroup2_limits want = {.memory = lim->memory, .pids = lim->pids_limit};
	char why[256];
	if (rl_cgroup2_find_parent(&want, l->cgroup_parent, sizeof(l->cgroup_parent), why,
				   sizeof(why)) == 0)
		lim->by_cgroup2 = true;
	/* else rlbpfd makes cgroups (or, without --memory-enforce=cgroup,
	 * keeps an eBPF cap): it says which when the container registers */
}

/* The image, pulled first as --pull says (Docker's default: when it is
 * missing). A restart takes what it ran before and never pulls. */
static int image_for(const struct rl_run_opts *o, bool again, struct rl_image *img, struct rl_error *err)
{
	struct rl_pull_args pull = {.ref = o->image, .platform = o->platform, .tls_verify = !o->tls_insecure};
	bool pullable = !again && !rl_image_ref_is_directory(o->image) && o->pull != RL_PULL_NEVER;
	int r;
	if (pullable && o->pull == RL_PULL_ALWAYS && (r = rl_pull(&pull, stderr, err)) < 0)
		return r;
	r = rl_image_resolve(o->image, img, err);
	if (r != -ENOENT || !pullable || o->pull == RL_PULL_ALWAYS)
		return r;
	fprintf(stderr, "Unable to find image '%s' locally\n", o->image);
	if ((r = rl_pull(&pull, stderr, err)) < 0)
		return r;
	return rl_image_resolve(o->image, img, err);
}

static int launch_prepare(struct launch *l, int argc, char **argv, const struct rl_state *existing,
			  struct rl_error *err)
{
	*l = (struct launch){.c = {.pid = -1, .userns_fd = -1, .netns_fd = -1, .pty_master = -1,
				   .slirp = {.pid = -1, .exit_fd = -1}},
			     .exit_code = RL_EXIT_INTERNAL};
	int r = rl_run_opts_parse(argc, argv, &l->o, err);
	if (r != 0)
		return r;
	struct rl_run_opts *o = &l->o;
	if ((r = rl_caps_resolve(o->cap_add, o->n_cap_add, o->cap_drop, o->n_cap_drop, &l->caps,
				 err)) < 0 ||
	    (r = rl_seccomp_build(o->seccomp, o->seccomp_profile, l->caps, &l->seccomp, err)) < 0 ||
	    (r = image_for(o, existing != NULL, &l->img, err)) < 0 ||
	    (r = rl_idmap_plan(&l->idmap, err)) < 0)
		return r;
	if (build_argv(o, &l->img.config, &l->cmd) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	if (l->cmd.n == 0)
		return rl_fail(err, EINVAL, "no command given and %s has no default; add COMMAND after it",
			       l->img.ref);
	if (l->idmap.single && !existing)
		warn_single_map();
	if (o->network == RL_NET_DEFAULT) {
		char note[512];
		o->network = rl_network_default(note, sizeof(note));
		if (note[0] && !existing)
			fprintf(stderr, "rlbpf run: %s\n", note);
	} else if (o->network == RL_NET_SLIRP) {
		/* Asked for by name: say now why it cannot be, before anything is made. */
		char why[384];
		rl_slirp_unusable(why, sizeof(why));
		if (why[0])
			return rl_fail(err, ENOTSUP, "--network slirp4netns: %s; or use --network none",
				       why);
	}
	choose_enforcer(l);
	/* The host ports first: a port that cannot be had stops the run
	 * before anything is made. */
	if (o->n_ports) {
		if (!(l->port_fds = calloc(o->n_ports, sizeof(int))))
			return rl_fail(err, ENOMEM, "out of memory");
		if ((r = rl_ports_listen(o->ports, o->n_ports, l->port_fds, err)) < 0) {
			free(RL_TAKE(l->port_fds));
			return r;
		}
	}

	if (existing) {
		l->st = *existing;
	} else {
		if ((r = rl_state_create(o->name, &l->st, err)) < 0)
			return r;
		l->fresh_state = true;
	}
	l->have_state = true;
	/* A restart that lost the race to another start stops here. */
	if ((l->lock_fd = rl_state_lock(&l->st, err)) < 0) {
		l->have_state = l->fresh_state;
		return l->lock_fd;
	}
	snprintf(l->short_id, sizeof(l->short_id), "%.12s", l->st.id);
	l->hostname = o->hostname ? o->hostname : l->short_id;
	if (build_env(o, &l->img.config, l->hostname, &l->env) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	if (existing)
		return 0;
	_cleanup_free_ char **args = NULL;
	_cleanup_free_ char *profile_arg = NULL;
	if ((r = pinned_args(l, argc, argv, &args, &profile_arg, err)) < 0)
		return r;
	_cleanup_free_ char *record = record_json(o, &l->st, &l->img, &l->cmd, &l->env,
						  l->hostname, argc - 1, args + 1);
	if (!record)
		return rl_fail(err, ENOMEM, "cannot build the container's record");
	if ((r = rl_state_write_etc(&l->st, l->hostname, err)) < 0 ||
	    (r = rl_network_write_etc(l->st.dir, o->network, err)) < 0)
		return r;
	return rl_state_record(&l->st, record, err);
}

/* The record's Rlbpf.Enforcement once the agent has said who keeps the
 * limits (written before the start, when only the run's own choice was
 * known). */
static void record_enforcement(struct launch *l)
{
	const struct rl_limits *lim = &l->o.limits;
	const char *by = rl_limits_enforcer(lim);
	const char *cpu = rl_limits_cpu_enforcer(lim);
	json_t *doc = NULL;
	struct rl_error ignored;
	if ((!by[0] && !cpu[0]) || rl_state_config(&l->st, &doc, &ignored) < 0)
		return;
	json_t *enf = json_object_get(doc, "Enforcement");
	const char *was = json_string_value(json_object_get(enf, lim->memory ? "Memory" : "Pids"));
	const char *was_cpu = json_string_value(json_object_get(enf, "Cpu"));
	if (json_is_object(enf) && (!was || strcmp(was, by) != 0 || !was_cpu || strcmp(was_cpu, cpu) != 0)) {
		json_object_set_new(enf, "Memory", json_string(lim->memory ? by : ""));
		json_object_set_new(enf, "Pids", json_string(lim->pids_limit ? by : ""));
		json_object_set_new(enf, "Cpu", json_string(cpu));
		_cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2));
		if (text)
			rl_state_record(&l->st, text, &ignored);
	}
	json_decref(doc);
}

/* Tracing, and the limits, start before the command does; the run goes on
 * without tracing if the agent is away, but never without its limits. */
static int register_with_agent(pid_t pid, int userns_fd, void *ctx, struct rl_error *err)
{
	struct launch *l = ctx;
	if (l->o.limits.by_cgroup2) {
		struct rl_cgroup2_limits lim = {.memory = l->o.limits.memory,
						.pids = l->o.limits.pids_limit};
		int r = rl_cgroup2_enter(l->cgroup_parent, l->st.id, &lim, pid, l->st.dir, err);
		if (r < 0)
			return r;
	}
	return rl_trace_register_send(&l->st, pid, userns_fd, &l->o.limits, &l->registration, err);
}

static int registered_with_agent(void *ctx, struct rl_error *err)
{
	struct launch *l = ctx;
	int r = rl_trace_register_wait(RL_TAKE(l->registration), &l->o.limits, err);
	if (r == 0)
		record_enforcement(l);
	return r;
}

static int launch_start(struct launch *l, int in_fd, int out_fd, int err_fd, struct rl_error *err)
{
	struct rl_container_spec spec = {
		.opts = &l->o,
		.idmap = &l->idmap,
		.mounts = {.lower = l->img.rootfs, .state_dir = l->st.dir,
			   .volumes = l->o.volumes, .n_volumes = l->o.n_volumes,
			   .read_only = l->o.read_only,
			   .tty_group = !l->idmap.single && l->idmap.subgid.count >= 5,
			   .discard_upper = l->o.rm},
		.hostname = l->hostname,
		.user = l->o.user ? l->o.user : l->img.config.user,
		.workdir = l->o.workdir ? l->o.workdir : l->img.config.workdir,
		.env = l->env.v,
		.argv = l->cmd.v,
		.caps = l->caps,
		.seccomp = l->seccomp,
		.stdin_fd = in_fd,
		.stdout_fd = out_fd,
		.stderr_fd = err_fd,
		.on_created = register_with_agent,
		.before_exec = registered_with_agent,
		.hooks_ctx = l,
	};
	int r = rl_container_start(&spec, &l->c, err);
	if (r < 0) {
		l->exit_code = l->c.exit_code;
		return r;
	}
	struct rl_status status = {.state = RL_RUNNING, .pid = l->c.pid,
				   .pid_start = rl_proc_start_time(l->c.pid), .supervisor = getpid(),
				   .sup_start = rl_proc_start_time(getpid())};
	rl_now_rfc3339(status.started_at, sizeof(status.started_at));
	struct rl_error ignored;
	/* The container runs even if the record cannot be written. */
	rl_status_write(&l->st, &status, &ignored);
	return 0;
}

static void launch_finish(struct launch *l, int code)
{
	/* SIGKILL is what a container past its memory cap dies of */
	bool oom = rl_cgroup2_finish(l->st.dir);
	/* under a kernel cgroup the OOM killer may end any task, not PID 1:
	 * OOMKilled as Docker says it, whatever the exit code (not asked of
	 * the agent with --rm, whose record goes at once) */
	rl_status_record_exit(&l->st, code,
			      oom || (!l->o.rm && rl_trace_oom_killed(l->st.id)));
}

/* A start that failed leaves nothing it made; --rm leaves nothing at all. */
static void launch_cleanup(struct launch *l, bool failed)
{
	if (!l->have_state)
		return;
	rl_cgroup2_finish(l->st.dir); /* a start that failed after making it */
	if (!(l->o.rm || (failed && l->fresh_state)))
		return;
	struct rl_error err = {0};
	if (rl_state_remove(&l->st, l->c.userns_fd, &err) < 0)
		rl_error_print(&err, "rlbpf run");
}

/* The published ports, served from now on by this process; the accepted
 * clients are logged in STATE/ports.log. */
static int start_portfwd(struct launch *l, struct rl_portfwd **pf, struct rl_error *err)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/ports.log", l->st.dir);
	int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	/* The forwarder owns what it is given, even when it fails. */
	int r = rl_portfwd_new(fcntl(l->c.userns_fd, F_DUPFD_CLOEXEC, 3), RL_TAKE_FD(l->c.netns_fd),
			       logfd, l->o.ports, l->port_fds, l->o.n_ports, pf, err);
	free(RL_TAKE(l->port_fds));
	return r;
}

static int run_foreground(struct launch *l, struct rl_error *err)
{
	sigset_t handled, old;
	rl_supervise_signals(&handled);
	sigprocmask(SIG_BLOCK, &handled, &old);
	int r = launch_start(l, -1, -1, -1, err);
	struct rl_portfwd *pf = NULL;
	if (r == 0 && l->o.n_ports)
		r = start_portfwd(l, &pf, err);
	if (r < 0 && l->c.pid > 0) {
		kill(l->c.pid, SIGKILL);
		waitpid(l->c.pid, NULL, 0);
		l->exit_code = RL_EXIT_INTERNAL;
	} else if (r == 0) {
		struct rl_poll_hook hook = pf ? rl_portfwd_hook(pf) : (struct rl_poll_hook){0};
		l->exit_code = rl_supervise(l->c.pid, l->c.pty_master, l->o.interactive,
					    pf ? &hook : NULL);
		rl_portfwd_free(pf);
		rl_slirp_stop(&l->c.slirp);
		launch_finish(l, l->exit_code);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* What the detached supervisor tells `run -d` once the container has
 * reached exec, or has failed to. */
struct start_report {
	int ok;
	int exit_code;
	char msg[sizeof(((struct rl_error *)0)->msg)];
};

static void null_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; null >= 0 && fd < 3; fd++)
		dup2(null, fd);
	if (null > 2)
		close(null);
}

/* Replaces this process with rlbpf-monitor, which keeps the container as
 * its child and needs a fraction of the memory; returns only if it cannot. */
static void become_monitor(struct launch *l, const struct rl_detached_io *io)
{
	char path[PATH_MAX];
	struct rl_error ignored;
	if (rl_libexec_path("rlbpf-monitor", path, sizeof(path), &ignored) < 0)
		return;
	/* The lock goes along too: the monitor holds it until the end. */
	int fds[] = {l->lock_fd, io->out_fd, io->err_fd, l->c.pty_master, io->logfd, l->c.userns_fd,
		     l->c.slirp.exit_fd, l->c.netns_fd, io->stdin_fd, io->attach_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0 && fcntl(fds[i], F_SETFD, 0) < 0)
			return;
	for (size_t i = 0; l->port_fds && i < l->o.n_ports; i++)
		if (fcntl(l->port_fds[i], F_SETFD, 0) < 0)
			return;
	char args[7][16];
	int vals[7] = {l->c.pid, io->out_fd, io->err_fd, l->c.pty_master, io->logfd, l->c.userns_fd,
		       l->o.rm};
	for (int i = 0; i < 7; i++)
		snprintf(args[i], sizeof(args[i]), "%d", vals[i]);
	/* Then slirp=PID:FD, netns=FD, stdin=FD, attach=FD, and
	 * PROTO/CTRPORT=FD for each listening port. */
	size_t n = 9 + 4 + l->o.n_ports + 1;
	_cleanup_free_ char **argv = calloc(n, sizeof(*argv));
	_cleanup_free_ char *extra = calloc(4 + l->o.n_ports, 40);
	if (!argv || !extra)
		return;
	char *argv0[] = {path, l->st.dir, args[0], args[1], args[2], args[3], args[4], args[5], args[6]};
	memcpy(argv, argv0, sizeof(argv0));
	size_t a = 9;
	if (l->c.slirp.pid > 0) {
		snprintf(extra, 40, "slirp=%d:%d", (int)l->c.slirp.pid, l->c.slirp.exit_fd);
		argv[a++] = extra;
	}
	if (l->c.netns_fd >= 0 && l->o.n_ports) {
		snprintf(extra + 40, 40, "netns=%d", l->c.netns_fd);
		argv[a++] = extra + 40;
	}
	if (io->stdin_fd >= 0) {
		snprintf(extra + 80, 40, "stdin=%d", io->stdin_fd);
		argv[a++] = extra + 80;
	}
	if (io->attach_fd >= 0) {
		snprintf(extra + 120, 40, "attach=%d", io->attach_fd);
		argv[a++] = extra + 120;
	}
	for (size_t i = 0; l->port_fds && i < l->o.n_ports; i++) {
		char *s = extra + 40 * (i + 4);
		snprintf(s, 40, "%s/%u=%d", rl_port_proto_name(l->o.ports[i].proto),
			 l->o.ports[i].ctr_port, l->port_fds[i]);
		argv[a++] = s;
	}
	argv[a] = NULL;
	char *envp[] = {NULL};
	execve(path, argv, envp);
}

/* The supervisor's life: start, report, log, record the end. */
static int supervise_detached(struct launch *l, int ready)
{
	struct rl_error err = {0};
	char log_path[PATH_MAX + 16];
	snprintf(log_path, sizeof(log_path), "%s/container.log", l->st.dir);
	_cleanup_close_ int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int out[2] = {-1, -1}, errs[2] = {-1, -1}, in[2] = {-1, -1};
	int r = logfd < 0 ? rl_fail_errno(&err, errno, "cannot open the log %s", log_path) : 0;
	if (r == 0 && (pipe2(out, O_CLOEXEC) < 0 || pipe2(errs, O_CLOEXEC) < 0))
		r = rl_fail_errno(&err, errno, "cannot create the output pipes");
	/* -i: the container reads a pipe whose other end waits for an attach
	 * (a terminal's master serves as both ends) */
	bool takes_input = l->o.interactive || l->o.tty;
	if (r == 0 && l->o.interactive && !l->o.tty && pipe2(in, O_CLOEXEC) < 0)
		r = rl_fail_errno(&err, errno, "cannot create the input pipe");
	int attach_fd = r == 0 && takes_input ? rl_attach_listen(l->st.dir, &err) : -1;
	if (takes_input && attach_fd < 0 && r == 0)
		r = attach_fd;
	sigset_t handled;
	rl_supervise_signals(&handled);
	sigprocmask(SIG_BLOCK, &handled, NULL);
	if (r == 0)
		r = launch_start(l, in[0], out[1], errs[1], &err);
	/* The container's ends of its pipes are its own now. */
	int theirs[] = {in[0], out[1], errs[1]};
	for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++)
		if (theirs[i] >= 0)
			close(theirs[i]);
	struct start_report rep = {.ok = r == 0, .exit_code = l->exit_code};
	snprintf(rep.msg, sizeof(rep.msg), "%s", err.msg);
	(void)!write(ready, &rep, sizeof(rep));
	close(ready);
	/* From here on nobody reads our stdio; keep no terminal or pipe open. */
	null_stdio();
	if (r < 0) {
		launch_cleanup(l, true);
		return l->exit_code;
	}
	struct rl_detached_io io = {.out_fd = l->o.tty ? -1 : out[0],
				    .err_fd = l->o.tty ? -1 : errs[0],
				    .pty_master = l->c.pty_master, .stdin_fd = in[1],
				    .attach_fd = attach_fd, .logfd = logfd};
	become_monitor(l, &io);
	/* Without the helper, this process does its job. */
	struct rl_portfwd *pf = NULL;
	/* The container runs on even if its ports cannot be served. */
	if (l->o.n_ports)
		start_portfwd(l, &pf, &err);
	struct rl_poll_hook hook = pf ? rl_portfwd_hook(pf) : (struct rl_poll_hook){0};
	int code = rl_supervise_logged(l->c.pid, &io, pf ? &hook : NULL);
	rl_portfwd_free(pf);
	rl_slirp_stop(&l->c.slirp);
	launch_finish(l, code);
	if (l->o.rm)
		rl_state_wait_unheld(l->st.dir);
	launch_cleanup(l, false);
	return code;
}

/* Forks the supervisor and waits only until the container has started. */
static int run_detached(struct launch *l, struct rl_error *err)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot create a pipe");
	pid_t sup = fork();
	if (sup < 0) {
		close(ready[0]);
		close(ready[1]);
		return rl_fail_errno(err, errno, "cannot start the container's supervisor");
	}
	if (sup == 0) {
		close(ready[0]);
		/* Its own session: the terminal's signals and hang-up are not its. */
		setsid();
		_exit(supervise_detached(l, ready[1]));
	}
	close(ready[1]);
	/* The supervisor cleans up after a failed start itself. */
	l->have_state = false;
	struct start_report rep;
	ssize_t n;
	while ((n = read(ready[0], &rep, sizeof(rep))) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (n != (ssize_t)sizeof(rep))
		return rl_fail(err, EIO, "the container's supervisor died before the container started");
	if (!rep.ok) {
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		l->exit_code = rep.exit_code;
		return rl_fail(err, EINVAL, "%s", rep.msg);
	}
	if (!l->quiet)
		printf("%s\n", l->st.id);
	return 0;
}

int rl_run_again(const struct rl_state *st, struct rl_error *err)
{
	json_t *config = NULL;
	int r = rl_state_config(st, &config, err);
	if (r < 0)
		return r;
	json_t *args = json_object_get(config, "RunArgs");
	size_t n = json_array_size(args);
	char **argv = calloc(n + 2, sizeof(*argv));
	if (!argv) {
		json_decref(config);
		return rl_fail(err, ENOMEM, "out of memory");
	}
	argv[0] = "run";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = (char *)(json_string_value(json_array_get(args, i)) ?: "");
	struct launch l;
	r = launch_prepare(&l, (int)n + 1, argv, st, err);
	if (r == 0) {
		l.o.detach = true;
		l.quiet = true;
		r = run_detached(&l, err);
	}
	launch_free(&l);
	free(argv);
	json_decref(config);
	return r < 0 ? r : 0;
}

/* rlbpf create: everything run does before the start (the image, the
 * state and its record, every check of the options), and no start; the
 * container is "created" until rlbpf start (or the Docker API) runs it
 * from its record, as restart does. */
int cmd_create(int argc, char **argv)
{
	struct launch l;
	struct rl_error err = {0};
	int r = launch_prepare(&l, argc, argv, NULL, &err);
	if (r == 1) {
		rl_run_usage(stdout);
		launch_free(&l);
		return 0;
	}
	if (r == 0 && l.o.detach)
		r = rl_fail(&err, EINVAL, "-d is for run; a created container is started with "
			    "rlbpf start");
	if (r < 0) {
		rl_error_print(&err, "rlbpf create");
		launch_cleanup(&l, true);
	} else {
		printf("%s\n", l.st.id);
	}
	int code = r < 0 ? l.exit_code : 0;
	launch_free(&l);
	return code;
}

int cmd_run(int argc, char **argv)
{
	struct launch l;
	struct rl_error err = {0};
	int r = launch_prepare(&l, argc, argv, NULL, &err);
	if (r == 1) {
		rl_run_usage(stdout);
		launch_free(&l);
		return 0;
	}
	if (r == 0)
		r = l.o.detach ? run_detached(&l, &err) : run_foreground(&l, &err);
	if (r < 0)
		rl_error_print(&err, "rlbpf run");
	if (!l.o.detach || r < 0)
		launch_cleanup(&l, r < 0);
	int code = r < 0 ? l.exit_code : (l.o.detach ? 0 : l.exit_code);
	launch_free(&l);
	return code;
}
