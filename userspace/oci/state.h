/* rlbpf-runtime's record of its containers: ROOT/ID/state.json, and the
 * exec.fifo a created container's init waits on until `start`. ROOT is
 * --root, else /run/rlbpf-runtime as root of the host and
 * $XDG_RUNTIME_DIR/rlbpf-runtime otherwise (rootless, also as uid 0 of a
 * user namespace), so every call finds the same one. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/error.h"

enum rl_oci_status { RL_OCI_CREATING, RL_OCI_CREATED, RL_OCI_RUNNING, RL_OCI_PAUSED, RL_OCI_STOPPED };

struct rl_oci_state {
	char id[256];
	char dir[3840];    /* ROOT/ID: room for its files in a PATH_MAX */
	char bundle[4096];
	pid_t pid;
	uint64_t pid_start; /* the init's start time (/proc/PID/stat): a reused pid is not it */
	char created[64];   /* RFC 3339 */
	json_t *annotations; /* owned; may be NULL */
	bool own_pidns;      /* the init is PID 1 of a namespace of its own */
	bool agent_limits;   /* rlbpfd keeps its limits */
	json_t *cgroups;     /* owned; the cgroup directories create made, or NULL */
};

/* Whether we are root of the host: uid 0 of the initial user namespace
 * (not uid 0 of a rootless Podman's). */
bool rl_oci_host_root(void);

/* The state root for this call: --root, or the default for who we are.
 * Creates it (0700) when missing. */
int rl_oci_root(const char *given, char *out, size_t len, struct rl_error *err);

/* Container ids as runc takes them: letters, digits, _ + - and ., not "."
 * or "..", at most 255 bytes. */
bool rl_oci_valid_id(const char *id);

/* Makes ROOT/ID for a new container (EEXIST: the id is taken) and its
 * exec.fifo. */
int rl_oci_state_new(const char *root, const char *id, struct rl_oci_state *st,
		     struct rl_error *err);
/* Writes state.json atomically. */
int rl_oci_state_save(const struct rl_oci_state *st, struct rl_error *err);
/* Reads ROOT/ID/state.json; ENOENT with runc's words "container ID does not
 * exist". */
int rl_oci_state_load(const char *root, const char *id, struct rl_oci_state *st,
		      struct rl_error *err);
void rl_oci_state_free(struct rl_oci_state *st);
/* Removes ROOT/ID. */
int rl_oci_state_remove(const struct rl_oci_state *st, struct rl_error *err);

/* created (the init waits on exec.fifo), running, paused (its freezer
 * holds it, as runc reports), or stopped (the init is gone, or its pid is
 * now someone else's). */
enum rl_oci_status rl_oci_status_of(const struct rl_oci_state *st);
const char *rl_oci_status_name(enum rl_oci_status s);

/* The state the spec defines, as `state` prints it and hooks read it. */
json_t *rl_oci_state_json(const struct rl_oci_state *st, enum rl_oci_status status);

/* The start time of process pid (field 22 of /proc/PID/stat), 0 if gone. */
uint64_t rl_oci_proc_start(pid_t pid);

/* The ids of the containers under root, sorted; a NULL-terminated vector. */
char **rl_oci_list(const char *root);
