#include "lib/envv.h"

#include <string.h>

const char *rl_env_get(char **env, const char *key)
{
	size_t len = strlen(key);
	for (char **e = env; e && *e; e++)
		if (strncmp(*e, key, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}
