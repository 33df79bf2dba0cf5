/* config.json (spec.h). Every value is checked here, before the runtime
 * creates anything: a wrong type or an unknown word is an error that names
 * the field, so that a caller's mistake is never half applied. */
#include "oci/spec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "lib/cleanup.h"
#include "runtime/caps.h"

static const char *const ns_names[RL_OCI_NS_N] = {
	[RL_OCI_NS_PID] = "pid",	 [RL_OCI_NS_NET] = "network", [RL_OCI_NS_IPC] = "ipc",
	[RL_OCI_NS_UTS] = "uts",	 [RL_OCI_NS_MOUNT] = "mount", [RL_OCI_NS_USER] = "user",
	[RL_OCI_NS_CGROUP] = "cgroup",
};

const char *rl_oci_ns_name(enum rl_oci_ns_type t)
{
	return t < RL_OCI_NS_N ? ns_names[t] : "?";
}

static int bad(struct rl_error *err, const char *field, const char *want)
{
	return rl_fail(err, EINVAL, "config.json: %s must be %s", field, want);
}

/* A string member, or NULL when absent; a member of another type fails. */
static int get_str(json_t *obj, const char *key, const char *field, char **out,
		   struct rl_error *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(err, field, "a string");
	*out = strdup(json_string_value(v));
	return *out ? 0 : rl_fail(err, ENOMEM, "out of memory");
}

static int get_u32(json_t *obj, const char *key, const char *field, uint32_t *out, bool *has,
		   struct rl_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (has)
		*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return bad(err, field, "a whole number from 0 to 4294967295");
	*out = (uint32_t)json_integer_value(v);
	if (has)
		*has = true;
	return 0;
}

static int get_i64(json_t *obj, const char *key, const char *field, int64_t *out,
		   struct rl_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return bad(err, field, "a whole number");
	*out = json_integer_value(v);
	return 0;
}

static int get_bool(json_t *obj, const char *key, const char *field, bool *out,
		    struct rl_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return bad(err, field, "true or false");
	*out = json_is_true(v);
	return 0;
}

/* An array of strings into a NULL-terminated vector (NULL when absent). */
static int get_strv(json_t *obj, const char *key, const char *field, char ***out, size_t *n,
		    struct rl_error *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (n)
		*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, field, "an array of strings");
	char **vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			for (size_t k = 0; k < i; k++)
				free(vec[k]);
			free(vec);
			return bad(err, field, "an array of strings");
		}
		vec[i] = strdup(json_string_value(item));
	}
	*out = vec;
	if (n)
		*n = json_array_size(v);
	return 0;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static int cap_number(const char *name)
{
	for (int c = 0; c < 64; c++) {
		const char *n = rl_cap_name(c);
		if (n && strcmp(n, name) == 0)
			return c;
	}
	return -1;
}

static const char *const caps_keys[RL_OCI_CAPS_N] = {"bounding", "effective", "inheritable",
						     "permitted", "ambient"};

static int parse_caps(json_t *obj, struct rl_oci_process *p, struct rl_error *err)
{
	for (int set = 0; set < RL_OCI_CAPS_N; set++) {
		json_t *v = json_object_get(obj, caps_keys[set]);
		char field[64];
		snprintf(field, sizeof(field), "process.capabilities.%s", caps_keys[set]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_array(v))
			return bad(err, field, "an array of capability names");
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			int c = json_is_string(item) ? cap_number(json_string_value(item)) : -1;
			if (c < 0)
				return rl_fail(err, EINVAL,
					       "config.json: %s: unknown capability %s: names are "
					       "CAP_CHOWN, CAP_SYS_ADMIN and so on",
					       field, json_is_string(item) ? json_string_value(item) : "(not a string)");
			p->caps[set] |= UINT64_C(1) << c;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{"RLIMIT_AS", RLIMIT_AS},	    {"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},	    {"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},	    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},	    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},	    {"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimits(json_t *v, struct rl_oci_process *p, struct rl_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, "process.rlimits", "an array of {type, soft, hard}");
	p->rlimits = calloc(json_array_size(v) + 1, sizeof(*p->rlimits));
	if (!p->rlimits)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item) {
		json_t *type = json_object_get(item, "type");
		json_t *soft = json_object_get(item, "soft"), *hard = json_object_get(item, "hard");
		int res = -1;
		for (size_t k = 0; json_is_string(type) && k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
			if (strcmp(json_string_value(type), rlimit_names[k].name) == 0)
				res = rlimit_names[k].resource;
		if (res < 0)
			return rl_fail(err, EINVAL, "config.json: process.rlimits: unknown type %s",
				       json_is_string(type) ? json_string_value(type) : "(missing)");
		if (!json_is_integer(soft) || !json_is_integer(hard))
			return bad(err, "process.rlimits soft and hard", "whole numbers");
		for (size_t k = 0; k < p->n_rlimits; k++)
			if (p->rlimits[k].resource == res)
				return rl_fail(err, EINVAL, "config.json: process.rlimits: %s given twice",
					       json_string_value(type));
		p->rlimits[p->n_rlimits++] = (struct rl_oci_rlimit){
			.resource = res,
			.soft = (uint64_t)json_integer_value(soft),
			.hard = (uint64_t)json_integer_value(hard),
		};
	}
	return 0;
}

int rl_oci_process_parse(json_t *obj, struct rl_oci_process *p, struct rl_error *err)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return bad(err, "process", "an object");
	int r;
	json_t *v;
	if ((r = get_bool(obj, "terminal", "process.terminal", &p->terminal, err)) < 0)
		return r;
	if ((v = json_object_get(obj, "consoleSize")) && !json_is_null(v)) {
		uint32_t h = 0, w = 0;
		if ((r = get_u32(v, "height", "process.consoleSize.height", &h, NULL, err)) < 0 ||
		    (r = get_u32(v, "width", "process.consoleSize.width", &w, NULL, err)) < 0)
			return r;
		p->rows = (unsigned short)(h > USHRT_MAX ? USHRT_MAX : h);
		p->cols = (unsigned short)(w > USHRT_MAX ? USHRT_MAX : w);
	}
	json_t *user = json_object_get(obj, "user");
	if (user && !json_is_object(user))
		return bad(err, "process.user", "an object");
	if (user) {
		if ((r = get_u32(user, "uid", "process.user.uid", &p->uid, NULL, err)) < 0 ||
		    (r = get_u32(user, "gid", "process.user.gid", &p->gid, NULL, err)) < 0 ||
		    (r = get_u32(user, "umask", "process.user.umask", &p->umask, &p->has_umask, err)) < 0)
			return r;
		if (json_object_get(user, "username") &&
		    !json_is_null(json_object_get(user, "username")))
			return rl_fail(err, EINVAL, "config.json: process.user.username is for Windows; give uid and gid");
		json_t *gids = json_object_get(user, "additionalGids");
		if (gids && !json_is_null(gids)) {
			if (!json_is_array(gids))
				return bad(err, "process.user.additionalGids", "an array of gids");
			p->gids = calloc(json_array_size(gids) + 1, sizeof(*p->gids));
			if (!p->gids)
				return rl_fail(err, ENOMEM, "out of memory");
			size_t i;
			json_t *g;
			json_array_foreach(gids, i, g) {
				if (!json_is_integer(g) || json_integer_value(g) < 0 ||
				    json_integer_value(g) > UINT32_MAX)
					return bad(err, "process.user.additionalGids", "an array of gids");
				p->gids[p->n_gids++] = (gid_t)json_integer_value(g);
			}
		}
	}
	if ((r = get_strv(obj, "args", "process.args", &p->args, NULL, err)) < 0 ||
	    (r = get_strv(obj, "env", "process.env", &p->env, NULL, err)) < 0 ||
	    (r = get_str(obj, "cwd", "process.cwd", &p->cwd, err)) < 0)
		return r;
	if (!p->args || !p->args[0])
		return rl_fail(err, EINVAL, "config.json: process.args must name the program to run");
	if (!p->cwd || p->cwd[0] != '/')
		return rl_fail(err, EINVAL, "config.json: process.cwd must be an absolute path");
	for (char **e = p->env; e && *e; e++)
		if (!strchr(*e, '='))
			return rl_fail(err, EINVAL, "config.json: process.env: \"%s\" is not KEY=VALUE", *e);
	if ((v = json_object_get(obj, "capabilities")) && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(err, "process.capabilities", "an object");
		if ((r = parse_caps(v, p, err)) < 0)
			return r;
	}
	if ((r = parse_rlimits(json_object_get(obj, "rlimits"), p, err)) < 0 ||
	    (r = get_bool(obj, "noNewPrivileges", "process.noNewPrivileges", &p->no_new_privileges, err)) < 0)
		return r;
	int64_t adj = 0;
	if ((v = json_object_get(obj, "oomScoreAdj")) && !json_is_null(v)) {
		if ((r = get_i64(obj, "oomScoreAdj", "process.oomScoreAdj", &adj, err)) < 0)
			return r;
		if (adj < -1000 || adj > 1000)
			return bad(err, "process.oomScoreAdj", "from -1000 to 1000");
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)adj;
	}
	const char *lsm[] = {"apparmorProfile", "selinuxLabel"};
	for (size_t i = 0; i < 2; i++) {
		v = json_object_get(obj, lsm[i]);
		if (json_is_string(v) && json_string_value(v)[0])
			return rl_fail(err, EOPNOTSUPP,
				       "config.json: process.%s is set, and rlbpf-runtime applies no "
				       "LSM profile; leave it empty",
				       lsm[i]);
	}
	return 0;
}

void rl_oci_process_free(struct rl_oci_process *p)
{
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->gids);
	free(p->rlimits);
	memset(p, 0, sizeof(*p));
}

/* Mount options as mount(8) and runc take them: flags, propagation, and the
 * rest passed to the filesystem as data. */
static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{"ro", false, MS_RDONLY},	  {"rw", true, MS_RDONLY},
	{"nosuid", false, MS_NOSUID},	  {"suid", true, MS_NOSUID},
	{"nodev", false, MS_NODEV},	  {"dev", true, MS_NODEV},
	{"noexec", false, MS_NOEXEC},	  {"exec", true, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS},  {"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},	  {"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},	  {"nomand", true, MS_MANDLOCK},
	{"atime", true, MS_NOATIME},	  {"noatime", false, MS_NOATIME},
	{"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
	{"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
	{"bind", false, MS_BIND},	  {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
	const char *name;
	unsigned long flags;
} propagations[] = {
	{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static unsigned long propagation_of(const char *name)
{
	for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++)
		if (strcmp(name, propagations[i].name) == 0)
			return propagations[i].flags;
	return 0;
}

static int parse_mount(json_t *m, struct rl_oci_mount *out, struct rl_error *err)
{
	int r;
	if (!json_is_object(m))
		return bad(err, "mounts[]", "objects");
	if ((r = get_str(m, "destination", "mounts[].destination", &out->destination, err)) < 0 ||
	    (r = get_str(m, "source", "mounts[].source", &out->source, err)) < 0 ||
	    (r = get_str(m, "type", "mounts[].type", &out->type, err)) < 0)
		return r;
	if (!out->destination || out->destination[0] != '/')
		return rl_fail(err, EINVAL, "config.json: mounts[].destination must be an absolute path, not %s",
			       out->destination ? out->destination : "missing");
	if (json_object_get(m, "uidMappings") || json_object_get(m, "gidMappings"))
		return rl_fail(err, EOPNOTSUPP, "config.json: mount %s asks for id-mapped mounts, which "
			       "rlbpf-runtime does not make", out->destination);
	_cleanup_free_ char *data = NULL;
	size_t data_len = 0;
	json_t *opts = json_object_get(m, "options");
	if (opts && !json_is_array(opts) && !json_is_null(opts))
		return bad(err, "mounts[].options", "an array of strings");
	size_t i;
	json_t *o;
	json_array_foreach(opts, i, o) {
		if (!json_is_string(o))
			return bad(err, "mounts[].options", "an array of strings");
		const char *name = json_string_value(o);
		bool known = false;
		for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++)
			if (strcmp(name, mount_flags[k].name) == 0) {
				if (mount_flags[k].clear)
					out->flags &= ~mount_flags[k].flag;
				else
					out->flags |= mount_flags[k].flag;
				known = true;
			}
		if (known) {
			if (out->flags & MS_BIND)
				out->bind = true;
			continue;
		}
		unsigned long prop = propagation_of(name);
		if (prop) {
			out->propagation = prop;
			continue;
		}
		/* crun's: copy what the image has under the tmpfs; the image's
		 * files stay hidden under an empty one here */
		if (strcmp(name, "tmpcopyup") == 0)
			continue;
		if (strcmp(name, "idmap") == 0 || strcmp(name, "ridmap") == 0)
			return rl_fail(err, EOPNOTSUPP, "config.json: mount %s: option %s is not supported",
				       out->destination, name);
		/* everything else is the filesystem's own, as mount(8) passes it */
		size_t n = strlen(name);
		char *grown = realloc(data, data_len + n + 2);
		if (!grown)
			return rl_fail(err, ENOMEM, "out of memory");
		data = grown;
		if (data_len)
			data[data_len++] = ',';
		memcpy(data + data_len, name, n + 1);
		data_len += n;
	}
	if (!out->type && !out->bind)
		return rl_fail(err, EINVAL, "config.json: mount %s has no type and is not a bind mount",
			       out->destination);
	if (out->type && strcmp(out->type, "bind") == 0)
		out->bind = true;
	if (out->bind && !out->source)
		return rl_fail(err, EINVAL, "config.json: bind mount %s has no source", out->destination);
	out->data = RL_TAKE(data);
	return 0;
}

static int parse_idmaps(json_t *v, const char *field, struct rl_oci_idmap **out, size_t *n,
			struct rl_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, field, "an array of {containerID, hostID, size}");
	*out = calloc(json_array_size(v) + 1, sizeof(**out));
	if (!*out)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t i;
	json_t *m;
	json_array_foreach(v, i, m) {
		struct rl_oci_idmap *e = &(*out)[i];
		int r;
		if ((r = get_u32(m, "containerID", field, &e->container, NULL, err)) < 0 ||
		    (r = get_u32(m, "hostID", field, &e->host, NULL, err)) < 0 ||
		    (r = get_u32(m, "size", field, &e->size, NULL, err)) < 0)
			return r;
		if (e->size == 0)
			return bad(err, field, "extents of size 1 or more");
	}
	*n = json_array_size(v);
	return 0;
}

static int parse_namespaces(json_t *v, struct rl_oci_spec *s, struct rl_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, "linux.namespaces", "an array of {type, path}");
	size_t i;
	json_t *n;
	json_array_foreach(v, i, n) {
		json_t *type = json_object_get(n, "type");
		int t = -1;
		for (int k = 0; json_is_string(type) && k < RL_OCI_NS_N; k++)
			if (strcmp(json_string_value(type), ns_names[k]) == 0)
				t = k;
		if (t < 0)
			return rl_fail(err, EINVAL, "config.json: linux.namespaces: unknown type %s "
				       "(pid, network, ipc, uts, mount, user, cgroup)",
				       json_is_string(type) ? json_string_value(type) : "(missing)");
		if (s->ns[t].want)
			return rl_fail(err, EINVAL, "config.json: linux.namespaces: %s given twice",
				       ns_names[t]);
		s->ns[t].want = true;
		int r = get_str(n, "path", "linux.namespaces[].path", &s->ns[t].path, err);
		if (r < 0)
			return r;
		if (s->ns[t].path && !s->ns[t].path[0]) {
			free(s->ns[t].path);
			s->ns[t].path = NULL;
		}
	}
	return 0;
}

static int parse_devices(json_t *v, struct rl_oci_spec *s, struct rl_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, "linux.devices", "an array");
	s->devices = calloc(json_array_size(v) + 1, sizeof(*s->devices));
	if (!s->devices)
		return rl_fail(err, ENOMEM, "out of memory");
	size_t i;
	json_t *d;
	json_array_foreach(v, i, d) {
		struct rl_oci_device *dev = &s->devices[i];
		_cleanup_free_ char *type = NULL;
		int r;
		if ((r = get_str(d, "type", "linux.devices[].type", &type, err)) < 0 ||
		    (r = get_str(d, "path", "linux.devices[].path", &dev->path, err)) < 0 ||
		    (r = get_i64(d, "major", "linux.devices[].major", &dev->major, err)) < 0 ||
		    (r = get_i64(d, "minor", "linux.devices[].minor", &dev->minor, err)) < 0 ||
		    (r = get_u32(d, "fileMode", "linux.devices[].fileMode", &dev->mode, &dev->has_mode, err)) < 0 ||
		    (r = get_u32(d, "uid", "linux.devices[].uid", &dev->uid, &dev->has_uid, err)) < 0 ||
		    (r = get_u32(d, "gid", "linux.devices[].gid", &dev->gid, &dev->has_gid, err)) < 0)
			return r;
		if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
			return bad(err, "linux.devices[].type", "c, b, u or p");
		if (!dev->path || dev->path[0] != '/')
			return bad(err, "linux.devices[].path", "an absolute path");
		dev->type = type[0];
		s->n_devices++;
	}
	return 0;
}

static int parse_hooks(json_t *hooks, struct rl_oci_spec *s, struct rl_error *err)
{
	static const char *const keys[RL_HOOK_N] = {"prestart", "createRuntime", "createContainer",
						    "startContainer", "poststart", "poststop"};
	if (!hooks || json_is_null(hooks))
		return 0;
	if (!json_is_object(hooks))
		return bad(err, "hooks", "an object");
	for (int k = 0; k < RL_HOOK_N; k++) {
		json_t *list = json_object_get(hooks, keys[k]);
		if (!list || json_is_null(list))
			continue;
		if (!json_is_array(list))
			return rl_fail(err, EINVAL, "config.json: hooks.%s must be an array", keys[k]);
		s->hooks[k].h = calloc(json_array_size(list) + 1, sizeof(struct rl_oci_hook));
		if (!s->hooks[k].h)
			return rl_fail(err, ENOMEM, "out of memory");
		size_t i;
		json_t *h;
		json_array_foreach(list, i, h) {
			struct rl_oci_hook *hook = &s->hooks[k].h[i];
			int64_t timeout = 0;
			int r;
			if ((r = get_str(h, "path", "hooks[].path", &hook->path, err)) < 0 ||
			    (r = get_strv(h, "args", "hooks[].args", &hook->args, NULL, err)) < 0 ||
			    (r = get_strv(h, "env", "hooks[].env", &hook->env, NULL, err)) < 0 ||
			    (r = get_i64(h, "timeout", "hooks[].timeout", &timeout, err)) < 0)
				return r;
			if (!hook->path || hook->path[0] != '/')
				return rl_fail(err, EINVAL, "config.json: hooks.%s[].path must be absolute", keys[k]);
			if (timeout < 0 || timeout > INT_MAX)
				return rl_fail(err, EINVAL, "config.json: hooks.%s[].timeout must be positive", keys[k]);
			hook->timeout = (int)timeout;
			s->hooks[k].n++;
		}
	}
	return 0;
}

static int parse_resources(json_t *res, struct rl_oci_spec *s, struct rl_error *err)
{
	if (!res || json_is_null(res))
		return 0;
	if (!json_is_object(res))
		return bad(err, "linux.resources", "an object");
	json_t *mem = json_object_get(res, "memory"), *pids = json_object_get(res, "pids");
	json_t *cpu = json_object_get(res, "cpu");
	int64_t v = 0;
	int r;
	if (json_is_object(mem)) {
		if ((r = get_i64(mem, "limit", "linux.resources.memory.limit", &v, err)) < 0)
			return r;
		s->resources.memory = v > 0 ? (uint64_t)v : 0;
		if ((r = get_i64(mem, "swap", "linux.resources.memory.swap", &s->resources.memory_swap, err)) < 0)
			return r;
	}
	if (json_is_object(pids) &&
	    (r = get_i64(pids, "limit", "linux.resources.pids.limit", &s->resources.pids, err)) < 0)
		return r;
	if (s->resources.pids < 0)
		s->resources.pids = 0; /* -1: unlimited */
	if (json_is_object(cpu)) {
		int64_t period = 0;
		if ((r = get_i64(cpu, "quota", "linux.resources.cpu.quota", &s->resources.cpu_quota, err)) < 0 ||
		    (r = get_i64(cpu, "period", "linux.resources.cpu.period", &period, err)) < 0)
			return r;
		if (s->resources.cpu_quota < 0)
			s->resources.cpu_quota = 0;
		s->resources.cpu_period = period > 0 ? (uint64_t)period : 0;
	}
	return 0;
}

/* The sysctl object into two parallel vectors. */
static int parse_sysctl(json_t *v, struct rl_oci_spec *s, struct rl_error *err)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return bad(err, "linux.sysctl", "an object of strings");
	size_t n = json_object_size(v);
	s->sysctl_keys = calloc(n + 1, sizeof(char *));
	s->sysctl_values = calloc(n + 1, sizeof(char *));
	if (!s->sysctl_keys || !s->sysctl_values)
		return rl_fail(err, ENOMEM, "out of memory");
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		if (!json_is_string(val))
			return bad(err, "linux.sysctl values", "strings");
		if (strstr(key, "..") || key[0] == '/' || key[0] == '.')
			return rl_fail(err, EINVAL, "config.json: linux.sysctl: %s is not a sysctl name", key);
		s->sysctl_keys[s->n_sysctl] = strdup(key);
		s->sysctl_values[s->n_sysctl++] = strdup(json_string_value(val));
	}
	return 0;
}

static int parse_linux(json_t *lin, struct rl_oci_spec *s, struct rl_error *err)
{
	int r;
	if (!lin || json_is_null(lin))
		return 0;
	if (!json_is_object(lin))
		return bad(err, "linux", "an object");
	if ((r = parse_namespaces(json_object_get(lin, "namespaces"), s, err)) < 0 ||
	    (r = parse_idmaps(json_object_get(lin, "uidMappings"), "linux.uidMappings", &s->uid_map,
			      &s->n_uid_map, err)) < 0 ||
	    (r = parse_idmaps(json_object_get(lin, "gidMappings"), "linux.gidMappings", &s->gid_map,
			      &s->n_gid_map, err)) < 0 ||
	    (r = parse_sysctl(json_object_get(lin, "sysctl"), s, err)) < 0 ||
	    (r = get_strv(lin, "maskedPaths", "linux.maskedPaths", &s->masked, &s->n_masked, err)) < 0 ||
	    (r = get_strv(lin, "readonlyPaths", "linux.readonlyPaths", &s->readonly, &s->n_readonly, err)) < 0 ||
	    (r = parse_devices(json_object_get(lin, "devices"), s, err)) < 0 ||
	    (r = parse_resources(json_object_get(lin, "resources"), s, err)) < 0 ||
	    (r = get_str(lin, "cgroupsPath", "linux.cgroupsPath", &s->cgroups_path, err)) < 0)
		return r;
	if ((s->n_uid_map || s->n_gid_map) && !s->ns[RL_OCI_NS_USER].want)
		return rl_fail(err, EINVAL, "config.json: linux.uidMappings need a user namespace in linux.namespaces");
	if (s->ns[RL_OCI_NS_USER].want && !s->ns[RL_OCI_NS_USER].path && (!s->n_uid_map || !s->n_gid_map))
		return rl_fail(err, EINVAL, "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings");
	_cleanup_free_ char *prop = NULL;
	if ((r = get_str(lin, "rootfsPropagation", "linux.rootfsPropagation", &prop, err)) < 0)
		return r;
	if (prop && prop[0] && !(s->rootfs_propagation = propagation_of(prop)))
		return rl_fail(err, EINVAL, "config.json: linux.rootfsPropagation: unknown %s", prop);
	json_t *sc = json_object_get(lin, "seccomp");
	if (sc && !json_is_null(sc)) {
		if (!json_is_object(sc))
			return bad(err, "linux.seccomp", "an object");
		s->seccomp = sc;
	}
	const char *refused[] = {"intelRdt", "personality", "timeOffsets"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (json_object_get(lin, refused[i]))
			return rl_fail(err, EOPNOTSUPP, "config.json: linux.%s is not supported by rlbpf-runtime", refused[i]);
	json_t *label = json_object_get(lin, "mountLabel");
	if (json_is_string(label) && json_string_value(label)[0])
		return rl_fail(err, EOPNOTSUPP, "config.json: linux.mountLabel is set, and rlbpf-runtime applies no SELinux labels; leave it empty");
	return 0;
}

int rl_oci_spec_parse(const char *text, const char *bundle, struct rl_oci_spec *s,
		      struct rl_error *err)
{
	memset(s, 0, sizeof(*s));
	json_error_t jerr;
	s->json = json_loads(text, 0, &jerr);
	if (!s->json)
		return rl_fail(err, EINVAL, "config.json: line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(s->json))
		return bad(err, "the document", "an object");
	s->bundle = strdup(bundle);
	int r;
	json_t *ver = json_object_get(s->json, "ociVersion");
	if (!json_is_string(ver) || strncmp(json_string_value(ver), "1.", 2) != 0)
		return rl_fail(err, EINVAL, "config.json: ociVersion must be a 1.x version, not %s",
			       json_is_string(ver) ? json_string_value(ver) : "missing");
	json_t *root = json_object_get(s->json, "root");
	_cleanup_free_ char *root_path = NULL;
	if (!json_is_object(root) || (r = get_str(root, "path", "root.path", &root_path, err)) < 0 ||
	    !root_path)
		return rl_fail(err, EINVAL, "config.json: root.path must name the container's root filesystem");
	if ((r = get_bool(root, "readonly", "root.readonly", &s->root_readonly, err)) < 0)
		return r;
	_cleanup_free_ char *joined = NULL;
	if (root_path[0] != '/' && asprintf(&joined, "%s/%s", bundle, root_path) < 0)
		return rl_fail(err, ENOMEM, "out of memory");
	/* "." and such resolved: mounts and pivot_root want the real path */
	s->root = realpath(joined ? joined : root_path, NULL);
	if (!s->root)
		return rl_fail_errno(err, errno, "config.json: root.path %s", joined ? joined : root_path);
	if ((r = get_str(s->json, "hostname", "hostname", &s->hostname, err)) < 0 ||
	    (r = get_str(s->json, "domainname", "domainname", &s->domainname, err)) < 0)
		return r;
	json_t *proc = json_object_get(s->json, "process");
	if (!proc)
		return rl_fail(err, EINVAL, "config.json: process is missing: there is nothing to run");
	if ((r = rl_oci_process_parse(proc, &s->process, err)) < 0)
		return r;
	json_t *mounts = json_object_get(s->json, "mounts");
	if (mounts && !json_is_null(mounts)) {
		if (!json_is_array(mounts))
			return bad(err, "mounts", "an array");
		s->mounts = calloc(json_array_size(mounts) + 1, sizeof(*s->mounts));
		if (!s->mounts)
			return rl_fail(err, ENOMEM, "out of memory");
		size_t i;
		json_t *m;
		json_array_foreach(mounts, i, m) {
			if ((r = parse_mount(m, &s->mounts[i], err)) < 0)
				return r;
			s->n_mounts++;
		}
	}
	if ((r = parse_linux(json_object_get(s->json, "linux"), s, err)) < 0 ||
	    (r = parse_hooks(json_object_get(s->json, "hooks"), s, err)) < 0)
		return r;
	if (s->hostname && s->hostname[0] && !s->ns[RL_OCI_NS_UTS].want)
		return rl_fail(err, EINVAL, "config.json: hostname is set but there is no new uts namespace to set it in");
	json_t *ann = json_object_get(s->json, "annotations");
	if (ann && !json_is_null(ann) && !json_is_object(ann))
		return bad(err, "annotations", "an object of strings");
	return 0;
}

int rl_oci_spec_load(const char *bundle, struct rl_oci_spec *s, struct rl_error *err)
{
	char path[PATH_MAX];
	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return rl_fail_errno(err, errno, "cannot open %s", path);
	_cleanup_free_ char *text = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 65536 > cap) {
			if (cap > 16 << 20)
				return rl_fail(err, EFBIG, "%s is larger than 16 MiB", path);
			char *grown = realloc(text, cap + 65537);
			if (!grown)
				return rl_fail(err, ENOMEM, "out of memory");
			text = grown;
			cap += 65536;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
		return rl_fail_errno(err, errno, "cannot read %s", path);
	text[len] = '\0';
	return rl_oci_spec_parse(text, bundle, s, err);
}

void rl_oci_spec_free(struct rl_oci_spec *s)
{
	rl_oci_process_free(&s->process);
	/* <=: the entry that failed to parse holds what it had read */
	for (size_t i = 0; s->mounts && i <= s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].source);
		free(s->mounts[i].type);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (int t = 0; t < RL_OCI_NS_N; t++)
		free(s->ns[t].path);
	free(s->uid_map);
	free(s->gid_map);
	for (size_t i = 0; i < s->n_sysctl; i++) {
		free(s->sysctl_keys[i]);
		free(s->sysctl_values[i]);
	}
	free(s->sysctl_keys);
	free(s->sysctl_values);
	strv_free(s->masked);
	strv_free(s->readonly);
	for (size_t i = 0; s->devices && i <= s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	for (int k = 0; k < RL_HOOK_N; k++) {
		for (size_t i = 0; s->hooks[k].h && i <= s->hooks[k].n; i++) {
			free(s->hooks[k].h[i].path);
			strv_free(s->hooks[k].h[i].args);
			strv_free(s->hooks[k].h[i].env);
		}
		free(s->hooks[k].h);
	}
	free(s->root);
	free(s->bundle);
	free(s->hostname);
	free(s->domainname);
	free(s->cgroups_path);
	json_decref(s->json);
	memset(s, 0, sizeof(*s));
}
