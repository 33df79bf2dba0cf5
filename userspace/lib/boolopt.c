/* Boolean option values (boolopt.h). */
#include "lib/boolopt.h"

#include <errno.h>
#include <string.h>

int rl_bool_option(const char *flag, const char *value, bool *out, struct rl_error *err)
{
	if (!value || strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0)
		*out = false;
	else
		return rl_fail(err, EINVAL, "%s takes true or false, not '%.40s'", flag, value);
	return 0;
}
