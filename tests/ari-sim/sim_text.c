/*
 * sim_text.c — the simulator's log lines, Asterisk-style timestamps and
 * JSON string escaping.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

void
sim_log(const char *fmt, ...)
{
	va_list ap;

	if (sim.conf.quiet)
		return;
	va_start(ap, fmt);
	fputs("ari-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Asterisk's ast_json_timeval(): local time, milliseconds, numeric zone. */
void
sim_timestamp(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	char		date[32], zone[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, len, "%s.%03ld%s", date, ts.tv_nsec / 1000000L, zone);
}

/*
 * Escape src as the inside of a JSON string.  Returns the length written,
 * or (size_t)-1 if dst is too small: names come from clients, so they
 * must never break the JSON we build around them.
 */
size_t
sim_json_escape(char *dst, size_t len, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 o = 0;
	int			 n;

	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			n = snprintf(dst + o, len - o, "\\%c", *s);
		else if (*s < 0x20)
			n = snprintf(dst + o, len - o, "\\u%04x", *s);
		else
			n = snprintf(dst + o, len - o, "%c", *s);
		if (n < 0 || (size_t)n >= len - o)
			return (size_t)-1;
		o += (size_t)n;
	}
	if (o >= len)
		return (size_t)-1;
	dst[o] = '\0';
	return o;
}
