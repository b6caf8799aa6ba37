/*
 * areq.c — ARI requests on behalf of calls, in order, never lost.
 *
 * A call's requests go out one at a time, each after the previous one was
 * answered: Asterisk serves concurrent requests on several connections in
 * any order, and "stop this playback" must not overtake "play".  Requests
 * nobody waits for (a leg hung up after its caller left) and webhooks go
 * out at once.  When ari_rest is full, requests wait in the backlog
 * (backlog.c).  A failure to even start a request is reported from the
 * loop, like any answer, so callers never see re-entry.
 *
 * A request that Asterisk would queue behind an async play of the call
 * (chanq.c) is held here, in its call's list, not in flight (it would pin
 * one of ari_rest's connections for the length of the sound, and time
 * out): it goes out when the playback ends (areq_media_ended), and a
 * record starts when Asterisk would start it anyway.  Requests Asterisk
 * does not queue (a hangup, a stop, cleanup of other objects) overtake
 * held ones.
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
#include "areq.h"

static void	areq_done(const struct ari_result *, void *);
static void	areq_next(struct call *);

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
	r->rest = f->rest;
	return r;
}

void
areq_free(struct areq *r)
{
	if (r->unanswered)
		TAILQ_REMOVE(&r->f->unanswered, r, wentry);
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
	    r->url ? "(URL)" : r->target, r->err == EAGAIN ?
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

/*
 * Progress, for the supervisor's heartbeat: how long the oldest ARI
 * request has waited for Asterisk, counted from when it was first handed
 * to ari_rest (time in the backlog counts: it waits behind stuck ones).
 * Requests held behind a playback were not handed over yet and do not
 * count; webhooks are not ARI.  0 when nothing waits.
 */
uint64_t
areq_oldest_ms(const struct flow *f)
{
	const struct areq	*r = TAILQ_FIRST(&f->unanswered);
	uint64_t		 now = frame_now_ns();

	if (r == NULL || now <= r->issued_ns)
		return 0;
	return (now - r->issued_ns) / 1000000;
}

void
areq_issue(struct areq *r)
{
	struct flow	*f = r->f;
	int		 rc;

	if (!r->url && !r->unanswered) {
		r->issued_ns = frame_now_ns();
		r->unanswered = 1;
		TAILQ_INSERT_TAIL(&f->unanswered, r, wentry);
	}
	if (r->url)
		rc = ari_rest_call_url(r->rest, r->method, r->target, r->body,
		    r->timeout_ms, areq_done, r);
	else
		rc = ari_rest_call(f->rest, r->method, r->target, r->body,
		    r->timeout_ms, areq_done, r);
	if (rc == 0) {
		r->where = AREQ_FLIGHT;
		return;
	}
	if (errno == EAGAIN && backlog_add(r) == 0)
		return;
	areq_fail_later(r, errno);
}

static void
areq_done(const struct ari_result *res, void *arg)
{
	struct areq	*r = arg;
	struct flow	*f = r->f;
	struct call	*c = r->call;

	if (r->stasis_ns != 0 && res->fail != ARI_FAIL_CANCELLED) {
		latency_answer(f, r->stasis_ns, res->sent_ns);
		if (c != NULL)
			latency_trace_answered(c, res);
	}
	if (res->error != NULL && !r->url &&
	    !chanq_benign(r->method, r->target, res) &&
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
			backlog_drain(f, 1);
			areq_next(c);
		}
	}
	if (c != NULL && r->url)
		c->http = NULL;
	if (c != NULL && r->cb != NULL && res->fail != ARI_FAIL_CANCELLED)
		r->cb(c, res, r->gen);
	areq_free(r);
	backlog_drain(f, 0);
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
	if (first && c->stasis_ns != 0) {
		r->first = 1;
		r->stasis_ns = c->stasis_ns;
		c->stasis_ns = 0;
	}
	r->hold = c->rt.bg && c->rt.playback[0] != '\0' &&
	    chanq_behind_media(c->id, method, path);
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
 * POST body (JSON, which this takes over) to an absolute URL through
 * rest (f->rest for webhooks, f->botctl for a bot's control request),
 * outside the call's ARI order.  A call has one such request at a time
 * (c->http).  -1 (body released) if the URL cannot be used.
 */
int
areq_post_url(struct call *c, struct ari_rest *rest, const char *url,
    struct json_object *body, unsigned int timeout_ms, areq_cb cb)
{
	struct areq	*r;

	if (!ari_url_ok(url)) {
		json_object_put(body);
		return -1;
	}
	r = areq_new(c->f, c, "POST", url, cb);
	r->url = 1;
	r->rest = rest;
	r->timeout_ms = timeout_ms;
	r->body = body;
	c->http = r;
	areq_issue(r);
	return 0;
}

/*
 * The URL request in flight is not waited for any more.  A webhook's
 * answer, when it comes, finds nobody; a bot's control request is
 * cancelled, so the bot sees mai leave and ends its side.
 */
void
areq_forget_http(struct call *c)
{
	struct areq	*r = c->http;

	if (r == NULL)
		return;
	c->http = NULL;
	if (r->where == AREQ_BACKLOG) {
		backlog_remove(r);
		areq_free(r);
		return;
	}
	r->call = NULL;
	if (r->where == AREQ_FLIGHT && r->rest != c->f->rest)
		ari_rest_cancel(r->rest, r);
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

	areq_forget_http(c);
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		r->serial = 0;
		if (r->where == AREQ_BACKLOG) {
			backlog_remove(r);
			areq_free(r);
		} else if (r->where == AREQ_QUEUED || r->where == AREQ_HELD)
			areq_free(r);
		else
			r->call = NULL;
	}
}

/*
 * Has c a request not answered yet (queued, held, waiting for room or in
 * flight) whose target names `what` (an id of ours, a recording name)?
 * Then what it makes or changes may not be in Asterisk yet.
 */
int
areq_pending(const struct call *c, const char *what)
{
	const struct areq	*r;
	char			 enc[ARI_REST_URL_MAX];

	/* Targets hold it percent-encoded (ari_rest_path, areq_path_add). */
	if (urlenc(enc, sizeof(enc), what) >= sizeof(enc))
		return 0;
	TAILQ_FOREACH(r, &c->reqs, entry)
		if (strstr(r->target, enc) != NULL)
			return 1;
	return 0;
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
