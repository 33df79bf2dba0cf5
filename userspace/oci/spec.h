/* config.json as the OCI runtime specification defines it: the parts
 * rlbpf-runtime honours, parsed and checked before anything is created.
 * A field it cannot honour is refused by name, never dropped silently. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

enum rl_oci_ns_type {
	RL_OCI_NS_PID,
	RL_OCI_NS_NET,
	RL_OCI_NS_IPC,
	RL_OCI_NS_UTS,
	RL_OCI_NS_MOUNT,
	RL_OCI_NS_USER,
	RL_OCI_NS_CGROUP,
	RL_OCI_NS_N
};

struct rl_oci_ns {
	bool want;  /* named in linux.namespaces */
	char *path; /* join this one; NULL: a new one */
};

struct rl_oci_idmap {
	uint32_t container, host, size;
};

struct rl_oci_mount {
	char *destination, *source, *type;
	unsigned long flags;       /* MS_* from the options */
	unsigned long propagation; /* MS_SHARED, MS_PRIVATE, ... | MS_REC; 0: none */
	bool bind;                 /* bind or rbind (then flags has MS_REC) */
	char *data;                /* the options that are not flags */
};

struct rl_oci_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct rl_oci_device {
	char type; /* 'c', 'b', 'u' or 'p' */
	char *path;
	int64_t major, minor;
	uint32_t mode, uid, gid;
	bool has_mode, has_uid, has_gid;
};

enum rl_oci_caps_set { RL_OCI_BOUNDING, RL_OCI_EFFECTIVE, RL_OCI_INHERITABLE, RL_OCI_PERMITTED,
		       RL_OCI_AMBIENT, RL_OCI_CAPS_N };

struct rl_oci_process {
	bool terminal;
	unsigned short cols, rows; /* consoleSize; 0: none given */
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	gid_t *gids; /* additionalGids */
	size_t n_gids;
	char **args, **env; /* NULL-terminated */
	char *cwd;
	uint64_t caps[RL_OCI_CAPS_N];
	struct rl_oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
};

enum rl_oci_hook_kind { RL_HOOK_PRESTART, RL_HOOK_CREATE_RUNTIME, RL_HOOK_CREATE_CONTAINER,
			RL_HOOK_START_CONTAINER, RL_HOOK_POSTSTART, RL_HOOK_POSTSTOP, RL_HOOK_N };

struct rl_oci_hook {
	char *path;
	char **args, **env; /* NULL-terminated, may be NULL */
	int timeout;        /* seconds; 0: none */
};

struct rl_oci_hooks {
	struct rl_oci_hook *h;
	size_t n;
};

struct rl_oci_resources {
	uint64_t memory;      /* bytes; 0: no limit */
	int64_t memory_swap;  /* bytes of memory + swap; 0: default, -1: unlimited */
	int64_t pids;         /* 0: no limit */
	int64_t cpu_quota;    /* us per period; 0: none */
	uint64_t cpu_period;  /* us; 0: 100000 */
};

struct rl_oci_spec {
	json_t *json;        /* the whole document (annotations, the state's) */
	char *bundle;        /* absolute */
	char *root;          /* absolute: root.path against the bundle */
	bool root_readonly;
	char *hostname, *domainname;
	struct rl_oci_process process;
	struct rl_oci_mount *mounts;
	size_t n_mounts;
	struct rl_oci_ns ns[RL_OCI_NS_N];
	struct rl_oci_idmap *uid_map, *gid_map;
	size_t n_uid_map, n_gid_map;
	char **sysctl_keys, **sysctl_values;
	size_t n_sysctl;
	char **masked, **readonly;
	size_t n_masked, n_readonly;
	struct rl_oci_device *devices;
	size_t n_devices;
	unsigned long rootfs_propagation; /* 0: rprivate, as runc */
	json_t *seccomp;                  /* linux.seccomp, borrowed from json; NULL: none */
	struct rl_oci_hooks hooks[RL_HOOK_N];
	struct rl_oci_resources resources;
	char *cgroups_path;
};

/* Reads BUNDLE/config.json. On failure err names the field and what it
 * takes. */
int rl_oci_spec_load(const char *bundle, struct rl_oci_spec *s, struct rl_error *err);
/* Parses text (a whole config.json) as if read from bundle. */
int rl_oci_spec_parse(const char *text, const char *bundle, struct rl_oci_spec *s,
		      struct rl_error *err);
/* One "process" object (config.json's, or exec --process's file). */
int rl_oci_process_parse(json_t *obj, struct rl_oci_process *p, struct rl_error *err);
void rl_oci_process_free(struct rl_oci_process *p);
void rl_oci_spec_free(struct rl_oci_spec *s);

/* The namespace type's name in config.json ("pid", "network", ...). */
const char *rl_oci_ns_name(enum rl_oci_ns_type t);
