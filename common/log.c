/*
 * log.c — line-oriented logging to stderr for every mai process.
 *
 * stderr is what Docker and systemd collect; one write(2) per line keeps
 * lines from different processes sharing the descriptor from interleaving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* longer messages are cut, never split */
/*
 * A run of bytes without a space (one value, e.g. a channel id from ARI)
 * is cut after this many bytes, so that one long value cannot push the
 * fields after it off the end of the line.  URLs and ids are far shorter.
 */
#define LOG_VALUE_MAX	256

static const char	*log_proc = "mai";
static int		 log_verbosity = LOG_LVL_INFO;
static int		 log_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *proc, int level, int json)
{
	log_proc = proc;
	log_setlevel(level, json);
}

void
log_setlevel(int level, int json)
{
	log_verbosity = level;
	log_json = json;
}

int
log_level_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_LVL_DEBUG)
		return "unknown";
	return level_names[level];
}

/* Escape for a JSON string; quotes and control bytes only. */
static size_t
log_json_escape(char *dst, size_t size, const char *src)
{
	size_t	o = 0;

	for (; *src != '\0' && o + 7 < size; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else if (c < 0x20)
			o += (size_t)snprintf(dst + o, size - o, "\\u%04x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

/*
 * Text format: the message is one line whatever its values hold.  Values
 * come from outside (channel ids and caller numbers from ARI), so LF, CR
 * and every other control byte (< 0x20, 0x7f: ESC would steer a terminal)
 * are written as C escapes, and a backslash as two, so that an escape in
 * the log always means a byte that was there.  Runs of non-space bytes
 * longer than LOG_VALUE_MAX are cut with "...".  Pure: bytes in, bytes out
 * (a fuzz harness may call it).  Returns the length written to dst.
 */
size_t
log_escape_text(char *dst, size_t size, const char *src)
{
	size_t	o = 0, run = 0;

	if (size == 0)
		return 0;
	for (; *src != '\0' && o + 5 < size; src++) {
		unsigned char c = (unsigned char)*src;

		run = c == ' ' ? 0 : run + 1;
		if (run > LOG_VALUE_MAX) {
			if (run == LOG_VALUE_MAX + 1 && o + 8 < size) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			continue;
		}
		if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			dst[o++] = '\\';
			dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' :
			    c == '\t' ? 't' : '\\';
		} else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

static void
log_emit(int level, const char *fmt, va_list ap, const char *err)
{
	char		 msg[LOG_LINE_MAX], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 256];
	char		 ts[40];
	struct timespec	 now;
	struct tm	 tm;
	int		 n, saved = errno;

	if (level > log_verbosity)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ", now.tv_nsec / 1000000);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err != NULL) {
		n = (int)strlen(msg);
		snprintf(msg + n, sizeof(msg) - (size_t)n, " error=\"%s\"", err);
	}
	if (log_json) {
		log_json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\","
		    "\"proc\":\"%s\",\"pid\":%d,\"msg\":\"%s\"}\n", ts,
		    level_names[level], log_proc, (int)getpid(), esc);
	} else {
		log_escape_text(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line), "%s level=%s proc=%s pid=%d %s\n",
		    ts, level_names[level], log_proc, (int)getpid(), esc);
	}
	if (n > (int)sizeof(line))
		n = (int)sizeof(line);
	(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list	ap;					\
	const char *e = with_errno ? strerror(errno) : NULL; \
	va_start(ap, fmt);				\
	log_emit(level, fmt, ap, e);			\
	va_end(ap);					\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list		 ap;
	const char	*e = strerror(errno);

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* log_emit() with its own arguments. */
static void
log_emit_args(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(level, fmt, ap, NULL);
	va_end(ap);
}

/*
 * The one way out for a configuration that cannot be used: one line at
 * error level that names the variable and the fix (the caller's words),
 * then exit code 78 (sysexits.h EX_CONFIG), which service managers and
 * the tests read as "fix the configuration, a restart will not help".
 */
void
fatal_config(const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit_args(LOG_LVL_ERROR, "configuration error: %s", msg);
	exit(EX_CONFIG_ERR);
}
