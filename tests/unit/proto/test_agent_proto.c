/* links: proto/agent_proto agent/registry proto/trace_fmt lib/printable */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/agent_proto.h"
#include "agent/registry.h"
#include "proto/trace_fmt.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static unsigned char frame[sizeof(struct rl_msg_hdr) + RL_PROTO_MAX_PAYLOAD + 64];

static struct rl_msg_register good_register(void)
{
	struct rl_msg_register r = {.init_pid = 42, .userns_ino = 4026531837ull};
	memcpy(r.id, ID64, 64);
	strcpy(r.name, "web");
	return r;
}

static void register_round_trips(void **state)
{
	(void)state;
	struct rl_msg_register r = good_register();
	struct rl_msg m;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_REGISTER, 7, &r, sizeof(r));
	assert_int_equal(n, 16 + (int)sizeof(r));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), n);
	assert_int_equal(m.hdr.type, RL_MSG_REGISTER);
	assert_int_equal(m.hdr.seq, 7);
	assert_int_equal(m.u.reg.init_pid, 42);
	assert_string_equal(m.u.reg.name, "web");
	assert_memory_equal(m.u.reg.id, ID64, 64);
}

static void partial_frames_ask_for_more(void **state)
{
	(void)state;
	struct rl_msg_register r = good_register();
	struct rl_msg m;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_REGISTER, 1, &r, sizeof(r));
	for (int i = 0; i < n; i++)
		assert_int_equal(rl_proto_decode(frame, (size_t)i, &m), 0);
}

static void bad_magic_version_and_size_are_refused(void **state)
{
	(void)state;
	struct rl_msg_register r = good_register();
	struct rl_msg m;
	struct rl_msg_hdr h;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_REGISTER, 1, &r, sizeof(r));
	memcpy(&h, frame, sizeof(h));

	h.magic ^= 1;
	memcpy(frame, &h, sizeof(h));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EPROTO);
	h.magic ^= 1;
	h.version = 2;
	memcpy(frame, &h, sizeof(h));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EPROTONOSUPPORT);
	h.version = RL_PROTO_VERSION;
	h.len = RL_PROTO_MAX_PAYLOAD + 1;
	memcpy(frame, &h, sizeof(h));
	/* refused from the header alone: the agent never waits for 4 GiB */
	assert_int_equal(rl_proto_decode(frame, sizeof(h), &m), -EMSGSIZE);
	h.len = 0xffffffffu;
	memcpy(frame, &h, sizeof(h));
	assert_int_equal(rl_proto_decode(frame, sizeof(h), &m), -EMSGSIZE);
	h.len = sizeof(r) - 1; /* wrong size for its type */
	memcpy(frame, &h, sizeof(h));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
	assert_int_equal(rl_proto_encode(frame, sizeof(frame), 1, 1, frame, RL_PROTO_MAX_PAYLOAD + 1),
			 -EMSGSIZE);
}

static int decode_register(struct rl_msg_register *r)
{
	struct rl_msg m;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_REGISTER, 1, r, sizeof(*r));
	return rl_proto_decode(frame, (size_t)n, &m);
}

static void register_fields_are_checked(void **state)
{
	(void)state;
	struct rl_msg_register r = good_register();
	r.id[3] = 'G';
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.mem_cap_bytes = RL_MEM_CAP_MIN - 1; /* below Docker's minimum */
	assert_int_equal(decode_register(&r), -EBADMSG);
	r.mem_cap_bytes = RL_MEM_CAP_MIN;
	r.pids_limit = RL_PIDS_LIMIT_MAX;
	assert_true(decode_register(&r) > 0);
	r.pids_limit = RL_PIDS_LIMIT_MAX + 1;
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.cpu_millis = RL_CPU_MILLIS_MAX;
	assert_true(decode_register(&r) > 0);
	r.cpu_millis = RL_CPU_MILLIS_MAX + 1;
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.flags = RL_REG_EBPF;
	assert_true(decode_register(&r) > 0);
	r.flags = RL_REG_CGROUP;
	assert_true(decode_register(&r) > 0);
	r.flags = RL_REG_EBPF | RL_REG_CGROUP; /* one enforcer or the other */
	assert_int_equal(decode_register(&r), -EBADMSG);
	r.flags = RL_REG_OWN_CGROUP;
	assert_true(decode_register(&r) > 0);
	r.flags = RL_REG_FRESH | RL_REG_EBPF;
	assert_true(decode_register(&r) > 0);
	r.flags = 0x10;
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.id[70] = 'x'; /* garbage after the id's terminator */
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	memset(r.name, 'a', sizeof(r.name)); /* unterminated */
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	strcpy(r.name, "a b");
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.name[0] = 0;
	assert_int_equal(decode_register(&r), -EBADMSG);
	r = good_register();
	r.init_pid = 0;
	assert_int_equal(decode_register(&r), -EBADMSG);
}

static void subscribe_is_variable_but_exact(void **state)
{
	(void)state;
	struct rl_msg_subscribe s = {.n_ids = 2, .event_mask = 1u << RL_EV_EXEC};
	struct rl_msg m;
	memcpy(s.ids[0], ID64, 64);
	memcpy(s.ids[1], ID64, 64);
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_SUBSCRIBE, 1, &s, RL_SUBSCRIBE_SIZE(2));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), n);
	assert_int_equal(m.u.sub.n_ids, 2);
	/* n_ids says 3 but two ids came */
	s.n_ids = 3;
	n = rl_proto_encode(frame, sizeof(frame), RL_MSG_SUBSCRIBE, 1, &s, RL_SUBSCRIBE_SIZE(2));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
	s.n_ids = 1000;
	n = rl_proto_encode(frame, sizeof(frame), RL_MSG_SUBSCRIBE, 1, &s, RL_SUBSCRIBE_SIZE(2));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
	s.n_ids = 0;
	s.flags = 0x80;
	n = rl_proto_encode(frame, sizeof(frame), RL_MSG_SUBSCRIBE, 1, &s, RL_SUBSCRIBE_SIZE(0));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
	s.flags = 0;
	s.event_mask = 1u << 30;
	n = rl_proto_encode(frame, sizeof(frame), RL_MSG_SUBSCRIBE, 1, &s, RL_SUBSCRIBE_SIZE(0));
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
}

static int idmap_decodes(struct rl_msg_idmap *i)
{
	struct rl_msg m;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_IDMAP, 1, i, sizeof(*i));
	int r = rl_proto_decode(frame, (size_t)n, &m);
	return r == n ? 0 : r;
}

static void idmap_lines_are_checked(void **state)
{
	(void)state;
	struct rl_msg_idmap i = {.pid = 42, .n_uid = 2, .n_gid = 1};
	i.uid[0] = (struct rl_idmap_line){0, 1000, 1};
	i.uid[1] = (struct rl_idmap_line){1, 100000, 65536};
	i.gid[0] = (struct rl_idmap_line){0, 1000, 1};
	assert_int_equal(idmap_decodes(&i), 0);
	struct rl_msg_idmap bad = i;
	bad.n_uid = 0; /* nothing to map */
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.n_gid = 6; /* past the lines there are */
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.uid[1].count = 0; /* a line that maps nothing */
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.uid[1].outer = 0xffffff00u; /* past the last id */
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.uid[3].count = 1; /* junk after the lines in use */
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.pid = 0;
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
	bad = i;
	bad.pad = 1;
	assert_int_equal(idmap_decodes(&bad), -EBADMSG);
}

static void unknown_types_are_refused(void **state)
{
	(void)state;
	struct rl_msg m;
	int n = rl_proto_encode(frame, sizeof(frame), 99, 1, NULL, 0);
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
}

static void events_carry_their_size(void **state)
{
	(void)state;
	unsigned char buf[RL_EVENT_MSG_MAX] = {0};
	struct rl_event_meta meta = {.wall_ns = 1};
	struct rl_event ev = {0};
	struct rl_msg m;
	ev.hdr.type = RL_EV_EXIT;
	ev.hdr.size = RL_EVENT_SIZE(exit);
	ev.u.exit.status = 3 << 8;
	strcpy(meta.name, "web");
	memcpy(buf, &meta, sizeof(meta));
	memcpy(buf + sizeof(meta), &ev, ev.hdr.size);
	size_t len = sizeof(meta) + ev.hdr.size;
	int n = rl_proto_encode(frame, sizeof(frame), RL_MSG_EVENT, 0, buf, len);
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), n);
	assert_int_equal(m.u.event.ev.u.exit.status, 3 << 8);
	/* a size that disagrees with the frame */
	ev.hdr.size += 8;
	memcpy(buf + sizeof(meta), &ev, sizeof(ev.hdr));
	n = rl_proto_encode(frame, sizeof(frame), RL_MSG_EVENT, 0, buf, len);
	assert_int_equal(rl_proto_decode(frame, (size_t)n, &m), -EBADMSG);
}

static void enforcer_names_are_inspects(void **state)
{
	(void)state;
	assert_string_equal(rl_enforcer_name(RL_ENFORCER_NONE), "none");
	assert_string_equal(rl_enforcer_name(RL_ENFORCER_EBPF), "ebpf");
	assert_string_equal(rl_enforcer_name(RL_ENFORCER_AGENT_CGROUP), "agent-cgroup");
	assert_string_equal(rl_enforcer_name(RL_ENFORCER_CGROUP2), "cgroup2");
	assert_string_equal(rl_enforcer_name(99), "none");
}

static void event_names_and_masks(void **state)
{
	(void)state;
	uint32_t mask = 0;
	char bad[80];
	assert_string_equal(rl_event_name(RL_EV_SETID), "setuid");
	assert_string_equal(rl_event_name(RL_EV_BIND_DENIED), "bind_denied");
	assert_null(rl_event_name(1000));
	assert_int_equal(rl_event_mask_parse("exec,bind", &mask, bad, sizeof(bad)), 0);
	assert_int_equal(mask, (1u << RL_EV_EXEC) | (1u << RL_EV_BIND_DENIED) |
				       (1u << RL_EV_BIND_GRANTED));
	assert_int_equal(rl_event_mask_parse("exec,nope", &mask, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "nope");
	assert_int_equal(rl_event_mask_parse("", &mask, bad, sizeof(bad)), -EINVAL);
	assert_int_equal(rl_event_mask_parse("exec,", &mask, bad, sizeof(bad)), -EINVAL);
}

static void idmap_translates_up(void **state)
{
	(void)state;
	struct rl_idmap_table t;
	assert_int_equal(rl_idmap_parse("         0       1001          1\n"
					"         1     100000      65536\n", &t), 0);
	assert_int_equal(t.n, 2);
	assert_int_equal(rl_idmap_up(&t, 1001), 0);
	assert_int_equal(rl_idmap_up(&t, 100000), 1);
	assert_int_equal(rl_idmap_up(&t, 165535), 65536);
	assert_int_equal(rl_idmap_up(&t, 165536), RL_ID_UNMAPPED);
	assert_int_equal(rl_idmap_up(&t, 0), RL_ID_UNMAPPED);
	assert_int_equal(rl_idmap_parse("0 1", &t), -EINVAL);
}

static void json_has_the_documented_fields(void **state)
{
	(void)state;
	struct rl_event_meta meta = {.wall_ns = 1700000000123456789ull, .init_pid = 9};
	struct rl_event ev = {0};
	ev.hdr.type = RL_EV_EXEC;
	ev.hdr.size = RL_EVENT_SIZE(exec);
	ev.hdr.host_pid = 100;
	ev.hdr.ns_pid = 1;
	ev.hdr.host_uid = 1001;
	ev.hdr.ns_uid = 0;
	memcpy(ev.hdr.comm, "sh\x01", 3);
	strcpy(ev.u.exec.filename, "/bin/\xffid");
	strcpy(meta.name, "web");
	memcpy(meta.id, ID64, 64);
	json_t *o = rl_trace_json(&meta, &ev, "root", "alice");
	assert_string_equal(json_string_value(json_object_get(o, "event")), "exec");
	assert_string_equal(json_string_value(json_object_get(o, "container")), "web");
	assert_int_equal(json_integer_value(json_object_get(o, "uid")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "host_uid")), 1001);
	assert_int_equal(json_integer_value(json_object_get(o, "cpid")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "user")), "root");
	assert_string_equal(json_string_value(json_object_get(o, "host_user")), "alice");
	/* bytes from the container are made printable, never dropped */
	assert_string_equal(json_string_value(json_object_get(o, "comm")), "sh?");
	assert_string_equal(json_string_value(json_object_get(o, "filename")), "/bin/?id");
	assert_string_equal(json_string_value(json_object_get(o, "time")),
			    "2023-11-14T22:13:20.123456789Z");
	json_decref(o);

	ev.hdr.type = RL_EV_EXIT;
	ev.u.exit.status = 9; /* killed by SIGKILL */
	char d[256];
	rl_trace_detail(&meta, &ev, d, sizeof(d));
	assert_string_equal(d, "killed by signal 9 (SIGKILL)");
	meta.flags = RL_META_ALERT;
	ev.u.exit.status = 2 << 8;
	rl_trace_detail(&meta, &ev, d, sizeof(d));
	assert_string_equal(d, "exit code 2 ALERT: host uid 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(register_round_trips),
		cmocka_unit_test(partial_frames_ask_for_more),
		cmocka_unit_test(bad_magic_version_and_size_are_refused),
		cmocka_unit_test(register_fields_are_checked),
		cmocka_unit_test(subscribe_is_variable_but_exact),
		cmocka_unit_test(idmap_lines_are_checked),
		cmocka_unit_test(unknown_types_are_refused),
		cmocka_unit_test(events_carry_their_size),
		cmocka_unit_test(event_names_and_masks),
		cmocka_unit_test(enforcer_names_are_inspects),
		cmocka_unit_test(idmap_translates_up),
		cmocka_unit_test(json_has_the_documented_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
