#include "lib/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_message(struct rl_error *err, int code, const char *suffix,
		       const char *fmt, va_list ap)
{
	code = abs(code);
	if (!err)
		return -code;
	err->code = code;
	/* formatted aside first: callers may wrap the message err holds
	 * ("annotation x: %s", err->msg) */
	char text[sizeof(err->msg)];
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, ": %s", suffix);
	memcpy(err->msg, text, sizeof(text));
	return -code;
}

int rl_fail(struct rl_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = set_message(err, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int rl_fail_errno(struct rl_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = set_message(err, code, strerror(abs(code)), fmt, ap);
	va_end(ap);
	return r;
}

void rl_error_print(const struct rl_error *err, const char *prefix)
{
	fprintf(stderr, "%s: %s\n", prefix, err->msg[0] ? err->msg : "unknown error");
}
