/* rlbpf trace: subscribes to the agent's events for the caller's
 * containers (or named ones, or with --all, root, everything) and prints
 * them as they come, one line each, flushed at once. If the agent restarts,
 * trace reconnects and goes on. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/agent_client.h"
#include "lib/cleanup.h"
#include "cli/commands.h"
#include "supervise/state.h"
#include "proto/trace_fmt.h"
#include "lib/userdb.h"
#include "runtime/container_file.h"
#include "runtime/passwd.h"
#include "lib/printable.h"

#define PROG "rlbpf trace"
#define RECONNECT_TRIES 300 /* x 100 ms */
#define NAME_CACHE 64
#define PASSWD_MAX (4u << 20) /* a container's /etc/passwd, at most */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rlbpf trace [OPTIONS] [CONTAINER...]\n"
		"Show what happens in containers, as it happens, from the rlbpfd agent:\n"
		"execs, uid/gid changes, denied and granted privileged binds, exits.\n"
		"Without CONTAINER: all your containers, those started later included.\n"
		"\n"
		"      --all            every container and the host's binds (root only)\n"
		"      --events LIST    only these: exec,setuid,idmap,bind,mem,oom,exit\n"
		"      --json           one JSON object per line\n"
		"      --no-trunc       do not truncate names\n"
		"  -h, --help           print this help\n"
		"\n"
		"Columns: TIME CONTAINER PID CPID USER HUSER COMM EVENT DETAIL. PID is the\n"
		"host's pid, CPID the container's; USER is the name in the container's\n"
		"/etc/passwd, HUSER the host's name for the host uid. Ctrl-C stops.\n");
}

/* Names of container uids, from each container's own /etc/passwd (read
 * through its init's root), cached per container. */
struct name_cache {
	char id[RL_ID_LEN];
	char *passwd; /* file contents, or NULL when unreadable */
};

static const char *container_user(struct name_cache *cache, const struct rl_event_meta *m,
				  uint32_t uid, char *buf, size_t len)
{
	if (uid == RL_ID_UNMAPPED)
		return "-";
	if (m->id[0]) {
		size_t i, slot = 0;
		for (i = 0; i < NAME_CACHE && cache[i].id[0]; i++)
			if (!strcmp(cache[i].id, m->id))
				break;
		if (i == NAME_CACHE || !cache[i].id[0]) {
			slot = i == NAME_CACHE ? (size_t)(m->init_pid % NAME_CACHE) : i;
			free(cache[slot].passwd);
			cache[slot].passwd = NULL;
			memcpy(cache[slot].id, m->id, RL_ID_LEN);
			rl_container_file_read((pid_t)m->init_pid, "/etc/passwd", PASSWD_MAX,
					       &cache[slot].passwd);
			i = slot;
		}
		if (rl_passwd_name(cache[i].passwd, uid, buf, len))
			return buf;
	} else {
		char name[64];
		if (rl_userdb_lookup(uid, name, sizeof(name), NULL, 0) == 0) {
			rl_printable_copy(buf, name, len - 1);
			return buf;
		}
	}
	snprintf(buf, len, "%u", uid);
	return buf;
}

/* A lookup reads /etc/passwd: at thousands of events a second that is the
 * trace's bottleneck, so the last few answers are kept. */
#define HOST_CACHE 16
struct host_cache {
	uint32_t uid;
	bool used;
	char name[64];
};

static const char *host_user(struct host_cache *hc, uint32_t uid, char *buf, size_t len)
{
	for (size_t i = 0; i < HOST_CACHE; i++)
		if (hc[i].used && hc[i].uid == uid) {
			snprintf(buf, len, "%s", hc[i].name);
			return buf;
		}
	char name[64];
	if (rl_userdb_lookup(uid, name, sizeof(name), NULL, 0) == 0)
		rl_printable_copy(buf, name, len - 1);
	else
		snprintf(buf, len, "%u", uid);
	struct host_cache *slot = &hc[uid % HOST_CACHE];
	slot->used = true;
	slot->uid = uid;
	snprintf(slot->name, sizeof(slot->name), "%s", buf);
	return buf;
}

int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},   {"events", required_argument, NULL, 'e'},
		{"json", no_argument, NULL, 'j'},  {"no-trunc", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},  {0},
	};
	struct rl_msg_subscribe sub = {0};
	uint32_t shown = 0; /* the --events mask; 0 shows all */
	bool json = false, no_trunc = false;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': sub.flags |= RL_SUB_ALL; break;
		case 'j': json = true; break;
		case 'n': no_trunc = true; break;
		case 'e': {
			char bad[80];
			if (rl_event_mask_parse(optarg, &sub.event_mask, bad, sizeof(bad)) < 0) {
				fprintf(stderr, PROG ": unknown event '%s' in --events; use "
						"exec,setuid,idmap,bind,mem,oom,exit\n", bad);
				return RL_EXIT_INTERNAL;
			}
			break;
		}
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, PROG ": unknown option '%s'; see rlbpf trace --help\n",
				argv[optind - 1]);
			return RL_EXIT_INTERNAL;
		}
	}
	/* idmap events come when a container registers, while its init still
	 * runs: the moment to read its /etc/passwd for USER, even when the
	 * container is over by the time its other events arrive */
	shown = sub.event_mask;
	if (sub.event_mask)
		sub.event_mask |= 1u << RL_EV_IDMAP;
	if ((sub.flags & RL_SUB_ALL) && optind < argc) {
		fprintf(stderr, PROG ": --all and CONTAINER exclude each other\n");
		return RL_EXIT_INTERNAL;
	}
	if (argc - optind > RL_SUB_MAX_IDS) {
		fprintf(stderr, PROG ": at most %d containers at once\n", RL_SUB_MAX_IDS);
		return RL_EXIT_INTERNAL;
	}
	for (int i = optind; i < argc; i++) {
		struct rl_state st;
		struct rl_error err = {0};
		if (rl_state_find(argv[i], &st, &err) < 0) {
			rl_error_print(&err, PROG);
			return RL_EXIT_INTERNAL;
		}
		memcpy(sub.ids[sub.n_ids++], st.id, 65);
	}

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char why[300];
	struct rl_agent_conn conn;
	int r = rl_agent_subscribe(&conn, &sub, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, PROG ": %s%s\n", r == -ENOENT || r == -ECONNREFUSED ? "rlbpfd " : "",
			why);
		return RL_EXIT_INTERNAL;
	}
	if (!json) {
		rl_trace_print_header(stdout, no_trunc);
		fflush(stdout);
	}
	struct name_cache cache[NAME_CACHE] = {0};
	struct host_cache hcache[HOST_CACHE] = {0};
	int code = 0;
	while (!stop) {
		struct rl_msg m;
		/* flushed before waiting: every event is out as soon as nothing
		 * more is at hand, without a write per event under load */
		r = rl_agent_next(&conn, &m, 0);
		if (r == 0) {
			if (fflush(stdout) == EOF)
				break; /* the reader went away */
			r = rl_agent_next(&conn, &m, -1);
		}
		if (r == -EINTR)
			continue;
		if (r == -ECONNRESET) {
			/* the agent restarted: its maps stay pinned, so catch up */
			rl_agent_close(&conn);
			fprintf(stderr, PROG ": the agent went away; reconnecting\n");
			int tries = 0;
			while (!stop && (r = rl_agent_subscribe(&conn, &sub, why, sizeof(why))) < 0 &&
			       (r == -ENOENT || r == -ECONNREFUSED) && ++tries < RECONNECT_TRIES)
				usleep(100000);
			if (r < 0) {
				if (!stop) {
					fprintf(stderr, PROG ": %s\n", why);
					code = RL_EXIT_INTERNAL;
				}
				break;
			}
			fprintf(stderr, PROG ": reconnected\n");
			continue;
		}
		if (r < 0) {
			fprintf(stderr, PROG ": reading from the agent failed: %s\n", strerror(-r));
			code = RL_EXIT_INTERNAL;
			break;
		}
		if (m.hdr.type != RL_MSG_EVENT)
			continue;
		const struct rl_event_meta *meta = &m.u.event.meta;
		const struct rl_event *ev = &m.u.event.ev;
		char ub[64], hb[64];
		const char *user = container_user(cache, meta, ev->hdr.ns_uid, ub, sizeof(ub));
		if (shown && ev->hdr.type != RL_EV_LOST && !(shown & (1u << ev->hdr.type)))
			continue;
		const char *huser = host_user(hcache, ev->hdr.host_uid, hb, sizeof(hb));
		if (json) {
			json_t *o = rl_trace_json(meta, ev, user, huser);
			char *s = json_dumps(o, JSON_COMPACT);
			if (s)
				puts(s);
			free(s);
			json_decref(o);
		} else {
			rl_trace_print_line(stdout, meta, ev, user, huser, no_trunc);
		}
		if (ferror(stdout))
			break; /* the reader went away */
	}
	fflush(stdout);
	rl_agent_close(&conn);
	for (size_t i = 0; i < NAME_CACHE; i++)
		free(cache[i].passwd);
	return code;
}
