/* The image routes run rlbpf pull and rlbpf load with their output piped
 * back as it comes and, for load, the upload on their stdin: more than
 * rl_api_rlbpf's wait for the whole output. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/image.h"

extern char **environ;

/* environ, with env in place of the variable of its name. */
static char **environment(const char *env)
{
	size_t n = 0, name = env ? strcspn(env, "=") + 1 : 0;
	while (environ[n])
		n++;
	char **v = calloc(n + 2, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; v && i < n; i++)
		if (!env || strncmp(environ[i], env, name))
			v[k++] = environ[i];
	if (v && env)
		v[k++] = (char *)env;
	return v;
}

pid_t rl_api_rlbpf_start(char *const args[], int in, int out, const char *env, char *why,
			 size_t why_len)
{
	char path[PATH_MAX];
	if (rl_api_rlbpf_path(path, sizeof(path)) < 0) {
		snprintf(why, why_len, "cannot find the rlbpf command beside rlbpf-api");
		return -1;
	}
	size_t n = 0;
	while (args[n])
		n++;
	char **argv = calloc(n + 2, sizeof(*argv)), **envp = environment(env);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = argv && envp && null >= 0 ? fork() : -1;
	if (pid == 0) {
		if (dup2(in >= 0 ? in : null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(125);
		rl_api_child_defaults();
		argv[0] = "rlbpf";
		memcpy(argv + 1, args, n * sizeof(*argv));
		execve(path, argv, envp);
		_exit(127);
	}
	if (pid < 0)
		snprintf(why, why_len, "cannot run rlbpf: %s", strerror(errno));
	if (null >= 0)
		close(null);
	free(argv);
	free(envp);
	return pid;
}

int rl_api_rlbpf_reap(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
