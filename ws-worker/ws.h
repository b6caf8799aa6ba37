/*
 * ws.h — the ws-worker's private header: what each file of ws-worker/
 * holds and offers, grouped per file as in OpenBSD's ntpd.h.
 *
 * The ws-worker holds the one WebSocket to Asterisk's /ari/events and
 * forwards every event to the supervisor, byte for byte and in order.  All
 * of it runs in one libwebsockets event loop: the WebSocket, the readiness
 * delivery check (an HTTP POST), the supervisor socket and the signal pipe.
 */
#ifndef MAI_WS_H
#define MAI_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "ipc.h"

#define MSEC	((lws_usec_t)1000)	/* lws timers count microseconds */

/* main.c */
extern struct mai_config	ws_conf;
void		 ws_stop(int, const char *);
void		 ws_conf_defaults(struct mai_config *);

/* ratelim.c */
/* Warnings that a peer can trigger at will are logged at this pace. */
#define RATELIM_INTERVAL_MS	10000

struct ratelim {
	lws_usec_t	last;		/* when the last line went out */
	uint64_t	suppressed;	/* lines not logged since */
};
bool		 ratelim_pass(struct ratelim *, uint64_t *);

/* parent.c */
/*
 * Frames waiting for the supervisor to read.  The WebSocket is read at any
 * cost (Asterisk drops a client that stalls for websocket_write_timeout,
 * 100 ms), so when the supervisor stalls events wait here, and past these
 * bounds they are dropped and counted.  32 MiB holds about half a second
 * of a full-speed burst (60k events/s of 1 KiB) and minutes of a busy
 * real system; memory is only taken while the supervisor lags.
 */
#define PARENT_QUEUE_BYTES_MAX	(32u * 1024 * 1024)
#define PARENT_QUEUE_COUNT_MAX	32768
/* Gap frames that may wait beyond the count bound (one per link change). */
#define PARENT_GAPS_MAX		64
/* Counters go to the supervisor at most this often, when they changed. */
#define PARENT_COUNTERS_MS	1000

void		 parent_init(struct lws_context *, struct lws_vhost *);
void		 parent_event(const void *, size_t);
void		 parent_gap(uint8_t);
void		 parent_flag(enum mai_flag, int);
int		 parent_flag_get(enum mai_flag);
void		 parent_count(int);
void		 parent_shutdown(void);
int		 parent_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

/* link.c */
/* Reconnect backoff: 250 ms doubling to 30 s, +-20 %, reset after 60 s up. */
#define LINK_BACKOFF_MIN_MS	250
#define LINK_BACKOFF_MAX_MS	30000
#define LINK_BACKOFF_JITTER_PCT	20
#define LINK_STABLE_MS		60000
/* Longest /ari/events path: three encoded strings of the config, and more. */
#define LINK_PATH_MAX		4096

void		 link_init(struct lws_context *, struct lws_vhost *);
void		 link_start(void);
void		 link_reload(const struct mai_config *);
void		 link_app_replaced(void);
void		 link_reclaim(void);
void		 link_close(void);
void		 link_dead(const char *);
bool		 link_is_down(void);
bool		 link_is_up(void);
int		 link_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);
int		 link_host_header(char *, size_t, const struct mai_config *);

/* keepalive.c */
#define KEEPALIVE_INTERVAL_MS	20000	/* defaults when the config has 0 */
#define KEEPALIVE_TIMEOUT_MS	10000

void		 keepalive_start(struct lws_context *, struct lws *);
void		 keepalive_stop(void);
int		 keepalive_writeable(struct lws *);
void		 keepalive_pong(void);

/* inbox.c */
void		 inbox_init(void);
void		 inbox_reset(void);
void		 inbox_receive(struct lws *, const void *, size_t);

/* jsoncheck.c */
/* json-c's default nesting limit, so the flow-worker parses what we pass. */
#define JSON_DEPTH_MAX		32

enum json_verdict {
	JSON_EVENT = 0,
	JSON_NOT_OBJECT,
	JSON_INVALID,
	JSON_TOO_DEEP,
	JSON_NO_TYPE,
	JSON_NOT_UTF8
};

struct json_event {
	const char	*type;		/* raw bytes of the "type" string */
	size_t		 type_len;
};

enum json_verdict json_event_check(const char *, size_t, struct json_event *);
const char	*json_verdict_name(enum json_verdict);

/* delivery.c */
/*
 * Delivery check ("readiness probe" in the logs): POST
 * /ari/events/user/DELIVERY_EVENT comes back over the WebSocket as a ChannelUserevent.  Re-sent when no event arrived within
 * DELIVERY_QUIET_MS of connecting, at most DELIVERY_TRIES_MAX times a
 * connection.
 */
#define DELIVERY_EVENT		"mai-ready-probe"
#define DELIVERY_QUIET_MS	30000
#define DELIVERY_TRIES_MAX	4
#define DELIVERY_TIMEOUT_MS	5000	/* when ARI_PROBE_TIMEOUT_MS is 0 */

void		 delivery_init(struct lws_context *, struct lws_vhost *);
void		 delivery_start(const char *);
void		 delivery_event_seen(void);
void		 delivery_stop(void);
int		 delivery_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

/* basic.c */
int		 basic_headers(struct lws *, unsigned char **, unsigned char *,
		    size_t);
int		 basic_request(struct lws_context *, struct lws_vhost *,
		    const char *, const char *, const char *, const char *,
		    struct lws **);

/* evfilter.c */
#define EVFILTER_TIMEOUT_MS	2000	/* then the delivery check goes on */

void		 evfilter_init(struct lws_context *, struct lws_vhost *);
void		 evfilter_start(const char *);
void		 evfilter_stop(void);
int		 evfilter_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

/* reclaim.c */
/*
 * While another client holds ARI_APP: GET /ari/applications/ARI_APP this
 * often (200: still held; 404: free, connect again), each answer awaited
 * at most RECLAIM_TIMEOUT_MS.
 */
#define RECLAIM_INTERVAL_MS	3000
#define RECLAIM_TIMEOUT_MS	2000

void		 reclaim_init(struct lws_context *, struct lws_vhost *);
void		 reclaim_start(const char *);
void		 reclaim_stop(void);
int		 reclaim_callback(struct lws *, enum lws_callback_reasons, void *,
		    void *, size_t);

#endif /* MAI_WS_H */
