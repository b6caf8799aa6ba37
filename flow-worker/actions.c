/*
 * actions.c — the actions that act on the caller's channel alone:
 * answer, play, stop, wait, gather, record, setvar, continue, hangup.
 * (dial and bot are in legs.c, webhook in webhook.c.)
 *
 * Each one is ARI requests through areq.c and ends by calling
 * engine_step_done() exactly once, from the loop: on the REST answer, on
 * the ARI event it waits for (PlaybackFinished, RecordingFinished, DTMF)
 * or on its timer.  A callback whose gen is not the call's any more
 * belongs to an action that was left behind and changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

#define PATH_MAX_LEN	(ARI_REST_URL_MAX)

static void
act_timer_ms(struct call *c, unsigned int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->ev_act, &tv);
}

/* Finish the current action from the loop, with this outcome. */
void
action_soon(struct call *c, const char *outcome)
{
	c->rt.soon = outcome;
	c->rt.soon_set = 1;
	act_timer_ms(c, 0);
}

/* The common answer: done on 2xx, else an error or a gone call. */
static void
act_ok_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	if (gen != c->gen)
		action_quiet_cb(c, res, gen);
	else if (res->error != NULL)
		engine_ari_failed(c, res);
	else
		engine_step_done(c, NULL, NULL);
}

/* Answers nobody waits for; only a vanished caller matters. */
void
action_quiet_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	(void)gen;
	if (res->error != NULL && chanq_gone(c, res))
		call_end(c, "channel gone");
}

/* "/channels/ID" and then `what`; -1 only for an absurd id. */
static int
act_path(struct call *c, char *path, const char *what)
{
	int	n;

	if ((n = ari_rest_path(path, PATH_MAX_LEN, "/channels/%s", c->id)) ==
	    -1 || (size_t)n + strlen(what) >= PATH_MAX_LEN)
		return -1;
	memcpy(path + n, what, strlen(what) + 1);
	return 0;
}

static void
act_simple(struct call *c, const char *method, const char *what)
{
	char	path[PATH_MAX_LEN];

	if (act_path(c, path, what) == -1) {
		action_soon(c, "error");
		return;
	}
	areq_call(c, method, path, act_ok_cb);
}

/*
 * Stop our playback.  Once Asterisk has it (its POST was answered) the
 * DELETE goes out at once, not in the call's order: requests Asterisk
 * queued behind media on the channel may be waiting for just this
 * playback to end.  Before that it goes right behind the POST, ahead of
 * the requests held until the playback ends (areq.c), which it releases.
 */
void
action_stop_playback(struct call *c)
{
	char	path[PATH_MAX_LEN], play[PATH_MAX_LEN];

	if (c->rt.playback[0] == '\0')
		return;
	if (ari_rest_path(path, sizeof(path), "/playbacks/%s",
	    c->rt.playback) != -1) {
		if (c->rt.playing)
			areq_loose(c->f, "DELETE", path);
		else if (ari_rest_path(play, sizeof(play),
		    "/channels/%s/play/%s?", c->id, c->rt.playback) != -1)
			areq_call_behind(c, "DELETE", path, play);
	}
	c->rt.playback[0] = '\0';
	c->rt.bg = c->rt.playing = 0;
	areq_media_ended(c);
}

/* Requests that start something the action then waits for. */
static void
wait_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	const struct act	*a;

	if (gen != c->gen) {
		action_quiet_cb(c, res, gen);
		return;
	}
	if (res->error != NULL) {
		c->rt.playback[0] = c->rt.recording[0] = '\0';
		c->rt.bg = 0;
		areq_media_ended(c);
		engine_ari_failed(c, res);
		return;
	}
	if (c->rt.playback[0] != '\0')
		c->rt.playing = 1;
	/* An async play is done once it started. */
	if ((a = engine_act(c)) != NULL && a->kind == ACT_PLAY && a->async)
		engine_step_done(c, NULL, NULL);
}

/*
 * POST /channels/{id}/play/{our id}?media=A,B: one playback for the
 * whole list (Asterisk 22 takes the list comma-separated in one
 * parameter; a repeated media= plays only one).  Our own id lets
 * PlaybackFinished be recognised even before this request is answered.
 */
static void
play_start(struct call *c, const char *const *media, int async)
{
	char	path[PATH_MAX_LEN], list[FLOW_MEDIA_MAX * FLOW_STR_MAX];
	size_t	i, off = 0;

	action_stop_playback(c);
	call_obj_id(c, 'p', c->rt.playback, sizeof(c->rt.playback));
	c->rt.bg = (uint8_t)async;
	for (i = 0; i < FLOW_MEDIA_MAX && media[i] != NULL; i++) {
		if (i > 0)
			list[off++] = ',';
		var_expand(c, media[i], list + off, FLOW_STR_MAX);
		/* An expanded comma would split a URI in two: drop it. */
		for (; list[off] != '\0'; off++)
			if (list[off] == ',')
				list[off] = ' ';
	}
	list[off] = '\0';
	if (ari_rest_path(path, sizeof(path), "/channels/%s/play/%s?media=%s",
	    c->id, c->rt.playback, list) == -1) {
		c->rt.playback[0] = '\0';
		log_warnx("call id=%s: play path too long", c->id);
		action_soon(c, "error");
		return;
	}
	areq_call(c, "POST", path, wait_cb);
}

static void
gather_finish(struct call *c, const struct act *a)
{
	evtimer_del(c->ev_act);
	action_stop_playback(c);
	c->rt.prompt = 0;
	if (c->rt.ndigits == 0) {
		engine_step_done(c, "no_input", NULL);
		return;
	}
	var_set_channel(c, a->var, c->rt.digits);
	engine_step_done(c, "digits", c->rt.digits);
}

static void
gather_start(struct call *c, const struct act *a)
{
	c->rt.ndigits = 0;
	c->rt.digits[0] = '\0';
	if (a->media[0] != NULL) {
		c->rt.prompt = 1;
		play_start(c, a->media, 0);
	} else
		act_timer_ms(c, a->ms);
}

static void
gather_digit(struct call *c, const struct act *a, char d)
{
	if (c->rt.prompt) {
		/* The caller knows what to press: the prompt stops. */
		action_stop_playback(c);
		c->rt.prompt = 0;
	}
	if (a->terminator != '\0' && d == a->terminator) {
		gather_finish(c, a);
		return;
	}
	c->rt.digits[c->rt.ndigits++] = d;
	c->rt.digits[c->rt.ndigits] = '\0';
	if (c->rt.ndigits >= a->max_digits)
		gather_finish(c, a);
	else
		act_timer_ms(c, a->inter_ms);
}

static void
record_start(struct call *c, const struct act *a)
{
	char	path[PATH_MAX_LEN], num[16], term[2] = { a->terminator, 0 };

	var_expand(c, a->value, c->rt.recording, sizeof(c->rt.recording));
	if (act_path(c, path, "/record") == -1 ||
	    areq_path_add(path, sizeof(path), "name", c->rt.recording) == -1 ||
	    areq_path_add(path, sizeof(path), "format", a->format) == -1 ||
	    areq_path_add(path, sizeof(path), "ifExists", "overwrite") == -1 ||
	    areq_path_add(path, sizeof(path), "beep", a->beep ? "true" :
	    "false") == -1 ||
	    areq_path_add(path, sizeof(path), "terminateOn",
	    a->terminator ? term : "none") == -1) {
		action_soon(c, "error");
		return;
	}
	snprintf(num, sizeof(num), "%u", a->max_duration_s);
	areq_path_add(path, sizeof(path), "maxDurationSeconds", num);
	snprintf(num, sizeof(num), "%u", a->max_silence_s);
	areq_path_add(path, sizeof(path), "maxSilenceSeconds", num);
	log_debug("call id=%s recording=%s", c->id, c->rt.recording);
	areq_call(c, "POST", path, wait_cb);
}

static void
setvar_start(struct call *c, const struct act *a)
{
	char	path[PATH_MAX_LEN], val[FLOW_VAR_VALUE_MAX];

	var_expand(c, a->value, val, sizeof(val));
	var_set(c, a->var, val);
	if (act_path(c, path, "/variable") == -1 ||
	    areq_path_add(path, sizeof(path), "variable", a->var) == -1 ||
	    areq_path_add(path, sizeof(path), "value", val) == -1) {
		action_soon(c, "error");
		return;
	}
	/*
	 * Behind an async play the request waits for the end of the sound
	 * (areq.c).  The flow has the value (var_set) and goes on; the
	 * channel gets it in order.
	 */
	if (c->rt.bg && c->rt.playback[0] != '\0') {
		areq_call(c, "POST", path, action_quiet_cb);
		action_soon(c, NULL);
		return;
	}
	areq_call(c, "POST", path, act_ok_cb);
}

static void
leave_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	(void)gen;
	if (res->error == NULL || chanq_gone(c, res))
		return;		/* StasisEnd follows and ends the call */
	log_warnx("call id=%s: %s; ending it here", c->id, res->error);
	call_end(c, "could not leave the flow");
}

/* continue or hangup: the call leaves the flow; StasisEnd ends it. */
static void
leave_start(struct call *c, const struct act *a)
{
	char	path[PATH_MAX_LEN], v[FLOW_STR_MAX], num[16];

	action_leave(c);
	c->phase = CALL_LEAVING;
	snprintf(num, sizeof(num), "%d", a->num);
	if (act_path(c, path, a->kind == ACT_HANGUP ? "" : "/continue") ==
	    -1) {
		call_end(c, "channel id too long");
		return;
	}
	if (a->kind == ACT_HANGUP) {
		areq_path_add(path, sizeof(path), "reason_code", num);
		areq_call(c, "DELETE", path, leave_cb);
		return;
	}
	var_expand(c, a->context, v, sizeof(v));
	if (v[0] != '\0')
		areq_path_add(path, sizeof(path), "context", v);
	var_expand(c, a->exten, v, sizeof(v));
	if (v[0] != '\0')
		areq_path_add(path, sizeof(path), "extension", v);
	if (a->num > 0)
		areq_path_add(path, sizeof(path), "priority", num);
	areq_call(c, "POST", path, leave_cb);
}

void
action_start(struct call *c, const struct act *a)
{
	switch (a->kind) {
	case ACT_ANSWER:
		act_simple(c, "POST", "/answer");
		break;
	case ACT_PLAY:
		play_start(c, a->media, a->async);
		break;
	case ACT_STOP:
		action_stop_playback(c);
		action_soon(c, NULL);
		break;
	case ACT_WAIT:
		act_timer_ms(c, a->ms);
		break;
	case ACT_GATHER:
		gather_start(c, a);
		break;
	case ACT_RECORD:
		record_start(c, a);
		break;
	case ACT_SETVAR:
		setvar_start(c, a);
		break;
	case ACT_DIAL:
		legs_dial(c, a);
		break;
	case ACT_BOT:
		legs_bot(c, a);
		break;
	case ACT_WEBHOOK:
		webhook_start(c, a);
		break;
	case ACT_CONTINUE:
	case ACT_HANGUP:
		leave_start(c, a);
		break;
	default:
		action_soon(c, "error");
	}
}

void
action_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct call		*c = arg;
	const struct act	*a = engine_act(c);

	(void)fd;
	(void)ev;
	if (c->rt.soon_set) {
		c->rt.soon_set = 0;
		engine_step_done(c, c->rt.soon, NULL);
		return;
	}
	if (a == NULL)
		return;
	if (a->kind == ACT_GATHER)
		gather_finish(c, a);
	else if (a->kind == ACT_DIAL || a->kind == ACT_BOT)
		legs_timeout(c);
	else
		engine_step_done(c, NULL, NULL);
}

/* ChannelDtmfReceived on the caller. */
void
action_dtmf(struct call *c, char d)
{
	const struct act	*a = engine_act(c);
	char			 digit[2] = { d, '\0' };

	if (a != NULL && a->kind == ACT_GATHER && !c->rt.soon_set)
		gather_digit(c, a, d);
	else
		engine_event(c, "dtmf", digit);
}

/* PlaybackFinished for one of ours on the caller. */
void
action_playback_done(struct call *c, const char *id, int failed)
{
	const struct act	*a = engine_act(c);

	if (c->rt.playback[0] == '\0' || strcmp(id, c->rt.playback) != 0)
		return;
	c->rt.playback[0] = '\0';
	if (c->rt.bg) {
		c->rt.bg = 0;
		areq_media_ended(c);
		return;
	}
	if (a != NULL && a->kind == ACT_GATHER) {
		c->rt.prompt = 0;
		if (c->rt.ndigits == 0)
			act_timer_ms(c, a->ms);
	} else if (a != NULL && a->kind == ACT_PLAY)
		engine_step_done(c, failed ? "error" : NULL, NULL);
}

/* RecordingFinished or RecordingFailed for the caller. */
void
action_recording_done(struct call *c, const char *name, int failed)
{
	const struct act	*a = engine_act(c);

	if (c->rt.recording[0] == '\0' || strcmp(name, c->rt.recording) != 0)
		return;
	c->rt.recording[0] = '\0';
	if (a == NULL || a->kind != ACT_RECORD)
		return;
	var_set_channel(c, a->var, name);
	engine_step_done(c, failed ? "error" : NULL, NULL);
}

/* The state changes or the call leaves: stop what still runs. */
void
action_leave(struct call *c)
{
	char	path[PATH_MAX_LEN];

	evtimer_del(c->ev_act);
	action_stop_playback(c);
	if (c->rt.recording[0] != '\0' && ari_rest_path(path, sizeof(path),
	    "/recordings/live/%s/stop", c->rt.recording) != -1)
		areq_call(c, "POST", path, NULL);
	legs_release(c, 0);
	areq_forget_http(c);
	memset(&c->rt, 0, sizeof(c->rt));
}
