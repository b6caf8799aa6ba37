/*
 * hookserver.h — the webhook end of test_e2e_media.c: a small HTTP/1.1
 * server on 127.0.0.1, a thread, one connection at a time; it keeps the
 * last request and answers as its mode says.
 */
#ifndef MAI_E2E_HOOKSERVER_H
#define MAI_E2E_HOOKSERVER_H

#include <pthread.h>

/* HTTP server bounds: a request head and body, the slow mode's hold. */
#define HOOK_HEAD_MAX		8192
#define HOOK_BODY_MAX		8192
#define HOOK_HOLD_MS		30000

enum hook_mode { HOOK_GOLD, HOOK_SLOW, HOOK_500, HOOK_GARBAGE, HOOK_NOSTATE };

/* The webhook's server: one connection at a time, the last request kept. */
struct hook {
	int		 fd;
	int		 port;
	volatile int	 stop;
	volatile enum hook_mode mode;	/* set between calls */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	int		 nreq;
	char		 method[16];
	char		 target[256];
	char		 ctype[128];
	char		 body[HOOK_BODY_MAX];
};

extern struct hook	hook;

void	hook_start(enum hook_mode);
int	hook_nreq(void);
void	hook_stop(void);

#endif
