/* Registration of a started container with rlbpfd (trace_register.h). The
 * note that tracing is off is said once, not on every run: a marker in the
 * user's runtime directory remembers it was said, and goes when the agent
 * answers again. */
#include "trace_register.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_client.h"
#include "paths.h"

void rl_trace_register(const struct rl_state *st, pid_t pid, int userns_fd)
{
	char why[300], marker[PATH_MAX], dir[PATH_MAX - 32];
	struct rl_error ignored;
	struct stat ns;
	uint64_t cid;

	if (userns_fd < 0 || fstat(userns_fd, &ns) < 0)
		return;
	int r = rl_agent_register(st->id, st->name, pid, ns.st_ino, &cid, why, sizeof(why));
	if (rl_runtime_dir(dir, sizeof(dir), &ignored) < 0)
		return;
	snprintf(marker, sizeof(marker), "%s/tracing-off-noted", dir);
	if (r == 0) {
		unlink(marker);
		return;
	}
	/* the container was over before the agent looked: nothing to trace,
	 * and nothing wrong with tracing */
	if (r == -ESRCH)
		return;
	int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return; /* said before (or cannot remember it: stay quiet) */
	close(fd);
	fprintf(stderr, "rlbpf run: tracing is off (said once; `rlbpf info` tells the same): "
			"rlbpfd %s\n", why);
}
