/*
 * Simulated playbacks and live recordings.  Each is a command on its
 * channel's queue (one runs at a time, like Asterisk's stasis control),
 * timed by /_sim/media, and reports itself with the events of
 * res_stasis_playback.c and res_stasis_recording.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

static int	pb_start(struct sim_playback *);
static int	rec_start(struct sim_recording *);

#define ENT_OF(e, type)	((type *)((char *)(e) - offsetof(type, h)))

struct sim_playback *
sim_playback_find(const char *id)
{
	struct sim_hent	*e = sim_tab_find(&CALLS.playbacks, id);

	return e == NULL ? NULL : ENT_OF(e, struct sim_playback);
}

struct sim_recording *
sim_recording_find(const char *name)
{
	struct sim_hent	*e = sim_tab_find(&CALLS.recordings, name);

	return e == NULL ? NULL : ENT_OF(e, struct sim_recording);
}

/* stasis_app_playback_to_json(), with next_media_uri while one is left. */
void
sim_playback_json(struct sim_buf *b, const struct sim_playback *p,
    const char *state)
{
	sb_printf(b, "{\"id\": ");
	sb_str(b, p->id);
	sb_printf(b, ", \"media_uri\": ");
	sb_str(b, p->media[p->idx]);
	if (p->idx + 1 < p->nmedia) {
		sb_printf(b, ", \"next_media_uri\": ");
		sb_str(b, p->media[p->idx + 1]);
	}
	sb_printf(b, ", \"target_uri\": ");
	sb_str(b, p->target);
	sb_printf(b, ", \"language\": ");
	sb_str(b, p->lang);
	sb_printf(b, ", \"state\": \"%s\"}", state);
}

/* stasis_app_recording_to_json(); duration < 0 leaves it out. */
void
sim_recording_json(struct sim_buf *b, const struct sim_recording *r,
    const char *state, long long duration)
{
	sb_printf(b, "{\"name\": ");
	sb_str(b, r->name);
	sb_printf(b, ", \"format\": ");
	sb_str(b, r->format);
	sb_printf(b, ", \"state\": \"%s\", \"target_uri\": ", state);
	sb_str(b, r->target);
	if (duration >= 0)
		sb_printf(b, ", \"duration\": %lld", duration);
	/* no silence is simulated: all of it counts as talking */
	if (duration >= 0 && r->max_silence_s > 0)
		sb_printf(b, ", \"talking_duration\": %lld, "
		    "\"silence_duration\": 0", duration);
	sb_printf(b, "}");
}

static void
pb_event(struct sim_playback *p, const char *type, const char *state)
{
	struct sim_buf	*b = &CALLS.ev;

	sim_ev_start(b, type);
	sb_printf(b, ", \"playback\": ");
	sim_playback_json(b, p, state);
	sim_chan_emit(p->op.chan, b);
}

static void
rec_event(struct sim_recording *r, const char *type, const char *state,
    long long duration, const char *cause)
{
	struct sim_buf	*b = &CALLS.ev;

	sim_ev_start(b, type);
	sb_printf(b, ", \"recording\": ");
	sim_recording_json(b, r, state, duration);
	if (cause != NULL) {
		sb_truncate(b, b->len - 1);	/* reopen the object */
		sb_printf(b, ", \"cause\": ");
		sb_str(b, cause);
		sb_printf(b, "}");
	}
	sim_chan_emit(r->op.chan, b);
}

static void
op_free(struct sim_op *op)
{
	struct sim_playback	*p;
	struct sim_recording	*r;
	int			 i;

	sim_timer_cancel(&op->timer);
	TAILQ_REMOVE(&op->chan->ops, op, q);
	if (op->running)
		sim_hold_wake(op->chan->id);
	if (op->kind == SIM_OP_PLAYBACK) {
		p = (struct sim_playback *)op;
		sim_tab_del(&CALLS.playbacks, &p->h);
		CALLS.nplaybacks--;
		for (i = 0; i < p->nmedia; i++)
			free(p->media[i]);
		free(p);
	} else {
		r = (struct sim_recording *)op;
		sim_tab_del(&CALLS.recordings, &r->h);
		CALLS.nrecordings--;
		free(r);
	}
}

/* Start the head of c's queue; ops that end at once make way. */
static void
ops_run(struct sim_chan *c)
{
	struct sim_op	*op;
	int		 busy;

	while ((op = TAILQ_FIRST(&c->ops)) != NULL && !op->running) {
		op->running = 1;
		if (op->kind == SIM_OP_PLAYBACK)
			busy = pb_start((struct sim_playback *)op);
		else
			busy = rec_start((struct sim_recording *)op);
		if (busy)
			return;
		op_free(op);
	}
}

static void
op_done(struct sim_op *op)
{
	struct sim_chan	*c = op->chan;

	op_free(op);
	ops_run(c);
}

void
sim_op_enqueue(struct sim_chan *c, struct sim_op *op)
{
	op->chan = c;
	TAILQ_INSERT_TAIL(&c->ops, op, q);
	ops_run(c);
}

/* The URI schemes play_on_channel() knows; others are skipped. */
static int
media_playable(const char *uri)
{
	static const char	*schemes[] = { "sound:", "recording:",
	    "number:", "digits:", "characters:", "tone:" };
	size_t			 i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
			return 1;
	return 0;
}

static void
pb_tick(struct sim_timer *t)
{
	struct sim_playback	*p = (struct sim_playback *)((char *)t -
	    offsetof(struct sim_op, timer));
	int			 next;

	for (next = p->idx + 1; next < p->nmedia &&
	    !media_playable(p->media[next]); next++)
		continue;
	if (next >= p->nmedia) {
		pb_event(p, "PlaybackFinished", "done");
		op_done(&p->op);
		return;
	}
	pb_event(p, "PlaybackContinuing", "continuing");
	p->idx = next;
	pb_event(p, "PlaybackStarted", "playing");
	sim_timer_arm(&p->op.timer, (uint64_t)CALLS.media.playback_ms * 1000,
	    pb_tick);
}

/* Returns 1 while playing, 0 when it ended at once. */
static int
pb_start(struct sim_playback *p)
{
	if (p->op.canceled) {
		/* playback_first_update() publishes the cancel as done */
		pb_event(p, "PlaybackFinished", "done");
		return 0;
	}
	while (p->idx < p->nmedia && !media_playable(p->media[p->idx]))
		p->idx++;
	if (p->idx >= p->nmedia) {
		p->idx = p->nmedia - 1;
		return 0;
	}
	pb_event(p, "PlaybackStarted", "playing");
	sim_timer_arm(&p->op.timer, (uint64_t)CALLS.media.playback_ms * 1000,
	    pb_tick);
	return 1;
}

/*
 * /_sim/playbacks_end: every running playback's sound ends now, as if
 * its media were that long (PlaybackFinished done); queued ops start.
 */
size_t
sim_media_end_playbacks(void)
{
	struct sim_chan	*c;
	struct sim_op	*op;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &CALLS.chan_list, all) {
		op = TAILQ_FIRST(&c->ops);
		if (op == NULL || !op->running || op->kind != SIM_OP_PLAYBACK)
			continue;
		pb_event((struct sim_playback *)op, "PlaybackFinished", "done");
		op_done(op);
		n++;
	}
	return n;
}

/* DELETE /playbacks/{id}: both stopped and cancelled report "done". */
void
sim_playback_stop(struct sim_playback *p)
{
	if (!p->op.running) {
		p->op.canceled = 1;
		return;
	}
	pb_event(p, "PlaybackFinished", "done");
	op_done(&p->op);
}

static long long
rec_seconds(const struct sim_recording *r)
{
	return (long long)((sim_now_us() - r->started) / 1000000u);
}

/* Finish a running recording with state done or canceled. */
void
sim_recording_finish(struct sim_recording *r, const char *state)
{
	if (!r->op.running) {
		op_done(&r->op);
		return;
	}
	rec_event(r, "RecordingFinished", state, rec_seconds(r), NULL);
	op_done(&r->op);
}

static void
rec_tick(struct sim_timer *t)
{
	sim_recording_finish((struct sim_recording *)((char *)t -
	    offsetof(struct sim_op, timer)), "done");
}

static int
rec_start(struct sim_recording *r)
{
	long long	ms = CALLS.media.recording_ms;

	if (r->op.chan->bridge != NULL) {
		rec_event(r, "RecordingFailed", "failed", -1,
		    "Cannot record channel while in bridge");
		return 0;
	}
	/* record_file() answers the channel first (ast_auto_answer) */
	sim_chan_set_state(r->op.chan, SIM_CS_UP);
	r->started = sim_now_us();
	rec_event(r, "RecordingStarted", "recording", -1, NULL);
	if (r->max_duration_s > 0 && r->max_duration_s * 1000 < ms)
		ms = r->max_duration_s * 1000;
	sim_timer_arm(&r->op.timer, (uint64_t)ms * 1000, rec_tick);
	return 1;
}

/* A DTMF digit may end the running recording (terminateOn). */
void
sim_media_dtmf(struct sim_chan *c, char digit)
{
	struct sim_op		*op = TAILQ_FIRST(&c->ops);
	struct sim_recording	*r;

	if (op == NULL || !op->running || op->kind != SIM_OP_RECORDING)
		return;
	r = (struct sim_recording *)op;
	if (r->terminate_on == 'A' || (r->terminate_on != 0 &&
	    r->terminate_on == digit))
		sim_recording_finish(r, "done");
}

/*
 * The channel leaves Stasis.  On hangup a running playback fails, as
 * ast_control_streamfile() does; on continue it is reported done.  A
 * running recording is always done (record_file() publishes COMPLETE
 * whatever ast_play_and_record_full() returned).  Queued ones vanish.
 */
void
sim_media_chan_gone(struct sim_chan *c, int hangup)
{
	struct sim_op	*op;

	while ((op = TAILQ_FIRST(&c->ops)) != NULL) {
		if (op->running && op->kind == SIM_OP_PLAYBACK)
			pb_event((struct sim_playback *)op, "PlaybackFinished",
			    hangup ? "failed" : "done");
		else if (op->running)
			rec_event((struct sim_recording *)op,
			    "RecordingFinished", "done",
			    rec_seconds((struct sim_recording *)op), NULL);
		op_free(op);
	}
}

void
sim_media_chan_forget(struct sim_chan *c)
{
	struct sim_op	*op;

	while ((op = TAILQ_FIRST(&c->ops)) != NULL)
		op_free(op);
}
