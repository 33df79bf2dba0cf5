/* rlbpf-monitor: what a detached container's supervisor becomes once the
 * container runs. rlbpf execs it in place (same process, so the container
 * stays its child), so that the long-lived part is a small static program
 * instead of the whole CLI: it keeps the log, passes signals on, records
 * the end, and removes the container for --rm.
 *
 * rlbpf-monitor STATE_DIR PID OUT_FD ERR_FD PTY_FD LOG_FD USERNS_FD RM */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detach.h"
#include "fsutil.h"
#include "state.h"
#include "status.h"

static int number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v >= -1 && v <= INT_MAX ? (int)v : -2;
}

int main(int argc, char **argv)
{
	int n[7];
	for (int i = 0; argc == 9 && i < 7; i++)
		n[i] = number(argv[i + 2]);
	if (argc != 9 || n[0] <= 0 || n[1] < -1 || n[2] < -1 || n[3] < -1 || n[4] < 0 ||
	    n[5] < -1 || n[6] < 0) {
		fputs("rlbpf-monitor: a helper of rlbpf's, started by 'rlbpf run -d'\n", stderr);
		return 2;
	}
	struct rl_state st = {0};
	if (snprintf(st.dir, sizeof(st.dir), "%s", argv[1]) >= (int)sizeof(st.dir))
		return 2;
	const char *base = strrchr(argv[1], '/');
	snprintf(st.id, sizeof(st.id), "%.64s", base ? base + 1 : argv[1]);
	snprintf(st.name, sizeof(st.name), "%.64s", st.id);

	int code = rl_supervise_logged(n[0], n[1], n[2], n[3], n[4]);
	rl_status_record_exit(&st, code);
	if (n[6]) {
		struct rl_error err = {0};
		rl_remove_tree_as_owner(st.dir, n[5], &err);
	}
	return code;
}
