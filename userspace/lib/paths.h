/* Where rlbpf keeps things. */
#pragma once
#include <stddef.h>

#include "lib/error.h"

/* $XDG_RUNTIME_DIR/rlbpf, or /tmp/rlbpf-UID (0700, the caller's own; a
 * directory of someone else's there is refused). Created on demand. */
int rl_runtime_dir(char *buf, size_t len, struct rl_error *err);

/* $XDG_DATA_HOME/rlbpf, default ~/.local/share/rlbpf. Created on demand. */
int rl_data_dir(char *buf, size_t len, struct rl_error *err);

/* $XDG_CONFIG_HOME, default ~/.config: where Podman's and rlbpf's user
 * settings live. -ENOENT when neither is an absolute path. Not created. */
int rl_config_home(char *buf, size_t len);

/* PREFIX/rel, where PREFIX is the directory above the running executable's
 * (build/ in a build tree, the install prefix once installed). */
int rl_install_path(const char *rel, char *buf, size_t len, struct rl_error *err);

/* The installed read-only data (the embedded image): ../share/rlbpf next to
 * the running executable, or $RLBPF_SHARE_DIR. */
int rl_share_dir(char *buf, size_t len, struct rl_error *err);

/* mkdir -p with mode for each created component. */
int rl_mkdir_p(const char *path, unsigned mode, struct rl_error *err);

/* The agent's socket. */
#define RL_AGENT_SOCKET "/run/rlbpf/rlbpfd.sock"
