/*
 * log.h — one line per event, key=value fields, text or JSON.
 *
 * The split follows OpenBSD's log.c: fatal() with errno and fatalx()
 * without end the process; log_warn() appends errno, log_warnx() does not.
 * Never pass a secret: there is no redaction layer behind these calls.
 */
#ifndef MAI_LOG_H
#define MAI_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

void	log_init(const char *, int, int);
void	log_setlevel(int, int);
int	log_level_parse(const char *);
const char *log_level_name(int);
size_t	log_escape_text(char *, size_t, const char *);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatal_config(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Exit code of a configuration error (sysexits.h EX_CONFIG). */
#define EX_CONFIG_ERR	78

#endif /* MAI_LOG_H */
