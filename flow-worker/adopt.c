/*
 * adopt.c — after a restart, take over the legs of calls in a dial or bot
 * state instead of dialling again.
 *
 * reconcile.c lists the channels: every caller in Stasis becomes a call
 * being resumed (adopt_caller); every leg of ours is kept here under its
 * caller, or hung up when that caller is not in Stasis (adopt_leg_listed).
 * Our bridges come next (adopt_bridges), each caller's MAI_STATE as it is
 * read (adopt_where).  A caller with both is decided:
 *
 * - MAI_STATE names a leg ("/STEP/LEG[/BRIDGE]", legs.c) of the dial or
 *   bot action at STEP and that leg is alive: the call is adopted there.
 *   Nothing runs again; the bridge stays if it still holds the caller and
 *   the leg, else a new one is made; a dialled leg still ringing is
 *   waited for.
 * - that leg is gone: the outcome its end would have had (dial_ended
 *   after a bridge, dial_failed before, bot_ended) moves the flow on.
 * - anything else: the state runs again (reconcile_resume).
 *
 * What the caller had and was not adopted is hung up or destroyed.  A
 * Local channel's second half ("mai-o...") is never touched: it goes with
 * its first.  Events wait meanwhile (reconcile.c); only when that takes
 * longer than FLOW_RECONCILE_HOLD_MS do leg events reach a call not yet
 * decided, and they update what was found (adopt_leg_event).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/* MAI_STATE taken apart: "FLOW/STATE/SEQ/STEP/LEG[/BRIDGE]". */
struct adopt_rec {
	char		 flow[FLOW_NAME_MAX];
	char		 state[FLOW_NAME_MAX];
	uint32_t	 seq;
	size_t		 step;
	char		 leg[FLOW_OBJ_TAG_LEN + 1];	/* "" none */
	char		 bridge[FLOW_OBJ_TAG_LEN + 1];	/* "" none */
};

/* What a caller's record asks to take over, resolved. */
struct adopt_plan {
	const struct flowdef	*fd;
	int			 state;
	const struct act	*act;
	char			 leg[FLOW_OBJ_ID_MAX];
	char			 bridge[FLOW_OBJ_ID_MAX];	/* "" none */
	int			 alive;		/* the leg is still there */
	int			 up;		/* in Stasis: answered */
	int			 bridged;	/* bridge holds both */
};

static struct json_object *
adopt_obj(void)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		fatalx("adopt: out of memory");
	return o;
}

static struct json_object *
adopt_entry(struct flow *f, const char *caller)
{
	struct json_object	*e;

	if (f->snap == NULL ||
	    !json_object_object_get_ex(f->snap->calls, caller, &e))
		return NULL;
	return e;
}

static struct json_object *
adopt_map(struct json_object *e, const char *key)
{
	struct json_object	*m = NULL;

	json_object_object_get_ex(e, key, &m);
	return m;
}

static void
adopt_delete(struct flow *f, const char *kind, const char *id)
{
	char	path[ARI_REST_URL_MAX];

	if (ari_rest_path(path, sizeof(path), "/%s/%s", kind, id) != -1)
		areq_loose(f, "DELETE", path);
}

void
adopt_begin(struct flow *f)
{
	if ((f->snap = calloc(1, sizeof(*f->snap))) == NULL)
		fatal("adopt");
	f->snap->calls = adopt_obj();
}

void
adopt_free(struct flow *f)
{
	if (f->snap == NULL)
		return;
	json_object_put(f->snap->calls);
	free(f->snap);
	f->snap = NULL;
}

/* Every caller decided and the bridges in: events may flow. */
static void
adopt_check_done(struct flow *f)
{
	struct adopt_snap	*s = f->snap;

	if (s == NULL || !s->bridges_in || s->undecided > 0)
		return;
	log_info("reconcile: done, legs adopted=%zu, old legs hung up=%zu, "
	    "old bridges destroyed=%zu", s->adopted, s->legs_gone,
	    s->bridges_gone);
	adopt_free(f);
	reconcile_done(f);
}

/* A caller found in Stasis: decided once its MAI_STATE is read. */
void
adopt_caller(struct call *c)
{
	struct json_object	*e = adopt_obj();

	json_object_object_add(e, "legs", adopt_obj());
	json_object_object_add(e, "bridges", adopt_obj());
	json_object_object_add(c->f->snap->calls, c->id, e);
	c->f->snap->undecided++;
}

/* A leg of ours in the listing: kept for its caller, or hung up (1). */
int
adopt_leg_listed(struct flow *f, const char *id, struct json_object *ch)
{
	struct call		*c;
	struct json_object	*e;

	/* A Local ;2 half: Asterisk hangs it up with its ;1. */
	if (id[strlen(FLOW_ID_PREFIX)] == 'o')
		return 0;
	if ((c = call_of_obj(f, id)) != NULL &&
	    (e = adopt_entry(f, c->id)) != NULL) {
		json_object_object_add(adopt_map(e, "legs"), id,
		    json_object_get(ch));
		return 0;
	}
	adopt_delete(f, "channels", id);
	f->snap->legs_gone++;
	return 1;
}

/* Hang up and destroy what a caller had and nobody took over. */
static void
adopt_sweep(struct flow *f, struct json_object *e)
{
	json_object_object_foreach(adopt_map(e, "legs"), leg, lv) {
		(void)lv;
		adopt_delete(f, "channels", leg);
		f->snap->legs_gone++;
	}
	json_object_object_foreach(adopt_map(e, "bridges"), br, bv) {
		(void)bv;
		adopt_delete(f, "bridges", br);
		f->snap->bridges_gone++;
	}
}

static int
adopt_tag_ok(const char *t, const char *kinds)
{
	size_t	i;

	if (strlen(t) != FLOW_OBJ_TAG_LEN || strchr(kinds, t[0]) == NULL)
		return 0;
	for (i = 1; i < FLOW_OBJ_TAG_LEN; i++)
		if (strchr("0123456789abcdef", t[i]) == NULL)
			return 0;
	return 1;
}

/* 0 when `where` names no leg (or is no record of ours). */
static int
adopt_parse(const char *where, struct adopt_rec *rec)
{
	char	 buf[FLOW_RECORD_MAX], *p = buf, *fld[6];
	size_t	 n = 0;

	memset(rec, 0, sizeof(*rec));
	if (where == NULL || strlen(where) >= sizeof(buf))
		return 0;
	memcpy(buf, where, strlen(where) + 1);
	while (n < 6 && (fld[n] = strsep(&p, "/")) != NULL)
		n++;
	if (n < 5 || p != NULL || !adopt_tag_ok(fld[4], "de") ||
	    (n == 6 && !adopt_tag_ok(fld[5], "b")) ||
	    strlen(fld[0]) >= sizeof(rec->flow) ||
	    strlen(fld[1]) >= sizeof(rec->state))
		return 0;
	memcpy(rec->flow, fld[0], strlen(fld[0]) + 1);
	memcpy(rec->state, fld[1], strlen(fld[1]) + 1);
	rec->seq = (uint32_t)strtoul(fld[2], NULL, 16);
	rec->step = strtoul(fld[3], NULL, 10);
	memcpy(rec->leg, fld[4], FLOW_OBJ_TAG_LEN + 1);
	if (n == 6)
		memcpy(rec->bridge, fld[5], FLOW_OBJ_TAG_LEN + 1);
	return 1;
}

static int
adopt_in_stasis(struct json_object *ch)
{
	struct json_object	*dp, *app;

	return json_object_object_get_ex(ch, "dialplan", &dp) &&
	    json_object_object_get_ex(dp, "app_name", &app) &&
	    strcmp(json_object_get_string(app), "Stasis") == 0;
}

static int
adopt_has(struct json_object *br, const char *id)
{
	struct json_object	*chans;
	size_t			 i;

	if (!json_object_object_get_ex(br, "channels", &chans) ||
	    !json_object_is_type(chans, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(chans); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(
		    chans, i)), id) == 0)
			return 1;
	return 0;
}

/*
 * The record's leg, if it is one of the dial or bot action at its step
 * in a state that still exists; what of it is still there is taken out
 * of the caller's entry (the rest is swept).
 */
static int
adopt_plan(struct call *c, struct json_object *e, const char *where,
    struct adopt_plan *p)
{
	const struct flowset	*fs = c->f->fs;
	struct adopt_rec	 rec;
	struct json_object	*ch, *br;
	int			 n;

	memset(p, 0, sizeof(*p));
	if (fs == NULL || !adopt_parse(where, &rec) ||
	    (n = flowset_flow(fs, rec.flow)) == -1 ||
	    (p->state = flowdef_state(&fs->flows[n], rec.state)) == -1 ||
	    rec.step >= fs->flows[n].states[p->state].nacts)
		return 0;
	p->fd = &fs->flows[n];
	p->act = &p->fd->states[p->state].acts[rec.step];
	if ((p->act->kind != ACT_DIAL || rec.leg[0] != 'd') &&
	    (p->act->kind != ACT_BOT || rec.leg[0] != 'e'))
		return 0;
	if (snprintf(p->leg, sizeof(p->leg), FLOW_ID_PREFIX "%s-%s", rec.leg,
	    c->id) >= (int)sizeof(p->leg) || (rec.bridge[0] != '\0' &&
	    snprintf(p->bridge, sizeof(p->bridge), FLOW_ID_PREFIX "%s-%s",
	    rec.bridge, c->id) >= (int)sizeof(p->bridge)))
		return 0;
	if (json_object_object_get_ex(adopt_map(e, "legs"), p->leg, &ch)) {
		p->alive = 1;
		p->up = p->act->kind == ACT_BOT || adopt_in_stasis(ch);
		json_object_object_del(adopt_map(e, "legs"), p->leg);
	}
	if (p->alive && p->bridge[0] != '\0' && json_object_object_get_ex(
	    adopt_map(e, "bridges"), p->bridge, &br) && adopt_has(br, c->id) &&
	    adopt_has(br, p->leg)) {
		p->bridged = 1;
		json_object_object_del(adopt_map(e, "bridges"), p->bridge);
	}
	c->seq = rec.seq;
	c->step = rec.step;
	return 1;
}

/* Carry on at the step that holds the leg, or with its end. */
static void
adopt_take(struct call *c, struct adopt_plan *p)
{
	const char	*outcome;

	c->fs = c->f->fs;
	c->fs->refs++;
	c->f->counters.v[MAI_CNT_FLOW_RESUMED]++;
	engine_adopt(c, p->fd, p->state, c->step, c->seq);
	if (!p->alive) {
		outcome = p->act->kind == ACT_BOT ? "bot_ended" :
		    p->bridge[0] != '\0' ? "dial_ended" : "dial_failed";
		log_info("call id=%s flow=%s: its leg ended while no "
		    "flow-worker ran: %s", c->id, p->fd->name, outcome);
		engine_step_done(c, outcome, NULL);
		return;
	}
	c->f->snap->adopted++;
	log_info("call id=%s flow=%s: leg adopted leg=%s bridge=%s", c->id,
	    p->fd->name, p->leg, p->bridged ? p->bridge : p->up ? "(new)" :
	    "(after the answer)");
	/* Music the old state still plays would hold up a new bridge. */
	if (!p->bridged)
		reconcile_stop_media(c, &p->fd->states[p->state], c->seq);
	legs_adopt(c, p->act, p->leg, p->bridged ? p->bridge : NULL, p->up);
}

static void
adopt_decide(struct call *c, struct json_object *e)
{
	struct flow		*f = c->f;
	struct json_object	*w;
	struct adopt_plan	 p;
	char			 where[FLOW_RECORD_MAX];
	int			 take;

	where[0] = '\0';
	if (json_object_object_get_ex(e, "where", &w))
		snprintf(where, sizeof(where), "%s", json_object_get_string(w));
	json_object_get(e);
	json_object_object_del(f->snap->calls, c->id);
	f->snap->undecided--;
	take = adopt_plan(c, e, where, &p);
	adopt_sweep(f, e);
	json_object_put(e);
	if (take)
		adopt_take(c, &p);
	else
		reconcile_resume(c, where[0] != '\0' ? where : NULL);
	adopt_check_done(f);
}

/* The caller's MAI_STATE (NULL: none) is in. */
void
adopt_where(struct call *c, const char *where)
{
	struct json_object	*e;

	if ((e = adopt_entry(c->f, c->id)) == NULL) {
		reconcile_resume(c, where);
		return;
	}
	json_object_object_add(e, "where", json_object_new_string(
	    where != NULL ? where : ""));
	if (c->f->snap->bridges_in)
		adopt_decide(c, e);
}

/* Our bridges go to their callers or are destroyed; then decide. */
void
adopt_bridges(struct flow *f, const struct ari_result *res)
{
	struct json_object	*b, *id, *e, *ready;
	struct call		*c;
	size_t			 i;

	if (f->snap == NULL)
		return;
	f->snap->bridges_in = 1;
	if (res == NULL || res->error != NULL ||
	    !json_object_is_type(res->body, json_type_array))
		log_warnx("reconcile: cannot list bridges: %s; bridges of an "
		    "earlier flow-worker stay", res != NULL && res->error !=
		    NULL ? res->error : "no list");
	else
		for (i = 0; i < json_object_array_length(res->body); i++) {
			b = json_object_array_get_idx(res->body, i);
			if (!json_object_object_get_ex(b, "id", &id) ||
			    strncmp(json_object_get_string(id), FLOW_ID_PREFIX,
			    strlen(FLOW_ID_PREFIX)) != 0)
				continue;
			if ((c = call_of_obj(f, json_object_get_string(id))) !=
			    NULL && (e = adopt_entry(f, c->id)) != NULL)
				json_object_object_add(adopt_map(e, "bridges"),
				    json_object_get_string(id),
				    json_object_get(b));
			else {
				adopt_delete(f, "bridges",
				    json_object_get_string(id));
				f->snap->bridges_gone++;
			}
		}
	/* Deciding removes entries: collect the ready callers first. */
	ready = json_object_new_array();
	json_object_object_foreach(f->snap->calls, caller, ev) {
		if (json_object_object_get_ex(ev, "where", NULL))
			json_object_array_add(ready,
			    json_object_new_string(caller));
	}
	for (i = 0; i < json_object_array_length(ready); i++) {
		c = call_find(f, json_object_get_string(
		    json_object_array_get_idx(ready, i)));
		if (c != NULL && (e = adopt_entry(f, c->id)) != NULL)
			adopt_decide(c, e);
	}
	json_object_put(ready);
	adopt_check_done(f);
}

/*
 * A leg of a call not decided yet started (ch) or went away (NULL): what
 * was found changes with it.
 */
void
adopt_leg_event(struct call *c, const char *id, struct json_object *ch)
{
	struct json_object	*e;

	if ((e = adopt_entry(c->f, c->id)) == NULL)
		return;
	if (ch != NULL)
		json_object_object_add(adopt_map(e, "legs"), id,
		    json_object_get(ch));
	else
		json_object_object_del(adopt_map(e, "legs"), id);
}

/* A call ended before it was decided: what it had goes. */
void
adopt_forget(struct call *c)
{
	struct flow		*f = c->f;
	struct json_object	*e;

	if ((e = adopt_entry(f, c->id)) == NULL)
		return;
	adopt_sweep(f, e);
	json_object_object_del(f->snap->calls, c->id);
	f->snap->undecided--;
	adopt_check_done(f);
}
