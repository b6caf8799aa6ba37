/*
 * ari_pool.c — requests to ARI go out on warm connections.
 *
 * Asterisk's HTTP server listens with a backlog of 10.  A burst of calls
 * that opens a connection per request overflows it; each dropped SYN is
 * retried after a second, which is the whole tail of the answer latency.
 * So connections to ARI are few, opened ahead of need and kept:
 *
 *   - at most `conns` are open at once (the pool's size, ARI_REST_CONNS;
 *     admission in ari_rest.c never lets more requests than that be in
 *     flight, the keep-alive pings aside);
 *   - a request goes out at once on an idle connection; without one it
 *     opens a new connection only while fewer than ARI_REST_OPENING_MAX
 *     are opening (socket() until their first answer, which proves
 *     Asterisk accept()ed them), else it waits here, in order;
 *   - with `warm` set, every ARI_REST_KEEPALIVE_MS each idle connection
 *     gets a GET /asterisk/ping and missing ones are opened (at the same
 *     bounded rate), so Asterisk's session_keep_alive (15 s by default)
 *     never closes them and a burst finds them open.
 *
 * The counts of open and opening connections are the transport's
 * (ari_curl_conns()); a request is "active" from ari_curl_go() until it
 * leaves the pool.
 */
#include <sys/queue.h>

#include <stdlib.h>

#include <event2/event.h>

#include "ari_rest.h"
#include "ari_xfer.h"
#include "log.h"

struct ari_pool {
	struct ari_rest		*rest;
	struct ari_curl		*curl;
	struct ari_xfers	 waiting;	/* admitted, no connection yet */
	unsigned int		 nwaiting;
	unsigned int		 active;	/* handed to the transport */
	unsigned int		 conns;		/* the most open at once */
	int			 warm;		/* keep `conns` open */
	unsigned int		 pings;		/* keep-alives in flight */
	struct event		*keepalive;
};

/* May the first waiting request go now: a warm connection, or a new one? */
static int
pool_room(const struct ari_pool *p)
{
	unsigned int	open, opening;

	ari_curl_conns(p->curl, &open, &opening);
	if (open > p->active)
		return 1;
	return open < p->conns && opening < ARI_REST_OPENING_MAX;
}

/* Waiting requests go out, oldest first, while there is room. */
void
ari_pool_dispatch(struct ari_pool *p)
{
	struct ari_xfer	*x;

	while ((x = TAILQ_FIRST(&p->waiting)) != NULL && pool_room(p)) {
		TAILQ_REMOVE(&p->waiting, x, qentry);
		p->nwaiting--;
		x->state = XFER_ACTIVE;
		p->active++;
		ari_curl_go(p->curl, x);
	}
}

/* An admitted request to ARI: out now if it can, else it waits its turn. */
void
ari_pool_submit(struct ari_pool *p, struct ari_xfer *x)
{
	x->state = XFER_WAITING;
	TAILQ_INSERT_TAIL(&p->waiting, x, qentry);
	p->nwaiting++;
	ari_pool_dispatch(p);
}

/* x ended (answered, failed or cancelled): it no longer holds a place. */
void
ari_pool_leave(struct ari_pool *p, struct ari_xfer *x)
{
	if (x->state == XFER_WAITING) {
		TAILQ_REMOVE(&p->waiting, x, qentry);
		p->nwaiting--;
	} else if (x->state == XFER_ACTIVE)
		p->active--;
	x->state = XFER_NEW;
	if (x->keepalive)
		p->pings--;
}

static void
pool_ping_done(const struct ari_result *res, void *arg)
{
	(void)arg;
	if (res->error != NULL && res->fail != ARI_FAIL_CANCELLED)
		log_debug("ARI keep-alive: %s", res->error);
}

/*
 * One ping per connection that is idle or missing: the pings are in
 * flight together, so each takes a connection of its own.
 */
static void
pool_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct ari_pool	*p = arg;
	struct timeval	 tv = { ARI_REST_KEEPALIVE_MS / 1000,
			    (ARI_REST_KEEPALIVE_MS % 1000) * 1000 };
	unsigned int	 busy = p->active + p->nwaiting;

	(void)fd;
	(void)what;
	while (p->warm && busy < p->conns && p->pings < p->conns &&
	    ari_rest_keepalive(p->rest, pool_ping_done, p) == 0) {
		p->pings++;
		busy++;
	}
	evtimer_add(p->keepalive, &tv);
}

/*
 * At most `conns` connections (1..ARI_REST_MAX_CONNS); warm: open them
 * now and keep them open.  -1 if conns is out of range.
 */
int
ari_pool_size(struct ari_pool *p, unsigned int conns, int warm)
{
	struct timeval	now = { 0, 0 };

	if (conns < 1 || conns > ARI_REST_MAX_CONNS)
		return -1;
	p->conns = conns;
	p->warm = warm;
	evtimer_del(p->keepalive);
	if (warm)
		evtimer_add(p->keepalive, &now);
	ari_pool_dispatch(p);
	return 0;
}

struct ari_pool *
ari_pool_new(struct event_base *base, struct ari_rest *rest,
    struct ari_curl *curl)
{
	struct ari_pool	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->rest = rest;
	p->curl = curl;
	p->conns = ARI_REST_CONNS_DEF;
	TAILQ_INIT(&p->waiting);
	if ((p->keepalive = evtimer_new(base, pool_keepalive, p)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* After every request has left. */
void
ari_pool_free(struct ari_pool *p)
{
	if (p == NULL)
		return;
	event_free(p->keepalive);
	free(p);
}
