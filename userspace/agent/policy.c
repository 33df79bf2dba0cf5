/* Parser of /etc/rlbpf/ports.conf (format in agent_policy.h). Each line is
 * parsed into a private list first and only appended to the policy when the
 * whole line is good, so a bad line can never be half applied. */
#include "agent/policy.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#define MAX_GROUP_UIDS 256
#define LINE_MAX_LEN 1024

static int push(struct rl_policy *p, const struct rl_port_grant *g)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct rl_port_grant *n = realloc(p->grants, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->grants = n;
		p->cap = cap;
	}
	p->grants[p->n++] = *g;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* "80", "8000-8090"; 1..65535, lo <= hi */
static int parse_range(const char *s, unsigned *lo, unsigned *hi)
{
	char a[8], b[8];
	const char *dash = strchr(s, '-');
	size_t la = dash ? (size_t)(dash - s) : strlen(s);

	if (la == 0 || la >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, la);
	a[la] = 0;
	if (dash) {
		if (strlen(dash + 1) == 0 || strlen(dash + 1) >= sizeof(b))
			return -EINVAL;
		strcpy(b, dash + 1);
	} else {
		strcpy(b, a);
	}
	if (!all_digits(a) || !all_digits(b))
		return -EINVAL;
	*lo = (unsigned)atoi(a);
	*hi = (unsigned)atoi(b);
	if (*lo < 1 || *hi > 65535 || *lo > *hi)
		return -ERANGE;
	return 0;
}

/* One line into `line_grants`; on any problem, why is set and -EINVAL. */
static int parse_line(char *s, unsigned lineno, const struct rl_policy_resolver *res,
		      struct rl_policy *line_grants, char *why, size_t whylen)
{
	char *save = NULL;
	char *who = strtok_r(s, " \t", &save);
	char *proto = strtok_r(NULL, " \t", &save);
	char *ports = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	uint32_t uids[MAX_GROUP_UIDS];
	size_t n_uids = 0;
	uint8_t ipproto;

	if (!who || !proto || !ports || extra) {
		snprintf(why, whylen, "expected 'USER|@GROUP tcp|udp PORT[,PORT...]'");
		return -EINVAL;
	}
	if (!strcmp(proto, "tcp")) {
		ipproto = IPPROTO_TCP;
	} else if (!strcmp(proto, "udp")) {
		ipproto = IPPROTO_UDP;
	} else {
		snprintf(why, whylen, "unknown protocol '%.16s' (tcp or udp)", proto);
		return -EINVAL;
	}
	if (who[0] == '@') {
		if (!who[1] || res->group(who + 1, uids, MAX_GROUP_UIDS, &n_uids, res->ctx) < 0) {
			snprintf(why, whylen, "no such group '%.64s'", who + 1);
			return -EINVAL;
		}
		if (n_uids == 0) {
			snprintf(why, whylen, "group '%.64s' has no users", who + 1);
			return -EINVAL;
		}
	} else if (all_digits(who)) {
		unsigned long v = strtoul(who, NULL, 10);
		if (strlen(who) > 10 || v >= 0xffffffffUL) {
			snprintf(why, whylen, "uid '%.16s' out of range", who);
			return -EINVAL;
		}
		uids[n_uids++] = (uint32_t)v;
	} else if (res->user(who, &uids[0], res->ctx) == 0) {
		n_uids = 1;
	} else {
		snprintf(why, whylen, "no such user '%.64s'", who);
		return -EINVAL;
	}

	if (ports[strlen(ports) - 1] == ',' || ports[0] == ',' || strstr(ports, ",,")) {
		snprintf(why, whylen, "empty port in the list");
		return -EINVAL;
	}
	char *psave = NULL;
	for (char *p = strtok_r(ports, ",", &psave); p; p = strtok_r(NULL, ",", &psave)) {
		unsigned lo, hi;
		if (parse_range(p, &lo, &hi) < 0) {
			snprintf(why, whylen, "bad port '%.16s' (1-65535, or LOW-HIGH)", p);
			return -EINVAL;
		}
		/* ports from 1024 up need no privilege with the default sysctl */
		if (hi > 1023)
			hi = 1023;
		for (unsigned port = lo; port <= hi; port++)
			for (size_t i = 0; i < n_uids; i++) {
				struct rl_port_grant g = {
					.key = {.uid = uids[i], .port = (uint16_t)port, .proto = ipproto},
					.line = lineno,
				};
				if (line_grants->n >= RL_MAX_PORT_RULES) {
					snprintf(why, whylen, "more than %d grants", RL_MAX_PORT_RULES);
					return -EINVAL;
				}
				if (push(line_grants, &g) < 0)
					return -ENOMEM;
			}
	}
	return 0;
}

int rl_policy_parse(const char *text, const struct rl_policy_resolver *res,
		    rl_policy_report_fn report, void *report_ctx, struct rl_policy *out)
{
	const char *p = text;
	unsigned lineno = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char buf[LINE_MAX_LEN], why[160] = "";
		struct rl_policy line = {0};
		int r = 0;

		lineno++;
		if (len >= sizeof(buf)) {
			snprintf(why, sizeof(why), "line longer than %d bytes", LINE_MAX_LEN - 1);
			r = -EINVAL;
		} else {
			memcpy(buf, p, len);
			buf[len] = 0;
			char *hash = strchr(buf, '#');
			if (hash)
				*hash = 0;
			if (memchr(p, '\0', len) == NULL && strspn(buf, " \t\r") != strlen(buf)) {
				char *cr = strchr(buf, '\r');
				if (cr)
					*cr = 0;
				r = parse_line(buf, lineno, res, &line, why, sizeof(why));
			}
		}
		if (r == -ENOMEM) {
			rl_policy_free(&line);
			return r;
		}
		if (r == 0 && out->n + line.n > RL_MAX_PORT_RULES) {
			snprintf(why, sizeof(why), "the policy would exceed %d grants",
				 RL_MAX_PORT_RULES);
			r = -EINVAL;
		}
		if (r < 0) {
			out->bad_lines++;
			if (report)
				report(lineno, why, report_ctx);
		} else {
			for (size_t i = 0; i < line.n; i++)
				if (push(out, &line.grants[i]) < 0) {
					rl_policy_free(&line);
					return -ENOMEM;
				}
		}
		rl_policy_free(&line);
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

void rl_policy_free(struct rl_policy *p)
{
	free(p->grants);
	p->grants = NULL;
	p->n = p->cap = 0;
}

static int sys_user(const char *name, uint32_t *uid, void *ctx)
{
	(void)ctx;
	struct passwd *pw = getpwnam(name);
	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	return 0;
}

static int sys_group(const char *name, uint32_t *uids, size_t max, size_t *n, void *ctx)
{
	(void)ctx;
	struct group *gr = getgrnam(name);
	if (!gr)
		return -ENOENT;
	gid_t gid = gr->gr_gid;
	*n = 0;
	for (char **m = gr->gr_mem; m && *m && *n < max; m++) {
		struct passwd *pw = getpwnam(*m);
		if (pw)
			uids[(*n)++] = pw->pw_uid;
	}
	/* users whose primary group it is are members too */
	setpwent();
	for (struct passwd *pw; (pw = getpwent()) && *n < max;) {
		bool dup = false;
		if (pw->pw_gid != gid)
			continue;
		for (size_t i = 0; i < *n; i++)
			dup |= uids[i] == pw->pw_uid;
		if (!dup)
			uids[(*n)++] = pw->pw_uid;
	}
	endpwent();
	return 0;
}

const struct rl_policy_resolver rl_policy_system_resolver = {
	.user = sys_user,
	.group = sys_group,
};
