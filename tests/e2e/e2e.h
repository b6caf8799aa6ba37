/*
 * e2e.h — what the end-to-end suites share: driving tests/e2e/asterisk.sh,
 * asking Asterisk (CLI and ARI) what is left of a call, and reading the
 * supervisor's log.  A suite runs one supervisor against the one Asterisk
 * at a time, so its state is two globals: env and r.
 */
#ifndef MAI_E2E_H
#define MAI_E2E_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define E2E_ARI_PORT		8088
/* Basic base64("mai:mvoice8908!#"), asterisk-conf/ari.conf's user. */
#define E2E_ARI_AUTH		"bWFpOm12b2ljZTg5MDghIw=="
#define E2E_SERVICE_EXTEN	"43720270346"
/* Liveness bound (ms) for /readyz: the ws-worker's reconnect backoff caps
 * at 30 s +20 %. */
#define E2E_READY_BOUND_MS	45000

extern struct h_env	 env;	/* this test's supervisor */
extern struct h_resp	*r;	/* the last HTTP answer */

/* Poll cond (every 200 ms: each asterisk -rx is a process) up to bound. */
#define WAIT_UPTO(bound, cond) ({				\
	long __end = h_now_ms() + (bound);			\
	bool __ok;						\
	while (!(__ok = (cond)) && h_now_ms() < __end)		\
		h_sleep_ms(200);				\
	__ok; })

/* e2e.c */
const char	*e2e_src(void);
int		 ast(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 e2e_setup(void);
void		 e2e_teardown(void);
void		 e2e_start_ready(const char *, const char *const *);
int		 ari_get(const char *, struct h_resp *);
bool		 ari_empty(const char *);
int		 active_channels(void);
bool		 all_gone(void);
long		 log_size(void);
int		 log_count(long, const char *);
int		 log_number(long, const char *);
bool		 log_token(long, const char *, char *, size_t);
long		 log_offset(long, const char *);
bool		 playback_live(long);
bool		 recording_live(long);
bool		 log_in_order(long, const char *const *, const char **);
void		 e2e_call_over(long, long, const char *const *);

#endif
