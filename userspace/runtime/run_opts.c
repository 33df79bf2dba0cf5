#include "runtime/run_opts.h"

#include <ctype.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/boolopt.h"
#include "lib/cleanup.h"

void rl_run_usage(FILE *out)
{
	fputs("Usage: rlbpf run [OPTIONS] ROOTFS-DIR|IMAGE [COMMAND [ARG...]]\n"
	      "\n"
	      "Run a command in a new rootless container.\n"
	      "\n"
	      "Options:\n"
	      "      --cap-add CAP          add a capability (or ALL) to the default set\n"
	      "      --cap-drop CAP         drop a capability (or ALL)\n"
	      "  -d, --detach               run in the background and print the container ID\n"
	      "  -e, --env KEY[=VALUE]      set an environment variable (KEY alone: take ours)\n"
	      "      --entrypoint CMD       run CMD instead of the image's entrypoint (\"\" for none);\n"
	      "                             the image's command is then not used\n"
	      "  -h, --hostname NAME        container host name (default: the short ID)\n"
	      "  -i, --interactive          keep stdin open\n"
	      "      --cpus N               CPUs the container may use (a cpu cgroup of rlbpfd's)\n"
	      "      --init                 run a small init as PID 1 that reaps and forwards signals\n"
	      "  -m, --memory SIZE          memory cap (b, k, m, g; at least 6m): past it the container is killed\n"
	      "      --memory-enforce HOW   auto (default), ebpf (rlbpfd's eBPF cap), cgroup (a kernel\n"
	      "                             controller: delegated, or made by rlbpfd) or none\n"
	      "      --name NAME            name the container\n"
	      "      --network MODE         none, host or slirp4netns[:allow_host_loopback=true]\n"
	      "                             (default: slirp4netns when usable, else none)\n"
	      "  -p, --publish [IP:]HOSTPORT:CTRPORT[/tcp|/udp]  publish a container port\n"
	      "      --pids-limit N         tasks (threads included) at most; a task past it is killed at birth\n"
	      "      --platform OS/ARCH     the image of a multi-platform index to pull\n"
	      "      --pull WHEN            missing (default), always or never: pull IMAGE from its registry\n"
	      "      --read-only            mount the root filesystem read-only\n"
	      "      --rm                   remove the container's state when it exits\n"
	      "      --security-opt OPT     no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json\n"
	      "      --tls-verify=false     pull over plain HTTP or unverified TLS\n"
	      "  -t, --tty                  allocate a pseudo-terminal\n"
	      "      --tty-size ROWSxCOLS   its size from the start (default: that of rlbpf's terminal)\n"
	      "  -u, --user UID[:GID]       run as this user (numbers or names from the image)\n"
	      "  -v, --volume HOST:CTR[:ro|rw]  bind-mount a host path\n"
	      "  -w, --workdir DIR          working directory inside the container\n"
	      "      --help                 show this help\n"
	      "\n"
	      "IMAGE is [REGISTRY/]NAME[:TAG|@DIGEST] or an ID from 'rlbpf images' (busybox is\n"
	      "built in); a path (starting with / or ./, or an existing directory) is used as a\n"
	      "rootfs directory.\n"
	      "Exit status: the command's own, 125 for rlbpf's errors, 126 not executable,\n"
	      "127 not found, 128+N when killed by signal N.\n",
	      out);
}

static int push(char ***vec, size_t *n, const char *s)
{
	char **grown = realloc(*vec, (*n + 2) * sizeof(**vec));
	if (!grown)
		return -ENOMEM;
	*vec = grown;
	if (!(grown[*n] = strdup(s)))
		return -ENOMEM;
	grown[++*n] = NULL;
	return 0;
}

static bool valid_name(const char *s)
{
	/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	if (!isalnum((unsigned char)s[0]) || !s[1] || strlen(s) > 128)
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			return false;
	return true;
}

static bool valid_hostname(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 64 || s[0] == '-' || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* A user or group: a number below 2^32-1, or a name as useradd accepts it. */
static bool valid_id_part(const char *s, size_t len)
{
	if (len == 0 || len > 32 || s[0] == '-')
		return false;
	bool digits = true;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			digits = false;
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	}
	if (digits) {
		errno = 0;
		unsigned long long v = strtoull(s, NULL, 10);
		if (errno || v >= UINT_MAX)
			return false;
	}
	return true;
}

static int parse_user(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	const char *colon = strchr(arg, ':');
	size_t ulen = colon ? (size_t)(colon - arg) : strlen(arg);
	if (!valid_id_part(arg, ulen) ||
	    (colon && (strchr(colon + 1, ':') || !valid_id_part(colon + 1, strlen(colon + 1)))))
		return rl_fail(err, EINVAL,
			       "invalid --user '%s': use UID[:GID] or NAME[:GROUP], e.g. -u 1000:1000",
			       arg);
	free(o->user);
	o->user = strdup(arg);
	return o->user ? 0 : -ENOMEM;
}

static int parse_env(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	const char *eq = strchr(arg, '=');
	if (arg[0] == '\0' || eq == arg)
		return rl_fail(err, EINVAL, "invalid --env '%s': use KEY=VALUE or KEY", arg);
	for (const char *p = arg; *p && p != eq; p++)
		if (isspace((unsigned char)*p))
			return rl_fail(err, EINVAL,
				       "invalid --env '%s': the name may not contain spaces", arg);
	if (eq)
		return push(&o->env, &o->n_env, arg);
	/* KEY alone passes our own value, and nothing when we have none (as Docker). */
	const char *ours = getenv(arg);
	if (!ours)
		return 0;
	_cleanup_free_ char *kv = NULL;
	if (asprintf(&kv, "%s=%s", arg, ours) < 0)
		return -ENOMEM;
	return push(&o->env, &o->n_env, kv);
}

/* Collapses "//" and "." components in place, so that "/." and "//" are
 * seen as "/"; refuses "..". */
static int normalize_path(char *path)
{
	char *out = path;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EINVAL;
		if (!(n == 1 && p[0] == '.')) {
			*out++ = '/';
			memmove(out, p, n);
			out += n;
		}
		p += n;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
	return 0;
}

static int parse_volume(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	_cleanup_free_ char *copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	char *host = copy, *ctr = strchr(copy, ':'), *mode = NULL;
	if (!ctr)
		return rl_fail(err, EINVAL, "invalid --volume '%s': use HOST:CONTAINER[:ro|rw]", arg);
	*ctr++ = '\0';
	if ((mode = strchr(ctr, ':')))
		*mode++ = '\0';
	if (host[0] != '/')
		return rl_fail(err, EINVAL,
			       "invalid --volume '%s': the host path must be absolute (named volumes are not supported)",
			       arg);
	if (ctr[0] != '/' || normalize_path(ctr) < 0 || strcmp(ctr, "/") == 0)
		return rl_fail(err, EINVAL,
			       "invalid --volume '%s': the container path must be absolute, not / and without ..",
			       arg);
	bool ro = false;
	if (mode) {
		if (strcmp(mode, "ro") == 0)
			ro = true;
		else if (strcmp(mode, "rw") != 0)
			return rl_fail(err, EINVAL, "invalid --volume '%s': mode '%s' is not ro or rw",
				       arg, mode);
	}
	struct stat st;
	if (stat(host, &st) < 0)
		return rl_fail_errno(err, errno, "invalid --volume '%s': cannot use host path %s",
				     arg, host);
	struct rl_volume *grown = realloc(o->volumes, (o->n_volumes + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->volumes = grown;
	struct rl_volume *v = &grown[o->n_volumes];
	*v = (struct rl_volume){.host = strdup(host), .container = strdup(ctr), .read_only = ro};
	o->n_volumes++;
	return v->host && v->container ? 0 : -ENOMEM;
}

static int parse_security_opt(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	if (strcmp(arg, "no-new-privileges") == 0 || strcmp(arg, "no-new-privileges:true") == 0 ||
	    strcmp(arg, "no-new-privileges=true") == 0) {
		o->no_new_privileges = true;
		return 0;
	}
	if (strcmp(arg, "no-new-privileges:false") == 0 ||
	    strcmp(arg, "no-new-privileges=false") == 0) {
		o->no_new_privileges = false;
		return 0;
	}
	if (strncmp(arg, "seccomp=", 8) == 0 || strncmp(arg, "seccomp:", 8) == 0) {
		const char *v = arg + 8;
		if (strcmp(v, "unconfined") == 0) {
			o->seccomp = RL_SECCOMP_UNCONFINED;
			return 0;
		}
		if (!v[0])
			return rl_fail(err, EINVAL,
				       "invalid --security-opt '%s': give seccomp=unconfined or seccomp=PROFILE.json",
				       arg);
		free(o->seccomp_profile);
		if (!(o->seccomp_profile = strdup(v)))
			return -ENOMEM;
		o->seccomp = RL_SECCOMP_PROFILE;
		return 0;
	}
	return rl_fail(err, EINVAL,
		       "unsupported --security-opt '%s': use no-new-privileges or seccomp=unconfined|PROFILE.json",
		       arg);
}

/* A port number 1..65535 in decimal, nothing else. */
static int port_number(const char *s, size_t len)
{
	if (len == 0 || len > 5)
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

int rl_port_parse(const char *arg, struct rl_port *p, struct rl_error *err)
{
	*p = (struct rl_port){.proto = IPPROTO_TCP};
	char copy[128];
	if (snprintf(copy, sizeof(copy), "%s", arg) >= (int)sizeof(copy))
		return rl_fail(err, EINVAL, "invalid --publish '%.40s...': too long", arg);
	char *slash = strchr(copy, '/');
	if (slash) {
		*slash = '\0';
		if (strcmp(slash + 1, "udp") == 0)
			p->proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp") != 0)
			return rl_fail(err, EINVAL,
				       "invalid --publish '%s': protocol '%s' is not tcp or udp", arg,
				       slash + 1);
	}
	/* [IP:]HOSTPORT:CTRPORT: split at the last two colons. */
	char *last = strrchr(copy, ':');
	if (!last)
		return rl_fail(err, EINVAL,
			       "invalid --publish '%s': give HOSTPORT:CONTAINERPORT, e.g. -p 8080:80 (a random host port is not supported)",
			       arg);
	*last = '\0';
	char *hostport = strrchr(copy, ':');
	const char *ip = "";
	if (hostport) {
		*hostport++ = '\0';
		ip = copy;
	} else {
		hostport = copy;
	}
	int hp = port_number(hostport, strlen(hostport));
	int cp = port_number(last + 1, strlen(last + 1));
	if (hp < 0 || cp < 0)
		return rl_fail(err, EINVAL,
			       "invalid --publish '%s': ports are numbers from 1 to 65535 (port ranges are not supported)",
			       arg);
	struct in_addr a;
	if (ip[0] && (strchr(ip, ':') || ip[0] == '['))
		return rl_fail(err, EINVAL,
			       "invalid --publish '%s': IPv6 host addresses are not supported; give an IPv4 address or none",
			       arg);
	if (ip[0] && inet_pton(AF_INET, ip, &a) != 1)
		return rl_fail(err, EINVAL, "invalid --publish '%s': '%s' is not an IPv4 address", arg,
			       ip);
	/* 0.0.0.0 and "" are the same binding; keep one spelling. */
	if (ip[0] && a.s_addr != htonl(INADDR_ANY))
		inet_ntop(AF_INET, &a, p->host_ip, sizeof(p->host_ip));
	p->host_port = (unsigned short)hp;
	p->ctr_port = (unsigned short)cp;
	return 0;
}

int rl_network_parse(const char *arg, struct rl_run_opts *o, struct rl_error *err)
{
	o->allow_host_loopback = false;
	if (strcmp(arg, "none") == 0) {
		o->network = RL_NET_NONE;
		return 0;
	}
	if (strcmp(arg, "host") == 0) {
		o->network = RL_NET_HOST;
		return 0;
	}
	if (strcmp(arg, "slirp4netns") == 0) {
		o->network = RL_NET_SLIRP;
		return 0;
	}
	if (strncmp(arg, "slirp4netns:", 12) == 0) {
		const char *opt = arg + 12;
		if (strcmp(opt, "allow_host_loopback=true") == 0)
			o->allow_host_loopback = true;
		else if (strcmp(opt, "allow_host_loopback=false") != 0)
			return rl_fail(err, EINVAL,
				       "invalid --network '%s': the only slirp4netns option is allow_host_loopback=true|false",
				       arg);
		o->network = RL_NET_SLIRP;
		return 0;
	}
	return rl_fail(err, EINVAL,
		       "invalid --network '%s': use none, host or slirp4netns[:allow_host_loopback=true] (user-defined networks are not supported)",
		       arg);
}

static int add_port(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	struct rl_port p;
	int r = rl_port_parse(arg, &p, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->n_ports; i++) {
		const struct rl_port *q = &o->ports[i];
		/* The same host port twice cannot be bound; say so before trying. */
		if (q->proto == p.proto && q->host_port == p.host_port &&
		    (!q->host_ip[0] || !p.host_ip[0] || strcmp(q->host_ip, p.host_ip) == 0))
			return rl_fail(err, EINVAL,
				       "invalid --publish '%s': host port %u/%s is already published by an earlier -p",
				       arg, p.host_port, rl_port_proto_name(p.proto));
	}
	struct rl_port *grown = realloc(o->ports, (o->n_ports + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	o->ports = grown;
	grown[o->n_ports++] = p;
	return 0;
}

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

static int parse_tty_size(struct rl_run_opts *o, const char *arg, struct rl_error *err)
{
	unsigned rows, cols;
	int end = 0;
	if (sscanf(arg, "%5ux%5u%n", &rows, &cols, &end) != 2 || arg[end] || !isdigit((unsigned char)arg[0]) ||
	    !rows || !cols || rows > 65535 || cols > 65535)
		return rl_fail(err, EINVAL, "invalid --tty-size '%s': use ROWSxCOLS, e.g. 24x80", arg);
	o->tty_rows = (unsigned short)rows;
	o->tty_cols = (unsigned short)cols;
	return 0;
}

static int set_string(char **slot, const char *v)
{
	free(*slot);
	*slot = strdup(v);
	return *slot ? 0 : -ENOMEM;
}

enum { OPT_RM = 256, OPT_NAME, OPT_READ_ONLY, OPT_INIT, OPT_CAP_ADD, OPT_CAP_DROP,
       OPT_SECURITY_OPT, OPT_NETWORK, OPT_MEMORY_ENFORCE, OPT_PIDS_LIMIT, OPT_CPUS, OPT_PULL,
       OPT_PLATFORM, OPT_TLS_VERIFY, OPT_ENTRYPOINT, OPT_TTY_SIZE, OPT_HELP };

int rl_run_opts_parse(int argc, char **argv, struct rl_run_opts *o, struct rl_error *err)
{
	static const struct option longs[] = {
		{"rm", no_argument, NULL, OPT_RM},
		{"name", required_argument, NULL, OPT_NAME},
		{"env", required_argument, NULL, 'e'},
		{"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'},
		{"hostname", required_argument, NULL, 'h'},
		{"volume", required_argument, NULL, 'v'},
		{"read-only", no_argument, NULL, OPT_READ_ONLY},
		{"interactive", no_argument, NULL, 'i'},
		{"detach", no_argument, NULL, 'd'},
		{"tty", no_argument, NULL, 't'},
		{"init", no_argument, NULL, OPT_INIT},
		{"cap-add", required_argument, NULL, OPT_CAP_ADD},
		{"cap-drop", required_argument, NULL, OPT_CAP_DROP},
		{"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
		{"network", required_argument, NULL, OPT_NETWORK},
		{"net", required_argument, NULL, OPT_NETWORK},
		{"publish", required_argument, NULL, 'p'},
		{"memory", required_argument, NULL, 'm'},
		{"memory-enforce", required_argument, NULL, OPT_MEMORY_ENFORCE},
		{"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"pull", required_argument, NULL, OPT_PULL},
		{"platform", required_argument, NULL, OPT_PLATFORM},
		{"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
		{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
		{"tty-size", required_argument, NULL, OPT_TTY_SIZE},
		{"help", no_argument, NULL, OPT_HELP},
		{0},
	};
	*o = (struct rl_run_opts){.seccomp = RL_SECCOMP_DEFAULT};
	opterr = 0;
	optind = 0; /* 0 re-initialises getopt, which may have run before */
	int c, r = 0;
	/* '+' stops at the image: what follows it belongs to the command. */
	while (r >= 0 && (c = getopt_long(argc, argv, "+:e:w:u:h:v:p:m:itd", longs, NULL)) != -1) {
		switch (c) {
		case OPT_RM: o->rm = true; break;
		case OPT_READ_ONLY: o->read_only = true; break;
		case OPT_INIT: o->init = true; break;
		case 'i': o->interactive = true; break;
		case 't': o->tty = true; break;
		case 'd': o->detach = true; break;
		case OPT_NAME:
			if (!valid_name(optarg))
				return rl_fail(err, EINVAL,
					       "invalid --name '%s': use letters, digits and _.- (at least 2, starting with a letter or digit)",
					       optarg);
			r = set_string(&o->name, optarg);
			break;
		case 'h':
			if (!valid_hostname(optarg))
				return rl_fail(err, EINVAL,
					       "invalid --hostname '%s': use up to 64 letters, digits, '-' and '.'",
					       optarg);
			r = set_string(&o->hostname, optarg);
			break;
		case 'w':
			if (optarg[0] != '/')
				return rl_fail(err, EINVAL,
					       "invalid --workdir '%s': the path must be absolute", optarg);
			r = set_string(&o->workdir, optarg);
			break;
		case 'u': r = parse_user(o, optarg, err); break;
		case 'e': r = parse_env(o, optarg, err); break;
		case OPT_ENTRYPOINT: r = set_string(&o->entrypoint, optarg); break;
		case OPT_TTY_SIZE: r = parse_tty_size(o, optarg, err); break;
		case 'v': r = parse_volume(o, optarg, err); break;
		case OPT_CAP_ADD: r = push(&o->cap_add, &o->n_cap_add, optarg); break;
		case OPT_CAP_DROP: r = push(&o->cap_drop, &o->n_cap_drop, optarg); break;
		case OPT_SECURITY_OPT: r = parse_security_opt(o, optarg, err); break;
		case OPT_NETWORK: r = rl_network_parse(optarg, o, err); break;
		case 'p': r = add_port(o, optarg, err); break;
		case 'm': r = rl_limits_memory(&o->limits, optarg, host_memory(), err); break;
		case OPT_MEMORY_ENFORCE: r = rl_limits_enforce(&o->limits, optarg, err); break;
		case OPT_PIDS_LIMIT: r = rl_limits_pids(&o->limits, optarg, err); break;
		case OPT_CPUS: r = rl_limits_cpus(&o->limits, optarg, sysconf(_SC_NPROCESSORS_ONLN), err); break;
		case OPT_PULL:
			if (strcmp(optarg, "missing") == 0)
				o->pull = RL_PULL_MISSING;
			else if (strcmp(optarg, "always") == 0)
				o->pull = RL_PULL_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->pull = RL_PULL_NEVER;
			else
				r = rl_fail(err, EINVAL, "--pull takes missing, always or never, not '%.40s'", optarg);
			break;
		case OPT_PLATFORM:
			free(o->platform);
			r = (o->platform = strdup(optarg)) ? 0 : -ENOMEM;
			break;
		case OPT_TLS_VERIFY: {
			bool verify;
			r = rl_bool_option("--tls-verify", optarg, &verify, err);
			o->tls_insecure = !verify;
			break;
		}
		case OPT_HELP: return 1;
		case ':':
			return rl_fail(err, EINVAL, "option '%s' needs a value; see 'rlbpf run --help'",
				       argv[optind - 1]);
		default:
			/* A bad letter inside a group such as -xi: name the letter. */
			if (optopt && optopt < 256)
				return rl_fail(err, EINVAL, "unknown option '-%c'; see 'rlbpf run --help'",
					       optopt);
			return rl_fail(err, EINVAL, "unknown option '%s'; see 'rlbpf run --help'",
				       argv[optind - 1]);
		}
	}
	if (r == -ENOMEM)
		return rl_fail(err, ENOMEM, "out of memory while reading options");
	if (r < 0)
		return r;
	/* Docker ignores -p with host networking, with a warning; a port that
	 * silently goes unpublished is worse than a refusal. */
	if (o->network == RL_NET_HOST && o->n_ports)
		return rl_fail(err, EINVAL,
			       "--publish does not apply with --network host: the container's ports are the host's already; drop -p, or use --network slirp4netns or none");
	if (optind >= argc)
		return rl_fail(err, EINVAL,
			       "no image given: use 'rlbpf run [OPTIONS] ROOTFS-DIR|IMAGE [COMMAND]', e.g. 'rlbpf run busybox sh'");
	if (argv[optind][0] == '\0')
		return rl_fail(err, EINVAL, "the image name is empty; give a rootfs directory or 'busybox'");
	o->image_arg = optind;
	if (set_string(&o->image, argv[optind++]) < 0)
		return -ENOMEM;
	for (int i = optind; i < argc; i++)
		if (push(&o->cmd, &o->n_cmd, argv[i]) < 0)
			return -ENOMEM;
	return 0;
}

static void free_vec(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void rl_run_opts_free(struct rl_run_opts *o)
{
	free(o->platform);
	free(o->name);
	free(o->hostname);
	free(o->workdir);
	free(o->entrypoint);
	free(o->user);
	free_vec(o->env, o->n_env);
	for (size_t i = 0; i < o->n_volumes; i++) {
		free(o->volumes[i].host);
		free(o->volumes[i].container);
	}
	free(o->volumes);
	free_vec(o->cap_add, o->n_cap_add);
	free_vec(o->cap_drop, o->n_cap_drop);
	free(o->seccomp_profile);
	free(o->ports);
	free(o->image);
	free_vec(o->cmd, o->n_cmd);
	*o = (struct rl_run_opts){0};
}
