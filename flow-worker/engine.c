/*
 * engine.c — a call walks its flow.
 *
 * Entering a state records it on the channel (MAI_STATE, so a successor
 * can resume the call after a crash), arms the state's timeout and runs
 * its actions one after another.  Each action ends with an outcome: none
 * (go on with the next action), or an event ("digits:1", "bot_ended",
 * "error", ...) that the state may map to another state.  When the last
 * action is done the state's "done" transition is taken; without one the
 * call waits there for DTMF or the state's timeout.  An error with no
 * transition goes to the flow's fallback state, or hangs up.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static const struct state *
engine_cur(const struct call *c)
{
	return &c->flow->states[c->state];
}

/* The action running now, or NULL (idle, leaving, not started). */
const struct act *
engine_act(const struct call *c)
{
	if (c->phase != CALL_RUNNING || c->state < 0 || c->idle ||
	    c->step >= engine_cur(c)->nacts)
		return NULL;
	return &engine_cur(c)->acts[c->step];
}

static int
engine_cond(const struct call *c, const struct branch *b)
{
	switch (b->cond) {
	case COND_BOT_MEDIA:
		return c->f->conf.bot_media[0] != '\0';
	case COND_VAR_SET:
		return var_get(c, b->var)[0] != '\0';
	case COND_VAR_EQ:
		return strcmp(var_get(c, b->var), b->value) == 0;
	default:
		return 1;
	}
}

static int
engine_lookup(const struct call *c, const char *ev)
{
	const struct state	*st = engine_cur(c);
	size_t			 i, j;

	for (i = 0; i < st->non; i++) {
		if (strcmp(st->on[i].event, ev) != 0)
			continue;
		for (j = 0; j < st->on[i].nbr; j++)
			if (engine_cond(c, &st->on[i].br[j]))
				return st->on[i].br[j].to;
		return -1;
	}
	return -1;
}

/* "EVENT:VALUE" first, then "EVENT"; the state index or -1. */
static int
engine_target(const struct call *c, const char *ev, const char *val)
{
	char	full[FLOW_NAME_MAX + FLOW_DIGITS_MAX + 2];
	int	to;

	if (val != NULL && val[0] != '\0') {
		snprintf(full, sizeof(full), "%s:%s", ev, val);
		if ((to = engine_lookup(c, full)) != -1)
			return to;
	}
	return engine_lookup(c, ev);
}

static void
engine_ignore_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	(void)gen;
	if (chanq_gone(c, res))
		call_end(c, "channel gone");
}

/* The last resort: hang up with "temporary failure". */
void
engine_hangup(struct call *c)
{
	char	path[FLOW_OBJ_ID_MAX * 3 + 64];

	engine_leave(c);
	c->phase = CALL_LEAVING;
	if (ari_rest_path(path, sizeof(path), "/channels/%s?reason_code=41",
	    c->id) == -1) {
		call_end(c, "channel id too long");
		return;
	}
	areq_call(c, "DELETE", path, engine_ignore_cb);
}

/*
 * Where the call is, on the channel itself: "FLOW/STATE/SEQ", SEQ the
 * first id the state's actions use (a successor stops their media), and
 * `tail` (legs.c adds the step and leg it holds: docs/flows.md).
 */
void
engine_record(struct call *c, const char *tail)
{
	char	val[FLOW_RECORD_MAX];
	char	path[FLOW_OBJ_ID_MAX * 3 + sizeof(val) * 3 + 64];

	snprintf(val, sizeof(val), "%s/%s/%08x%s", c->flow->name,
	    engine_cur(c)->name, c->seq, tail);
	if (ari_rest_path(path, sizeof(path), "/channels/%s/variable?"
	    "variable=" FLOW_STATE_VAR "&value=%s", c->id, val) != -1)
		areq_call(c, "POST", path, engine_ignore_cb);
}

static void
engine_run(struct call *c)
{
	const struct state	*st = engine_cur(c);
	int			 to;

	if (c->step < st->nacts) {
		c->gen++;
		log_debug("call id=%s flow=%s state=%s action=%s", c->id,
		    c->flow->name, st->name, act_name(st->acts[c->step].kind));
		action_start(c, &st->acts[c->step]);
		return;
	}
	if ((to = engine_target(c, "done", NULL)) != -1)
		engine_goto(c, to, "done", NULL);
	else
		c->idle = 1;
}

/* Give up on whatever the current state holds in Asterisk. */
void
engine_leave(struct call *c)
{
	evtimer_del(c->ev_state);
	if (c->state >= 0)
		action_leave(c);
	c->idle = 0;
	c->gen++;
}

void
engine_goto(struct call *c, int to, const char *ev, const char *val)
{
	struct timeval	tv;
	unsigned int	ms;
	uint32_t	seq;

	if (c->phase != CALL_RUNNING)
		return;
	if (++c->hops > FLOW_HOPS_MAX) {
		log_warnx("call id=%s flow=%s state=%s: %d states in a row "
		    "without waiting for anything: hanging up", c->id,
		    c->flow->name, c->flow->states[to].name, FLOW_HOPS_MAX);
		engine_hangup(c);
		return;
	}
	/* First: val may live in what engine_leave() clears (the digits). */
	snprintf(c->ev_name, sizeof(c->ev_name), "%s", ev);
	snprintf(c->ev_value, sizeof(c->ev_value), "%s", val ? val : "");
	engine_leave(c);
	c->state = to;
	c->step = 0;
	log_debug("call id=%s flow=%s state=%s event=%s%s%s", c->id,
	    c->flow->name, engine_cur(c)->name, c->ev_name,
	    c->ev_value[0] ? ":" : "", c->ev_value);
	if ((ms = engine_cur(c)->timeout_ms) > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(c->ev_state, &tv);
	}
	/*
	 * An answer goes out before our bookkeeping: the caller waits for it
	 * (actions end from the loop, so the call is still here, in this
	 * state, to be recorded).  Anything else comes after the record: a
	 * setvar queued behind media would wait for the media to end.
	 */
	c->seq = c->idseq;
	if (engine_cur(c)->nacts == 0 ||
	    engine_cur(c)->acts[0].kind != ACT_ANSWER) {
		engine_record(c, "");
		engine_run(c);
		return;
	}
	seq = c->seq;
	engine_run(c);
	if (c->phase == CALL_RUNNING && c->state == to && c->seq == seq)
		engine_record(c, "");
}

void
engine_start(struct call *c, const struct flowdef *fd, int state,
    const char *why)
{
	c->flow = fd;
	c->phase = CALL_RUNNING;
	c->hops = 0;
	log_info("call started id=%s exten=%s caller=%s flow=%s state=%s "
	    "why=%s", c->id, c->exten, c->caller_num, fd->name,
	    fd->states[state].name, why);
	engine_goto(c, state, why, NULL);
}

/*
 * Take over a call a dead worker left at action `step` of `state`, its
 * leg still there (resume.c): nothing runs again, nothing is recorded
 * anew; the state's timeout counts from now.
 */
void
engine_adopt(struct call *c, const struct flowdef *fd, int state,
    size_t step, uint32_t seq)
{
	unsigned int	ms;
	struct timeval	tv;

	c->flow = fd;
	c->phase = CALL_RUNNING;
	c->hops = 0;
	c->state = state;
	c->step = step;
	c->seq = seq;
	c->gen++;
	snprintf(c->ev_name, sizeof(c->ev_name), "resume");
	c->ev_value[0] = '\0';
	log_info("call started id=%s exten=%s caller=%s flow=%s state=%s "
	    "why=adopt step=%zu", c->id, c->exten, c->caller_num, fd->name,
	    fd->states[state].name, step);
	if ((ms = engine_cur(c)->timeout_ms) > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(c->ev_state, &tv);
	}
}

void
engine_fallback(struct call *c, const char *why)
{
	int	fb = c->flow->fallback;

	log_info("call id=%s flow=%s state=%s: %s: %s", c->id, c->flow->name,
	    engine_cur(c)->name, why, fb >= 0 && fb != c->state ?
	    "fallback state" : "hanging up");
	if (fb >= 0 && fb != c->state)
		engine_goto(c, fb, why, NULL);
	else
		engine_hangup(c);
}

/*
 * The current action is over.  outcome NULL: go on.  An outcome the state
 * maps goes there; "error" and "timeout" without a mapping go to the
 * fallback; any other just goes on with the next action.
 */
void
engine_step_done(struct call *c, const char *outcome, const char *value)
{
	const struct state	*st;
	int			 to;

	if (c->phase != CALL_RUNNING || c->state < 0)
		return;
	st = engine_cur(c);
	if (c->step < st->nacts && act_waits(&st->acts[c->step]) &&
	    (outcome == NULL || strcmp(outcome, "error") != 0))
		c->hops = 0;
	if (outcome != NULL) {
		if ((to = engine_target(c, outcome, value)) != -1) {
			engine_goto(c, to, outcome, value);
			return;
		}
		if (strcmp(outcome, "error") == 0 ||
		    strcmp(outcome, "timeout") == 0) {
			engine_fallback(c, outcome);
			return;
		}
	}
	c->step++;
	engine_run(c);
}

/* Something from outside any action: DTMF, the state's timeout. */
void
engine_event(struct call *c, const char *ev, const char *value)
{
	int	to;

	if (c->phase != CALL_RUNNING || c->state < 0)
		return;
	c->hops = 0;
	if ((to = engine_target(c, ev, value)) != -1)
		engine_goto(c, to, ev, value);
	else if (strcmp(ev, "timeout") == 0)
		engine_fallback(c, "timeout");
}

/* An action's request failed: the call is gone, or it is an "error". */
void
engine_ari_failed(struct call *c, const struct ari_result *res)
{
	if (chanq_gone(c, res)) {
		call_end(c, "channel gone");
		return;
	}
	if (c->phase != CALL_RUNNING)
		return;
	log_warnx("call id=%s flow=%s state=%s action=%s: %s", c->id,
	    c->flow->name, engine_cur(c)->name, c->step <
	    engine_cur(c)->nacts ? act_name(engine_cur(c)->acts[c->step].kind) :
	    "-", res->error != NULL ? res->error : "failed");
	engine_step_done(c, "error", NULL);
}

void
engine_state_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct call	*c = arg;

	(void)fd;
	(void)ev;
	engine_event(c, "timeout", NULL);
}
