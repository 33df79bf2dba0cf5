#include "lib/humantime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rl_human_duration(double seconds, char *buf, size_t len)
{
	long s = (long)seconds;
	long m = s / 60, h = s / 3600, d = h / 24;
	if (s < 1)
		snprintf(buf, len, "Less than a second");
	else if (s == 1)
		snprintf(buf, len, "1 second");
	else if (s < 60)
		snprintf(buf, len, "%ld seconds", s);
	else if (m == 1)
		snprintf(buf, len, "About a minute");
	else if (m < 60)
		snprintf(buf, len, "%ld minutes", m);
	else if (h == 1)
		snprintf(buf, len, "About an hour");
	else if (h < 48)
		snprintf(buf, len, "%ld hours", h);
	else if (d < 14)
		snprintf(buf, len, "%ld days", d);
	else if (d < 60)
		snprintf(buf, len, "%ld weeks", d / 7);
	else if (d < 365 * 2)
		snprintf(buf, len, "%ld months", d / 30);
	else
		snprintf(buf, len, "%ld years", d / 365);
}

double rl_parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return -1;
	double frac = 0;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	return (double)timegm(&tm) + frac;
}
