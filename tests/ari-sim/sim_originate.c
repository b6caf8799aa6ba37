/*
 * Channels that ARI creates: POST /channels (originate, with or without
 * an id) and POST /channels/externalMedia, and the timer that carries a
 * channel on through its life: answered into Stasis, failed, or hung up
 * by the dialplan after continue.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

#define CALLS	(sim.calls)
#define ORIGINATE_TIMEOUT_DEF	30	/* s, ARI's default "timeout" */

/* The answered leg enters Stasis(app,args), as ari_originate_dial(). */
static void
originate_answered(struct sim_chan *c)
{
	struct sim_app	*a = sim_app_find(c->app);

	if (c->peer != NULL)	/* the ;2 half's dialplan answered */
		sim_chan_set_state(c->peer, SIM_CS_UP);
	sim_chan_set_state(c, SIM_CS_UP);
	if (a == NULL) {
		/* Stasis() fails for an app nobody holds: the call ends */
		sim_chan_hangup(c, 16, 0);
		return;
	}
	sim_chan_stasis_start(c);
}

void
sim_chan_life(struct sim_timer *t)
{
	struct sim_chan	*c = (struct sim_chan *)((char *)t -
	    offsetof(struct sim_chan, life));
	enum sim_chan_next next = c->next;

	c->next = SIM_NEXT_NONE;
	switch (next) {
	case SIM_NEXT_STASIS:
		originate_answered(c);
		break;
	case SIM_NEXT_FAIL:
		sim_chan_hangup(c, c->fail_cause, 0);
		break;
	case SIM_NEXT_DESTROY:
		sim_chan_hangup(c, 16, 0);
		break;
	case SIM_NEXT_HANGUP:
		sim_chan_hangup(c, c->fail_cause, 0);
		break;
	case SIM_NEXT_NONE:
		break;
	}
}

/*
 * /_sim/answer?channel=ID: the far end of an originate that still rings
 * picks up now, as if its answer delay had passed.
 */
int
sim_ctl_answer(struct lws *wsi, struct sim_req *r)
{
	const char	*id = sim_arg(r, "channel");
	struct sim_chan	*c;

	if (id == NULL || (c = sim_chan_find(id)) == NULL)
		return sim_ctl_fail(wsi, 400, "no such channel");
	if (c->next != SIM_NEXT_STASIS)
		return sim_ctl_fail(wsi, 400, "channel is not ringing");
	sim_timer_cancel(&c->life);
	c->next = SIM_NEXT_NONE;
	originate_answered(c);
	return sim_ctl_ok(wsi, ",\"answered\":1");
}

static void
life_arm(struct sim_chan *c, enum sim_chan_next next, long long ms)
{
	c->next = next;
	sim_timer_arm(&c->life, (uint64_t)ms * 1000, sim_chan_life);
}

/* ast_callerid_parse() for the common forms: "Name <num>" or "num". */
static void
callerid_parse(struct sim_chan *c, const char *cid)
{
	const char	*lt, *gt;
	size_t		 n;

	if (cid == NULL || cid[0] == '\0')
		return;
	lt = strchr(cid, '<');
	if (lt != NULL && (gt = strchr(lt, '>')) != NULL) {
		n = (size_t)(lt - cid);
		while (n > 0 && (cid[n - 1] == ' ' || cid[n - 1] == '"'))
			n--;
		snprintf(c->cid_name, sizeof(c->cid_name), "%.*s", (int)n,
		    cid + (cid[0] == '"'));
		snprintf(c->cid_num, sizeof(c->cid_num), "%.*s",
		    (int)(gt - lt - 1), lt + 1);
	} else
		snprintf(c->cid_num, sizeof(c->cid_num), "%s", cid);
}

static void
set_body_var(const char *name, const char *value, void *arg)
{
	sim_chan_var_set(arg, name, value, 0);
}

/*
 * The checks of ari_channels_handle_originate_with_id(), in order, and
 * the endpoint split into tech and res.  NULL when they pass, else the
 * message (400 unless *st says otherwise).
 */
static const char *
originate_check(const struct sim_req *r, const char *id, char *tech,
    char *res, unsigned int *st)
{
	const char	*ep = sim_arg(r, "endpoint"), *app = sim_arg(r, "app");
	const char	*ext = sim_arg(r, "extension"), *slash;

	*st = 400;
	if (id != NULL && strlen(id) >= SIM_ID_LEN)
		return "Uniqueid length exceeds maximum of 149";
	if (ep == NULL || ep[0] == '\0')
		return "Endpoint must be specified";
	if (sim_arg(r, "originator") && sim_arg(r, "formats"))
		return "Originator and formats can't both be specified";
	if ((slash = strchr(ep, '/')) == NULL || slash == ep ||
	    slash[1] == '\0' || (size_t)(slash - ep) >= SIM_DP_LEN)
		return "Invalid endpoint specified";
	snprintf(tech, SIM_DP_LEN, "%.*s", (int)(slash - ep), ep);
	snprintf(res, SIM_NAME_LEN, "%s", slash + 1);
	if ((app == NULL || app[0] == '\0') && (ext == NULL || !ext[0]))
		return "Application or extension must be specified";
	if (app != NULL && strlen(app) >= SIM_APP_LEN)
		return "Invalid application";
	*st = 409;
	if (id != NULL && sim_chan_find(id) != NULL)
		return "Channel with given unique ID already exists";
	return NULL;
}

/*
 * What the far end does, by resource: "busy" (cause 17) and "congestion"
 * (34) fail after the answer delay, "noanswer" rings until timeout (19),
 * anything else answers after the answer delay.
 */
static void
originate_fate(struct sim_chan *c, const struct sim_req *r, const char *res)
{
	long long	 delay = CALLS.media.answer_delay_ms, tmo;
	size_t		 n = strcspn(res, "@/");
	const char	*app = sim_arg(r, "app");

	if (n == 4 && strncasecmp(res, "busy", 4) == 0)
		c->fail_cause = 17;
	else if (n == 10 && strncasecmp(res, "congestion", 10) == 0)
		c->fail_cause = 34;
	else if (n == 8 && strncasecmp(res, "noanswer", 8) == 0) {
		if (sim_arg_num(r, "timeout", ORIGINATE_TIMEOUT_DEF, -1,
		    0x7fffffffLL, &tmo) == -1 || tmo == 0)
			tmo = ORIGINATE_TIMEOUT_DEF;
		c->fail_cause = 19;
		if (tmo > 0)
			life_arm(c, SIM_NEXT_FAIL, tmo * 1000);
		return;
	}
	if (c->fail_cause != 0)
		life_arm(c, SIM_NEXT_FAIL, delay);
	else if (app != NULL && app[0] != '\0')
		life_arm(c, SIM_NEXT_STASIS, delay);
	else	/* dialplan only: it runs and hangs up, unseen */
		life_arm(c, SIM_NEXT_DESTROY, delay + CALLS.media.continue_ms);
}

static void
originate_fill(struct sim_chan *c, const struct sim_req *r)
{
	const char	*app = sim_arg(r, "app"), *args = sim_arg(r, "appArgs");
	const char	*ext = sim_arg(r, "extension");
	const char	*ctx = sim_arg(r, "context");
	long long	 prio;

	c->state = SIM_CS_DOWN;
	snprintf(c->context, sizeof(c->context), "%s",
	    ext && ext[0] && ctx && ctx[0] ? ctx : "default");
	snprintf(c->exten, sizeof(c->exten), "%s", ext && ext[0] ? ext : "s");
	if (ext && ext[0] && sim_arg_num(r, "priority", 1, 1, 0x7fffffffLL,
	    &prio) == 0)
		c->priority = (int)prio;
	callerid_parse(c, sim_arg(r, "callerId"));
	if (app != NULL && app[0] != '\0') {
		snprintf(c->app, sizeof(c->app), "%s", app);
		snprintf(c->args, sizeof(c->args), "%s", args ? args : "");
		c->subscribed = 1;	/* stasis_app_subscribe_channel() */
	}
	sim_req_variables(r, set_body_var, c);
}

/*
 * Local/EXTEN@CONTEXT is a pair: ;1 is the originated channel, ;2 runs the
 * dialplan (id otherChannelId).  Both are subscribed to the app, as
 * stasis_app_subscribe_channel() does for the Local peer.  NULL: no room.
 */
static struct sim_chan *
local_pair(struct sim_chan *c, const struct sim_req *r, const char *res)
{
	const char	*oid = sim_arg(r, "otherChannelId"), *at;
	struct sim_chan	*two;

	if (oid != NULL && (oid[0] == '\0' || strlen(oid) >= SIM_ID_LEN))
		oid = NULL;
	if ((two = sim_chan_new(oid, "Local", res)) == NULL)
		return NULL;
	snprintf(c->name, sizeof(c->name), "Local/%.120s-%08llx;1", res,
	    (unsigned long long)(c->seq & 0xffffffff));
	snprintf(two->name, sizeof(two->name), "Local/%.120s-%08llx;2", res,
	    (unsigned long long)(c->seq & 0xffffffff));
	at = strchr(res, '@');
	snprintf(two->exten, sizeof(two->exten), "%.*s",
	    (int)(at ? at - res : (long)strlen(res)), res);
	snprintf(two->context, sizeof(two->context), "%s",
	    at ? at + 1 : "default");
	two->state = SIM_CS_RING;
	snprintf(two->app, sizeof(two->app), "%s", c->app);
	two->subscribed = c->subscribed;
	c->peer = two;
	two->peer = c;
	return two;
}

/* POST /channels and POST /channels/{channelId}: 200 with the channel. */
int
sim_chan_originate(struct lws *wsi, struct sim_req *r, const char *path_id)
{
	char		 tech[SIM_DP_LEN], res[SIM_NAME_LEN];
	const char	*id = path_id ? path_id : sim_arg(r, "channelId"), *err;
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	struct sim_chan	*c;
	unsigned int	 st;
	int		 rc;

	sim_rest_count(SIM_REST_ORIGINATE);
	if (id != NULL && id[0] == '\0')
		id = NULL;
	if ((err = originate_check(r, id, tech, res, &st)) != NULL)
		return sim_http_msg(wsi, st, err);
	if ((c = sim_chan_new(id, tech, res)) == NULL)
		return sim_http_msg(wsi, 500, "Allocation failed");
	originate_fill(c, r);
	if (strcmp(tech, "Local") == 0 && local_pair(c, r, res) == NULL) {
		sim_chan_forget(c);
		return sim_http_msg(wsi, 409, sim_arg(r, "otherChannelId") ?
		    "Channel with given unique ID already exists" :
		    "Allocation failed");
	}
	sim_chan_json(&b, c);
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	originate_fate(c, r, res);
	return rc;
}

/*
 * Checks of ast_ari_channels_external_media() and the defaults of
 * transport and encapsulation.  NULL when they pass, else a 400 message.
 */
static const char *
xmedia_check(const struct sim_req *r, const char **tr, const char **enc)
{
	const char	*app = sim_arg(r, "app"), *fmt = sim_arg(r, "format");
	const char	*host = sim_arg(r, "external_host");
	const char	*dir = sim_arg(r, "direction"), *colon;

	*tr = sim_arg(r, "transport");
	*enc = sim_arg(r, "encapsulation");
	if (*tr == NULL || (*tr)[0] == '\0')
		*tr = "udp";
	if (*enc == NULL || (*enc)[0] == '\0')
		*enc = strcasecmp(*tr, "websocket") == 0 ? "none" : "rtp";
	if (app == NULL || app[0] == '\0' || strlen(app) >= SIM_APP_LEN)
		return "app cannot be empty";
	if (host == NULL || host[0] == '\0' || strlen(host) >= SIM_DP_LEN)
		return "external_host cannot be empty";
	colon = strrchr(host, ':');
	if (strcasecmp(*tr, "websocket") != 0 && (colon == NULL ||
	    colon == host || colon[1] == '\0'))
		return "external_host must be <host>:<port>";
	if (fmt == NULL || fmt[0] == '\0')
		return "format cannot be empty";
	if (dir != NULL && dir[0] != '\0' && strcmp(dir, "both") != 0)
		return "Unsupported direction: only 'both'";
	return NULL;
}

/* Channel technology for encapsulation+transport; NULL: unsupported. */
static const char *
xmedia_tech(const struct sim_req *r, const char *tr, const char *enc)
{
	if (strcasecmp(enc, "rtp") == 0 && strcasecmp(tr, "udp") == 0)
		return "UnicastRTP";
	if (strcasecmp(enc, "audiosocket") == 0 && strcasecmp(tr, "tcp") == 0)
		return "AudioSocket";
	if (strcasecmp(enc, "none") == 0 && strcasecmp(tr, "websocket") == 0)
		return "WebSocket";
	(void)r;
	return NULL;
}

/* The variables the channel driver sets, seen in "channelvars". */
static void
xmedia_vars(struct sim_chan *c, const char *tech, const struct sim_req *r)
{
	const char	*ct = sim_arg(r, "connection_type");
	char		 port[16];

	if (strcmp(tech, "UnicastRTP") == 0) {
		if (CALLS.rtp_port < 10000 || CALLS.rtp_port >= 20000)
			CALLS.rtp_port = 10000;
		snprintf(port, sizeof(port), "%d", CALLS.rtp_port);
		CALLS.rtp_port += 2;
		sim_chan_var_set(c, "UNICASTRTP_LOCAL_ADDRESS", "127.0.0.1", 0);
		sim_chan_var_set(c, "UNICASTRTP_LOCAL_PORT", port, 0);
	} else if (strcmp(tech, "WebSocket") == 0 && ct != NULL &&
	    strcmp(ct, "server") == 0)
		sim_chan_var_set(c, "MEDIA_WEBSOCKET_CONNECTION_ID", c->id, 0);
}

static int
xmedia_reply(struct lws *wsi, struct sim_chan *c)
{
	struct sim_buf	b = { NULL, 0, 0, 0 };
	int		rc;

	sim_chan_json(&b, c);
	if (c->nvars > 0) {
		sb_truncate(&b, b.len - 1);
		sb_printf(&b, ", \"channelvars\": ");
		sim_chan_vars_json(&b, c);
		sb_printf(&b, "}");
	}
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

/*
 * POST /channels/externalMedia: answered at once, then StasisStart after
 * xmedia_stasis_ms (0: the next loop turn).  Asterisk, too, answers
 * before the channel is in Stasis.
 */
int
sim_chan_external_media(struct lws *wsi, struct sim_req *r)
{
	const char	*tr, *enc, *tech, *data = sim_arg(r, "data");
	const char	*id = sim_arg(r, "channelId"), *err;
	struct sim_chan	*c;
	int		 rc;

	sim_rest_count(SIM_REST_EXTERNAL_MEDIA);
	if ((err = xmedia_check(r, &tr, &enc)) != NULL)
		return sim_http_msg(wsi, 400, err);
	if ((tech = xmedia_tech(r, tr, enc)) == NULL)
		return sim_http_msg(wsi, 501,
		    "The encapsulation and/or transport is not supported");
	if (strcmp(tech, "AudioSocket") == 0 && (data == NULL || !data[0]))
		return sim_http_msg(wsi, 400, "data can not be empty");
	if (id != NULL && (id[0] == '\0' || strlen(id) >= SIM_ID_LEN))
		id = NULL;
	if (id != NULL && sim_chan_find(id) != NULL)
		return sim_http_msg(wsi, 409,
		    "Channel with given unique ID already exists");
	if ((c = sim_chan_new(id, tech, sim_arg(r, "external_host"))) == NULL)
		return sim_http_msg(wsi, 500, "Allocation failed");
	c->state = SIM_CS_DOWN;
	snprintf(c->context, sizeof(c->context), "default");
	snprintf(c->exten, sizeof(c->exten), "s");
	snprintf(c->app, sizeof(c->app), "%s", sim_arg(r, "app"));
	snprintf(c->args, sizeof(c->args), "%s", data ? data : "");
	c->subscribed = 1;
	xmedia_vars(c, tech, r);
	sim_req_variables(r, set_body_var, c);
	rc = xmedia_reply(wsi, c);
	life_arm(c, SIM_NEXT_STASIS, CALLS.media.xmedia_stasis_ms);
	return rc;
}
