/*
 * Simulated Stasis bridges: POST/GET/DELETE /bridges, addChannel and
 * removeChannel, with the bridge events of Asterisk 22 (BridgeCreated,
 * ChannelEnteredBridge, ChannelLeftBridge, BridgeDestroyed).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

struct sim_bridge *
sim_bridge_find(const char *id)
{
	struct sim_hent	*e = sim_tab_find(&CALLS.bridges, id);

	return e == NULL ? NULL : (struct sim_bridge *)((char *)e -
	    offsetof(struct sim_bridge, h));
}

/* ast_bridge_snapshot_to_json() */
void
sim_bridge_json(struct sim_buf *b, const struct sim_bridge *br)
{
	const struct sim_chan	*c;
	const char		*tech;

	if (strcmp(br->type, "holding") == 0)
		tech = "holding_bridge";
	else
		tech = br->nchans > 2 ? "softmix" : "simple_bridge";
	sb_printf(b, "{\"id\": ");
	sb_str(b, br->id);
	sb_printf(b, ", \"technology\": \"%s\", \"bridge_type\": \"%s\", "
	    "\"bridge_class\": \"stasis\", \"creator\": \"Stasis\", "
	    "\"name\": ", tech, br->type);
	sb_str(b, br->name);
	sb_printf(b, ", \"channels\": [");
	TAILQ_FOREACH(c, &br->chans, member) {
		sb_printf(b, "%s", c == TAILQ_FIRST(&br->chans) ? "" : ", ");
		sb_str(b, c->id);
	}
	sb_printf(b, "], \"creationtime\": \"%s\", \"video_mode\": "
	    "\"talker\"}", br->created);
}

/* Apps that see a bridge: subscribeAll ones and those of its members. */
static int
app_sees(const struct sim_app *a, const struct sim_bridge *br,
    const char *extra)
{
	const struct sim_chan	*c;

	if (a->owner == NULL)
		return 0;
	if (a->owner->subscribe_all ||
	    (extra != NULL && strcmp(extra, a->name) == 0))
		return 1;
	TAILQ_FOREACH(c, &br->chans, member)
		if (c->subscribed && strcmp(c->app, a->name) == 0)
			return 1;
	return 0;
}

static void
bridge_emit(const struct sim_bridge *br, struct sim_buf *b,
    const char *extra_app)
{
	struct sim_app	*a;

	for (a = sim.apps; a != NULL; a = a->next)
		if (app_sees(a, br, extra_app))
			sim_app_emit(a->name, b, NULL);
}

static void
bridge_event(const struct sim_bridge *br, const char *type,
    const struct sim_chan *c)
{
	struct sim_buf	*b = &CALLS.ev;

	sim_ev_start(b, type);
	sb_printf(b, ", \"bridge\": ");
	sim_bridge_json(b, br);
	if (c != NULL) {
		sb_printf(b, ", \"channel\": ");
		sim_chan_json(b, c);
	}
	bridge_emit(br, b, c != NULL && c->subscribed ? c->app : NULL);
}

void
sim_bridge_enter(struct sim_bridge *br, struct sim_chan *c)
{
	if (c->bridge == br)
		return;
	if (c->bridge != NULL)
		sim_bridge_leave(c, 1);
	TAILQ_INSERT_TAIL(&br->chans, c, member);
	br->nchans++;
	c->bridge = br;
	bridge_event(br, "ChannelEnteredBridge", c);
}

void
sim_bridge_leave(struct sim_chan *c, int emit)
{
	struct sim_bridge	*br = c->bridge;

	TAILQ_REMOVE(&br->chans, c, member);
	br->nchans--;
	c->bridge = NULL;
	if (emit)
		bridge_event(br, "ChannelLeftBridge", c);
}

static void
bridge_free(struct sim_bridge *br, int emit)
{
	while (!TAILQ_EMPTY(&br->chans))
		sim_bridge_leave(TAILQ_FIRST(&br->chans), emit);
	if (emit)
		bridge_event(br, "BridgeDestroyed", NULL);
	sim_tab_del(&CALLS.bridges, &br->h);
	TAILQ_REMOVE(&CALLS.bridge_list, br, all);
	CALLS.nbridges--;
	free(br);
}

void
sim_bridge_forget(struct sim_bridge *br)
{
	bridge_free(br, 0);
}

/* "mixing,dtmf_events": holding wins, unknown attributes are ignored. */
static const char *
bridge_type(const char *types)
{
	const char	*p;
	size_t		 n;

	for (p = types ? types : ""; *p != '\0'; p += n + (p[n] != '\0')) {
		n = strcspn(p, ",");
		if (n == 7 && strncmp(p, "holding", 7) == 0)
			return "holding";
	}
	return "mixing";
}

/* POST /bridges and POST /bridges/{bridgeId} */
static int
bridge_create(struct lws *wsi, struct sim_req *r, const char *path_id)
{
	char			 msg[SIM_ID_LEN + 64];
	const char		*id = path_id ? path_id : sim_arg(r, "bridgeId");
	const char		*name = sim_arg(r, "name");
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_bridge	*br;
	int			 rc;

	sim_rest_count(SIM_REST_BRIDGE_CREATE);
	if (id != NULL && id[0] != '\0' && sim_bridge_find(id) != NULL) {
		snprintf(msg, sizeof(msg), "Bridge with id '%s' already "
		    "exists", id);
		return sim_http_msg(wsi, 409, msg);
	}
	if (CALLS.nbridges >= SIM_MAX_BRIDGES ||
	    (id != NULL && strlen(id) >= SIM_ID_LEN) ||
	    (name != NULL && strlen(name) >= SIM_NAME_LEN) ||
	    (br = calloc(1, sizeof(*br))) == NULL)
		return sim_http_msg(wsi, 500, "Unable to create bridge");
	TAILQ_INIT(&br->chans);
	if (id != NULL && id[0] != '\0')
		snprintf(br->id, sizeof(br->id), "%s", id);
	else {
		CALLS.uuid_seq++;
		snprintf(br->id, sizeof(br->id), "%08llx-0000-4000-8000-"
		    "%012llx", (unsigned long long)CALLS.uuid_seq & 0xffffffff,
		    (unsigned long long)CALLS.uuid_seq);
	}
	snprintf(br->name, sizeof(br->name), "%s", name ? name : "");
	snprintf(br->type, sizeof(br->type), "%s",
	    bridge_type(sim_arg(r, "type")));
	sim_timestamp(br->created, sizeof(br->created));
	br->h.key = br->id;
	sim_tab_add(&CALLS.bridges, &br->h);
	TAILQ_INSERT_TAIL(&CALLS.bridge_list, br, all);
	CALLS.nbridges++;
	sim_bridge_json(&b, br);
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	bridge_event(br, "BridgeCreated", NULL);
	return rc;
}

/*
 * control_list_create(): every channel named must be in Stasis.  Fills
 * chans and returns how many, or -1 with the message and its status.
 */
static int
bridge_members(const struct sim_req *r, struct sim_chan **chans,
    const char **err, unsigned int *st)
{
	char		 buf[SIM_QBUF_LEN];
	const char	*ids[SIM_BRIDGE_MAX_CHANNELS];
	int		 n, i, cnt = 0;

	n = sim_arg_list(r, "channel", buf, sizeof(buf), ids,
	    SIM_BRIDGE_MAX_CHANNELS);
	for (i = 0; i < n; i++) {
		if (ids[i][0] == '\0')
			continue;
		*st = 400;
		*err = "Channel not found";
		if ((chans[cnt] = sim_chan_find(ids[i])) == NULL)
			return -1;
		*st = 422;
		*err = "Channel not in Stasis application";
		if (!chans[cnt]->in_stasis)
			return -1;
		cnt++;
	}
	*st = 400;
	*err = "Missing parameter channel";
	return cnt == 0 ? -1 : cnt;
}

static int
recording_now(const struct sim_chan *c)
{
	const struct sim_op	*op = TAILQ_FIRST(&c->ops);

	return op != NULL && op->running && op->kind == SIM_OP_RECORDING;
}

static int
bridge_add(struct lws *wsi, struct sim_req *r, struct sim_bridge *br)
{
	struct sim_chan	*chans[SIM_BRIDGE_MAX_CHANNELS];
	char		 msg[SIM_ID_LEN + 64];
	const char	*err;
	unsigned int	 st;
	int		 n, i;

	if ((n = bridge_members(r, chans, &err, &st)) == -1)
		return sim_http_msg(wsi, st, err);
	if (br->nchans + n > SIM_BRIDGE_MAX_CHANNELS)
		return sim_http_msg(wsi, 409, "Bridge full (simulator bound)");
	for (i = 0; i < n; i++)
		if (recording_now(chans[i])) {
			snprintf(msg, sizeof(msg), "Channel %s currently "
			    "recording", chans[i]->id);
			return sim_http_msg(wsi, 409, msg);
		}
	for (i = 0; i < n; i++)
		sim_bridge_enter(br, chans[i]);
	return sim_http_reply(wsi, 204, NULL, 0, 0);
}

static int
bridge_remove(struct lws *wsi, struct sim_req *r, struct sim_bridge *br)
{
	struct sim_chan	*chans[SIM_BRIDGE_MAX_CHANNELS];
	const char	*err;
	unsigned int	 st;
	int		 n, i;

	if ((n = bridge_members(r, chans, &err, &st)) == -1)
		return sim_http_msg(wsi, st, err);
	for (i = 0; i < n; i++)
		if (chans[i]->bridge != br)
			return sim_http_msg(wsi, 422,
			    "Channel not in this bridge");
	for (i = 0; i < n; i++)
		sim_bridge_leave(chans[i], 1);
	return sim_http_reply(wsi, 204, NULL, 0, 0);
}

static int
bridge_list(struct lws *wsi)
{
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_bridge	*br;
	int			 rc;

	sb_printf(&b, "[");
	TAILQ_FOREACH(br, &CALLS.bridge_list, all) {
		sb_printf(&b, "%s", br == TAILQ_FIRST(&CALLS.bridge_list) ?
		    "" : ", ");
		sim_bridge_json(&b, br);
	}
	sb_printf(&b, "]");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

/* /bridges/{id}: GET, DELETE, POST (create with id). */
static int
bridge_one(struct lws *wsi, struct sim_req *r, const char *id)
{
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_bridge	*br;
	int			 rc;

	if (r->method == LWSHUMETH_POST)
		return bridge_create(wsi, r, id);
	sim_rest_count(r->method == LWSHUMETH_DELETE ?
	    SIM_REST_BRIDGE_DESTROY : SIM_REST_OTHER);
	if (r->method != LWSHUMETH_GET && r->method != LWSHUMETH_DELETE)
		return sim_http_msg(wsi, 405, "Invalid method");
	if ((br = sim_bridge_find(id)) == NULL)
		return sim_http_msg(wsi, 404, "Bridge not found");
	if (r->method == LWSHUMETH_DELETE) {
		rc = sim_http_reply(wsi, 204, NULL, 0, 0);
		bridge_free(br, 1);
		return rc;
	}
	sim_bridge_json(&b, br);
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

/* /bridges/{id}/addChannel and /bridges/{id}/removeChannel */
static int
bridge_op(struct lws *wsi, struct sim_req *r, char seg[][SIM_ID_LEN])
{
	struct sim_bridge	*br;
	int			 add = strcmp(seg[1], "addChannel") == 0;

	sim_rest_count(add ? SIM_REST_BRIDGE_ADD : SIM_REST_OTHER);
	if (!add && strcmp(seg[1], "removeChannel") != 0)
		return sim_http_msg(wsi, 404, "Not found");
	if (r->method != LWSHUMETH_POST)
		return sim_http_msg(wsi, 405, "Invalid method");
	if ((br = sim_bridge_find(seg[0])) == NULL)
		return sim_http_msg(wsi, 404, "Bridge not found");
	return add ? bridge_add(wsi, r, br) : bridge_remove(wsi, r, br);
}

/* Everything under /ari/bridges. */
int
sim_bridge_route(struct lws *wsi, struct sim_req *r,
    char seg[][SIM_ID_LEN], int nseg)
{
	if (nseg == 0 && r->method == LWSHUMETH_POST)
		return bridge_create(wsi, r, NULL);
	if (nseg == 1)
		return bridge_one(wsi, r, seg[0]);
	if (nseg == 2)
		return bridge_op(wsi, r, seg);
	sim_rest_count(SIM_REST_OTHER);
	if (nseg == 0)
		return r->method == LWSHUMETH_GET ? bridge_list(wsi) :
		    sim_http_msg(wsi, 405, "Invalid method");
	return sim_http_msg(wsi, 404, "Not found");
}
