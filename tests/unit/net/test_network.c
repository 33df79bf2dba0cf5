/* links: net/network lib/fsutil runtime/userns_exec runtime/idmap proto/agent_client proto/agent_proto lib/subid lib/spawn lib/paths lib/userdb lib/error */
/* What each network mode writes into the container's /etc, the names of the
 * modes, and finding slirp4netns on PATH. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/fsutil.h"
#include "net/network.h"

static char dir[] = "/tmp/rlbpf-test-network.XXXXXX";

static int make_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void read_back(const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true(rl_read_file(path, buf, len, NULL) >= 0);
}

static void write_old(const char *name, const char *text)
{
	char path[PATH_MAX];
	struct rl_error err = {0};
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(rl_write_file(path, text, strlen(text), 0644, &err), 0);
}

static void etc_per_mode(void **state)
{
	(void)state;
	struct rl_error err = {0};
	char buf[8192];
	write_old("resolv.conf", "nameserver 192.0.2.1\n");
	write_old("hosts", "127.0.0.1\tlocalhost c1\n");

	/* none: what rl_state_write_etc wrote stays. */
	assert_int_equal(rl_network_write_etc(dir, RL_NET_NONE, &err), 0);
	read_back("resolv.conf", buf, sizeof(buf));
	assert_string_equal(buf, "nameserver 192.0.2.1\n");

	/* slirp4netns: its resolver, and nothing else. */
	assert_int_equal(rl_network_write_etc(dir, RL_NET_SLIRP, &err), 0);
	read_back("resolv.conf", buf, sizeof(buf));
	assert_string_equal(buf, "nameserver 10.0.2.3\n");
	read_back("hosts", buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1\tlocalhost c1\n");

	/* host: the host's /etc/hosts. */
	char host[8192] = "";
	if (rl_read_file("/etc/hosts", host, sizeof(host), NULL) > 0) {
		assert_int_equal(rl_network_write_etc(dir, RL_NET_HOST, &err), 0);
		read_back("hosts", buf, sizeof(buf));
		assert_string_equal(buf, host);
	}
}

static void etc_into_missing_dir_fails(void **state)
{
	(void)state;
	struct rl_error err = {0};
	assert_true(rl_network_write_etc("/nonexistent/rlbpf", RL_NET_SLIRP, &err) < 0);
	assert_true(err.msg[0] != '\0');
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(rl_network_name(RL_NET_NONE), "none");
	assert_string_equal(rl_network_name(RL_NET_HOST), "host");
	assert_string_equal(rl_network_name(RL_NET_SLIRP), "slirp4netns");
}

static void slirp_found_on_path(void **state)
{
	(void)state;
	char bin[PATH_MAX], fake[PATH_MAX], why[384];
	snprintf(fake, sizeof(fake), "%s/slirp4netns", dir);
	write_old("slirp4netns", "#!/bin/sh\n");
	assert_int_equal(chmod(fake, 0755), 0);
	char *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", dir, 1);
	rl_slirp_find(bin, sizeof(bin));
	assert_string_equal(bin, fake);
	/* Not on PATH and not in /usr/bin: "" and a reason naming the package. */
	setenv("PATH", "/nonexistent", 1);
	rl_slirp_find(bin, sizeof(bin));
	if (access("/usr/bin/slirp4netns", X_OK) != 0) {
		assert_string_equal(bin, "");
		rl_slirp_unusable(why, sizeof(why));
		assert_non_null(strstr(why, "apt-get install slirp4netns"));
		char note[512];
		assert_int_equal(rl_network_default(note, sizeof(note)), RL_NET_NONE);
		assert_non_null(strstr(note, "--network none"));
	}
	if (saved) {
		setenv("PATH", saved, 1);
		free(saved);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(etc_per_mode),
		cmocka_unit_test(etc_into_missing_dir_fails),
		cmocka_unit_test(names),
		cmocka_unit_test(slirp_found_on_path),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
