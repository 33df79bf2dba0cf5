/* The port policy, /etc/rlbpf/ports.conf: which users may bind which
 * privileged ports without CAP_NET_BIND_SERVICE. One rule per line:
 *
 *     # comment
 *     alice tcp 80,443
 *     @www  udp 53
 *     1001  tcp 8080-8090   (ranges are allowed; only ports < 1024 matter)
 *
 * A user by name or number, or @group (its members and the users whose
 * primary group it is); tcp or udp; ports 1-65535 as a comma list of ports
 * and ranges. A line that breaks a rule is reported with its number and
 * ignored as a whole: a rule is applied completely or not at all. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "events.h"

struct rl_port_grant {
	struct rl_port_key key;
	uint32_t line;
};

struct rl_policy {
	struct rl_port_grant *grants; /* malloc'd; rl_policy_free() */
	size_t n, cap;
	size_t bad_lines;
};

/* Name lookups, injected so the parser is testable without /etc/passwd.
 * user: 0 and *uid, or -ENOENT. group: 0 with up to max uids, or -ENOENT. */
struct rl_policy_resolver {
	int (*user)(const char *name, uint32_t *uid, void *ctx);
	int (*group)(const char *name, uint32_t *uids, size_t max, size_t *n, void *ctx);
	void *ctx;
};

/* Called once per bad line with its number and what is wrong with it. */
typedef void (*rl_policy_report_fn)(unsigned line, const char *why, void *ctx);

/* Parses text; fills out (which the caller zeroed). Returns 0, or -ENOMEM.
 * Bad lines are reported and counted in out->bad_lines, never fatal. */
int rl_policy_parse(const char *text, const struct rl_policy_resolver *res,
		    rl_policy_report_fn report, void *report_ctx, struct rl_policy *out);

/* The resolver that asks the system (getpwnam, getgrnam, getpwent). */
extern const struct rl_policy_resolver rl_policy_system_resolver;

void rl_policy_free(struct rl_policy *p);
