/* Subcommands of rlbpf. Each takes argv with argv[0] = its own name and
 * returns the process exit code (125 for rlbpf's own errors). */
#pragma once

#include "lib/error.h"

int cmd_run(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_system(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_images(int argc, char **argv);
int cmd_rmi(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);

/* Reports a bad option the way every command does; returns the exit code. */
int cli_bad_option(const char *cmd, int c, char **argv);

struct rl_state;
struct rl_error;
/* Starts a container again from its record, detached (restart). */
int rl_run_again(const struct rl_state *st, struct rl_error *err);
