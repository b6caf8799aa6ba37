/*
 * reconcile.c — at start, find in Asterisk the calls of a flow-worker that
 * died and decide how each goes on; resume.c carries each decision out.
 *
 * The same listing runs again after each WebSocket gap (resync.c), for
 * callers whose StasisStart was lost in it; then events are not held, and
 * the calls already running keep their legs and bridges (resync.c checks
 * those).
 *
 * The steps, in the order of this file:
 * 1. At start, hold events in the supervisor's queue until every call
 *    found is decided, at most FLOW_RECONCILE_HOLD_MS.
 * 2. GET /channels (with subscribeAll, GET /applications lists only the
 *    "all" topic, not the channels in Stasis), again while Asterisk says
 *    "not now".  Without a list, events flow and nothing is resumed.
 * 3. Sort the list.  A channel in Stasis(ARI_APP) is one of our callers:
 *    a call at once (CALL_RESUMING), so that a StasisStart the supervisor
 *    replays for it (at-least-once delivery) does not start it twice.
 *    Our legs ("mai-...") go under their caller, or are hung up; a Local
 *    channel's ;2 half ("mai-o...") goes with its ;1.  Then GET /bridges:
 *    ours go under their caller, or are destroyed.
 * 4. Read each caller's MAI_STATE.
 * 5. With it and the bridges in, decide the caller (resume.c): adopt its
 *    recorded leg, go on with that leg's end, or run its state again.
 *    What it had and did not take over is hung up or destroyed.
 * 6. Events flow again.  Past the deadline they flow before all is
 *    decided, and leg events update what was found (reconcile_leg_event).
 *
 * What was found (struct found_call, flow.h) is kept per caller until it
 * is decided; the call points at its own (call->found).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static void	reconcile_try(struct flow *);
static void	reconcile_retry_cb(evutil_socket_t, short, void *);
static void	reconcile_list_cb(const struct ari_result *, void *);
static void	reconcile_sort(struct flow *, struct json_object *);
static void	reconcile_bridges_cb(const struct ari_result *, void *);
static void	reconcile_var_cb(struct call *, const struct ari_result *,
		    uint32_t);
static void	reconcile_decide(struct found_call *);
static void	reconcile_check_done(struct flow *);
static void	reconcile_release(struct flow *);

/* --- 1, 2: hold events, list the channels ------------------------------ */

void
reconcile_start(struct flow *f, int hold)
{
	struct reconcile	*rc;

	if (f->reconcile != NULL) {
		f->reconcile->again = 1;
		return;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		fatal("reconcile");
	TAILQ_INIT(&rc->calls);
	rc->deadline_ns = frame_now_ns() +
	    (uint64_t)FLOW_RECONCILE_HOLD_MS * 1000000;
	if ((rc->ev_timer = evtimer_new(f->base, reconcile_retry_cb, f)) ==
	    NULL)
		fatalx("evtimer_new");
	f->reconcile = rc;
	if (hold)
		flow_ipc_hold(f, 1);
	reconcile_try(f);
}

/*
 * Every channel on the system in one answer, about 1 KiB each: more than
 * ari_rest's default bound (a thousand) once many calls are up, and a
 * successor must still find them all.  FLOW_RECONCILE_BODY_MAX holds
 * FLOW_CALLS_MAX callers with a leg each, and more.
 */
static void
reconcile_try(struct flow *f)
{
	struct ari_call_opts	opts = {
		.timeout_ms = FLOW_RECONCILE_HOLD_MS / 2,
		.body_max = FLOW_RECONCILE_BODY_MAX,
	};

	if (ari_rest_call_opts(f->rest, "GET", "/channels", NULL, &opts,
	    reconcile_list_cb, f) == -1) {
		log_warnx("reconcile: cannot ask ARI; calls of an earlier "
		    "flow-worker are not resumed");
		reconcile_release(f);
	}
}

/* Events wait for the decisions, but not past the deadline. */
static void
reconcile_wait(struct flow *f)
{
	struct reconcile	*rc = f->reconcile;
	uint64_t		 now = frame_now_ns(), left;
	struct timeval		 tv;

	if (rc == NULL || rc->ev_timer == NULL)
		return;
	left = rc->deadline_ns > now ? (rc->deadline_ns - now) / 1000 : 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	evtimer_add(rc->ev_timer, &tv);
}

static void
reconcile_list_cb(const struct ari_result *res, void *arg)
{
	struct flow	*f = arg;

	if (res->fail == ARI_FAIL_CANCELLED || f->reconcile == NULL)
		return;
	if (res->error == NULL && json_object_is_type(res->body,
	    json_type_array)) {
		reconcile_sort(f, res->body);
		reconcile_wait(f);
		return;
	}
	/* Only "not now" is worth a retry: no answer, or 5xx (booting). */
	if ((res->status == 0 || res->status >= 500) &&
	    frame_now_ns() < f->reconcile->deadline_ns) {
		struct timeval	tv = { 0, FLOW_RECONCILE_RETRY_MS * 1000 };

		evtimer_add(f->reconcile->ev_timer, &tv);
		return;
	}
	log_warnx("reconcile: %s; calls of an earlier flow-worker are not "
	    "resumed", res->error != NULL ? res->error : "GET /channels: not "
	    "a list");
	reconcile_release(f);
}

/* Before the list: try again.  After: the deadline, events flow. */
static void
reconcile_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)ev;
	if (f->reconcile->listed) {
		log_warnx("reconcile: calls still being decided after %d ms: "
		    "events flow meanwhile", FLOW_RECONCILE_HOLD_MS);
		reconcile_release(f);
		return;
	}
	reconcile_try(f);
}

/* --- 3: sort what was found ------------------------------------------- */

static int
reconcile_ours(const char *id)
{
	return strncmp(id, FLOW_ID_PREFIX, strlen(FLOW_ID_PREFIX)) == 0;
}

static const char *
reconcile_id(struct json_object *ch)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(ch, "id", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A caller in Stasis: a call being resumed, decided once all is in (1). */
static int
reconcile_caller(struct flow *f, struct json_object *ch)
{
	const char		*id;
	struct found_call	*fc;
	struct call		*c;
	char			 path[ARI_REST_URL_MAX];

	if ((id = reconcile_id(ch)) == NULL || reconcile_ours(id) ||
	    !ariev_in_app(f, ch) || call_find(f, id) != NULL)
		return 0;
	if (hungup_recent(f, id)) {
		log_info("reconcile: caller id=%s is hanging up: not taken up",
		    id);
		return 0;
	}
	if (ari_rest_path(path, sizeof(path), "/channels/%s/variable?"
	    "variable=" FLOW_STATE_VAR, id) == -1 ||
	    (c = call_new(f, id)) == NULL)
		return 0;
	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		fatal("reconcile");
	fc->c = c;
	TAILQ_INIT(&fc->legs);
	TAILQ_INIT(&fc->bridges);
	TAILQ_INSERT_TAIL(&f->reconcile->calls, fc, entry);
	c->found = fc;
	c->phase = CALL_RESUMING;
	ariev_fill_call(c, ch);
	areq_call(c, "GET", path, reconcile_var_cb);
	return 1;
}

static struct found_leg *
reconcile_leg_find(struct found_call *fc, const char *id)
{
	struct found_leg	*l;

	TAILQ_FOREACH(l, &fc->legs, entry)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

/* A leg of the caller is alive (ch: its channel, as listed or started). */
static void
reconcile_leg_alive(struct found_call *fc, const char *id,
    struct json_object *ch)
{
	struct found_leg	*l;
	struct json_object	*dp, *app;

	if ((l = reconcile_leg_find(fc, id)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("reconcile");
		snprintf(l->id, sizeof(l->id), "%s", id);
		TAILQ_INSERT_TAIL(&fc->legs, l, entry);
	}
	l->in_stasis = json_object_object_get_ex(ch, "dialplan", &dp) &&
	    json_object_object_get_ex(dp, "app_name", &app) &&
	    strcmp(json_object_get_string(app), "Stasis") == 0;
}

static void
reconcile_delete(struct flow *f, const char *kind, const char *id)
{
	char	path[ARI_REST_URL_MAX];

	if (ari_rest_path(path, sizeof(path), "/%s/%s", kind, id) != -1)
		areq_loose(f, "DELETE", path);
}

/* A leg of ours: kept under its caller, or hung up (1). */
static int
reconcile_leg(struct flow *f, struct json_object *ch)
{
	const char	*id;
	struct call	*c;

	/* A Local ;2 half: Asterisk hangs it up with its ;1. */
	if ((id = reconcile_id(ch)) == NULL || !reconcile_ours(id) ||
	    id[strlen(FLOW_ID_PREFIX)] == 'o')
		return 0;
	if ((c = call_of_obj(f, id)) != NULL && c->found != NULL) {
		reconcile_leg_alive(c->found, id, ch);
		return 0;
	}
	/* A running call's (after a gap), or another instance's: theirs. */
	if (c != NULL || foreign_owns(f, id))
		return 0;
	reconcile_delete(f, "channels", id);
	f->reconcile->legs_gone++;
	return 1;
}

/*
 * Callers first, so that every leg finds its caller.  The bridges are
 * asked for first: ari_rest has room now, while the callers' requests
 * fill it and wait in areq.c's queue.
 */
static void
reconcile_sort(struct flow *f, struct json_object *chans)
{
	size_t	i, n = json_object_array_length(chans);
	size_t	callers = 0, orphans = 0;
	int	bridges;

	f->reconcile->listed = 1;
	foreign_collect(f, chans);
	bridges = ari_rest_call(f->rest, "GET", "/bridges", NULL, 0,
	    reconcile_bridges_cb, f);
	for (i = 0; i < n; i++)
		callers += (size_t)reconcile_caller(f,
		    json_object_array_get_idx(chans, i));
	for (i = 0; i < n; i++)
		orphans += (size_t)reconcile_leg(f,
		    json_object_array_get_idx(chans, i));
	log_info("reconcile: calls in Stasis to resume=%zu, legs without "
	    "their caller hung up=%zu", callers, orphans);
	/* Without the list every call is decided on what the channels say. */
	if (bridges == -1)
		reconcile_bridges_cb(NULL, f);
}

/* One bridge of ours: its members, so its caller can check them. */
static void
reconcile_bridge_found(struct found_call *fc, const char *id,
    struct json_object *b)
{
	struct found_bridge	*fb;
	struct json_object	*chans;
	const char		*m;
	size_t			 i, n = 0;

	if ((fb = calloc(1, sizeof(*fb))) == NULL)
		fatal("reconcile");
	snprintf(fb->id, sizeof(fb->id), "%s", id);
	if (json_object_object_get_ex(b, "channels", &chans) &&
	    json_object_is_type(chans, json_type_array))
		n = json_object_array_length(chans);
	if (n > 0 && (fb->chans = calloc(n, sizeof(*fb->chans))) == NULL)
		fatal("reconcile");
	/* A longer id is neither the caller's nor a leg's: not kept. */
	for (i = 0; i < n; i++) {
		m = json_object_get_string(json_object_array_get_idx(chans, i));
		if (m != NULL && strlen(m) < sizeof(fb->chans[0]))
			memcpy(fb->chans[fb->nchans++], m, strlen(m) + 1);
	}
	TAILQ_INSERT_TAIL(&fc->bridges, fb, entry);
}

/* Our bridges go to their callers or are destroyed (res NULL: no list). */
static void
reconcile_bridges(struct flow *f, const struct ari_result *res)
{
	struct json_object	*b;
	const char		*id;
	struct call		*c;
	size_t			 i;

	if (res == NULL || res->error != NULL ||
	    !json_object_is_type(res->body, json_type_array)) {
		log_warnx("reconcile: cannot list bridges: %s; bridges of an "
		    "earlier flow-worker stay", res != NULL && res->error !=
		    NULL ? res->error : "no list");
		return;
	}
	for (i = 0; i < json_object_array_length(res->body); i++) {
		b = json_object_array_get_idx(res->body, i);
		if ((id = reconcile_id(b)) == NULL || !reconcile_ours(id))
			continue;
		if ((c = call_of_obj(f, id)) != NULL && c->found != NULL)
			reconcile_bridge_found(c->found, id, b);
		else if (c == NULL && !foreign_owns(f, id)) {
			reconcile_delete(f, "bridges", id);
			f->reconcile->bridges_gone++;
		}
	}
}

/* --- 4, 5: read each MAI_STATE, decide --------------------------------- */

/*
 * With the bridges in, decide every caller whose MAI_STATE is in.  ARI
 * never answers from inside a call to it (ari_rest.h), so deciding one
 * caller leaves the others be: the walk may keep its next.
 */
static void
reconcile_bridges_cb(const struct ari_result *res, void *arg)
{
	struct flow		*f = arg;
	struct found_call	*fc, *next;

	if ((res != NULL && res->fail == ARI_FAIL_CANCELLED) ||
	    f->reconcile == NULL)
		return;
	f->reconcile->bridges_in = 1;
	reconcile_bridges(f, res);
	for (fc = TAILQ_FIRST(&f->reconcile->calls); fc != NULL; fc = next) {
		next = TAILQ_NEXT(fc, entry);
		if (fc->where_in)
			reconcile_decide(fc);
	}
	reconcile_check_done(f);
}

/* The caller's MAI_STATE (NULL: none) is in. */
static void
reconcile_where(struct call *c, const char *where)
{
	struct found_call	*fc = c->found;

	if (fc == NULL) {
		resume_state(c, where);
		return;
	}
	snprintf(fc->where, sizeof(fc->where), "%s", where != NULL ? where :
	    "");
	fc->where_in = 1;
	if (c->f->reconcile->bridges_in)
		reconcile_decide(fc);
}

static void
reconcile_var_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	struct json_object	*v;

	(void)gen;
	if (chanq_gone(c, res)) {
		call_end(c, "gone before it was resumed");
		return;
	}
	if (res->error == NULL && json_object_object_get_ex(res->body,
	    "value", &v) && json_object_get_string(v)[0] != '\0')
		reconcile_where(c, json_object_get_string(v));
	else
		reconcile_where(c, NULL);
}

static int
reconcile_bridge_has(const struct found_bridge *fb, const char *id)
{
	size_t	i;

	for (i = 0; i < fb->nchans; i++)
		if (strcmp(fb->chans[i], id) == 0)
			return 1;
	return 0;
}

static void
reconcile_bridge_free(struct found_bridge *fb)
{
	free(fb->chans);
	free(fb);
}

/*
 * What the caller's MAI_STATE names, and whether its leg and bridge are
 * still there: what is taken over leaves the found lists.
 */
static int
reconcile_plan(struct found_call *fc, struct resume_plan *p)
{
	struct found_leg	*l;
	struct found_bridge	*fb;

	if (!resume_plan_read(fc->c, fc->where, p))
		return 0;
	if ((l = reconcile_leg_find(fc, p->leg)) != NULL) {
		p->alive = 1;
		p->up = p->act->kind == ACT_BOT || l->in_stasis;
		TAILQ_REMOVE(&fc->legs, l, entry);
		free(l);
	}
	if (!p->alive || p->bridge[0] == '\0')
		return 1;
	TAILQ_FOREACH(fb, &fc->bridges, entry)
		if (strcmp(fb->id, p->bridge) == 0)
			break;
	if (fb != NULL && reconcile_bridge_has(fb, fc->c->id) &&
	    reconcile_bridge_has(fb, p->leg)) {
		p->bridged = 1;
		TAILQ_REMOVE(&fc->bridges, fb, entry);
		reconcile_bridge_free(fb);
	}
	return 1;
}

static void
reconcile_found_free(struct found_call *fc)
{
	struct found_leg	*l;
	struct found_bridge	*fb;

	while ((l = TAILQ_FIRST(&fc->legs)) != NULL) {
		TAILQ_REMOVE(&fc->legs, l, entry);
		free(l);
	}
	while ((fb = TAILQ_FIRST(&fc->bridges)) != NULL) {
		TAILQ_REMOVE(&fc->bridges, fb, entry);
		reconcile_bridge_free(fb);
	}
	free(fc);
}

/*
 * The caller leaves the found set, decided or ended: what it had and
 * nobody took over is hung up or destroyed.
 */
static void
reconcile_drop(struct found_call *fc)
{
	struct flow		*f = fc->c->f;
	struct reconcile	*rc = f->reconcile;
	struct found_leg	*l;
	struct found_bridge	*fb;

	TAILQ_REMOVE(&rc->calls, fc, entry);
	fc->c->found = NULL;
	TAILQ_FOREACH(l, &fc->legs, entry) {
		reconcile_delete(f, "channels", l->id);
		rc->legs_gone++;
	}
	TAILQ_FOREACH(fb, &fc->bridges, entry) {
		reconcile_delete(f, "bridges", fb->id);
		rc->bridges_gone++;
	}
	reconcile_found_free(fc);
}

static void
reconcile_decide(struct found_call *fc)
{
	struct call		*c = fc->c;
	struct flow		*f = c->f;
	struct resume_plan	 p;
	char			 where[FLOW_RECORD_MAX];
	int			 take;

	memcpy(where, fc->where, sizeof(where));
	if ((take = reconcile_plan(fc, &p)) && p.alive)
		f->reconcile->adopted++;
	reconcile_drop(fc);
	if (take)
		resume_adopt(c, &p);
	else
		resume_state(c, where[0] != '\0' ? where : NULL);
	reconcile_check_done(f);
}

/* --- 6: events flow again ---------------------------------------------- */

/* Over; a gap that ended meanwhile needs a listing of its own. */
static void
reconcile_done(struct flow *f)
{
	int	again = f->reconcile->again;

	reconcile_free(f);
	if (again)
		reconcile_start(f, 0);
}

/* Events flow again: everything decided, or it took too long. */
static void
reconcile_release(struct flow *f)
{
	struct reconcile	*rc = f->reconcile;

	if (rc->ev_timer != NULL) {
		event_free(rc->ev_timer);
		rc->ev_timer = NULL;
	}
	flow_ipc_hold(f, 0);
	/* Nothing found means nothing left to decide. */
	if (!rc->listed)
		reconcile_done(f);
}

/* Every caller decided and the bridges in: done. */
static void
reconcile_check_done(struct flow *f)
{
	struct reconcile	*rc = f->reconcile;

	if (rc == NULL || !rc->bridges_in || !TAILQ_EMPTY(&rc->calls))
		return;
	log_info("reconcile: done, legs adopted=%zu, old legs hung up=%zu, "
	    "old bridges destroyed=%zu", rc->adopted, rc->legs_gone,
	    rc->bridges_gone);
	flow_ipc_hold(f, 0);
	reconcile_done(f);
}

/*
 * A leg of a call not decided yet started (ch) or went away (NULL): what
 * was found changes with it.
 */
void
reconcile_leg_event(struct call *c, const char *id, struct json_object *ch)
{
	struct found_leg	*l;

	if (c->found == NULL)
		return;
	if (ch != NULL)
		reconcile_leg_alive(c->found, id, ch);
	else if ((l = reconcile_leg_find(c->found, id)) != NULL) {
		TAILQ_REMOVE(&c->found->legs, l, entry);
		free(l);
	}
}

/* A call ended before it was decided: what it had goes. */
void
reconcile_forget(struct call *c)
{
	struct flow	*f = c->f;

	if (c->found == NULL)
		return;
	reconcile_drop(c->found);
	reconcile_check_done(f);
}

/* When done, or at exit: what is left is forgotten, Asterisk not asked. */
void
reconcile_free(struct flow *f)
{
	struct reconcile	*rc = f->reconcile;
	struct found_call	*fc;

	if (rc == NULL)
		return;
	if (rc->ev_timer != NULL)
		event_free(rc->ev_timer);
	while ((fc = TAILQ_FIRST(&rc->calls)) != NULL) {
		TAILQ_REMOVE(&rc->calls, fc, entry);
		reconcile_found_free(fc);
	}
	foreign_free(f);
	free(rc);
	f->reconcile = NULL;
}
