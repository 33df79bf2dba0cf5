/* links: api/exec_run api/rlbpf_cmd api/attach api/log_reader api/request supervise/state supervise/status supervise/logfile supervise/attach_socket supervise/state_watch runtime/userns_exec runtime/idmap lib/subid lib/pty lib/spawn lib/error lib/paths lib/userdb lib/fsutil lib/humantime proto/agent_client proto/agent_proto */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/exec_run.h"

/* attach.c's links to the container routes, not exercised here */
bool rl_api_start_failed(const char *id)
{
	(void)id;
	return false;
}

bool rl_api_find_container(const char *ref, struct rl_state *st, struct rl_api_reply *out)
{
	(void)ref;
	(void)st;
	(void)out;
	return false;
}

/* The hijacked socket: the relay's end sp[0], the client's sp[1]. */
static int sp[2] = {-1, -1};

static int pair_up(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
}

static int close_both(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (sp[i] >= 0)
			close(sp[i]);
	sp[0] = sp[1] = -1;
	return 0;
}

/* The client goes away. */
static void close_client(void)
{
	close(sp[1]);
	sp[1] = -1;
}

static int spawn_sh(const char *script, const struct rl_exec_stdio *how, struct rl_exec_io *io)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	struct rl_error err = {0};
	int r = rl_exec_spawn("/bin/sh", argv, how, io, &err);
	if (r < 0)
		print_error("%s\n", err.msg);
	return r;
}

/* Everything the client end has until the relay's end. */
static size_t read_all(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	while (n < len && (r = read(fd, buf + n, len - n)) > 0)
		n += (size_t)r;
	return n;
}

/* Demultiplexes Docker's frames into out and err (NUL-terminated). */
static void demux(const char *buf, size_t n, char *out, char *err, size_t cap)
{
	size_t o = 0, e = 0;
	for (size_t at = 0; at + 8 <= n;) {
		const unsigned char *h = (const unsigned char *)buf + at;
		size_t len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		assert_true(h[0] == 1 || h[0] == 2);
		assert_true(at + 8 + len <= n);
		char *to = h[0] == 1 ? out : err;
		size_t *used = h[0] == 1 ? &o : &e;
		assert_true(*used + len < cap);
		memcpy(to + *used, buf + at + 8, len);
		*used += len;
		at += 8 + len;
	}
	out[o] = err[e] = '\0';
}

static void pipes_stdin_half_close_and_exit_code(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {.in = true, .out = true, .err = true};
	struct rl_exec_io io;
	assert_int_equal(spawn_sh("cat; echo err >&2; exit 7", &how, &io), 0);
	assert_int_equal(io.term, -1);
	/* what came with the request first, then the client's stdin, then
	 * its half-close: cat's EOF */
	assert_int_equal(write(sp[1], "data\n", 5), 5);
	shutdown(sp[1], SHUT_WR);
	assert_int_equal(rl_exec_relay(&io, sp[0], "early ", 6, false, 5), 7);
	assert_int_equal(io.in, -1);
	assert_int_equal(io.out, -1);
	assert_int_equal(io.pidfd, -1);
	shutdown(sp[0], SHUT_WR);
	char buf[4096], out[256], err[256];
	demux(buf, read_all(sp[1], buf, sizeof(buf)), out, err, sizeof(out));
	assert_string_equal(out, "early data\n");
	assert_string_equal(err, "err\n");
}

static void stdin_not_attached_is_dropped(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {.out = true};
	struct rl_exec_io io;
	assert_int_equal(spawn_sh("cat; echo done", &how, &io), 0);
	assert_int_equal(io.in, -1);
	assert_int_equal(write(sp[1], "ignored\n", 8), 8);
	assert_int_equal(rl_exec_relay(&io, sp[0], NULL, 0, false, 5), 0);
	shutdown(sp[0], SHUT_WR);
	char buf[4096], out[256], err[256];
	demux(buf, read_all(sp[1], buf, sizeof(buf)), out, err, sizeof(out));
	assert_string_equal(out, "done\n");
	assert_string_equal(err, "");
}

struct slow_reader {
	int fd;
	size_t payload;
};

/* Starts reading late, after the socket's buffer has filled. */
static void *read_late(void *arg)
{
	struct slow_reader *r = arg;
	nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
	static char buf[1 << 21];
	size_t n = read_all(r->fd, buf, sizeof(buf));
	for (size_t at = 0; at + 8 <= n;) {
		const unsigned char *h = (const unsigned char *)buf + at;
		size_t len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		r->payload += len;
		at += 8 + len;
	}
	return NULL;
}

/* libmicrohttpd's sockets are non-blocking: a slow client still gets
 * every byte. */
static void slow_client_gets_all_the_output(void **state)
{
	(void)state;
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	struct rl_exec_stdio how = {.out = true, .err = true};
	struct rl_exec_io io;
	assert_int_equal(spawn_sh("head -c 1000000 /dev/zero", &how, &io), 0);
	struct slow_reader r = {.fd = sp[1]};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, read_late, &r), 0);
	assert_int_equal(rl_exec_relay(&io, sp[0], NULL, 0, false, 5), 0);
	shutdown(sp[0], SHUT_WR);
	pthread_join(t, NULL);
	assert_int_equal(r.payload, 1000000);
}

static void terminal_is_controlling_and_sized(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {.tty = true, .in = true, .out = true, .err = true,
				    .rows = 33, .cols = 77};
	struct rl_exec_io io;
	/* its own session, the terminal its controlling one: /dev/tty opens */
	assert_int_equal(spawn_sh("tty; stty size; echo x >/dev/tty; exit 3", &how, &io), 0);
	assert_true(io.term >= 0);
	assert_int_equal(rl_exec_relay(&io, sp[0], NULL, 0, true, 5), 3);
	close(io.term);
	shutdown(sp[0], SHUT_WR);
	char buf[4096];
	size_t n = read_all(sp[1], buf, sizeof(buf) - 1);
	buf[n] = '\0';
	/* raw bytes, no frames; raw mode: no \r added */
	assert_non_null(strstr(buf, "/dev/pts/"));
	assert_non_null(strstr(buf, "\n33 77\nx\n"));
}

/* Until the program has said "ready" on out. */
static void wait_ready(int out)
{
	char buf[64] = "";
	size_t n = 0;
	while (!strstr(buf, "ready") && n < sizeof(buf) - 1) {
		struct pollfd p = {.fd = out, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 10000), 1);
		ssize_t r = read(out, buf + n, sizeof(buf) - 1 - n);
		assert_true(r > 0);
		n += (size_t)r;
		buf[n] = '\0';
	}
}

static void client_gone_hangs_up(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {.in = true, .out = true, .err = true};
	struct rl_exec_io io;
	/* at once: the hangup may come between fork and exec, where the
	 * caller's dispositions (SIGHUP ignored under nohup) still hold */
	assert_int_equal(spawn_sh("exec sleep 100", &how, &io), 0);
	close_client();
	assert_int_equal(rl_exec_relay(&io, sp[0], NULL, 0, false, 5), 128 + SIGHUP);
}

static void hangup_ignored_gets_killed(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {.tty = true, .in = true, .out = true};
	struct rl_exec_io io;
	assert_int_equal(spawn_sh("trap '' HUP; echo ready; exec sleep 100", &how, &io), 0);
	/* not before the trap is set */
	wait_ready(io.out);
	close_client();
	assert_int_equal(rl_exec_relay(&io, sp[0], NULL, 0, true, 0), 128 + SIGKILL);
	close(io.term);
}

static void detached_and_missing_program(void **state)
{
	(void)state;
	struct rl_exec_stdio how = {0};
	struct rl_exec_io io;
	assert_int_equal(spawn_sh("echo nobody reads this; exit 4", &how, &io), 0);
	assert_int_equal(io.out, -1);
	assert_int_equal(rl_exec_relay(&io, -1, NULL, 0, false, 5), 4);
	char *argv[] = {"missing", NULL};
	struct rl_error err = {0};
	assert_int_equal(rl_exec_spawn("/nonexistent/rlbpf", argv, &how, &io, &err), 0);
	assert_int_equal(rl_exec_relay(&io, -1, NULL, 0, false, 5), 127);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as in the service */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pipes_stdin_half_close_and_exit_code, pair_up, close_both),
		cmocka_unit_test_setup_teardown(stdin_not_attached_is_dropped, pair_up, close_both),
		cmocka_unit_test_setup_teardown(slow_client_gets_all_the_output, pair_up, close_both),
		cmocka_unit_test_setup_teardown(terminal_is_controlling_and_sized, pair_up, close_both),
		cmocka_unit_test_setup_teardown(client_gone_hangs_up, pair_up, close_both),
		cmocka_unit_test_setup_teardown(hangup_ignored_gets_killed, pair_up, close_both),
		cmocka_unit_test_setup_teardown(detached_and_missing_program, pair_up, close_both),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
