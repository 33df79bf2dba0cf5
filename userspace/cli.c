/* rlbpf: the unprivileged command. A table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"run", cmd_run, "run a command in a new rootless container"},
	{"info", cmd_info, "show what this host lets rlbpf do, and what it cannot keep"},
	{"setup", cmd_setup, "check the rootless prerequisites and print the fixes"},
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
