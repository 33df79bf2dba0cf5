/* Host facts that decide what rlbpf can promise on this machine, shared by
 * `rlbpf info` and `rlbpf setup` (which put them in words; nothing here
 * prints). One function per fact; every probe takes the paths it reads so
 * unit tests can feed fixture files instead of the host's. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cgroup_mounts.h"
#include "lib/error.h"
#include "runtime/idmap.h"

/* Where the probes look. rl_host_paths_default is the real host. */
struct rl_host_paths {
	const char *proc_sys;           /* /proc/sys */
	const char *cgroup_root;        /* /sys/fs/cgroup */
	const char *mountinfo;          /* /proc/self/mountinfo */
	const char *self_cgroup;        /* /proc/self/cgroup */
	const char *filesystems;        /* /proc/filesystems */
	const char *modules_dir;        /* /lib/modules */
	const char *btf_vmlinux;        /* /sys/kernel/btf/vmlinux */
	const char *tun;                /* /dev/net/tun */
	const char *subuid, *subgid;    /* /etc/subuid, /etc/subgid */
	const char *agent_socket;       /* RL_AGENT_SOCKET */
	const char *const *helper_dirs; /* NULL-terminated: /usr/bin /bin /usr/sbin */
	const char *dev_fuse;           /* /dev/fuse */
	bool try_overlay_mount;         /* mount an overlay in a user namespace to see */
};
extern const struct rl_host_paths rl_host_paths_default;

/* ---- small parsers (exposed for the unit tests) */

/* A sysctl by dotted name ("net.ipv4.ip_unprivileged_port_start") under
 * `proc_sys`: one integer. -ENOENT when the sysctl does not exist on this
 * kernel, -EINVAL when the file does not hold one integer. */
int rl_sysctl_read(const char *proc_sys, const char *name, long *out, struct rl_error *err);

/* Whether a /proc/filesystems-format file lists `fs`. */
int rl_fs_listed(const char *filesystems, const char *fs, bool *out, struct rl_error *err);

/* Whether a kernel release string ("6.18.44-foo") is at least major.minor.
 * False for a string that does not start with a version. */
bool rl_kernel_at_least(const char *release, int major, int minor);

/* The mount point of the first mount of type `fstype` in a
 * /proc/self/mountinfo-format file (octal escapes decoded). -ENOENT none. */
int rl_mountinfo_find(const char *mountinfo, const char *fstype, char *mnt, size_t len,
		      struct rl_error *err);

/* The cgroup2 path ("0::PATH" line) of a /proc/PID/cgroup-format file.
 * -ENOENT when there is no such line. */
int rl_self_cgroup2_path(const char *self_cgroup, char *buf, size_t len, struct rl_error *err);

/* Controllers rlbpf cares about. */
enum {
	RL_CTRL_MEMORY = 1u << 0,
	RL_CTRL_CPU = 1u << 1,
	RL_CTRL_PIDS = 1u << 2,
	RL_CTRL_ALL = RL_CTRL_MEMORY | RL_CTRL_CPU | RL_CTRL_PIDS,
};
/* The RL_CTRL_* named in a cgroup.controllers or cgroup.subtree_control
 * file (space-separated names; others ignored). */
int rl_cgroup_controllers_read(const char *path, unsigned *mask, struct rl_error *err);

/* True when a security.capability xattr value grants `cap` (< 32) in its
 * permitted set. Any revision of struct vfs_cap_data. */
bool rl_file_caps_grant(const void *xattr, size_t len, int cap);

/* The start of a free subordinate range of `count` ids: past the highest
 * end in every given /etc/subuid-format file (missing files count as empty),
 * and never below 100000. `files` is NULL-terminated. */
int rl_subid_free_start(const char *const *files, uint32_t count, uint32_t *start,
			struct rl_error *err);

/* ---- the facts */

struct rl_user_facts {
	uid_t uid;
	gid_t gid;
	char name[64]; /* from the passwd database, or the uid in digits */
};
void rl_probe_user(struct rl_user_facts *out);

enum rl_cgroup_layout {
	RL_CGROUP_NONE,   /* nothing mounted at the cgroup root */
	RL_CGROUP_V1,     /* only v1 hierarchies */
	RL_CGROUP_HYBRID, /* v1 hierarchies plus a cgroup2 mount (no controllers) */
	RL_CGROUP_V2,     /* unified */
};
/* "none", "v1", "hybrid", "v2" */
const char *rl_cgroup_layout_name(enum rl_cgroup_layout l);

struct rl_cgroup_facts {
	enum rl_cgroup_layout layout;
	char v2_mount[PATH_MAX]; /* "" when no cgroup2 is mounted */
	struct rl_error err;     /* code 0 when probed */
};
/* Decides the layout from statfs magics: of the cgroup root, of
 * root/unified, and whether any subdirectory of the root is a v1 hierarchy. */
enum rl_cgroup_layout rl_cgroup_classify(long root_magic, long unified_magic, bool any_v1);
/* Looks at `cgroup_root` (statfs) and, for a cgroup2 mounted elsewhere,
 * `mountinfo`. */
int rl_probe_cgroup(const char *cgroup_root, const char *mountinfo, struct rl_cgroup_facts *out,
		    struct rl_error *err);

struct rl_delegation_facts {
	unsigned controllers;  /* RL_CTRL_* this user can enforce through cgroup v2 */
	char cgroup[PATH_MAX]; /* the writable cgroup that offers them, or "" */
	char why[384];         /* why one of memory/cpu/pids is missing, or "" */
	struct rl_error err;
};
/* cgroup v2 delegation: the caller's own cgroup (from `self_cgroup`), then
 * systemd's user@UID.service, counts when the caller can write it; the
 * controllers it offers are those in its cgroup.subtree_control or
 * cgroup.controllers. On v1 and hybrid hosts the answer is none. */
int rl_probe_delegation(const struct rl_cgroup_facts *cg, const char *self_cgroup, uid_t uid,
			struct rl_delegation_facts *out, struct rl_error *err);

struct rl_helper_facts {
	char name[16];         /* "newuidmap" */
	char path[PATH_MAX];   /* where it was found, or "" */
	bool found;
	bool executable;       /* by the caller */
	bool setuid_root;      /* owned by root with the setuid bit */
	bool file_caps;        /* security.capability grants the needed cap */
	bool nosuid_mount;     /* on a nosuid mount: neither takes effect */
	struct rl_error err;
};
/* Looks for `name` in the NULL-terminated `dirs`; `cap` is the capability
 * it needs when it is not setuid (CAP_SETUID for newuidmap). */
int rl_probe_helper(const char *name, const char *const *dirs, int cap,
		    struct rl_helper_facts *out, struct rl_error *err);
/* Found and able to gain privilege. */
bool rl_helper_usable(const struct rl_helper_facts *h);

struct rl_userns_facts {
	long max_user_namespaces;       /* user.max_user_namespaces, -1 unreadable */
	long unprivileged_userns_clone; /* kernel.unprivileged_userns_clone, -1 absent */
	long apparmor_restrict;         /* kernel.apparmor_restrict_unprivileged_userns, -1 absent */
	bool allowed;
	char why[256]; /* which sysctl forbids it, or "" */
	char fix[256]; /* the sysctl command(s) that allow it, or "" */
	struct rl_error err;
};
int rl_probe_userns(const char *proc_sys, struct rl_userns_facts *out, struct rl_error *err);

struct rl_subid_facts {
	const char *file; /* the file looked in */
	bool found;
	struct rl_id_range range;
	struct rl_error err; /* -ENOENT (no range) is not an error: found = false */
};
int rl_probe_subid(const char *file, const struct rl_user_facts *user,
		   struct rl_subid_facts *out, struct rl_error *err);

struct rl_access_facts {
	bool ok;
	int status; /* 0, or negative errno from access() */
};

struct rl_overlay_facts {
	bool listed;       /* in /proc/filesystems: loaded or built in */
	bool module;       /* not loaded but a module exists for this kernel */
	bool userns_mount; /* mountable inside a user namespace: tried, or kernel 5.11+ */
	int userns_trial;  /* 0 the trial mount worked, -errno it failed, 1 not tried */
	bool fuse_found;   /* fuse-overlayfs, the fallback, is installed */
	char fuse_path[PATH_MAX];
	struct rl_access_facts dev_fuse; /* /dev/fuse readable and writable */
	bool fuse_forced;  /* RLBPF_OVERLAY=fuse */
	struct rl_error err;
};
int rl_probe_overlay(const char *filesystems, const char *modules_dir, const char *release,
		     struct rl_overlay_facts *out, struct rl_error *err);
/* Mounts an overlay inside a new user namespace, with its layers in a
 * temporary directory under `dir`, as containers do; sets userns_trial and
 * userns_mount from what the kernel says. */
void rl_probe_overlay_userns(const char *dir, struct rl_overlay_facts *out);
/* fuse-overlayfs and /dev/fuse, what containers fall back on. */
void rl_probe_fuse_overlay(const char *dev_fuse, struct rl_overlay_facts *out);

/* What containers' roots are mounted with here. */
enum rl_root_mount {
	RL_ROOT_OVERLAY,      /* the kernel's overlayfs */
	RL_ROOT_FUSE_OVERLAY, /* fuse-overlayfs */
	RL_ROOT_NONE,         /* neither: rlbpf run fails */
};
enum rl_root_mount rl_root_mount(const struct rl_overlay_facts *o);

/* BTF for CO-RE: readable vmlinux BTF. */
void rl_probe_btf(const char *btf_vmlinux, struct rl_access_facts *out);
/* /dev/net/tun openable read-write by the caller. */
void rl_probe_tun(const char *tun, struct rl_access_facts *out);

struct rl_agent_facts {
	bool reachable;
	int status; /* 0 or negative errno from the connect */
	char why[384];
};
void rl_probe_agent(const char *socket_path, struct rl_agent_facts *out);

/* Everything, for info and setup. */
struct rl_host_facts {
	char kernel[65]; /* uname release */
	struct rl_user_facts user;
	struct rl_cgroup_facts cgroup;
	struct rl_delegation_facts delegation;
	struct rl_access_facts btf;
	struct rl_helper_facts newuidmap, newgidmap;
	struct rl_userns_facts userns;
	struct rl_subid_facts subuid, subgid;
	struct rl_overlay_facts overlay;
	long ip_unprivileged_port_start; /* -1 unreadable */
	struct rl_error port_err;
	struct rl_access_facts tun;
	struct rl_agent_facts agent;
	struct rl_cg_host cg_mounts; /* where root (rlbpfd) can make cgroups */
};
/* Never fails as a whole: a fact that could not be read says so in its own
 * err. `paths` NULL means the real host. */
void rl_host_probe(const struct rl_host_paths *paths, struct rl_host_facts *f);

/* ---- what follows from the facts */

enum rl_resource { RL_RES_MEMORY, RL_RES_CPU, RL_RES_PIDS };
enum rl_enforcer {
	RL_ENFORCE_NONE,
	RL_ENFORCE_CGROUP2, /* a delegated cgroup v2 controller */
	RL_ENFORCE_AGENT_CGROUP, /* a cgroup rlbpfd makes: the kernel's controller */
	RL_ENFORCE_AGENT,   /* rlbpfd's eBPF programs (memory and pids) */
};
/* Who can enforce a limit on `r` here: cgroup v2 delegation first, then a
 * cgroup of the agent's where the controller is mounted, then the agent's
 * eBPF cap (memory and pids), when it is reachable. */
enum rl_enforcer rl_limit_enforcer(const struct rl_host_facts *f, enum rl_resource r);
/* "memory", "cpu", "pids" */
const char *rl_resource_name(enum rl_resource r);
/* The RL_CTRL_* bit of the cgroup controller for `r`. */
unsigned rl_resource_controller(enum rl_resource r);
