/* Environment vectors as execve takes them: NULL-terminated KEY=VALUE. */
#pragma once

/* The value of key in env, or NULL. */
const char *rl_env_get(char **env, const char *key);
