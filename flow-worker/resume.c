/*
 * resume.c — put a call found after a restart back into its flow.
 *
 * reconcile.c finds the call in Asterisk with what it still has, reads
 * its MAI_STATE ("FLOW/STATE/SEQ", set on every state entry, and in a
 * dial or bot state "/STEP/LEG[/BRIDGE]" once its leg exists, legs.c) and
 * decides; this file carries the decision out.  It knows the flows and
 * the engine, not the listings, and never calls back into reconcile.c.
 *
 * - resume_plan_read(): MAI_STATE names a leg of the dial or bot action
 *   at STEP of a state that still exists; reconcile.c then says whether
 *   that leg and its bridge are still there.
 * - resume_adopt(): the leg is there: the call carries on at that step
 *   with it, nothing runs again; the bridge stays if it still holds the
 *   caller and the leg, else a new one is made; a dialled leg still
 *   ringing is waited for.  The leg is gone: the outcome its end would
 *   have had (dial_ended after a bridge, dial_failed before, bot_ended)
 *   moves the flow on.
 * - resume_state(): anything else.  Media the old state still plays is
 *   stopped and the state runs again; a call that never got a state
 *   starts its flow from the beginning; one whose flow or state no longer
 *   exists goes to the flow's fallback state, or is hung up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/* MAI_STATE taken apart: "FLOW/STATE/SEQ/STEP/LEG[/BRIDGE]". */
struct state_rec {
	char		 flow[FLOW_NAME_MAX];
	char		 state[FLOW_NAME_MAX];
	uint32_t	 seq;
	size_t		 step;
	char		 leg[FLOW_OBJ_TAG_LEN + 1];	/* "" none */
	char		 bridge[FLOW_OBJ_TAG_LEN + 1];	/* "" none */
};

/*
 * What the dead worker's state still plays or records would hold up the
 * re-run (media queue on the channel): stop it.  Its playbacks have the
 * ids seq, seq+1, ... that the state entry recorded; recordings have the
 * names of the state's record actions.
 */
static void
resume_stop_media(struct call *c, const struct state *st, uint32_t seq)
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

/* The call takes a reference on the flows it resumes with. */
static void
resume_count(struct call *c)
{
	c->fs = c->f->fs;
	c->fs->refs++;
	c->f->counters.v[MAI_CNT_FLOW_RESUMED]++;
}

/* "FLOW/STATE/SEQ" read back from the channel, or NULL if it had none. */
void
resume_state(struct call *c, const char *where)
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
	resume_count(c);
	if (n != -1 && st != -1) {
		if (seq != NULL)
			resume_stop_media(c, &f->fs->flows[n].states[st],
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

/* Our kind letter, then FLOW_OBJ_TAG_LEN - 1 hex digits (calls.c). */
static int
resume_tag_ok(const char *t, const char *kinds)
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
resume_parse(const char *where, struct state_rec *rec)
{
	char	 buf[FLOW_RECORD_MAX], *p = buf, *fld[6];
	size_t	 n = 0;

	memset(rec, 0, sizeof(*rec));
	if (where == NULL || strlen(where) >= sizeof(buf))
		return 0;
	memcpy(buf, where, strlen(where) + 1);
	while (n < 6 && (fld[n] = strsep(&p, "/")) != NULL)
		n++;
	if (n < 5 || p != NULL || !resume_tag_ok(fld[4], "de") ||
	    (n == 6 && !resume_tag_ok(fld[5], "b")) ||
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

/*
 * The leg `where` records, if it is one of the dial or bot action at its
 * step in a state that still exists: 1 and *p filled but for what the
 * caller finds in Asterisk (alive, up, bridged); else 0.
 */
int
resume_plan_read(const struct call *c, const char *where,
    struct resume_plan *p)
{
	const struct flowset	*fs = c->f->fs;
	struct state_rec	 rec;
	int			 n;

	memset(p, 0, sizeof(*p));
	if (fs == NULL || !resume_parse(where, &rec) ||
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
	p->step = rec.step;
	p->seq = rec.seq;
	return 1;
}

/* Carry on at the step that holds the leg, or with its end. */
void
resume_adopt(struct call *c, const struct resume_plan *p)
{
	const char	*outcome;

	resume_count(c);
	engine_adopt(c, p->fd, p->state, p->step, p->seq);
	if (!p->alive) {
		outcome = p->act->kind == ACT_BOT ? "bot_ended" :
		    p->bridge[0] != '\0' ? "dial_ended" : "dial_failed";
		log_info("call id=%s flow=%s: its leg ended while no "
		    "flow-worker ran: %s", c->id, p->fd->name, outcome);
		engine_step_done(c, outcome, NULL);
		return;
	}
	log_info("call id=%s flow=%s: leg adopted leg=%s bridge=%s", c->id,
	    p->fd->name, p->leg, p->bridged ? p->bridge : p->up ? "(new)" :
	    "(after the answer)");
	/* Music the old state still plays would hold up a new bridge. */
	if (!p->bridged)
		resume_stop_media(c, &p->fd->states[p->state], p->seq);
	legs_adopt(c, p->act, p->leg, p->bridged ? p->bridge : NULL, p->up);
}
