/*
 * ari_rest.h — calls to Asterisk's REST interface (ARI) from an event loop.
 *
 * libcurl's multi interface driven by a libevent event_base: a call never
 * blocks, its callback runs later from the loop (never from inside
 * ari_rest_call()).  One struct ari_rest per process; it holds the base URL
 * http(s)://ARI_HOST:ARI_PORT/ari and the credentials, which live only in
 * curl's handle options and are never logged or returned.
 */
#ifndef MAI_ARI_REST_H
#define MAI_ARI_REST_H

#include <stddef.h>
#include <stdint.h>

#include "urlenc.h"

struct event_base;
struct json_object;
struct mai_config;
struct ari_rest;

/*
 * Calls started and not yet called back, webhooks included.  Each holds
 * one curl handle and its buffers; a caller that needs more queues its
 * own work.
 */
#define ARI_REST_MAX_CALLS	256
/*
 * Connections to Asterisk (ari_pool.c), and ARI calls in flight at once:
 * one per connection, so a caller that queues the rest itself decides
 * what goes first (the flow-worker: a new call's answer).
 *   ARI_REST_CONNS_DEF: the pool's size unless ari_rest_pool() sets one
 *     (the flow-worker's is ARI_REST_CONNS).  Measured on Asterisk 22 on
 *     2 cores (docs/performance.md): more connections do not answer a
 *     burst sooner, they only wait inside Asterisk.
 *   ARI_REST_MAX_CONNS: the largest pool.  Asterisk's http.conf
 *     sessionlimit (default 100) is shared with the events WebSocket, the
 *     health-worker's probe and every other client.
 *   ARI_REST_OPENING_MAX: connections opened and not yet answered at
 *     once.  Asterisk's HTTP server listens with a backlog of 10; a SYN
 *     dropped there costs a 1 s retry.
 *   ARI_REST_KEEPALIVE_MS: how often a warm pool pings its idle
 *     connections, well inside Asterisk's session_keep_alive (15 s).
 *   ARI_REST_IDLE_MAX_S: an idle connection older than this is not
 *     reused (Asterisk may be closing it) but closed.
 */
#ifndef ARI_REST_CONNS_DEF	/* -D: bench/burst.sh measures other sizes */
#define ARI_REST_CONNS_DEF	4
#endif
#define ARI_REST_MAX_CONNS	32
#define ARI_REST_OPENING_MAX	2
#define ARI_REST_KEEPALIVE_MS	5000
#define ARI_REST_KEEPALIVE_TIMEOUT_MS	2000
#define ARI_REST_IDLE_MAX_S	12
/*
 * One response or request body.  Most ARI answers are under a few KiB;
 * GET /channels grows by about 1 KiB per channel, so this holds about a
 * thousand.  A bigger one is an error, not a buffer without end.  A call
 * that expects more says so (struct ari_call_opts), up to
 * ARI_REST_BODY_HUGE: the bound on any answer at all.
 */
/* The most ari_rest_limit() allows: one connection (a descriptor) each. */
#define ARI_REST_LIMIT_MAX	4096
#define ARI_REST_BODY_MAX	(1024 * 1024)
#define ARI_REST_BODY_HUGE	(64 * 1024 * 1024)
#define ARI_REST_TIMEOUT_DEF_MS	5000	/* when a call passes 0 */
#define ARI_REST_TIMEOUT_MAX_MS	3600000	/* longer ones are cut to this; the
					   config's own ARI_PROBE_TIMEOUT_MS
					   limit */
#define ARI_REST_URL_MAX	2048	/* base URL and path together */
#define ARI_REST_ERR_MAX	512	/* ari_result.error, truncated */
#define ARI_REST_MSG_MAX	200	/* ARI's "message" inside the error */

/* Why a call failed, for callers that act on the kind of failure. */
enum ari_rest_fail {
	ARI_FAIL_NONE = 0,	/* HTTP answer; status (and body) tell */
	ARI_FAIL_RESOLVE,	/* ARI_HOST did not resolve */
	ARI_FAIL_REFUSED,	/* connection refused: nothing listens */
	ARI_FAIL_CONNECT,	/* no TCP connection otherwise */
	ARI_FAIL_TIMEOUT,	/* no complete answer in time */
	ARI_FAIL_TOOBIG,	/* body over the call's bound; status kept */
	ARI_FAIL_TRANSPORT,	/* any other curl failure (TLS, reset...) */
	ARI_FAIL_CANCELLED	/* ari_rest_free() with the call pending */
};

/*
 * What a call's callback sees; everything is owned by the module and valid
 * only during the callback (json_object_get() the body to keep it).
 *
 * error is NULL exactly when status is 2xx and the body, if any, is JSON.
 * Otherwise it names the call and says why, e.g.
 *   "POST /channels/x/answer: 404 Channel not found"
 *   "GET /asterisk/info: connection refused (curl: ...)"
 *   "GET /asterisk/info: timeout after 2000 ms"
 * ARI's "message" field is quoted when the body has one.
 */
struct ari_result {
	const char		*method;
	const char		*path;	/* as the caller passed it */
	long			 status;	/* 0: no HTTP answer */
	enum ari_rest_fail	 fail;
	struct json_object	*body;	/* parsed JSON, or NULL */
	const char		*error;
	uint64_t		 sent_ns;	/* CLOCK_MONOTONIC ns (as
						   frame_now_ns()) when
						   curl began to write the
						   request; 0: never */
};

/* What a call may set beyond the defaults (all 0: the defaults). */
struct ari_call_opts {
	unsigned int	 timeout_ms;	/* 0: ARI_REST_TIMEOUT_DEF_MS */
	size_t		 body_max;	/* answer bound; 0: ARI_REST_BODY_MAX,
					   at most ARI_REST_BODY_HUGE */
};

typedef void (*ari_rest_cb)(const struct ari_result *, void *);

/*
 * How a transfer ended, in plain terms: ari_curl.c fills in what curl
 * saw, ari_rest.c what the request was, and ari_text.c turns it into the
 * struct ari_result a callback sees.
 */
struct ari_outcome {
	const char		*method;
	const char		*path;
	long			 status;
	enum ari_rest_fail	 fail;
	unsigned int		 timeout_ms;
	size_t			 body_max;
	uint64_t		 sent_ns;
	const char		*detail;	/* curl's words, if it failed */
	const char		*resp;		/* the body as received */
	size_t			 resp_len;
};

/*
 * ari_rest.c.  ari_rest_call() either returns -1 with errno and never
 * calls back, or returns 0 and calls back exactly once, from the loop.
 * ari_rest_call_opts() is the same with a struct ari_call_opts.
 * ari_rest_call_url() is the same for an absolute http(s) URL that is
 * not ARI (webhooks): no credentials go with it; the shared bounds hold.
 * ari_rest_free() cancels pending calls: their callbacks DO run, with
 * ARI_FAIL_CANCELLED, so callers can release their arg; it is safe from
 * inside a callback (the teardown waits until that callback returns).
 */
struct ari_rest	*ari_rest_new(struct event_base *, const struct mai_config *);
int		 ari_rest_configure(struct ari_rest *,
		    const struct mai_config *);
int		 ari_rest_call(struct ari_rest *, const char *, const char *,
		    struct json_object *, unsigned int, ari_rest_cb, void *);
int		 ari_rest_call_opts(struct ari_rest *, const char *,
		    const char *, struct json_object *,
		    const struct ari_call_opts *, ari_rest_cb, void *);
int		 ari_rest_call_url(struct ari_rest *, const char *,
		    const char *, struct json_object *, unsigned int,
		    ari_rest_cb, void *);
int		 ari_rest_limit(struct ari_rest *, unsigned int);
void		 ari_rest_cancel(struct ari_rest *, void *);
int		 ari_rest_pool(struct ari_rest *, unsigned int, int);
const char	*ari_rest_base_url(const struct ari_rest *);
void		 ari_rest_free(struct ari_rest *);

/* ari_text.c */
int		 ari_rest_path(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 ari_result_make(struct ari_result *,
		    const struct ari_outcome *, char *, size_t);

#endif /* MAI_ARI_REST_H */
