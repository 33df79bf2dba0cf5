/* Signals named as kill(1) takes them. */
#pragma once

/* KILL, SIGKILL, kill or 9; -1 when it names no signal. */
int rl_signal_parse(const char *s);
