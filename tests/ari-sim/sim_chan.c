/*
 * Simulated channels: their state, their JSON (the shape of Asterisk 22's
 * ast_channel_snapshot_to_json), the channel events a Stasis application
 * gets, and the end of a channel's life.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define CALLS	(sim.calls)

/* ast_cause2str() for the causes the simulator produces or is given. */
static const struct {
	int		 cause;
	const char	*txt;
} cause_txt[] = {
	{ 1,	"Unallocated (unassigned) number" },
	{ 16,	"Normal Clearing" },
	{ 17,	"User busy" },
	{ 18,	"No user responding" },
	{ 19,	"User alerting, no answer" },
	{ 21,	"Call Rejected" },
	{ 26,	"Answered elsewhere" },
	{ 27,	"Destination out of order" },
	{ 28,	"Invalid number format" },
	{ 31,	"Normal, unspecified" },
	{ 34,	"Circuit/channel congestion" },
	{ 38,	"Network out of order" },
	{ 41,	"Temporary failure" },
	{ 58,	"Bearer capability not available" },
	{ 127,	"Interworking, unspecified" },
};

const char *
sim_cause_txt(int cause)
{
	size_t	i;

	for (i = 0; i < sizeof(cause_txt) / sizeof(cause_txt[0]); i++)
		if (cause_txt[i].cause == cause)
			return cause_txt[i].txt;
	return "Unknown";
}

static const char *
state_name(enum sim_chan_state st)
{
	switch (st) {
	case SIM_CS_DOWN:
		return "Down";
	case SIM_CS_RING:
		return "Ring";
	case SIM_CS_UP:
		return "Up";
	}
	return "Unknown";
}

struct sim_chan *
sim_chan_find(const char *id)
{
	struct sim_hent	*e = sim_tab_find(&CALLS.chans, id);

	return e == NULL ? NULL : (struct sim_chan *)((char *)e -
	    offsetof(struct sim_chan, h));
}

/*
 * A new channel named TECH/RES-%08x; id NULL gets "<time>.<n>" like
 * Asterisk's uniqueid.  NULL when the bound is reached or id is taken.
 */
struct sim_chan *
sim_chan_new(const char *id, const char *tech, const char *res)
{
	struct sim_chan	*c;
	uint64_t	 n;

	if (CALLS.nchans >= SIM_MAX_CHANNELS ||
	    (id != NULL && sim_chan_find(id) != NULL))
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	n = c->seq = ++CALLS.chan_seq;
	if (id != NULL)
		snprintf(c->id, sizeof(c->id), "%s", id);
	else
		snprintf(c->id, sizeof(c->id), "%lld.%llu",
		    (long long)time(NULL), (unsigned long long)n);
	snprintf(c->name, sizeof(c->name), "%s/%.*s-%08llx", tech,
	    (int)strcspn(res, "@/"), res, (unsigned long long)(n & 0xffffffff));
	TAILQ_INIT(&c->ops);
	c->priority = 1;
	c->dtmf_duration_ms = 100;
	sim_timestamp(c->created, sizeof(c->created));
	c->h.key = c->id;
	sim_tab_add(&CALLS.chans, &c->h);
	TAILQ_INSERT_TAIL(&CALLS.chan_list, c, all);
	CALLS.nchans++;
	return c;
}

static void
chan_free(struct sim_chan *c)
{
	int	i;

	sim_timer_cancel(&c->life);
	sim_timer_cancel(&c->dtmf_timer);
	sim_tab_del(&CALLS.chans, &c->h);
	TAILQ_REMOVE(&CALLS.chan_list, c, all);
	CALLS.nchans--;
	if (c->is_call)
		CALLS.calls_ended++;
	for (i = 0; i < c->nvars; i++)
		free(c->vars[i].value);
	free(c->vars);
	free(c);
}

/* "app" or "app,args": the Stasis() data the dialplan shows. */
static void
app_data(struct sim_buf *b, const struct sim_chan *c)
{
	char	data[SIM_APP_LEN + SIM_ARGS_LEN + 1];

	if (!c->dp_stasis)
		data[0] = '\0';
	else
		snprintf(data, sizeof(data), "%s%s%s", c->app,
		    c->args[0] ? "," : "", c->args);
	sb_str(b, data);
}

void
sim_chan_json(struct sim_buf *b, const struct sim_chan *c)
{
	sb_printf(b, "{\"id\": ");
	sb_str(b, c->id);
	sb_printf(b, ", \"name\": ");
	sb_str(b, c->name);
	sb_printf(b, ", \"state\": \"%s\", \"protocol_id\": \"\", "
	    "\"caller\": {\"name\": ", state_name(c->state));
	sb_str(b, c->cid_name);
	sb_printf(b, ", \"number\": ");
	sb_str(b, c->cid_num);
	sb_printf(b, "}, \"connected\": {\"name\": \"\", \"number\": \"\"}, "
	    "\"accountcode\": \"\", \"dialplan\": {\"context\": ");
	sb_str(b, c->context);
	sb_printf(b, ", \"exten\": ");
	sb_str(b, c->exten);
	sb_printf(b, ", \"priority\": %d, \"app_name\": \"%s\", "
	    "\"app_data\": ", c->priority, c->dp_stasis ? "Stasis" : "");
	app_data(b, c);
	sb_printf(b, "}, \"creationtime\": \"%s\", \"language\": \"en\"}",
	    c->created);
}

/* "channelvars" of the externalMedia answer: every variable set. */
void
sim_chan_vars_json(struct sim_buf *b, const struct sim_chan *c)
{
	int	i;

	sb_printf(b, "{");
	for (i = 0; i < c->nvars; i++) {
		sb_printf(b, "%s", i ? ", " : "");
		sb_str(b, c->vars[i].name);
		sb_printf(b, ": ");
		sb_str(b, c->vars[i].value);
	}
	sb_printf(b, "}");
}

/* The "type" and "timestamp" members every event carries. */
void
sim_ev_type(struct sim_buf *b, const char *type)
{
	char	ts[SIM_TS_LEN];

	sim_timestamp(ts, sizeof(ts));
	sb_printf(b, "\"type\": \"%s\", \"timestamp\": \"%s\"", type, ts);
}

void
sim_ev_start(struct sim_buf *b, const char *type)
{
	sb_reset(b);
	sb_printf(b, "{");
	sim_ev_type(b, type);
}

/*
 * Close the event for app and queue it to the socket holding app.  The
 * buffer is left as it was, so the same event can go to another app.
 */
void
sim_app_emit(const char *app, struct sim_buf *b, const char *stamp)
{
	struct sim_app	*a = sim_app_find(app);
	size_t		 keep = b->len;

	if (a == NULL || a->owner == NULL || b->err ||
	    !sim_filter_allows_json(a, b->p))
		return;
	sb_printf(b, ", \"asterisk_id\": \"" SIM_ASTERISK_ID "\", "
	    "\"application\": ");
	sb_str(b, app);
	sb_printf(b, "}");
	if (!b->err)
		sim_ws_send_stamped(a->owner, b->p, b->len, stamp);
	sb_truncate(b, keep);
}

/* A channel's events reach its app while subscribed, or subscribeAll. */
void
sim_chan_emit(const struct sim_chan *c, struct sim_buf *b)
{
	struct sim_app	*a = sim_app_find(c->app);

	if (a == NULL || a->owner == NULL)
		return;
	if (c->subscribed || a->owner->subscribe_all)
		sim_app_emit(c->app, b, NULL);
}

/* Event with just a channel: StasisEnd, ChannelStateChange. */
static void
emit_simple(struct sim_chan *c, const char *type)
{
	struct sim_buf	*b = &CALLS.ev;

	sim_ev_start(b, type);
	sb_printf(b, ", \"channel\": ");
	sim_chan_json(b, c);
	sim_chan_emit(c, b);
}

void
sim_chan_set_state(struct sim_chan *c, enum sim_chan_state st)
{
	if (c->state == st)
		return;
	c->state = st;
	emit_simple(c, "ChannelStateChange");
}

/* StasisStart with args; its write time starts the answer latency. */
void
sim_chan_stasis_start(struct sim_chan *c)
{
	struct sim_buf	*b = &CALLS.ev;
	char		 arg[SIM_ARGS_LEN];
	const char	*p = c->args;
	size_t		 n;

	c->in_stasis = c->subscribed = c->dp_stasis = 1;
	sim_ev_start(b, "StasisStart");
	sb_printf(b, ", \"args\": [");
	while (*p != '\0') {
		n = strcspn(p, ",");	/* < SIM_ARGS_LEN: args is bounded */
		memcpy(arg, p, n);
		arg[n] = '\0';
		sb_printf(b, "%s", p == c->args ? "" : ", ");
		sb_str(b, arg);
		p += n + (p[n] != '\0');
	}
	sb_printf(b, "], \"channel\": ");
	sim_chan_json(b, c);
	sim_app_emit(c->app, b, c->id);
}

/* Leave Stasis: media ends, the bridge is left, StasisEnd goes out. */
void
sim_chan_stasis_end(struct sim_chan *c, int hangup)
{
	if (!c->in_stasis)
		return;
	sim_media_chan_gone(c, hangup);
	if (c->bridge != NULL)
		sim_bridge_leave(c, 1);
	emit_simple(c, "StasisEnd");
	c->in_stasis = c->subscribed = 0;
}

/* The time a StasisStart frame left for the socket. */
void
sim_chan_stasis_written(const char *id)
{
	struct sim_chan	*c = sim_chan_find(id);

	if (c != NULL && c->stasis_written == 0)
		c->stasis_written = sim_now_us();
}

void
sim_chan_hangup_request(struct sim_chan *c, int cause, int soft)
{
	struct sim_buf	*b = &CALLS.ev;

	sb_reset(b);
	sb_printf(b, "{\"cause\": %d, %s", cause, soft ? "\"soft\": true, " :
	    "");
	sim_ev_type(b, "ChannelHangupRequest");
	sb_printf(b, ", \"channel\": ");
	sim_chan_json(b, c);
	sim_chan_emit(c, b);
}

/*
 * The end of a channel, in Asterisk's order: ChannelHangupRequest (when
 * asked for), media and bridge ended, StasisEnd, ChannelDestroyed.
 */
void
sim_chan_hangup(struct sim_chan *c, int cause, int flags)
{
	struct sim_buf	*b = &CALLS.ev;
	struct sim_chan	*peer = c->peer;

	/* a Local pair ends together: the other half is hung up after */
	if (peer != NULL)
		peer->peer = c->peer = NULL;
	if (flags & SIM_HANGUP_REQUEST)
		sim_chan_hangup_request(c, cause, flags & SIM_HANGUP_SOFT);
	sim_media_chan_gone(c, 1);
	if (c->bridge != NULL)
		sim_bridge_leave(c, 1);
	sim_chan_stasis_end(c, 1);
	c->dp_stasis = 0;
	sb_reset(b);
	sb_printf(b, "{");
	sim_ev_type(b, "ChannelDestroyed");
	sb_printf(b, ", \"cause\": %d, \"cause_txt\": ", cause);
	sb_str(b, sim_cause_txt(cause));
	sb_printf(b, ", \"channel\": ");
	sim_chan_json(b, c);
	sim_chan_emit(c, b);
	chan_free(c);
	if (peer != NULL)
		sim_chan_hangup(peer, cause, SIM_HANGUP_REQUEST);
}

/* /_sim/reset_calls: gone without a trace, no events. */
void
sim_chan_forget(struct sim_chan *c)
{
	if (c->peer != NULL)
		c->peer->peer = NULL;
	sim_media_chan_forget(c);
	if (c->bridge != NULL)
		sim_bridge_leave(c, 0);
	chan_free(c);
}

const char *
sim_chan_var(const struct sim_chan *c, const char *name)
{
	int	i;

	for (i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return c->vars[i].value;
	return NULL;
}

static int
var_store(struct sim_chan *c, const char *name, const char *value)
{
	struct sim_var	*v;
	char		*nv;
	int		 i;

	if (strlen(name) >= SIM_VAR_NAME_LEN ||
	    strlen(value) >= SIM_VAR_VALUE_LEN ||
	    (nv = strdup(value)) == NULL)
		return -1;
	for (i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0) {
			free(c->vars[i].value);
			c->vars[i].value = nv;
			return 0;
		}
	if (c->nvars == SIM_CHAN_MAX_VARS || (v = realloc(c->vars,
	    sizeof(*v) * (size_t)(c->nvars + 1))) == NULL) {
		free(nv);
		return -1;
	}
	c->vars = v;
	snprintf(v[c->nvars].name, sizeof(v[c->nvars].name), "%s", name);
	v[c->nvars++].value = nv;
	return 0;
}

/* Set a variable; emit is 0 for ones set before the app can see them. */
int
sim_chan_var_set(struct sim_chan *c, const char *name, const char *value,
    int emit)
{
	struct sim_buf	*b = &CALLS.ev;

	if (var_store(c, name, value) == -1)
		return -1;
	if (!emit)
		return 0;
	sb_reset(b);
	sb_printf(b, "{\"variable\": ");
	sb_str(b, name);
	sb_printf(b, ", \"value\": ");
	sb_str(b, value);
	sb_printf(b, ", ");
	sim_ev_type(b, "ChannelVarset");
	sb_printf(b, ", \"channel\": ");
	sim_chan_json(b, c);
	sim_chan_emit(c, b);
	return 0;
}

/* ChannelDtmfReceived for one digit. */
void
sim_chan_dtmf_event(struct sim_chan *c, char digit, int duration_ms)
{
	struct sim_buf	*b = &CALLS.ev;

	sim_ev_start(b, "ChannelDtmfReceived");
	sb_printf(b, ", \"digit\": \"%c\", \"duration_ms\": %d, "
	    "\"channel\": ", digit, duration_ms);
	sim_chan_json(b, c);
	sim_chan_emit(c, b);
}
