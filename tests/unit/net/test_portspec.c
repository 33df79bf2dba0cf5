/* links: runtime/run_opts lib/boolopt runtime/resource_limits proto/agent_proto lib/memsize net/portfwd lib/pty lib/error */
/* -p and --network: what is accepted, in what normal form, and what each
 * refusal says; rl_port_text and the monitor's "tcp/80" argument. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/portfwd.h"
#include "runtime/run_opts.h"

#define ARGV(...) ((char *[]){"run", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"run", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, err, ...) rl_run_opts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err))

static void port_ok(const char *arg, const char *ip, unsigned hp, unsigned cp, int proto)
{
	struct rl_port p;
	struct rl_error err = {0};
	if (rl_port_parse(arg, &p, &err) != 0)
		fail_msg("'%s' refused: %s", arg, err.msg);
	assert_string_equal(p.host_ip, ip);
	assert_int_equal(p.host_port, hp);
	assert_int_equal(p.ctr_port, cp);
	assert_int_equal(p.proto, proto);
}

static void port_bad(const char *arg, const char *needle)
{
	struct rl_port p;
	struct rl_error err = {0};
	if (rl_port_parse(arg, &p, &err) != -EINVAL)
		fail_msg("'%s' accepted", arg);
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.msg, arg));
	if (!strstr(err.msg, needle))
		fail_msg("message for '%s' lacks \"%s\": %s", arg, needle, err.msg);
	assert_null(strchr(err.msg, '\n'));
}

static void publish_forms(void **state)
{
	(void)state;
	port_ok("8080:80", "", 8080, 80, IPPROTO_TCP);
	port_ok("8080:80/tcp", "", 8080, 80, IPPROTO_TCP);
	port_ok("5353:53/udp", "", 5353, 53, IPPROTO_UDP);
	port_ok("127.0.0.1:8080:80", "127.0.0.1", 8080, 80, IPPROTO_TCP);
	port_ok("0.0.0.0:8080:80", "", 8080, 80, IPPROTO_TCP);
	port_ok(":8080:80", "", 8080, 80, IPPROTO_TCP);
	port_ok("1:65535", "", 1, 65535, IPPROTO_TCP);
	port_ok("10.1.2.3:80:80/udp", "10.1.2.3", 80, 80, IPPROTO_UDP);
}

static void publish_rejected(void **state)
{
	(void)state;
	port_bad("80", "HOSTPORT:CONTAINERPORT");
	port_bad("8080:80/sctp", "tcp or udp");
	port_bad("0:80", "1 to 65535");
	port_bad("65536:80", "1 to 65535");
	port_bad("8080:", "1 to 65535");
	port_bad("8080-8081:80", "1 to 65535");
	port_bad("x:80", "1 to 65535");
	port_bad("999.1.1.1:80:80", "not an IPv4 address");
	port_bad("[::1]:80:80", "IPv6");
	port_bad("::1:80:80", "IPv6");
	port_bad("host:80:80", "not an IPv4 address");
	port_bad("8080:+80", "1 to 65535");
}

static void publish_in_run_opts(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "-p", "8080:80", "--publish", "5353:53/udp",
			       "--publish=8081:81", "busybox"),
			 0);
	assert_int_equal(o.n_ports, 3);
	assert_int_equal(o.ports[1].proto, IPPROTO_UDP);
	assert_int_equal(o.ports[2].host_port, 8081);
	assert_int_equal(o.network, RL_NET_DEFAULT);
	rl_run_opts_free(&o);

	/* The same host port and protocol twice cannot be bound. */
	assert_int_equal(PARSE(&o, &err, "-p", "8080:80", "-p", "8080:81", "busybox"), -EINVAL);
	assert_non_null(strstr(err.msg, "already published"));
	rl_run_opts_free(&o);
	/* ... but TCP and UDP on one number can. */
	assert_int_equal(PARSE(&o, &err, "-p", "53:53", "-p", "53:53/udp", "busybox"), 0);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-p", "127.0.0.1:8080:80", "-p", "8080:80", "busybox"),
			 -EINVAL);
	rl_run_opts_free(&o);
}

static void network_modes(void **state)
{
	(void)state;
	struct rl_run_opts o;
	struct rl_error err = {0};
	assert_int_equal(PARSE(&o, &err, "--network", "none", "busybox"), 0);
	assert_int_equal(o.network, RL_NET_NONE);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--net=host", "busybox"), 0);
	assert_int_equal(o.network, RL_NET_HOST);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--network", "slirp4netns", "busybox"), 0);
	assert_int_equal(o.network, RL_NET_SLIRP);
	assert_false(o.allow_host_loopback);
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--network", "slirp4netns:allow_host_loopback=true",
			       "busybox"),
			 0);
	assert_int_equal(o.network, RL_NET_SLIRP);
	assert_true(o.allow_host_loopback);
	rl_run_opts_free(&o);
	/* The last one wins, options and all. */
	assert_int_equal(PARSE(&o, &err, "--network", "slirp4netns:allow_host_loopback=true",
			       "--network", "slirp4netns", "busybox"),
			 0);
	assert_false(o.allow_host_loopback);
	rl_run_opts_free(&o);

	assert_int_equal(PARSE(&o, &err, "--network", "bridge", "busybox"), -EINVAL);
	assert_non_null(strstr(err.msg, "none, host or slirp4netns"));
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--network", "slirp4netns:mtu=1500", "busybox"), -EINVAL);
	assert_non_null(strstr(err.msg, "allow_host_loopback"));
	rl_run_opts_free(&o);
	/* -p cannot apply with the host's network: refused, in either order. */
	assert_int_equal(PARSE(&o, &err, "--network", "host", "-p", "8080:80", "busybox"), -EINVAL);
	assert_non_null(strstr(err.msg, "--network host"));
	rl_run_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-p", "8080:80", "--net", "host", "busybox"), -EINVAL);
	rl_run_opts_free(&o);
	/* ... and works without slirp4netns. */
	assert_int_equal(PARSE(&o, &err, "--network", "none", "-p", "8080:80", "busybox"), 0);
	rl_run_opts_free(&o);
}

static void port_text_and_arg(void **state)
{
	(void)state;
	char buf[64];
	struct rl_port p = {.host_port = 8080, .ctr_port = 80, .proto = IPPROTO_TCP};
	rl_port_text(&p, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0:8080->80/tcp");
	snprintf(p.host_ip, sizeof(p.host_ip), "127.0.0.1");
	p.proto = IPPROTO_UDP;
	rl_port_text(&p, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:8080->80/udp");

	struct rl_port q;
	assert_int_equal(rl_port_from_arg("udp/53=7", &q), 0);
	assert_int_equal(q.proto, IPPROTO_UDP);
	assert_int_equal(q.ctr_port, 53);
	assert_int_equal(rl_port_from_arg("tcp/80", &q), 0);
	assert_int_equal(rl_port_from_arg("sctp/80=3", &q), -EINVAL);
	assert_int_equal(rl_port_from_arg("tcp/0=3", &q), -EINVAL);
	assert_int_equal(rl_port_from_arg("slirp=1:2", &q), -EINVAL);
}

/* A port in use: refused with its number, and nothing left open. */
static void listen_in_use(void **state)
{
	(void)state;
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(busy, 1), 0);
	assert_int_equal(getsockname(busy, (struct sockaddr *)&a, &alen), 0);
	struct rl_port ports[2] = {
		{.host_port = 0, .ctr_port = 81, .proto = IPPROTO_UDP},
		{.host_port = ntohs(a.sin_port), .ctr_port = 80, .proto = IPPROTO_TCP},
	};
	snprintf(ports[1].host_ip, sizeof(ports[1].host_ip), "127.0.0.1");
	int fds[2] = {-2, -2};
	struct rl_error err = {0};
	assert_int_equal(rl_ports_listen(ports, 2, fds, &err), -EADDRINUSE);
	char want[32];
	snprintf(want, sizeof(want), "host port %u/tcp", ntohs(a.sin_port));
	if (!strstr(err.msg, want) || !strstr(err.msg, "already in use"))
		fail_msg("message: %s", err.msg);
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[1], -1);
	close(busy);
	/* Free now: both are had. */
	assert_int_equal(rl_ports_listen(ports, 2, fds, &err), 0);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(publish_forms),
		cmocka_unit_test(publish_rejected),
		cmocka_unit_test(publish_in_run_opts),
		cmocka_unit_test(network_modes),
		cmocka_unit_test(port_text_and_arg),
		cmocka_unit_test(listen_in_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
