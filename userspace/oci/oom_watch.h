/* OOMKilled for Podman. Podman 4.3 reads it from an "oom" file in the
 * bundle at the moment conmon's exit file appears, and never asks the
 * runtime; conmon 2.1 writes its own "oom" into its working directory,
 * which Podman does not set to the bundle (so `podman inspect` shows
 * OOMKilled false under runc too). A container whose memory rlbpfd
 * watches therefore gets a small watcher of its own: subscribed to the
 * agent's oom_kill events for it, it writes the file when the kernel or
 * the eBPF cap kills, before the process is gone, and ends with the
 * container's init. */
#pragma once
#include <sys/types.h>

/* Starts the watcher for the container whose init is `init` (alive, not
 * yet started) and whose bundle is bundle_path; agent_id is the agent's
 * id for it. Best effort: without it, `state` and `delete` still write the
 * file, only too late for Podman. Returns once the watcher is detached. */
void rl_oci_oom_watch(pid_t init, const char *bundle_path, const char *agent_id);

/* The same file now, if the agent says the container was killed for
 * memory: for `state` and `delete` of a stopped container. */
void rl_oci_oom_note(const char *bundle_path, const char *agent_id);
