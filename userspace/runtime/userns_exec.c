#include "runtime/userns_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "runtime/idmap.h"
#include "lib/spawn.h"

static void say(int fd, const char *a, const char *b)
{
	(void)!write(fd, a, strlen(a));
	if (b)
		(void)!write(fd, b, strlen(b));
	(void)!write(fd, "\n", 1);
}

/* Between clone and exec: system calls only (the child is a raw clone of a
 * process that may hold libc locks). Waits until the parent has written
 * the maps, becomes root of the namespace and execs. */
static __attribute__((noreturn)) void child(char *const argv[], pid_t parent, bool single,
					     int sync_rd, int sync_wr, int devnull, int out)
{
	static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	close(sync_wr);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(125);
	char go;
	if (read(sync_rd, &go, 1) != 1)
		_exit(125); /* the parent could not write the maps: it says why */
	/* Supplementary groups of the host would show as nogroup; with a
	 * single-id map setgroups is denied and there are none to drop. */
	if (!single && syscall(SYS_setgroups, 0, NULL) < 0) {
		say(out, "cannot drop supplementary groups in the user namespace", NULL);
		_exit(125);
	}
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) {
		say(out, "cannot become root of the user namespace", NULL);
		_exit(125);
	}
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(125);
	execve(argv[0], argv, envp);
	say(1, "cannot execute ", argv[0]);
	_exit(127);
}

int rl_userns_exec(char *const argv[], struct rl_error *err)
{
	struct rl_idmap map;
	int r = rl_idmap_plan(&map, err);
	if (r < 0)
		return r;
	_cleanup_close_ int devnull = rl_fd_above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int p[2], s[2];
	if (devnull < 0 || pipe2(p, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot prepare to run %s", argv[0]);
	_cleanup_close_ int out_rd = rl_fd_above_stdio(p[0]);
	_cleanup_close_ int out_wr = rl_fd_above_stdio(p[1]);
	if (pipe2(s, O_CLOEXEC) < 0)
		return rl_fail_errno(err, errno, "cannot prepare to run %s", argv[0]);
	_cleanup_close_ int sync_rd = rl_fd_above_stdio(s[0]);
	_cleanup_close_ int sync_wr = rl_fd_above_stdio(s[1]);
	if (out_rd < 0 || out_wr < 0 || sync_rd < 0 || sync_wr < 0)
		return rl_fail_errno(err, errno, "cannot prepare to run %s", argv[0]);

	pid_t parent = getpid();
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		return rl_fail_errno(err, errno,
				     "cannot create a user namespace to run %s; check 'rlbpf setup'",
				     argv[0]);
	if (pid == 0)
		child(argv, parent, map.single, sync_rd, sync_wr, devnull, out_wr);

	close(RL_TAKE_FD(sync_rd));
	close(RL_TAKE_FD(out_wr));
	struct rl_helper h = {.pid = pid, .out = RL_TAKE_FD(out_rd)};
	r = rl_idmap_apply(&map, pid, err);
	if (r == 0 && write(sync_wr, "1", 1) != 1)
		r = rl_fail_errno(err, errno, "cannot start %s in the user namespace", argv[0]);
	close(RL_TAKE_FD(sync_wr)); /* on failure the child reads EOF and exits */
	rl_helper_finish(&h);
	if (r < 0)
		return r;
	/* notices (rlbpf-unpack's skipped device nodes) reach the user; on
	 * failure the helper's error is its last line */
	char *last = h.text + strlen(h.text);
	while (last > h.text && last[-1] == '\n')
		*--last = '\0';
	while (last > h.text && last[-1] != '\n')
		last--;
	if (rl_helper_ok(&h)) {
		if (h.text[0])
			fprintf(stderr, "%s\n", h.text);
		return 0;
	}
	if (last > h.text)
		fprintf(stderr, "%.*s", (int)(last - h.text), h.text);
	if (*last)
		return rl_fail(err, EIO, "%s", last);
	char how[48];
	rl_helper_describe(&h, how, sizeof(how));
	return rl_fail(err, EIO, "%s failed in a user namespace (%s)", argv[0], how);
}

int rl_userns_remove_tree(const char *path, struct rl_error *err)
{
	struct rl_idmap map;
	int r = rl_idmap_plan(&map, err);
	if (r < 0)
		return r;
	if (map.single) {
		/* Everything is the caller's own. */
		r = rl_remove_tree(path);
		return r < 0 ? rl_fail_errno(err, -r, "cannot remove %s", path) : 0;
	}
	char *const argv[] = {"/bin/rm", "-rf", "--one-file-system", "--", (char *)path, NULL};
	return rl_userns_exec(argv, err);
}
