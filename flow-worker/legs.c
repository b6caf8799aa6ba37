/*
 * legs.c — the actions that bring another channel to the caller.
 *
 * dial: POST /channels/{our id}?endpoint=...&app=ARI_APP originates the
 * outbound leg into our own application; Asterisk puts it in Stasis when
 * it answers (StasisStart), and then it and the caller go into a mixing
 * bridge: a transfer to a human.  No answer: ChannelDestroyed without a
 * StasisStart, "dial_failed".  Hung up later: "dial_ended".
 *
 * bot: POST /channels/externalMedia creates a channel whose media goes to
 * the bot (RTP over UDP, or chan_websocket), then the same bridge once
 * both the answer and the leg's StasisStart are in (either comes first).
 * When that channel goes away (StasisEnd/ChannelDestroyed): "bot_ended".
 *
 * A leg and its bridge belong to the state: leaving the state, or the
 * caller hanging up, hangs up the leg and destroys the bridge.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

#define PATH_LEN	ARI_REST_URL_MAX

static void
legs_timer(struct call *c, unsigned int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->ev_act, &tv);
}

/*
 * The leg (and its bridge) go on the caller's MAI_STATE, so that a worker
 * started after a crash takes them over instead of dialling again
 * (reconcile.c).  Only our part of each id: the rest is the caller's id.
 */
static void
legs_record(struct call *c)
{
	char	tail[64];
	size_t	n = strlen(FLOW_ID_PREFIX), off;

	off = (size_t)snprintf(tail, sizeof(tail), "/%zu/%.*s", c->step,
	    FLOW_OBJ_TAG_LEN, c->rt.leg + n);
	if (c->rt.bridge[0] != '\0' && off < sizeof(tail))
		snprintf(tail + off, sizeof(tail) - off, "/%.*s",
		    FLOW_OBJ_TAG_LEN, c->rt.bridge + n);
	engine_record(c, tail);
}

static void
legs_added_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	if (gen != c->gen) {
		action_quiet_cb(c, res, gen);
		return;
	}
	if (res->error != NULL) {
		engine_ari_failed(c, res);
		return;
	}
	legs_record(c);
}

static void
legs_bridge_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	char	path[PATH_LEN], both[2 * FLOW_OBJ_ID_MAX + 2];

	if (gen != c->gen || res->error != NULL) {
		legs_added_cb(c, res, gen);
		return;
	}
	snprintf(both, sizeof(both), "%s,%s", c->id, c->rt.leg);
	if (ari_rest_path(path, sizeof(path), "/bridges/%s/addChannel?"
	    "channel=%s", c->rt.bridge, both) == -1) {
		action_soon(c, "error");
		return;
	}
	areq_call(c, "POST", path, legs_added_cb);
}

/* A mixing bridge with our id, then the caller and the leg in it. */
static void
legs_bridge(struct call *c)
{
	char	path[PATH_LEN];

	/*
	 * Music while the leg rang (an async play) ends here; it would also
	 * hold up addChannel, which Asterisk queues behind the channel's media.
	 */
	action_stop_playback(c);
	call_obj_id(c, 'b', c->rt.bridge, sizeof(c->rt.bridge));
	if (ari_rest_path(path, sizeof(path), "/bridges/%s?type=mixing",
	    c->rt.bridge) == -1) {
		c->rt.bridge[0] = '\0';
		action_soon(c, "error");
		return;
	}
	areq_call(c, "POST", path, legs_bridge_cb);
}

static void
dial_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	if (gen != c->gen) {
		action_quiet_cb(c, res, gen);
		return;
	}
	if (res->error == NULL) {
		/* Ringing: a successor waits for this leg, not a new one. */
		if (c->rt.leg[0] != '\0')
			legs_record(c);
		return;
	}
	log_warnx("call id=%s flow=%s: dial failed: %s", c->id,
	    c->flow->name, res->error);
	c->rt.leg[0] = '\0';
	engine_step_done(c, "dial_failed", NULL);
}

void
legs_dial(struct call *c, const struct act *a)
{
	char	path[PATH_LEN], v[FLOW_STR_MAX], num[16];

	call_obj_id(c, 'd', c->rt.leg, sizeof(c->rt.leg));
	call_obj_id(c, 'o', c->rt.other, sizeof(c->rt.other));
	c->rt.leg_up = 0;
	snprintf(num, sizeof(num), "%u", a->ms / 1000);
	var_expand(c, a->target, v, sizeof(v));
	if (ari_rest_path(path, sizeof(path), "/channels/%s", c->rt.leg) ==
	    -1 || areq_path_add(path, sizeof(path), "endpoint", v) == -1 ||
	    areq_path_add(path, sizeof(path), "app", c->f->conf.ari_app) ==
	    -1 || areq_path_add(path, sizeof(path), "appArgs", "dial") ==
	    -1 || areq_path_add(path, sizeof(path), "timeout", num) == -1 ||
	    areq_path_add(path, sizeof(path), "otherChannelId",
	    c->rt.other) == -1) {
		c->rt.leg[0] = '\0';
		action_soon(c, "dial_failed");
		return;
	}
	var_expand(c, a->caller_id, v, sizeof(v));
	if (v[0] != '\0')
		areq_path_add(path, sizeof(path), "callerId", v);
	areq_call(c, "POST", path, dial_cb);
	/* ARI's own timeout ends the ringing; this only guards it. */
	legs_timer(c, a->ms + 5000);
}

/* The bot's control request (botctl.c), once the leg exists. */
static void
legs_bot_control(struct call *c, struct json_object *leg)
{
	const struct act	*a = engine_act(c);
	struct bot_media	 m;

	if (a == NULL || a->kind != ACT_BOT)
		return;
	legs_bot_media(c, a, &m);
	if (botctl_start(c, &m, leg) == -1) {
		legs_release(c, 0);
		action_soon(c, "error");
	}
}

/*
 * The externalMedia POST is answered before its channel is in Stasis, and
 * addChannel refuses a channel that is not (422): the bridge waits for
 * both the answer and the leg's StasisStart, which come in either order.
 */
static void
bot_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	if (gen != c->gen) {
		action_quiet_cb(c, res, gen);
		return;
	}
	if (res->error != NULL) {
		c->rt.leg[0] = '\0';
		c->rt.leg_up = 0;
		engine_ari_failed(c, res);
		return;
	}
	c->rt.leg_up = 1;
	if (c->rt.leg_in)
		legs_bridge(c);
	legs_bot_control(c, res->body);
}

/* The action's keys, else the configuration's BOT_* (docs/flows.md). */
void
legs_bot_media(const struct call *c, const struct act *a,
    struct bot_media *m)
{
	const struct mai_config	*conf = &c->f->conf;

	m->host = a->target[0] != '\0' ? a->target : conf->bot_media;
	m->format = a->format[0] != '\0' ? a->format : conf->bot_format[0] ?
	    conf->bot_format : "ulaw";
	m->transport = a->transport[0] != '\0' ? a->transport :
	    conf->bot_transport[0] ? conf->bot_transport : "udp";
	m->control = a->control[0] != '\0' ? a->control : conf->bot_control;
	m->max_ms = a->ms;
}

/* The media contract of docs/flows.md: RTP/UDP or chan_websocket. */
void
legs_bot(struct call *c, const struct act *a)
{
	struct bot_media	 m;
	char			 path[PATH_LEN];

	legs_bot_media(c, a, &m);
	if (m.host[0] == '\0') {
		log_warnx("call id=%s flow=%s: bot has no media address (set "
		    "BOT_MEDIA_HOST or the action's host)", c->id,
		    c->flow->name);
		action_soon(c, "error");
		return;
	}
	call_obj_id(c, 'e', c->rt.leg, sizeof(c->rt.leg));
	c->rt.leg_up = c->rt.leg_in = 0;
	snprintf(path, sizeof(path), "/channels/externalMedia");
	if (areq_path_add(path, sizeof(path), "app", c->f->conf.ari_app) ==
	    -1 ||
	    areq_path_add(path, sizeof(path), "channelId", c->rt.leg) == -1 ||
	    areq_path_add(path, sizeof(path), "external_host", m.host) == -1 ||
	    areq_path_add(path, sizeof(path), "format", m.format) == -1 ||
	    areq_path_add(path, sizeof(path), "transport", m.transport) ==
	    -1 ||
	    areq_path_add(path, sizeof(path), "encapsulation",
	    strcmp(m.transport, "websocket") == 0 ? "none" : "rtp") == -1 ||
	    areq_path_add(path, sizeof(path), "direction", "both") == -1) {
		c->rt.leg[0] = '\0';
		action_soon(c, "error");
		return;
	}
	areq_call(c, "POST", path, bot_cb);
	if (a->ms > 0)
		legs_timer(c, a->ms);
}

/*
 * A restarted worker takes over the leg of the call's current action
 * (resume.c): one that is up but not in a bridge with the caller gets a
 * new bridge; a dialled leg still ringing is waited for again.  The
 * ringing guard and a bot's max_ms count from now.
 */
void
legs_adopt(struct call *c, const struct act *a, const char *leg,
    const char *bridge, int up)
{
	snprintf(c->rt.leg, sizeof(c->rt.leg), "%s", leg);
	snprintf(c->rt.bridge, sizeof(c->rt.bridge), "%s", bridge != NULL ?
	    bridge : "");
	/* Listed in our application: a bot leg's StasisStart came. */
	c->rt.leg_up = c->rt.leg_in = (uint8_t)up;
	if (!up) {
		legs_timer(c, a->ms + 5000);
		return;
	}
	if (a->kind == ACT_BOT && a->ms > 0)
		legs_timer(c, a->ms);
	if (bridge == NULL)
		legs_bridge(c);
	/* The bot goes on with the same conversation (by the leg's id). */
	if (a->kind == ACT_BOT)
		legs_bot_control(c, NULL);
}

/* StasisStart of a channel with our id for this caller. */
void
legs_started(struct call *c, const char *id)
{
	const struct act	*a = engine_act(c);
	char			 path[PATH_LEN];

	if (a == NULL || (a->kind != ACT_DIAL && a->kind != ACT_BOT) ||
	    strcmp(id, c->rt.leg) != 0) {
		/* A leg of a state already left: nobody wants it. */
		if (ari_rest_path(path, sizeof(path), "/channels/%s", id) != -1)
			areq_loose(c->f, "DELETE", path);
		return;
	}
	/*
	 * Asterisk answers POST externalMedia before the leg is in our
	 * application; addChannel before its StasisStart is refused (422
	 * "Channel not in Stasis application").  The bridge waits for both.
	 * An adopted bot leg (or its replayed StasisStart) has its bridge.
	 */
	if (a->kind == ACT_BOT) {
		c->rt.leg_in = 1;
		if (c->rt.leg_up && c->rt.bridge[0] == '\0')
			legs_bridge(c);
		return;
	}
	if (c->rt.leg_up) {
		/* Replayed after a restart: the leg was adopted up. */
		log_debug("call id=%s: leg=%s is up already", c->id, id);
		return;
	}
	c->rt.leg_up = 1;
	evtimer_del(c->ev_act);
	log_info("call id=%s flow=%s: dialled leg answered leg=%s", c->id,
	    c->flow->name, id);
	legs_bridge(c);
}

/* StasisEnd or ChannelDestroyed of a channel with our id. */
void
legs_ended(struct call *c, const char *id)
{
	const struct act	*a = engine_act(c);
	int			 up = c->rt.leg_up;
	char			 path[PATH_LEN];

	if (c->rt.leg[0] == '\0' || strcmp(id, c->rt.leg) != 0)
		return;
	c->rt.leg[0] = '\0';
	c->rt.leg_up = c->rt.leg_in = 0;
	evtimer_del(c->ev_act);
	if (c->rt.bridge[0] != '\0' && ari_rest_path(path, sizeof(path),
	    "/bridges/%s", c->rt.bridge) != -1)
		areq_call(c, "DELETE", path, NULL);
	c->rt.bridge[0] = '\0';
	if (a != NULL && a->kind == ACT_DIAL)
		engine_step_done(c, up ? "dial_ended" : "dial_failed", NULL);
	else if (a != NULL && a->kind == ACT_BOT)
		engine_step_done(c, "bot_ended", NULL);
}

/*
 * The bridge of the leg is gone though nobody destroyed it (found after
 * a WebSocket gap, resync.c): caller and leg are apart.  If the leg is
 * up, a new bridge joins them, as after a takeover (legs_adopt).
 */
void
legs_bridge_gone(struct call *c, const char *id)
{
	const struct act	*a = engine_act(c);

	if (strcmp(id, c->rt.bridge) != 0)
		return;
	c->rt.bridge[0] = '\0';
	if (a != NULL && c->rt.leg[0] != '\0' && c->rt.leg_up &&
	    (a->kind == ACT_DIAL || c->rt.leg_in))
		legs_bridge(c);
}

/* Ringing too long, or the bot's max_ms: hang the leg up; its end follows. */
void
legs_timeout(struct call *c)
{
	char	path[PATH_LEN];

	if (c->rt.leg[0] != '\0' && ari_rest_path(path, sizeof(path),
	    "/channels/%s", c->rt.leg) != -1)
		areq_call(c, "DELETE", path, NULL);
}

/*
 * Hang up the leg and destroy the bridge: in the call's order when the
 * call goes on, at once (nobody waits) when it ends.
 */
void
legs_release(struct call *c, int loose)
{
	char	path[PATH_LEN];

	if (c->rt.leg[0] != '\0' && ari_rest_path(path, sizeof(path),
	    "/channels/%s", c->rt.leg) != -1) {
		if (loose)
			areq_loose(c->f, "DELETE", path);
		else
			areq_call(c, "DELETE", path, NULL);
	}
	if (c->rt.bridge[0] != '\0' && ari_rest_path(path, sizeof(path),
	    "/bridges/%s", c->rt.bridge) != -1) {
		if (loose)
			areq_loose(c->f, "DELETE", path);
		else
			areq_call(c, "DELETE", path, NULL);
	}
	c->rt.leg[0] = c->rt.bridge[0] = '\0';
	c->rt.leg_up = c->rt.leg_in = 0;
}
