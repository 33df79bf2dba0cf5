/* Subcommands of rlbpf. Each takes argv with argv[0] = its own name and
 * returns the process exit code (125 for rlbpf's own errors). */
#pragma once

#define RL_EXIT_INTERNAL 125 /* rlbpf's own error, as Docker */
#define RL_EXIT_CANNOT_EXEC 126
#define RL_EXIT_NOT_FOUND 127

int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_setup(int argc, char **argv);
