/*
 * resync.c — after a WebSocket gap, check every call in hand against
 * Asterisk: what happened while no WebSocket was up never comes as an
 * event (Asterisk does not queue events for an application without one).
 *
 * The steps, in the order of this file:
 * 1. A gap began (GAP_BEGIN, from the ws-worker or, when that died, the
 *    supervisor): noted for the log.
 * 2. It ended (GAP_END).  The frame comes in order behind every event
 *    read before the gap, so what those said is known.  Callers whose
 *    StasisStart was lost are found by one listing (reconcile.c, without
 *    holding events); every call in hand gets a check, queued.
 * 3. Checks go out at a bounded pace: RESYNC_INFLIGHT_MAX requests at
 *    once, RESYNC_PER_S a second, so thousands of calls do not flood
 *    Asterisk.  Events flow meanwhile.
 * 4. A check walks what its call holds, one GET at a time, each only once
 *    the request that made the object was answered (areq_pending): the
 *    caller's channel (/channels/{id}), then its playback
 *    (/playbacks/{id}), recording (/recordings/live/{name}), leg
 *    (/channels/{leg}) and bridge (/bridges/{id}).
 * 5. An answer that shows something ended goes where the lost event would
 *    have gone: a caller gone or out of Stasis ends the call, a playback
 *    or recording gone is finished, a leg gone ended, a leg in Stasis
 *    started, a bridge gone is made again.  The call then moves on with
 *    events, and its check ends.
 *
 * Checks name their call by id, never by pointer: a call may end while
 * its check waits or is in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

enum resync_step {
	RS_CHANNEL = 0,
	RS_PLAYBACK,
	RS_RECORDING,
	RS_LEG,
	RS_BRIDGE,
	RS_DONE
};

struct resync_check {
	TAILQ_ENTRY(resync_check) entry;
	struct flow		*f;
	enum resync_step	 step;
	unsigned int		 waits;		/* ticks its object was not
						   answered yet */
	char			 id[FLOW_CHAN_ID_MAX];	/* the caller */
	char			 obj[FLOW_OBJ_ID_MAX];	/* what is asked */
};

struct resync {
	TAILQ_HEAD(, resync_check) queue;
	struct event		*ev_tick;
	size_t			 queued;
	size_t			 inflight;
	unsigned int		 budget;	/* requests left this tick */
	uint64_t		 gap_ns;	/* GAP_BEGIN's time; 0: none */
	size_t			 asked;		/* for the log */
	size_t			 found;		/* ended things found */
};

static void	resync_tick_cb(evutil_socket_t, short, void *);
static void	resync_answer_cb(const struct ari_result *, void *);

/* --- 1, 2: a gap begins, a gap ends ------------------------------------ */

static struct resync *
resync_get(struct flow *f)
{
	struct resync	*rs;

	if (f->resync != NULL)
		return f->resync;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		fatal("resync");
	TAILQ_INIT(&rs->queue);
	if ((rs->ev_tick = event_new(f->base, -1, EV_PERSIST, resync_tick_cb,
	    f)) == NULL)
		fatalx("event_new");
	f->resync = rs;
	return rs;
}

static void
resync_clear(struct resync *rs)
{
	struct resync_check	*k;

	while ((k = TAILQ_FIRST(&rs->queue)) != NULL) {
		TAILQ_REMOVE(&rs->queue, k, entry);
		free(k);
	}
	rs->queued = 0;
}

static void
resync_add(struct flow *f, struct call *c)
{
	struct resync		*rs = f->resync;
	struct resync_check	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		fatal("resync");
	k->f = f;
	k->step = RS_CHANNEL;
	snprintf(k->id, sizeof(k->id), "%s", c->id);
	TAILQ_INSERT_TAIL(&rs->queue, k, entry);
	rs->queued++;
}

/* GAP_BEGIN (open) or GAP_END at ts (CLOCK_MONOTONIC ns). */
void
resync_gap(struct flow *f, int open, uint64_t ts)
{
	struct resync	*rs = resync_get(f);
	struct timeval	 tv = { 0, RESYNC_TICK_MS * 1000 };
	struct call	*c;
	size_t		 i;

	if (open) {
		rs->gap_ns = ts;
		log_info("WebSocket gap began: events for calls are lost until "
		    "it ends calls=%zu", f->ncalls);
		return;
	}
	log_info("WebSocket gap ended gap_ms=%lld calls=%zu: checking every "
	    "call (at most %d requests at once, %d a second)", rs->gap_ns != 0 &&
	    ts >= rs->gap_ns ? (long long)((ts - rs->gap_ns) / 1000000) : -1LL,
	    f->ncalls, RESYNC_INFLIGHT_MAX, RESYNC_PER_S);
	rs->gap_ns = 0;
	/* A check from an earlier gap starts over: this one is newer. */
	resync_clear(rs);
	rs->asked = rs->found = 0;
	for (i = 0; i < FLOW_CALL_BUCKETS; i++)
		LIST_FOREACH(c, &f->calls[i], hash)
			if (c->phase == CALL_RUNNING || c->phase == CALL_LEAVING)
				resync_add(f, c);
	if (f->fs != NULL)
		reconcile_start(f, 0);
	rs->budget = RESYNC_PER_TICK;
	event_add(rs->ev_tick, &tv);
	resync_tick_cb(-1, 0, f);
}

/* --- 3: the pace ------------------------------------------------------- */

/* What step k asks about in call c ("" nothing). */
static const char *
resync_obj(const struct resync_check *k, const struct call *c)
{
	/* Leaving: only whether the caller is still there counts. */
	if (k->step != RS_CHANNEL && c->phase != CALL_RUNNING)
		return "";
	switch (k->step) {
	case RS_CHANNEL:	return c->id;
	case RS_PLAYBACK:	return c->rt.playback;
	case RS_RECORDING:	return c->rt.recording;
	case RS_LEG:		return c->rt.leg;
	case RS_BRIDGE:		return c->rt.bridge;
	default:		return "";
	}
}

/* What step k asks next for call c: 1 and the path, 0 to wait, -1 skip. */
static int
resync_target(struct resync_check *k, struct call *c, char *path,
    size_t size)
{
	const char	*obj;
	int		 n;

	if ((obj = resync_obj(k, c))[0] == '\0')
		return -1;
	/* Made, but not answered yet: a 404 would say nothing. */
	if (k->step != RS_CHANNEL && areq_pending(c, obj))
		return 0;
	snprintf(k->obj, sizeof(k->obj), "%s", obj);
	if (k->step == RS_PLAYBACK)
		n = ari_rest_path(path, size, "/playbacks/%s", obj);
	else if (k->step == RS_RECORDING)
		n = ari_rest_path(path, size, "/recordings/live/%s", obj);
	else if (k->step == RS_BRIDGE)
		n = ari_rest_path(path, size, "/bridges/%s", obj);
	else
		n = ari_rest_path(path, size, "/channels/%s", obj);
	return n == -1 ? -1 : 1;
}

/*
 * 1: k's next request is out; 0: k waits; -1: k is over (freed).  tick:
 * a wait counts (once per RESYNC_TICK_MS, not per answer).
 */
static int
resync_issue(struct flow *f, struct resync_check *k, int tick)
{
	struct call	*c;
	char		 path[ARI_REST_URL_MAX];
	int		 rc;

	for (;;) {
		if ((c = call_find(f, k->id)) == NULL || k->step >= RS_DONE ||
		    (c->phase != CALL_RUNNING && c->phase != CALL_LEAVING)) {
			free(k);
			return -1;
		}
		if ((rc = resync_target(k, c, path, sizeof(path))) == 1)
			break;
		if (rc == 0 && (k->waits += (unsigned int)tick) <=
		    RESYNC_WAITS_MAX)
			return 0;
		k->step++;
		k->waits = 0;
	}
	if (ari_rest_call(f->rest, "GET", path, NULL, RESYNC_TIMEOUT_MS,
	    resync_answer_cb, k) == -1)
		return 0;	/* ari_rest is full: next tick */
	f->resync->inflight++;
	f->resync->asked++;
	return 1;
}

/*
 * Every RESYNC_TICK_MS: RESYNC_PER_TICK requests may go, while fewer than
 * RESYNC_INFLIGHT_MAX are in flight.  Each check waiting for its object
 * counts one wait per tick.
 */
static void
resync_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow		*f = arg;
	struct resync		*rs = f->resync;
	struct resync_check	*k;
	size_t			 n;
	int			 tick = ev != 0;

	(void)fd;
	if (tick)
		rs->budget = RESYNC_PER_TICK;
	for (n = rs->queued; n > 0 && rs->budget > 0 &&
	    rs->inflight < RESYNC_INFLIGHT_MAX; n--) {
		k = TAILQ_FIRST(&rs->queue);
		TAILQ_REMOVE(&rs->queue, k, entry);
		rs->queued--;
		switch (resync_issue(f, k, tick)) {
		case 1:
			rs->budget--;
			break;
		case 0:
			TAILQ_INSERT_TAIL(&rs->queue, k, entry);
			rs->queued++;
			break;
		default:
			break;
		}
	}
	if (rs->queued == 0 && rs->inflight == 0) {
		event_del(rs->ev_tick);
		log_info("WebSocket gap: every call checked requests=%zu "
		    "ended_in_gap=%zu", rs->asked, rs->found);
	}
}

/* --- 4, 5: answers ----------------------------------------------------- */

/* The channel as listed: in Stasis(ARI_APP), or only in some Stasis. */
static int
resync_in_stasis(const struct ari_result *res)
{
	struct json_object	*dp, *app;

	return json_object_object_get_ex(res->body, "dialplan", &dp) &&
	    json_object_object_get_ex(dp, "app_name", &app) &&
	    strcmp(json_object_get_string(app), "Stasis") == 0;
}

/*
 * What the answer says about call c; 1 when it moved the call on (or
 * ended it): the check is over, events take it from there.
 */
static int
resync_apply(struct resync_check *k, struct call *c,
    const struct ari_result *res)
{
	int	gone = res->status == 404;

	switch (k->step) {
	case RS_CHANNEL:
		if (gone || (res->error == NULL && !ariev_in_app(c->f,
		    res->body))) {
			call_end(c, gone ? "gone during a WebSocket gap" :
			    "left the application during a WebSocket gap");
			return 1;
		}
		return 0;
	case RS_PLAYBACK:
		if (!gone || strcmp(c->rt.playback, k->obj) != 0)
			return 0;
		action_playback_done(c, k->obj, 0);
		return 1;
	case RS_RECORDING:
		if (!gone || strcmp(c->rt.recording, k->obj) != 0)
			return 0;
		action_recording_done(c, k->obj, 0);
		return 1;
	case RS_LEG:
		if (strcmp(c->rt.leg, k->obj) != 0)
			return 0;
		if (gone)
			legs_ended(c, k->obj);
		else if (res->error == NULL && resync_in_stasis(res))
			legs_started(c, k->obj);
		return gone;
	case RS_BRIDGE:
		if (!gone || strcmp(c->rt.bridge, k->obj) != 0)
			return 0;
		legs_bridge_gone(c, k->obj);
		return 1;
	default:
		return 1;
	}
}

static void
resync_answer_cb(const struct ari_result *res, void *arg)
{
	struct resync_check	*k = arg;
	struct flow		*f = k->f;
	struct resync		*rs = f->resync;
	struct call		*c;

	if (res->fail == ARI_FAIL_CANCELLED) {
		free(k);
		return;
	}
	rs->inflight--;
	if ((c = call_find(f, k->id)) == NULL) {
		free(k);
		return;
	}
	/* No answer, or Asterisk busy: the same question, later. */
	if ((res->status == 0 || res->status >= 500) &&
	    ++k->waits <= RESYNC_WAITS_MAX) {
		TAILQ_INSERT_TAIL(&rs->queue, k, entry);
		rs->queued++;
		return;
	}
	if (resync_apply(k, c, res)) {
		log_info("call id=%s: %s %s ended during a WebSocket gap", c->id,
		    k->step == RS_CHANNEL ? "channel" : k->step == RS_PLAYBACK ?
		    "playback" : k->step == RS_RECORDING ? "recording" :
		    k->step == RS_LEG ? "leg" : "bridge", k->obj);
		rs->found++;
		free(k);
	} else {
		k->step++;
		k->waits = 0;
		TAILQ_INSERT_HEAD(&rs->queue, k, entry);
		rs->queued++;
	}
	resync_tick_cb(-1, 0, f);
}

/* At exit; checks in flight free themselves when ari_rest cancels them. */
void
resync_free(struct flow *f)
{
	struct resync	*rs = f->resync;

	if (rs == NULL)
		return;
	resync_clear(rs);
	event_free(rs->ev_tick);
	free(rs);
	f->resync = NULL;
}
