#include "lib/memsize.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rl_memsize_parse(const char *text, uint64_t host_bytes, uint64_t *out, struct rl_error *err)
{
	const char *p = text;
	if (!isdigit((unsigned char)*p))
		return rl_fail(err, EINVAL,
			       "invalid --memory '%s': use a size such as 64m, 512m or 1g (units b, k, m, g)",
			       text);
	errno = 0;
	char *end;
	unsigned long long n = strtoull(p, &end, 10);
	if (errno)
		return rl_fail(err, ERANGE, "invalid --memory '%s': the number is too large", text);
	unsigned shift = 0;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': shift = 0; end++; break;
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	default: end = NULL;
	}
	/* "64mb" and "64m" mean the same, as in Docker. */
	if (end && shift && tolower((unsigned char)*end) == 'b')
		end++;
	if (!end || *end)
		return rl_fail(err, EINVAL,
			       "invalid --memory '%s': unknown unit; use b, k, m or g, e.g. 512m", text);
	if (n > (UINT64_MAX >> shift))
		return rl_fail(err, ERANGE, "invalid --memory '%s': too large", text);
	uint64_t bytes = (uint64_t)n << shift;
	if (bytes < RL_MEMORY_MIN)
		return rl_fail(err, EINVAL,
			       "invalid --memory '%s': the minimum is 6m (6 MiB), as in Docker", text);
	if (host_bytes && bytes > host_bytes) {
		char host[32];
		rl_memsize_format(host_bytes, host, sizeof(host));
		return rl_fail(err, EINVAL,
			       "invalid --memory '%s': more than this host's memory (%s)", text, host);
	}
	*out = bytes;
	return 0;
}

double rl_size_scale(uint64_t bytes, unsigned base, size_t n_units, size_t *unit)
{
	double v = (double)bytes;
	*unit = 0;
	while (v >= (double)base && *unit + 1 < n_units) {
		v /= (double)base;
		(*unit)++;
	}
	return v;
}

void rl_memsize_format(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u;
	double v = rl_size_scale(bytes, 1024, sizeof(units) / sizeof(units[0]), &u);
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%llu%s", (unsigned long long)v, units[u]);
	else
		snprintf(buf, len, "%.1f%s", v, units[u]);
}

void rl_memsize_format_docker(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	size_t u;
	double v = rl_size_scale(bytes, 1024, sizeof(units) / sizeof(units[0]), &u);
	/* C's %g and Go's agree here: the value is below 1024, so four digits
	 * never need an exponent. */
	snprintf(buf, len, "%.4g%s", v, units[u]);
}
