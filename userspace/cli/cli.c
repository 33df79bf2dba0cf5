/* rlbpf: the unprivileged command. A table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"run", cmd_run, "run a command in a new rootless container"},
	{"create", cmd_create, "create a container without starting it"},
	{"start", cmd_start, "start created or stopped containers"},
	{"exec", cmd_exec, "run a command in a running container"},
	{"ps", cmd_ps, "list containers"},
	{"inspect", cmd_inspect, "show containers in detail, as JSON or through a template"},
	{"logs", cmd_logs, "show what a detached container wrote"},
	{"top", cmd_top, "show a container's processes, host and container view side by side"},
	{"stats", cmd_stats, "show containers' CPU, memory and task counts, from the rlbpfd agent"},
	{"stop", cmd_stop, "stop containers: SIGTERM, then SIGKILL"},
	{"kill", cmd_kill, "send a signal to containers"},
	{"wait", cmd_wait, "wait for containers to stop and print their exit codes"},
	{"restart", cmd_restart, "stop and start containers again"},
	{"rm", cmd_rm, "remove containers"},
	{"images", cmd_images, "list images"},
	{"pull", cmd_pull, "download an image from a registry"},
	{"load", cmd_load, "load images from a 'docker save' archive or an OCI layout"},
	{"tag", cmd_tag, "name an image"},
	{"rmi", cmd_rmi, "remove images"},
	{"login", cmd_login, "keep credentials for a registry"},
	{"logout", cmd_logout, "forget the credentials of a registry"},
	{"trace", cmd_trace, "show what happens in containers, from the rlbpfd agent"},
	{"info", cmd_info, "show what this host lets rlbpf do, and what it cannot keep"},
	{"setup", cmd_setup, "check the rootless prerequisites and print the fixes"},
	{"system", cmd_system, "system service: serve the Docker Engine API for the docker CLI"},
};

static void usage(FILE *out)
{
	fputs("Usage: rlbpf COMMAND [OPTIONS]\n\nRootless containers, watched with eBPF.\n\nCommands:\n",
	      out);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fputs("\nRun 'rlbpf COMMAND --help' for a command's options.\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RL_EXIT_INTERNAL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		puts("rlbpf 0.1.0");
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rlbpf: unknown command '%s'; see 'rlbpf --help'\n", argv[1]);
	return RL_EXIT_INTERNAL;
}
