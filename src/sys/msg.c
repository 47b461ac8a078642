/* msg.c — see msg.h. */
#include "sys/msg.h"

#include <stdarg.h>
#include <stdio.h>

static int quiet; /* set once from the options, before any other thread exists */

void msg_set_quiet(int q) { quiet = q; }

static void say(const char *kind, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "tinfer: %s", kind);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void msg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
	va_list ap;
	if (quiet)
		return;
	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

void msg_info(const char *fmt, ...)
{
	va_list ap;
	if (quiet)
		return;
	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
}

char *msg_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (!buf || len == 0)
		return buf;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}
