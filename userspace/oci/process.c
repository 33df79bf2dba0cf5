/* A container process's last steps (process.h). The error messages use
 * runc's words: Podman and containerd map "executable file not found in
 * $PATH" and "no such file or directory" to 127 and "permission denied" to
 * 126 by matching them. */
#include "oci/process.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/envv.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

int rl_oci_process_limits(const struct rl_oci_process *p, struct rl_error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return rl_fail_errno(err, errno, "error setting rlimit type %d", p->rlimits[i].resource);
	}
	if (p->has_oom_score_adj) {
		FILE *f = fopen("/proc/self/oom_score_adj", "we");
		int ok = f && fprintf(f, "%d", p->oom_score_adj) > 0;
		if (f && fclose(f) != 0)
			ok = 0;
		if (!ok)
			return rl_fail_errno(err, errno, "cannot set oom_score_adj to %d", p->oom_score_adj);
	}
	return 0;
}

int rl_oci_process_find(const struct rl_oci_process *p, char *out, size_t len,
			struct rl_error *err)
{
	const char *cmd = p->args[0];
	struct stat sb;
	if (strchr(cmd, '/')) {
		if (stat(cmd, &sb) < 0)
			return rl_fail(err, errno, "exec: \"%s\": stat %s: %s", cmd, cmd, strerror(errno));
		if (S_ISDIR(sb.st_mode) || !(sb.st_mode & 0111))
			return rl_fail(err, EACCES, "exec: \"%s\": permission denied", cmd);
		snprintf(out, len, "%s", cmd);
		return 0;
	}
	const char *path = rl_env_get(p->env, "PATH");
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int seen = ENOENT;
	for (const char *d = path;;) {
		size_t n = strcspn(d, ":");
		char full[PATH_MAX];
		if (snprintf(full, sizeof(full), "%.*s/%s", (int)n, n ? d : ".", cmd) < (int)sizeof(full) &&
		    stat(full, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			if (sb.st_mode & 0111) {
				snprintf(out, len, "%s", full);
				return 0;
			}
			seen = EACCES;
		}
		d += n;
		if (*d++ != ':')
			break;
	}
	if (seen == EACCES)
		return rl_fail(err, EACCES, "exec: \"%s\": permission denied", cmd);
	return rl_fail(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
}

static int set_caps(const struct rl_oci_process *p, struct rl_error *err)
{
	static const cap_flag_t flags[] = {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE};
	static const int sets[] = {RL_OCI_EFFECTIVE, RL_OCI_PERMITTED, RL_OCI_INHERITABLE};
	cap_t c = cap_init();
	if (!c)
		return rl_fail_errno(err, errno, "cannot make a capability set");
	for (int c_nr = 0; c_nr <= CAP_LAST_CAP; c_nr++)
		for (size_t k = 0; k < 3; k++)
			if (p->caps[sets[k]] & (UINT64_C(1) << c_nr)) {
				cap_value_t v = c_nr;
				cap_set_flag(c, flags[k], 1, &v, CAP_SET);
			}
	int r = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (r < 0)
		return rl_fail(err, e, "cannot set the process's capabilities: %s", strerror(e));
	/* an ambient capability must be permitted and inheritable too; one
	 * that is not is left out, as runc leaves it (with a warning in its
	 * log) */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c_nr = 0; c_nr <= CAP_LAST_CAP; c_nr++)
		if (p->caps[RL_OCI_AMBIENT] & (UINT64_C(1) << c_nr))
			(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c_nr, 0, 0);
	return 0;
}

int rl_oci_process_exec(const struct rl_oci_process *p, struct rl_seccomp *seccomp,
			struct rl_error *err)
{
	char exe[PATH_MAX];
	int r;
	if (chdir(p->cwd) < 0)
		return rl_fail(err, errno, "chdir to cwd (\"%s\") set in config.json failed: %s", p->cwd,
			       strerror(errno)),
		       RL_EXIT_INTERNAL;
	if ((r = rl_oci_process_find(p, exe, sizeof(exe), err)) < 0)
		return r == -EACCES ? RL_EXIT_CANNOT_EXEC : RL_EXIT_NOT_FOUND;
	/* capabilities survive the change of uid; the sets are set after it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return rl_fail_errno(err, errno, "cannot keep capabilities"), RL_EXIT_INTERNAL;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(p->caps[RL_OCI_BOUNDING] & (UINT64_C(1) << c)) &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return rl_fail_errno(err, errno, "cannot drop capability %d from the bounding set", c),
			       RL_EXIT_INTERNAL;
	/* without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which
	 * the process is about to lose */
	if (seccomp && !p->no_new_privileges && rl_seccomp_load(seccomp, false, err) < 0)
		return RL_EXIT_INTERNAL;
	/* a user namespace whose gid map was written without setgroups
	 * refuses setgroups: fine when there are none to set */
	if (setgroups(p->n_gids, p->gids) < 0 && (p->n_gids || errno != EPERM))
		return rl_fail_errno(err, errno, "cannot set the additional gids"), RL_EXIT_INTERNAL;
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return rl_fail_errno(err, errno, "cannot switch to gid %u", p->gid), RL_EXIT_INTERNAL;
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return rl_fail_errno(err, errno, "cannot switch to uid %u", p->uid), RL_EXIT_INTERNAL;
	if (set_caps(p, err) < 0)
		return RL_EXIT_INTERNAL;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return rl_fail_errno(err, errno, "cannot set no_new_privs"), RL_EXIT_INTERNAL;
	if (seccomp && p->no_new_privileges && rl_seccomp_load(seccomp, true, err) < 0)
		return RL_EXIT_INTERNAL;
	if (p->has_umask)
		umask(p->umask);
	char *empty[] = {NULL};
	execve(exe, p->args, p->env ? p->env : empty);
	int e = errno;
	rl_fail(err, e, "exec: \"%s\": %s", p->args[0], strerror(e));
	return e == ENOENT ? RL_EXIT_NOT_FOUND : RL_EXIT_CANNOT_EXEC;
}
