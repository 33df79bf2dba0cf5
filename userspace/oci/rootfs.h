/* The container's filesystem as config.json describes it, built by its init
 * in its new mount namespace: the root, the mounts in order, the devices,
 * then pivot_root, masked and read-only paths, sysctl. */
#pragma once
#include "lib/error.h"
#include "oci/spec.h"

/* Before pivot_root: root propagation, the root bind-mounted on itself,
 * every mount of the spec and the devices under it. host_root: the
 * runtime may mknod (else host device nodes are bind-mounted). */
int rl_oci_rootfs_prepare(const struct rl_oci_spec *s, bool host_root, struct rl_error *err);

/* pivot_root into the root; then masked and read-only paths, a read-only
 * root, sysctl, hostname and domainname. */
int rl_oci_rootfs_enter(const struct rl_oci_spec *s, struct rl_error *err);
