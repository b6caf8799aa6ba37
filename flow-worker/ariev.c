/*
 * ariev.c — ARI events, routed to the call they concern.
 *
 * Channels are the caller (the key of the call table) or one of our legs
 * (an id that starts with "mai-" and ends with its caller's id).
 * Playbacks and recordings name their channel in target_uri.  Anything
 * else, and events about channels that are not ours, are ignored: with
 * subscribeAll the WebSocket carries every channel on the system.  A
 * type handled here must be in ws-worker/evfilter.c's list, the only
 * types Asterisk is asked to send.
 */
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static const char *
ev_str(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, k1, &v))
		return NULL;
	if (k2 != NULL && !json_object_object_get_ex(v, k2, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static int
ev_ours(const char *id)
{
	return strncmp(id, FLOW_ID_PREFIX, strlen(FLOW_ID_PREFIX)) == 0;
}

/* The caller's exten and caller id, from a channel object. */
void
ariev_fill_call(struct call *c, struct json_object *ch)
{
	const char	*s;
	char		*dst[] = { c->exten, c->caller_num, c->caller_name };
	const char	*k1[] = { "dialplan", "caller", "caller" };
	const char	*k2[] = { "exten", "number", "name" };
	size_t		 i;

	for (i = 0; i < 3; i++)
		if ((s = ev_str(ch, k1[i], k2[i])) != NULL)
			snprintf(dst[i], FLOW_TEXT_MAX, "%s", s);
}

/* Is the channel (ch, as ARI lists it) in Stasis(ARI_APP[,args]) now? */
int
ariev_in_app(const struct flow *f, struct json_object *ch)
{
	const char	*app = ev_str(ch, "dialplan", "app_name");
	const char	*d = ev_str(ch, "dialplan", "app_data");
	size_t		 n = strlen(f->conf.ari_app);

	/* A broadcast call is ours once we claimed it (MAI_APP says). */
	if (app != NULL && strcmp(app, "StasisBroadcast") == 0)
		return claim_owns(f, ch);
	if (app == NULL || d == NULL || strcmp(app, "Stasis") != 0)
		return 0;
	return strncmp(d, f->conf.ari_app, n) == 0 &&
	    (d[n] == '\0' || d[n] == ',');
}

/* No flow for the call: the dialplan decides (docs/flows.md). */
static void
ariev_continue(struct flow *f, const char *id, const char *why)
{
	char	path[ARI_REST_URL_MAX];

	log_warnx("call id=%s: %s: it continues in the dialplan", id, why);
	if (ari_rest_path(path, sizeof(path), "/channels/%s/continue", id) !=
	    -1)
		areq_loose(f, "POST", path);
}

/* A new call, or one of our legs entering; rx_ns: when it was read. */
static void
ariev_stasis_start(struct flow *f, struct json_object *ev, uint64_t rx_ns)
{
	struct json_object	*ch = NULL, *args;
	const char		*id = ev_str(ev, "channel", "id"), *arg = NULL;
	struct call		*c;
	int			 n;

	if (id == NULL)
		return;
	json_object_object_get_ex(ev, "channel", &ch);
	if (ev_ours(id)) {
		if ((c = call_of_obj(f, id)) == NULL)
			ariev_orphan(f, id);
		else if (c->phase == CALL_RESUMING)
			reconcile_leg_event(c, id, ch);
		else
			legs_started(c, id);
		return;
	}
	if (call_find(f, id) != NULL) {
		log_debug("StasisStart for a call already running id=%s", id);
		return;
	}
	if (json_object_object_get_ex(ev, "args", &args) &&
	    json_object_array_length(args) > 0)
		arg = json_object_get_string(json_object_array_get_idx(args, 0));
	if (arg != NULL && strcmp(arg, ADOPT_APP_ARGS) == 0) {
		adopt_started(f, id, ch);
		return;
	}
	if (f->fs == NULL) {
		ariev_continue(f, id, "no call flows loaded");
		return;
	}
	n = flowset_route(f->fs, ev_str(ch, "dialplan", "exten"), arg);
	if (n == -1) {
		ariev_continue(f, id, "no route for its extension and no "
		    "default route");
		return;
	}
	if ((c = call_new(f, id)) == NULL) {
		ariev_continue(f, id, "too many calls or id too long");
		return;
	}
	c->stasis_ns = rx_ns;
	latency_trace_start(c, ev, rx_ns);
	ariev_fill_call(c, ch);
	c->fs = f->fs;
	c->fs->refs++;
	f->counters.v[MAI_CNT_FLOW_CALLS_STARTED]++;
	engine_start(c, &c->fs->flows[n], c->fs->flows[n].initial, "start");
	if ((arg = ev_str(ch, "dialplan", "app_name")) != NULL &&
	    strcmp(arg, "StasisBroadcast") == 0)
		claim_started(c);
}

/* A channel of ours whose caller is not here (any more): hang it up. */
void
ariev_orphan(struct flow *f, const char *id)
{
	char	path[ARI_REST_URL_MAX];

	log_info("leg without its call id=%s: hanging it up", id);
	if (ari_rest_path(path, sizeof(path), "/channels/%s", id) != -1)
		areq_loose(f, "DELETE", path);
}

/* StasisEnd, ChannelDestroyed, ChannelHangupRequest. */
static void
ariev_channel_gone(struct flow *f, struct json_object *ev, const char *type)
{
	const char	*id = ev_str(ev, "channel", "id");
	struct call	*c;

	if (id == NULL)
		return;
	if (ev_ours(id)) {
		/* A hangup request is not the end yet: wait for it. */
		if (strcmp(type, "ChannelHangupRequest") == 0 ||
		    (c = call_of_obj(f, id)) == NULL)
			return;
		if (c->phase == CALL_RESUMING)
			reconcile_leg_event(c, id, NULL);
		else
			legs_ended(c, id);
		return;
	}
	/* Listed in Stasis from its hangup request to its end: hungup.c. */
	if (strcmp(type, "ChannelHangupRequest") != 0)
		hungup_forget(f, id);
	if ((c = call_find(f, id)) == NULL)
		return;
	if (strcmp(type, "ChannelHangupRequest") == 0)
		hungup_note(f, id);
	call_end(c, type);
}

static void
ariev_dtmf(struct flow *f, struct json_object *ev)
{
	const char	*id = ev_str(ev, "channel", "id");
	const char	*d = ev_str(ev, "digit", NULL);
	struct call	*c;

	if (id == NULL || d == NULL || d[0] == '\0' ||
	    (c = call_find(f, id)) == NULL)
		return;
	action_dtmf(c, d[0]);
}

/* PlaybackFinished, RecordingFinished, RecordingFailed. */
static void
ariev_media(struct flow *f, struct json_object *ev, const char *obj,
    const char *idkey, int rec)
{
	const char	*target = ev_str(ev, obj, "target_uri");
	const char	*id = ev_str(ev, obj, idkey);
	const char	*state = ev_str(ev, obj, "state");
	struct call	*c;
	int		 failed;

	if (target == NULL || id == NULL ||
	    strncmp(target, "channel:", 8) != 0 ||
	    (c = call_find(f, target + 8)) == NULL)
		return;
	failed = state != NULL && strcmp(state, "failed") == 0;
	if (rec)
		action_recording_done(c, id, failed);
	else
		action_playback_done(c, id, failed);
}

/* One ARI event; rx_ns: when this process read it. */
void
ariev_handle(struct flow *f, struct json_object *ev, uint64_t rx_ns)
{
	const char	*type = ev_str(ev, "type", NULL);

	if (type == NULL)
		return;
	if (strcmp(type, "StasisStart") == 0)
		ariev_stasis_start(f, ev, rx_ns);
	else if (strcmp(type, "CallBroadcast") == 0 &&
	    ev_str(ev, "channel", "id") != NULL)
		claim_broadcast(f, ev_str(ev, "channel", "id"), rx_ns);
	else if (strcmp(type, "StasisEnd") == 0 ||
	    strcmp(type, "ChannelDestroyed") == 0 ||
	    strcmp(type, "ChannelHangupRequest") == 0)
		ariev_channel_gone(f, ev, type);
	else if (strcmp(type, "ChannelDtmfReceived") == 0)
		ariev_dtmf(f, ev);
	else if (strcmp(type, "PlaybackFinished") == 0)
		ariev_media(f, ev, "playback", "id", 0);
	else if (strcmp(type, "RecordingFinished") == 0 ||
	    strcmp(type, "RecordingFailed") == 0)
		ariev_media(f, ev, "recording", "name", 1);
}
