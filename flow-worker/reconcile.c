/*
 * reconcile.c — take over the calls of a flow-worker that died.
 *
 * At start, before reading any event, ask ARI for its channels (GET
 * /channels: with subscribeAll, GET /applications lists only the "all"
 * topic, not the channels in Stasis).  A channel whose dialplan
 * application is Stasis(ARI_APP) is one of our callers: it becomes a call
 * at once, so that a StasisStart the supervisor replays for it
 * (at-least-once delivery) finds it and does not start it twice.  Then
 * its MAI_STATE variable ("FLOW/STATE/SEQ", set on every state entry) is
 * read.  A call in a dial or bot state whose leg is still there takes
 * that leg over (adopt.c); any other resumes its state: media the old
 * state still plays is stopped and its actions run again.  A call that
 * never got a state starts its flow from the beginning; one whose flow or
 * state no longer exists goes to the flow's fallback state, or is hung
 * up.  Our own legs (ids "mai-...") and bridges that no call takes over
 * are hung up and destroyed.  Events wait (at most FLOW_RECONCILE_HOLD_MS)
 * until every call found is decided; if ARI cannot give the channel list,
 * events flow anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static void	reconcile_try(struct flow *);

/* Events flow again: everything decided, or it took too long. */
void
reconcile_done(struct flow *f)
{
	if (f->ev_reconcile != NULL) {
		event_free(f->ev_reconcile);
		f->ev_reconcile = NULL;
	}
	flow_ipc_hold(f, 0);
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
		adopt_where(c, json_object_get_string(v));
	else
		adopt_where(c, NULL);
}

static int
reconcile_ours(const char *id)
{
	return strncmp(id, FLOW_ID_PREFIX, strlen(FLOW_ID_PREFIX)) == 0;
}

/* In Stasis(ARI_APP[,args]) now? */
static int
reconcile_in_app(struct flow *f, struct json_object *ch)
{
	struct json_object	*dp, *app, *data;
	const char		*d;
	size_t			 n = strlen(f->conf.ari_app);

	if (!json_object_object_get_ex(ch, "dialplan", &dp) ||
	    !json_object_object_get_ex(dp, "app_name", &app) ||
	    !json_object_object_get_ex(dp, "app_data", &data) ||
	    strcmp(json_object_get_string(app), "Stasis") != 0)
		return 0;
	d = json_object_get_string(data);
	return strncmp(d, f->conf.ari_app, n) == 0 &&
	    (d[n] == '\0' || d[n] == ',');
}

/*
 * One channel of GET /channels.  First pass: callers in Stasis become
 * calls.  Second pass, when every caller is known: our legs go to them
 * (adopt.c) or are hung up.
 */
static void
reconcile_one(struct flow *f, struct json_object *ch, int legs, size_t *n)
{
	struct json_object	*v;
	const char		*id;
	struct call		*c;
	char			 path[ARI_REST_URL_MAX];

	if (!json_object_object_get_ex(ch, "id", &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	id = json_object_get_string(v);
	if (reconcile_ours(id)) {
		if (legs)
			n[1] += (size_t)adopt_leg_listed(f, id, ch);
		return;
	}
	if (legs || !reconcile_in_app(f, ch) || call_find(f, id) != NULL ||
	    (c = call_new(f, id)) == NULL ||
	    ari_rest_path(path, sizeof(path), "/channels/%s/variable?"
	    "variable=" FLOW_STATE_VAR, id) == -1)
		return;
	c->phase = CALL_RESUMING;
	ariev_fill_call(c, ch);
	adopt_caller(c);
	areq_call(c, "GET", path, reconcile_var_cb);
	n[0]++;
}

static void
reconcile_bridges_cb(const struct ari_result *res, void *arg)
{
	if (res->fail != ARI_FAIL_CANCELLED)
		adopt_bridges(arg, res);
}

/*
 * Bridges first: ari_rest has room now, while the calls' requests below
 * fill it and wait in areq.c's queue.
 */
static void
reconcile_list(struct flow *f, struct json_object *chans)
{
	size_t	i, n[2] = { 0, 0 };
	int	legs, bridges;

	adopt_begin(f);
	bridges = ari_rest_call(f->rest, "GET", "/bridges", NULL, 0,
	    reconcile_bridges_cb, f);
	for (legs = 0; legs < 2; legs++)
		for (i = 0; i < json_object_array_length(chans); i++)
			reconcile_one(f, json_object_array_get_idx(chans, i),
			    legs, n);
	log_info("reconcile: calls in Stasis to resume=%zu, legs without "
	    "their caller hung up=%zu", n[0], n[1]);
	/* Without the list every call is decided on what the channels say. */
	if (bridges == -1)
		adopt_bridges(f, NULL);
}

/* Events wait for the decisions, but not past the deadline. */
static void
reconcile_wait(struct flow *f)
{
	uint64_t	now = frame_now_ns(), left;
	struct timeval	tv;

	if (f->ev_reconcile == NULL || f->snap == NULL)
		return;
	left = f->reconcile_deadline_ns > now ?
	    (f->reconcile_deadline_ns - now) / 1000 : 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	evtimer_add(f->ev_reconcile, &tv);
}

static void
reconcile_list_cb(const struct ari_result *res, void *arg)
{
	struct flow	*f = arg;

	if (res->fail == ARI_FAIL_CANCELLED)
		return;
	if (res->error == NULL && json_object_is_type(res->body,
	    json_type_array)) {
		reconcile_list(f, res->body);
		reconcile_wait(f);
		return;
	}
	/* Only "not now" is worth a retry: no answer, or 5xx (booting). */
	if ((res->status == 0 || res->status >= 500) &&
	    frame_now_ns() < f->reconcile_deadline_ns) {
		struct timeval	tv = { 0, FLOW_RECONCILE_RETRY_MS * 1000 };

		evtimer_add(f->ev_reconcile, &tv);
		return;
	}
	log_warnx("reconcile: %s; calls of an earlier flow-worker are not "
	    "resumed", res->error != NULL ? res->error : "GET /channels: not "
	    "a list");
	reconcile_done(f);
}

static void
reconcile_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)ev;
	if (f->snap != NULL) {
		log_warnx("reconcile: calls still being decided after %d ms: "
		    "events flow meanwhile", FLOW_RECONCILE_HOLD_MS);
		reconcile_done(f);
		return;
	}
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
		reconcile_done(f);
	}
}

void
reconcile_start(struct flow *f)
{
	f->reconcile_deadline_ns = frame_now_ns() +
	    (uint64_t)FLOW_RECONCILE_HOLD_MS * 1000000;
	if ((f->ev_reconcile = evtimer_new(f->base, reconcile_retry_cb, f)) ==
	    NULL)
		fatalx("evtimer_new");
	flow_ipc_hold(f, 1);
	reconcile_try(f);
}

/*
 * What the dead worker's state still plays or records would hold up the
 * re-run (media queue on the channel): stop it.  Its playbacks have the
 * ids seq, seq+1, ... that the state entry recorded; recordings have the
 * names of the state's record actions.
 */
void
reconcile_stop_media(struct call *c, const struct state *st, uint32_t seq)
{
	char	id[FLOW_OBJ_ID_MAX], name[FLOW_OBJ_ID_MAX];
	char	path[ARI_REST_URL_MAX];
	size_t	i, n = 0;

	for (i = 0; i < st->nacts; i++) {
		n += act_ids(&st->acts[i]);
		if (st->acts[i].kind != ACT_RECORD)
			continue;
		var_expand(c, st->acts[i].value, name, sizeof(name));
		if (ari_rest_path(path, sizeof(path), "/recordings/live/%s/stop",
		    name) != -1)
			areq_call(c, "POST", path, NULL);
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), FLOW_ID_PREFIX "p%08x-%s",
		    (unsigned int)(seq + i), c->id);
		if (ari_rest_path(path, sizeof(path), "/playbacks/%s", id) != -1)
			areq_call(c, "DELETE", path, NULL);
	}
}

/* "FLOW/STATE/SEQ" read back from the channel, or NULL if it had none. */
void
reconcile_resume(struct call *c, const char *where)
{
	struct flow	*f = c->f;
	char		 buf[2 * FLOW_NAME_MAX + 16], *state = NULL, *seq = NULL;
	int		 n = -1, st = -1;

	if (f->fs == NULL) {
		call_end(c, "no call flows to resume it with");
		return;
	}
	if (where != NULL) {
		snprintf(buf, sizeof(buf), "%s", where);
		if ((state = strchr(buf, '/')) != NULL) {
			*state++ = '\0';
			if ((seq = strchr(state, '/')) != NULL)
				*seq++ = '\0';
		}
		if ((n = flowset_flow(f->fs, buf)) != -1 && state != NULL)
			st = flowdef_state(&f->fs->flows[n], state);
	} else if ((n = flowset_route(f->fs, c->exten, NULL)) != -1)
		st = f->fs->flows[n].initial;
	c->fs = f->fs;
	c->fs->refs++;
	f->counters.v[MAI_CNT_FLOW_RESUMED]++;
	if (n != -1 && st != -1) {
		if (seq != NULL)
			reconcile_stop_media(c, &f->fs->flows[n].states[st],
			    (uint32_t)strtoul(seq, NULL, 16));
		engine_start(c, &f->fs->flows[n], st, "resume");
		return;
	}
	log_warnx("call id=%s: cannot resume \"%s\": that flow or state is "
	    "gone", c->id, where != NULL ? where : "(no state)");
	if (n != -1 && f->fs->flows[n].fallback != -1) {
		engine_start(c, &f->fs->flows[n], f->fs->flows[n].fallback,
		    "resume");
		return;
	}
	c->phase = CALL_RUNNING;
	engine_hangup(c);
}
