/* The container's network: choosing the mode, slirp4netns for outbound
 * connectivity, and the /etc files each mode needs. Port publishing is
 * portfwd.c's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/error.h"
#include "net/netspec.h"

/* slirp4netns's fixed addresses in its default 10.0.2.0/24 */
#define RL_SLIRP_DNS "10.0.2.3"
#define RL_SLIRP_HOST "10.0.2.2"

/* Where slirp4netns is (PATH, then /usr/bin), or "" when not installed. */
void rl_slirp_find(char *path, size_t len);

/* Why slirp4netns cannot be used by this user, as one sentence with the fix,
 * or "" when it can. */
void rl_slirp_unusable(char *why, size_t len);

/* Resolves RL_NET_DEFAULT: slirp4netns when usable, else none, with `note`
 * set to one line saying why and what to change ("" when none is needed). */
enum rl_net_mode rl_network_default(char *note, size_t len);

/* "none", "host", "slirp4netns" */
const char *rl_network_name(enum rl_net_mode mode);

/* Rewrites STATE/resolv.conf (and hosts with host networking) for the mode,
 * after rl_state_write_etc wrote the defaults. */
int rl_network_write_etc(const char *state_dir, enum rl_net_mode mode, struct rl_error *err);

struct rl_slirp {
	pid_t pid;   /* -1 when not running */
	int exit_fd; /* closing it ends slirp4netns */
};

/* Starts slirp4netns for the network namespace of `pid` (in its user
 * namespace) and waits until tap0 is configured. Its output goes to
 * STATE/slirp4netns.log. It dies when exit_fd is closed (by us, or by our
 * death) and, through PR_SET_PDEATHSIG, when its parent dies. */
int rl_slirp_start(pid_t pid, bool allow_host_loopback, const char *state_dir,
		   struct rl_slirp *s, struct rl_error *err);

/* Closes exit_fd and reaps slirp4netns (it is our child). */
void rl_slirp_stop(struct rl_slirp *s);
