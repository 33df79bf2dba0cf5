/* The runtime's side of rlbpfd: each container registers, so that `rlbpf
 * trace` and `rlbpf stats` see it (for its owner only), and the limits of
 * linux.resources, or of the io.rlbpf.* annotations that rootless Podman
 * on cgroup v1 passes instead, are kept by the agent's cgroups. */
#pragma once
#include "lib/error.h"
#include "oci/spec.h"
#include "oci/state.h"

/* Registers the container whose init is st->pid. Limits that the agent
 * cannot keep (it is absent or refuses) fail the create; without limits a
 * missing agent only means no tracing. own_cgroups: the runtime made the
 * container's cgroups itself (cgroups.h): the agent traces, keeps nothing
 * and moves nothing. Sets st->agent_limits. */
int rl_oci_agent_register(const struct rl_oci_spec *s, struct rl_oci_state *st, bool own_cgroups,
			  struct rl_error *err);

/* The 64-hex id the agent knows the container by: the OCI id itself when
 * it is one (Podman's, containerd's), else one derived from it. */
void rl_oci_agent_id(const char *id, char out[65]);
