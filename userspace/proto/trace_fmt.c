/* Formatting of trace events (trace_fmt.h). Field names of the JSON form
 * are part of rlbpf's interface: add, never rename. */
#include "proto/trace_fmt.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/printable.h"

static const char *setid_call_name(uint32_t call)
{
	static const char *const n[] = {"?",	      "setuid",	   "setreuid", "setresuid",
					"setfsuid", "setgid",	   "setregid", "setresgid",
					"setfsgid"};
	return call < sizeof(n) / sizeof(n[0]) ? n[call] : "?";
}

static void addr_str(const struct rl_ev_bind *b, char *buf, size_t len)
{
	if (b->family == 10) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, b->addr, a, sizeof(a));
		snprintf(buf, len, "[%s]", a);
	} else {
		inet_ntop(AF_INET, b->addr, buf, (socklen_t)len);
	}
}

static void id_str(uint32_t id, char *buf, size_t len)
{
	if (id == RL_ID_UNMAPPED)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%u", id);
}

void rl_trace_detail(const struct rl_event_meta *m, const struct rl_event *ev, char *buf,
		     size_t len)
{
	char a[64], o[16], n[16];
	switch (ev->hdr.type) {
	case RL_EV_EXEC: {
		char f[RL_FILENAME_LEN + 1];
		rl_printable_copy(f, ev->u.exec.filename, sizeof(ev->u.exec.filename));
		snprintf(buf, len, "%s", f);
		break;
	}
	case RL_EV_SETID: {
		const struct rl_ev_setid *s = &ev->u.setid;
		/* the effective id is the one that decides; fs ids for setfs*id */
		int i = s->call == RL_SETID_SETFSUID || s->call == RL_SETID_SETFSGID ? 2 : 1;
		const char *kind = s->call >= RL_SETID_SETGID ? "gid" : "uid";
		id_str(s->old_id[i].ns, o, sizeof(o));
		id_str(s->new_id[i].ns, n, sizeof(n));
		snprintf(buf, len, "%s %s %s->%s (host %u->%u)%s%s", setid_call_name(s->call), kind, o,
			 n, s->old_id[i].host, s->new_id[i].host, s->ret ? " failed: " : "",
			 s->ret ? strerror(-s->ret) : "");
		break;
	}
	case RL_EV_BIND_DENIED:
		addr_str(&ev->u.bind, a, sizeof(a));
		snprintf(buf, len, "%s:%u denied (EACCES): ports below %u need CAP_NET_BIND_SERVICE "
			 "in the network namespace's owner", a, ev->u.bind.port,
			 ev->u.bind.unpriv_port_start);
		break;
	case RL_EV_BIND_GRANTED:
		addr_str(&ev->u.bind, a, sizeof(a));
		snprintf(buf, len, "%s:%u granted by " "/etc/rlbpf/ports.conf line %u", a,
			 ev->u.bind.port, ev->u.bind.rule);
		break;
	case RL_EV_EXIT: {
		int st = (int)ev->u.exit.status;
		if (WIFSIGNALED(st))
			snprintf(buf, len, "killed by signal %d (SIG%s)", WTERMSIG(st),
				 sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
		else
			snprintf(buf, len, "exit code %d", WEXITSTATUS(st));
		break;
	}
	case RL_EV_LOST:
		snprintf(buf, len, "%llu events lost", (unsigned long long)ev->u.lost.count);
		break;
	case RL_EV_IDMAP: {
		size_t l = (size_t)snprintf(buf, len, "%s_map", ev->u.idmap.which == RL_IDMAP_GID ? "gid" : "uid");
		for (uint32_t i = 0; i < ev->u.idmap.nr_extents && i < RL_IDMAP_MAX && l < len; i++)
			l += (size_t)snprintf(buf + l, len - l, " %u:%u:%u", ev->u.idmap.extents[i].ns_first,
					      ev->u.idmap.extents[i].host_first, ev->u.idmap.extents[i].count);
		break;
	}
	case RL_EV_MEM_PRESSURE:
		snprintf(buf, len, "%s %llu of %llu bytes: past %u%% of the cap",
			 ev->u.mem.enforcer == RL_ENFORCER_EBPF ? "usage" : "the cgroup's usage",
			 (unsigned long long)ev->u.mem.rss_bytes,
			 (unsigned long long)ev->u.mem.cap_bytes, ev->u.mem.percent);
		break;
	case RL_EV_OOM_KILL:
		if (ev->u.mem.enforcer == RL_ENFORCER_NONE)
			snprintf(buf, len, "the host ran out of memory: the kernel's OOM killer ended pid %u (%u inside), uid %u (%u inside)",
				 ev->u.mem.victim_host_pid, ev->u.mem.victim_ns_pid,
				 ev->u.mem.victim_uid, ev->u.mem.victim_ns_uid);
		else if (ev->u.mem.enforcer != RL_ENFORCER_EBPF)
			snprintf(buf, len, "usage %llu of %llu bytes (%s): the kernel's OOM killer ended pid %u (%u inside), uid %u (%u inside)",
				 (unsigned long long)ev->u.mem.rss_bytes,
				 (unsigned long long)ev->u.mem.cap_bytes, rl_enforcer_name(ev->u.mem.enforcer),
				 ev->u.mem.victim_host_pid, ev->u.mem.victim_ns_pid,
				 ev->u.mem.victim_uid, ev->u.mem.victim_ns_uid);
		else if (ev->u.mem.victim_host_pid)
			snprintf(buf, len, "usage %llu of %llu bytes: pid %u (%u inside) killed with signal %u, then the rest",
				 (unsigned long long)ev->u.mem.rss_bytes,
				 (unsigned long long)ev->u.mem.cap_bytes, ev->u.mem.victim_host_pid,
				 ev->u.mem.victim_ns_pid, ev->u.mem.signal);
		else
			snprintf(buf, len, "usage %llu of %llu bytes: the container is killed",
				 (unsigned long long)ev->u.mem.rss_bytes,
				 (unsigned long long)ev->u.mem.cap_bytes);
		break;
	default:
		snprintf(buf, len, "-");
	}
	if (m->flags & RL_META_ALERT) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, " ALERT: host uid 0");
	}
}

void rl_trace_time(const struct rl_event_meta *m, char *buf, size_t len)
{
	time_t t = (time_t)(m->wall_ns / 1000000000ull);
	struct tm tm;
	localtime_r(&t, &tm);
	char hms[16];
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03u", hms, (unsigned)(m->wall_ns % 1000000000ull / 1000000));
}

void rl_trace_print_header(FILE *out, bool no_trunc)
{
	(void)no_trunc;
	fprintf(out, "%-12s %-16s %-7s %-5s %-10s %-10s %-16s %-12s %s\n", "TIME", "CONTAINER",
		"PID", "CPID", "USER", "HUSER", "COMM", "EVENT", "DETAIL");
}

void rl_trace_print_line(FILE *out, const struct rl_event_meta *m, const struct rl_event *ev,
			 const char *user, const char *huser, bool no_trunc)
{
	char t[32], detail[512], comm[RL_COMM_LEN + 1];
	const char *name = m->name[0] ? m->name : "-";
	int w = no_trunc ? 0 : 16, uw = no_trunc ? 0 : 10;
	rl_trace_time(m, t, sizeof(t));
	rl_trace_detail(m, ev, detail, sizeof(detail));
	rl_printable_copy(comm, ev->hdr.comm, RL_COMM_LEN);
	if (no_trunc)
		fprintf(out, "%-12s %-16s %-7u %-5u %-10s %-10s %-16s %-12s %s\n", t, name,
			ev->hdr.host_pid, ev->hdr.ns_pid, user, huser, comm,
			rl_event_name(ev->hdr.type), detail);
	else
		fprintf(out, "%-12s %-16.*s %-7u %-5u %-10.*s %-10.*s %-16s %-12s %s\n", t, w, name,
			ev->hdr.host_pid, ev->hdr.ns_pid, uw, user, uw, huser, comm,
			rl_event_name(ev->hdr.type), detail);
}

static json_t *ids_json(const struct rl_id_pair p[3], int host)
{
	json_t *a = json_array();
	for (int i = 0; i < 3; i++) {
		uint32_t v = host ? p[i].host : p[i].ns;
		json_array_append_new(a, v == RL_ID_UNMAPPED ? json_null() : json_integer(v));
	}
	return a;
}

json_t *rl_trace_json(const struct rl_event_meta *m, const struct rl_event *ev, const char *user,
		      const char *huser)
{
	char t[96], a[64], comm[RL_COMM_LEN + 1], fname[RL_FILENAME_LEN + 1];
	time_t sec = (time_t)(m->wall_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t, sizeof(t), "%s.%09uZ", a, (unsigned)(m->wall_ns % 1000000000ull));
	rl_printable_copy(comm, ev->hdr.comm, RL_COMM_LEN);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "event", json_string(rl_event_name(ev->hdr.type)));
	json_object_set_new(o, "container", m->name[0] ? json_string(m->name) : json_null());
	json_object_set_new(o, "container_id", m->id[0] ? json_string(m->id) : json_null());
	json_object_set_new(o, "pid", json_integer(ev->hdr.host_pid));
	json_object_set_new(o, "cpid", json_integer(ev->hdr.ns_pid));
	json_object_set_new(o, "uid", ev->hdr.ns_uid == RL_ID_UNMAPPED ? json_null()
								       : json_integer(ev->hdr.ns_uid));
	json_object_set_new(o, "user", json_string(user));
	json_object_set_new(o, "host_uid", json_integer(ev->hdr.host_uid));
	json_object_set_new(o, "host_user", json_string(huser));
	json_object_set_new(o, "comm", json_string(comm));
	json_object_set_new(o, "alert", json_boolean(m->flags & RL_META_ALERT));
	switch (ev->hdr.type) {
	case RL_EV_EXEC:
		rl_printable_copy(fname, ev->u.exec.filename, sizeof(ev->u.exec.filename));
		json_object_set_new(o, "filename", json_string(fname));
		break;
	case RL_EV_SETID:
		json_object_set_new(o, "call", json_string(setid_call_name(ev->u.setid.call)));
		json_object_set_new(o, "kind", json_string(ev->u.setid.call >= RL_SETID_SETGID ? "gid" : "uid"));
		json_object_set_new(o, "ret", json_integer(ev->u.setid.ret));
		json_object_set_new(o, "old_ids", ids_json(ev->u.setid.old_id, 0));
		json_object_set_new(o, "old_host_ids", ids_json(ev->u.setid.old_id, 1));
		json_object_set_new(o, "new_ids", ids_json(ev->u.setid.new_id, 0));
		json_object_set_new(o, "new_host_ids", ids_json(ev->u.setid.new_id, 1));
		break;
	case RL_EV_BIND_DENIED:
	case RL_EV_BIND_GRANTED: {
		char addr[64];
		if (ev->u.bind.family == 10)
			inet_ntop(AF_INET6, ev->u.bind.addr, addr, sizeof(addr));
		else
			inet_ntop(AF_INET, ev->u.bind.addr, addr, sizeof(addr));
		json_object_set_new(o, "family", json_string(ev->u.bind.family == 10 ? "ipv6" : "ipv4"));
		json_object_set_new(o, "addr", json_string(addr));
		json_object_set_new(o, "port", json_integer(ev->u.bind.port));
		json_object_set_new(o, "ret", json_integer(ev->u.bind.ret));
		json_object_set_new(o, "unprivileged_port_start", json_integer(ev->u.bind.unpriv_port_start));
		if (ev->hdr.type == RL_EV_BIND_GRANTED)
			json_object_set_new(o, "rule_line", json_integer(ev->u.bind.rule));
		break;
	}
	case RL_EV_EXIT: {
		int st = (int)ev->u.exit.status;
		json_object_set_new(o, "status", json_integer(st));
		json_object_set_new(o, "exit_code", WIFSIGNALED(st) ? json_null() : json_integer(WEXITSTATUS(st)));
		json_object_set_new(o, "signal", WIFSIGNALED(st) ? json_integer(WTERMSIG(st)) : json_null());
		break;
	}
	case RL_EV_IDMAP: {
		json_t *ext = json_array();
		for (uint32_t i = 0; i < ev->u.idmap.nr_extents && i < RL_IDMAP_MAX; i++)
			json_array_append_new(ext, json_pack("{s:I,s:I,s:I}",
				"ns_first", (json_int_t)ev->u.idmap.extents[i].ns_first,
				"host_first", (json_int_t)ev->u.idmap.extents[i].host_first,
				"count", (json_int_t)ev->u.idmap.extents[i].count));
		json_object_set_new(o, "map", json_string(ev->u.idmap.which == RL_IDMAP_GID ? "gid" : "uid"));
		json_object_set_new(o, "extents", ext);
		break;
	}
	case RL_EV_LOST:
		json_object_set_new(o, "count", json_integer((json_int_t)ev->u.lost.count));
		break;
	case RL_EV_MEM_PRESSURE:
	case RL_EV_OOM_KILL:
		json_object_set_new(o, "rss_bytes", json_integer((json_int_t)ev->u.mem.rss_bytes));
		json_object_set_new(o, "cap_bytes", json_integer((json_int_t)ev->u.mem.cap_bytes));
		json_object_set_new(o, "percent", json_integer(ev->u.mem.percent));
		json_object_set_new(o, "enforcer", json_string(rl_enforcer_name(ev->u.mem.enforcer)));
		if (ev->hdr.type == RL_EV_OOM_KILL) {
			json_object_set_new(o, "victim_pid", json_integer(ev->u.mem.victim_host_pid));
			json_object_set_new(o, "victim_cpid", json_integer(ev->u.mem.victim_ns_pid));
			json_object_set_new(o, "signal", json_integer(ev->u.mem.signal));
			json_object_set_new(o, "victim_uid", json_integer(ev->u.mem.victim_uid));
			json_object_set_new(o, "victim_cuid", json_integer(ev->u.mem.victim_ns_uid));
		}
		break;
	}
	char d[512];
	rl_trace_detail(m, ev, d, sizeof(d));
	json_object_set_new(o, "detail", json_string(d));
	return o;
}
