/*
 * health.h — the health-worker's private declarations.
 *
 * The health-worker answers load balancers (/healthz, /healthz/deps,
 * /readyz, /metrics) from cached state only: the supervisor's latest
 * readiness snapshot and the result of its own ARI probe.  A request never
 * waits on Asterisk and never causes ARI traffic.
 */
#ifndef MAI_HEALTH_H
#define MAI_HEALTH_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>

#include "ari_rest.h"
#include "ipc.h"

/*
 * After SIGTERM, open connections are served (each answer carrying
 * "Connection: close") this long before exit.  Busy keep-alive clients
 * send a request every few ms, so they all move to the next health-worker
 * well within the window; it stays short so restarts stay quick.
 */
#define HEALTH_DRAIN_MS		750
#define HEALTH_HTTP_TIMEOUT_S	5		/* read, write and keep-alive idle */
/*
 * evhttp's timeout above is one of inactivity: a client sending a byte
 * every 2 s never hits it.  Each request must therefore be complete
 * within HTTP_HEADER_TIMEOUT_MS of the connection's accept or of the
 * previous answer, and at most HTTP_MAX_CONNECTIONS are open at once
 * (more are accepted and closed at once); both come with the CONFIG.
 * Fallbacks for a zero there (an older supervisor):
 */
#define HEALTH_HEADER_TIMEOUT_DEF_MS	5000
#define HEALTH_MAX_CONNS_DEF		256
#define HEALTH_MAX_HEADERS	(8 * 1024)	/* a load balancer sends < 1 KiB */
#define HEALTH_MAX_BODY		(4 * 1024)	/* no endpoint takes a body */
#define HEALTH_ANSWER_MAX	512		/* one cached JSON answer */
#define HEALTH_IPC_BATCH	64		/* frames per wakeup, then yield */
/*
 * A new health-worker accepts only once its answers are as good as its
 * predecessor's: a snapshot is in and it carries our own probe result
 * (the supervisor clears edge/auth when the previous health-worker
 * exits).  That costs one probe and one IPC round trip, a few ms, while
 * connections wait in the backlog.  If that does not happen in time
 * (ARI silent, supervisor mute), accept anyway and answer from what we
 * have.
 */
#define HEALTH_ACCEPT_WAIT_MS	1000
#define HEALTH_PRIO_SUPERVISOR	0		/* before HTTP, which gets 1 */
#define HEALTH_PRIO_COUNT	2

#define PROBE_INTERVAL_DEF_MS	5000		/* when the config says 0 */
#define PROBE_INTERVAL_MIN_MS	100		/* spare ARI from a typo */
#define PROBE_TIMEOUT_DEF_MS	2000
#define PROBE_PATH		"/asterisk/info"	/* ~1 KiB of JSON */
#define PROBE_URL_MAX		(MAI_STR_MAX + 64)	/* for log lines */

/* What one ARI probe showed; labels of mai_ari_probe_total. */
enum probe_result {
	PROBE_OK = 0,		/* 200 */
	PROBE_UNAUTHORIZED,	/* 401 or 403: reachable, credentials refused */
	PROBE_HTTP_ERROR,	/* any other status */
	PROBE_UNREACHABLE,	/* no HTTP status at all */
	PROBE_RESULT_COUNT
};

/* A rendered JSON answer, kept until what it depends on changes. */
struct cached_answer {
	int	code;
	size_t	len;
	char	body[HEALTH_ANSWER_MAX];
};

/* Everything the answers are made of; render.c turns it into bytes. */
struct health_state {
	struct mai_snapshot	snap;		/* zero until the first one */
	int			have_snap;
	int			probed;		/* a probe result exists */
	int			edge_reachable;	/* own probe: any HTTP status */
	int			ari_auth;	/* own probe: status 200 */
	uint64_t		probe_total[PROBE_RESULT_COUNT];
	struct cached_answer	deps;		/* /healthz/deps */
	struct cached_answer	ready;		/* /readyz */
};

/* Labels of mai_http_requests_total: routes and the codes we answer. */
enum http_route {
	ROUTE_HEALTHZ = 0,
	ROUTE_DEPS,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE_OTHER,
	ROUTE_COUNT
};

enum http_code {
	CODE_200 = 0,
	CODE_400,
	CODE_404,
	CODE_405,
	CODE_503,
	CODE_505,
	CODE_COUNT
};

/* One accepted connection, from accept to close (http.c). */
struct http_conn {
	struct http_server		*srv;
	struct bufferevent		*bev;	/* ours until evhttp takes it */
	struct evhttp_connection	*evcon;	/* NULL until attached */
	struct event			*attach; /* right after accept */
	struct event			*deadline; /* request not complete */
	int				 refuse; /* over the cap: close */
	TAILQ_ENTRY(http_conn)		 entry;
};
TAILQ_HEAD(http_conn_list, http_conn);

struct http_server {
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;	/* NULL until accepting, and
						   again once draining */
	int				 listen_fd; /* until evhttp owns it */
	struct health_state		*state;
	struct event			*drained; /* activated at 0 conns */
	int				 draining;
	const struct mai_config		*conf;	/* limits, current after reload */
	struct http_conn_list		 conns;	/* attached, at most the cap */
	unsigned int			 conns_open; /* accepted, not closed */
	int				 at_cap;	/* logged once per episode */
	uint64_t			 conns_refused;	/* over the cap */
	uint64_t			 deadline_closed; /* too slow a request */
	uint64_t			 requests[ROUTE_COUNT][CODE_COUNT];
};

/* How a probe ended, compared with the last one to log transitions once. */
struct probe_outcome {
	enum probe_result	result;
	long			status;		/* HTTP status, 0 if none */
	enum ari_rest_fail	fail;		/* only told apart when unreachable */
};

/* The HTTP side (curl on libevent) is common/ari_curl.c's. */
struct probe {
	struct event_base	*base;
	struct health_state	*state;
	const struct mai_config	*conf;
	struct ari_rest		*rest;
	struct event		*tick;		/* every probe interval */
	int			 in_flight;	/* one probe at a time */
	int			 again;		/* config changed mid-probe */
	int			 stopped;	/* draining: no new probes */
	int			 have_last;
	struct event		*result_ev;	/* activated after each probe */
	struct probe_outcome	 last;
	char			 url[PROBE_URL_MAX];
};

/* http.c */
void		 http_init(struct http_server *, struct event_base *, int,
		    struct health_state *, const struct mai_config *);
void		 http_accept_start(struct http_server *);
void		 http_drain_start(struct http_server *, struct event *);
void		 http_free(struct http_server *);
const char	*http_route_label(enum http_route);
int		 http_code_number(enum http_code);

/* probe.c */
void		 probe_init(struct probe *, struct event_base *,
		    const struct mai_config *, struct health_state *);
void		 probe_start(struct probe *);
void		 probe_reconfigure(struct probe *);
void		 probe_flags_sync(struct probe *);
void		 probe_stop(struct probe *);
void		 probe_free(struct probe *);
const char	*probe_result_label(enum probe_result);

/* render.c */
void		 render_deps(struct health_state *);
void		 render_ready(struct health_state *);
void		 render_metrics(struct evbuffer *, const struct health_state *,
		    const struct http_server *);

#endif /* MAI_HEALTH_H */
