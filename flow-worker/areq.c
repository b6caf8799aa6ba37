/*
 * areq.c — ARI requests on behalf of calls, in order, never lost.
 *
 * A call's requests go out one at a time, each after the previous one was
 * answered: Asterisk serves concurrent requests on several connections in
 * any order, and "stop this playback" must not overtake "play".  Requests
 * nobody waits for (a leg hung up after its caller left) and webhooks go
 * out at once.  When ari_rest is full (ARI_REST_MAX_CONNS requests in
 * flight, one per connection), requests wait here (FLOW_BACKLOG_MAX, then
 * they fail and are counted) instead of failing the call; here, not in
 * curl, so that a new call's answer can go ahead of the others.  A
 * failure to even start a request is reported from the loop, like any
 * answer, so callers never see re-entry.
 *
 * Asterisk runs channel operations as commands on the channel's control
 * queue; while a playback runs, the queue is busy until the sound ends.
 * For some (answer, adding to a bridge; a variable set on 22.10) the
 * HTTP answer waits for the command to run; others (record, continue)
 * are answered at once but still run after the sound.  So a request that
 * Asterisk would queue behind an async play of the call is held here, in
 * its call's list, not in flight (it would pin one of ari_rest's
 * connections for the length of the sound, and time out): it goes out
 * when the playback ends (areq_media_ended), and a record starts when
 * Asterisk would start it anyway.  Requests Asterisk does not queue (a
 * hangup, a stop, cleanup of other objects) overtake held ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "urlenc.h"
#include "flow.h"

enum areq_where {
	AREQ_QUEUED = 0,	/* in its call's list behind another */
	AREQ_HELD,		/* at the front of its call's list, waiting
				   for the call's async playback to end */
	AREQ_BACKLOG,		/* waiting for room in ari_rest */
	AREQ_FLIGHT,		/* ari_rest has it */
	AREQ_FAILING		/* could not start; reported from the loop */
};

struct areq {
	TAILQ_ENTRY(areq)	 entry;		/* in its call's reqs */
	TAILQ_ENTRY(areq)	 bentry;	/* in the backlog */
	struct flow		*f;
	struct call		*call;		/* NULL: nobody waits */
	const char		*method;
	char			*target;	/* ARI path or absolute URL */
	struct json_object	*body;
	unsigned int		 timeout_ms;
	areq_cb			 cb;
	uint32_t		 gen;
	uint64_t		 t0_ns;		/* first: StasisStart read */
	uint8_t			 url;		/* target is a URL (webhook) */
	uint8_t			 serial;	/* in call->reqs */
	uint8_t			 first;		/* the call's first: backlog
						   ahead of the others */
	uint8_t			 hold;		/* queued while an async play
						   ran, and Asterisk would
						   queue it behind it */
	uint8_t			 bypass;	/* went out ahead of held
						   ones, out of order */
	enum areq_where		 where;
	int			 err;		/* AREQ_FAILING: errno */
};

static void	areq_done(const struct ari_result *, void *);
static void	areq_issue(struct areq *);
static void	areq_next(struct call *);

static const uint64_t first_bounds_us[] = MAI_LATENCY_BOUNDS_US;

void
areq_init(struct flow *f)
{
	TAILQ_INIT(&f->backlog);
	TAILQ_INIT(&f->backlog_first);
	f->nbacklog = 0;
}

/*
 * A call's first request (the answer) is done: how long from its
 * StasisStart frame being read to curl writing the request.  One that
 * never went out counts until it failed: a late answer is no better.
 */
static void
areq_latency_record(struct areq *r, const struct ari_result *res)
{
	uint64_t	end = res->sent_ns != 0 ? res->sent_ns : frame_now_ns();

	if (res->fail == ARI_FAIL_CANCELLED || end < r->t0_ns)
		return;
	flow_latency_add(&r->f->lat[MAI_LAT_ANSWER], end - r->t0_ns);
}

/* The bound that q (in percent) of the samples do not exceed. */
static void
areq_latency_bound(const struct mai_latency *l, unsigned int q, char *buf,
    size_t size)
{
	uint64_t	need = (l->count * q + 99) / 100, sum = 0;
	size_t		i, n = sizeof(first_bounds_us) /
			    sizeof(first_bounds_us[0]);

	for (i = 0; i < n; i++) {
		sum += l->bucket[i];
		if (sum >= need) {
			snprintf(buf, size, "%lluus",
			    (unsigned long long)first_bounds_us[i]);
			return;
		}
	}
	snprintf(buf, size, "+Inf");
}

/*
 * One line: StasisStart read -> the call's first request (the answer)
 * written.  force: at exit; else only when it changed.
 */
void
areq_latency_log(struct flow *f, int force)
{
	const struct mai_latency	*l = &f->lat[MAI_LAT_ANSWER];
	char				 p50[32], p99[32];

	if (l->count == 0 || (!force && l->count == f->answer_lat_logged))
		return;
	f->answer_lat_logged = l->count;
	areq_latency_bound(l, 50, p50, sizeof(p50));
	areq_latency_bound(l, 99, p99, sizeof(p99));
	log_info("answer latency p50<=%s p99<=%s max=%lluus n=%llu "
	    "mean=%lluus (StasisStart read -> answer request written)", p50,
	    p99, (unsigned long long)(l->max_ns / 1000),
	    (unsigned long long)l->count,
	    (unsigned long long)(l->sum_ns / l->count / 1000));
}

/* Out of the backlog list it is in. */
static void
areq_unbacklog(struct areq *r)
{
	if (r->first)
		TAILQ_REMOVE(&r->f->backlog_first, r, bentry);
	else
		TAILQ_REMOVE(&r->f->backlog, r, bentry);
	r->f->nbacklog--;
}

static struct areq *
areq_new(struct flow *f, struct call *c, const char *method,
    const char *target, areq_cb cb)
{
	struct areq	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->target = strdup(target)) == NULL)
		fatal("ARI request");
	r->f = f;
	r->call = c;
	r->method = method;
	r->cb = cb;
	r->gen = c != NULL ? c->gen : 0;
	r->timeout_ms = FLOW_ARI_TIMEOUT_MS;
	return r;
}

static void
areq_free(struct areq *r)
{
	json_object_put(r->body);
	free(r->target);
	free(r);
}

/* A result for a request that never reached ari_rest. */
static void
areq_fail_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct areq		*r = arg;
	struct ari_result	 res;
	char			 err[FLOW_ERR_MAX];

	(void)fd;
	(void)ev;
	memset(&res, 0, sizeof(res));
	res.method = r->method;
	res.path = r->target;
	res.fail = ARI_FAIL_TRANSPORT;
	snprintf(err, sizeof(err), "%s %.200s: not sent: %s", r->method,
	    r->url ? "(webhook)" : r->target, r->err == EAGAIN ?
	    "too many requests waiting" : strerror(r->err));
	res.error = err;
	areq_done(&res, r);
}

static void
areq_fail_later(struct areq *r, int err)
{
	static const struct timeval	now = { 0, 0 };

	r->where = AREQ_FAILING;
	r->err = err;
	if (event_base_once(r->f->base, -1, EV_TIMEOUT, areq_fail_cb, r,
	    &now) == -1)
		fatalx("event_base_once");
}

static void
areq_issue(struct areq *r)
{
	struct flow	*f = r->f;
	int		 rc;

	if (r->url)
		rc = ari_rest_call_url(f->rest, r->method, r->target, r->body,
		    r->timeout_ms, areq_done, r);
	else
		rc = ari_rest_call(f->rest, r->method, r->target, r->body,
		    r->timeout_ms, areq_done, r);
	if (rc == 0) {
		r->where = AREQ_FLIGHT;
		return;
	}
	if (errno == EAGAIN && f->nbacklog < FLOW_BACKLOG_MAX) {
		r->where = AREQ_BACKLOG;
		if (r->first)
			TAILQ_INSERT_TAIL(&f->backlog_first, r, bentry);
		else
			TAILQ_INSERT_TAIL(&f->backlog, r, bentry);
		f->nbacklog++;
		return;
	}
	areq_fail_later(r, errno);
}

/*
 * Room in ari_rest again: new calls' first requests (a caller waits for
 * the answer), then the others, oldest first, until it is full once more.
 * first_only: leave the others waiting.
 */
static void
areq_drain(struct flow *f, int first_only)
{
	struct areq	*r;

	for (;;) {
		if ((r = TAILQ_FIRST(&f->backlog_first)) == NULL &&
		    (first_only || (r = TAILQ_FIRST(&f->backlog)) == NULL))
			break;
		areq_unbacklog(r);
		areq_issue(r);
		if (r->where == AREQ_BACKLOG)
			break;
	}
}

/*
 * Not errors: 404 on DELETE (what we wanted gone is gone) and on reading
 * a variable that is not set (reconcile.c asks for MAI_STATE).
 */
static int
areq_benign(const struct areq *r, const struct ari_result *res)
{
	return res->status == 404 && (strcmp(r->method, "DELETE") == 0 ||
	    (strcmp(r->method, "GET") == 0 &&
	    strstr(r->target, "/variable?") != NULL));
}

static void
areq_done(const struct ari_result *res, void *arg)
{
	struct areq	*r = arg;
	struct flow	*f = r->f;
	struct call	*c = r->call;

	if (r->t0_ns != 0)
		areq_latency_record(r, res);
	if (res->error != NULL && !areq_benign(r, res) && !r->url &&
	    res->fail != ARI_FAIL_CANCELLED) {
		f->counters.v[MAI_CNT_FLOW_ARI_ERRORS]++;
		log_debug("ARI request failed: %s", res->error);
	}
	if (c != NULL && r->serial) {
		/*
		 * Its successor goes out before anyone reacts to this one,
		 * but behind new calls' answers waiting for room.
		 */
		TAILQ_REMOVE(&c->reqs, r, entry);
		if (!TAILQ_EMPTY(&c->reqs)) {
			areq_drain(f, 1);
			areq_next(c);
		}
	}
	if (c != NULL && r->url)
		c->webhook = NULL;
	if (c != NULL && r->cb != NULL && res->fail != ARI_FAIL_CANCELLED)
		r->cb(c, res, r->gen);
	areq_free(r);
	areq_drain(f, 0);
}

/*
 * The call's next request in order goes out, unless one already is or
 * the next one is held.  Those that overtook held ones are skipped.
 */
static void
areq_next(struct call *c)
{
	struct areq	*r;

	TAILQ_FOREACH(r, &c->reqs, entry) {
		if (r->bypass)
			continue;
		if (r->where != AREQ_QUEUED)
			return;
		if (r->hold) {
			r->where = AREQ_HELD;
			log_debug("call id=%s held behind its playback: %s %s",
			    c->id, r->method, r->target);
			return;
		}
		areq_issue(r);
		return;
	}
}

/*
 * Would Asterisk queue this behind media playing on c's channel?  A POST
 * on the channel (answer, variable, record, continue, ...) but not play
 * (Asterisk answers it at once and queues the sound itself), and bridge
 * membership changes.  DELETE (hangup, stop) and GET are not commands on
 * the channel's queue.
 */
static int
areq_behind_media(const struct call *c, const struct areq *r)
{
	char	prefix[FLOW_OBJ_ID_MAX * 3 + 16];
	int	n;

	if (strcmp(r->method, "POST") != 0)
		return 0;
	if (strncmp(r->target, "/bridges/", 9) == 0)
		return strstr(r->target, "/addChannel") != NULL ||
		    strstr(r->target, "/removeChannel") != NULL;
	if ((n = ari_rest_path(prefix, sizeof(prefix), "/channels/%s/",
	    c->id)) == -1 || strncmp(r->target, prefix, (size_t)n) != 0)
		return 0;
	return strncmp(r->target + n, "play", 4) != 0;
}

/* Is any of c's requests waiting for its async playback to end? */
static int
areq_holding(const struct call *c)
{
	const struct areq	*r;

	TAILQ_FOREACH(r, &c->reqs, entry)
		if (r->hold)
			return 1;
	return 0;
}

/*
 * METHOD path for call c, after the call's earlier requests; held while
 * an async play of the call runs if Asterisk would queue it behind that.
 */
void
areq_call(struct call *c, const char *method, const char *path, areq_cb cb)
{
	struct areq	*r = areq_new(c->f, c, method, path, cb);
	int		 first = TAILQ_EMPTY(&c->reqs);

	r->serial = 1;
	if (first && c->t0_ns != 0) {
		r->first = 1;
		r->t0_ns = c->t0_ns;
		c->t0_ns = 0;
	}
	r->hold = c->rt.bg && c->rt.playback[0] != '\0' &&
	    areq_behind_media(c, r);
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	if (!r->hold && areq_holding(c)) {
		/* Nothing to wait for in Asterisk: it must not wait here. */
		r->bypass = 1;
		areq_issue(r);
		return;
	}
	areq_next(c);
}

/*
 * areq_call, but right behind the call's request whose target starts
 * with `anchor` (still queued or in flight); areq_loose if there is none
 * (it was answered).  A stop goes right behind its play: ahead of
 * requests held until that playback ends.
 */
void
areq_call_behind(struct call *c, const char *method, const char *path,
    const char *anchor)
{
	struct areq	*a, *r;

	TAILQ_FOREACH(a, &c->reqs, entry)
		if (strncmp(a->target, anchor, strlen(anchor)) == 0)
			break;
	if (a == NULL) {
		areq_loose(c->f, method, path);
		return;
	}
	r = areq_new(c->f, c, method, path, NULL);
	r->serial = 1;
	TAILQ_INSERT_AFTER(&c->reqs, a, r, entry);
	areq_next(c);
}

/*
 * The call's async playback ended (finished, failed, stopped, or its
 * POST failed): Asterisk's queue for the channel is free, so are the
 * requests held for it.
 */
void
areq_media_ended(struct call *c)
{
	struct areq	*r;

	TAILQ_FOREACH(r, &c->reqs, entry) {
		r->hold = 0;
		if (r->where == AREQ_HELD)
			r->where = AREQ_QUEUED;
	}
	areq_next(c);
}

/* Fire and forget: cleanup that no call waits for. */
void
areq_loose(struct flow *f, const char *method, const char *path)
{
	areq_issue(areq_new(f, NULL, method, path, NULL));
}

/*
 * POST body (JSON, which this takes over) to an absolute URL, outside the
 * call's ARI order.  -1 (body released) if the URL cannot be used.
 */
int
areq_webhook(struct call *c, const char *url, struct json_object *body,
    unsigned int timeout_ms, areq_cb cb)
{
	struct areq	*r;

	if (!ari_url_ok(url)) {
		json_object_put(body);
		return -1;
	}
	r = areq_new(c->f, c, "POST", url, cb);
	r->url = 1;
	r->timeout_ms = timeout_ms;
	r->body = body;
	c->webhook = r;
	areq_issue(r);
	return 0;
}

/* The webhook in flight is not waited for any more. */
void
areq_forget_webhook(struct call *c)
{
	if (c->webhook == NULL)
		return;
	if (c->webhook->where == AREQ_BACKLOG) {
		areq_unbacklog(c->webhook);
		areq_free(c->webhook);
	} else
		c->webhook->call = NULL;
	c->webhook = NULL;
}

/*
 * The call ends: what it queued is dropped unsent (a creation without
 * its caller would only leave an orphan), what is in flight or about to
 * fail completes with nobody listening.
 */
void
areq_detach_all(struct call *c)
{
	struct areq	*r;

	areq_forget_webhook(c);
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		r->serial = 0;
		if (r->where == AREQ_BACKLOG) {
			areq_unbacklog(r);
			areq_free(r);
		} else if (r->where == AREQ_QUEUED || r->where == AREQ_HELD)
			areq_free(r);
		else
			r->call = NULL;
	}
}

/*
 * Did this answer say that the caller's channel is gone (404) or has
 * left our application (409 "not in Stasis")?  Then the call is over,
 * whatever we asked.  The one 404 under /channels/{id} that is not about
 * the channel: GET .../variable of an unset variable.
 */
int
areq_gone(const struct call *c, const struct ari_result *res)
{
	struct json_object	*m;
	const char		*msg = "";
	char			 prefix[FLOW_OBJ_ID_MAX * 3 + 16];
	size_t			 n;

	if (res->status != 404 && res->status != 409)
		return 0;
	if (ari_rest_path(prefix, sizeof(prefix), "/channels/%s", c->id) ==
	    -1)
		return 0;
	n = strlen(prefix);
	/* The channel itself, or anything below it or with a query. */
	if (strncmp(res->path, prefix, n) != 0 ||
	    strchr("/?", res->path[n]) == NULL)
		return 0;
	if (json_object_object_get_ex(res->body, "message", &m))
		msg = json_object_get_string(m);
	if (res->status == 409)
		return strstr(msg, "not in Stasis") != NULL;
	return strcmp(msg, "Provided variable was not found") != 0;
}

/* Append "?key=value" or "&key=value", value percent-encoded. */
int
areq_path_add(char *path, size_t size, const char *key, const char *value)
{
	size_t	off = strlen(path), n;

	n = (size_t)snprintf(path + off, size - off, "%c%s=",
	    strchr(path, '?') != NULL ? '&' : '?', key);
	if (off + n >= size)
		return -1;
	off += n;
	if (urlenc(path + off, size - off, value) >= size - off)
		return -1;
	return 0;
}
