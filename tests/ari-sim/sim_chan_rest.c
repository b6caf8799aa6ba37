/*
 * ARI /channels resources for channels that exist: list and get, answer,
 * hangup, continue, variables, and the routing of every /channels path.
 * Status codes and messages follow Asterisk 22's resource_channels.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

/*
 * find_control(): the channel when it is in Stasis.  Otherwise NULL,
 * with the 404 or 409 sent and its status in *rc.
 */
struct sim_chan *
sim_chan_control(struct lws *wsi, const char *id, int *rc)
{
	struct sim_chan	*c = sim_chan_find(id);

	if (c == NULL)
		*rc = sim_http_msg(wsi, 404, "Channel not found");
	else if (!c->in_stasis)
		*rc = sim_http_msg(wsi, 409,
		    "Channel not in Stasis application");
	else
		return c;
	return NULL;
}

static int
chan_list(struct lws *wsi)
{
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	struct sim_chan	*c;
	int		 rc;

	sb_printf(&b, "[");
	TAILQ_FOREACH(c, &CALLS.chan_list, all) {
		sb_printf(&b, "%s", c == TAILQ_FIRST(&CALLS.chan_list) ? "" :
		    ", ");
		sim_chan_json(&b, c);
	}
	sb_printf(&b, "]");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

static int
chan_get(struct lws *wsi, const char *id)
{
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	struct sim_chan	*c;
	int		 rc;

	if ((c = sim_chan_find(id)) == NULL)
		return sim_http_msg(wsi, 404, "Channel not found");
	sim_chan_json(&b, c);
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

static int
chan_answer(struct lws *wsi, struct sim_req *r, const char *id)
{
	struct sim_chan	*c;
	int		 rc;

	(void)r;
	sim_rest_count(SIM_REST_ANSWER);
	if ((c = sim_chan_control(wsi, id, &rc)) == NULL)
		return rc;
	sim_calls_answer_seen(c);
	if (c->state == SIM_CS_DOWN)
		return sim_http_msg(wsi, 412, "Channel in invalid state");
	sim_chan_set_state(c, SIM_CS_UP);
	return sim_http_reply(wsi, 204, NULL, 0, 0);
}

/* convert_reason_to_hangup_code() */
static int
reason_cause(const char *reason)
{
	static const struct {
		const char	*name;
		int		 cause;
	} reasons[] = {
		{ "normal", 16 }, { "busy", 17 }, { "congestion", 34 },
		{ "no_answer", 19 }, { "timeout", 18 }, { "rejected", 21 },
		{ "unallocated", 1 }, { "normal_unspecified", 31 },
		{ "number_incomplete", 28 }, { "codec_mismatch", 58 },
		{ "interworking", 127 }, { "failure", 38 },
		{ "answered_elsewhere", 26 },
	};
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reason, reasons[i].name) == 0)
			return reasons[i].cause;
	return -1;
}

/* DELETE /channels/{id}: any channel, in Stasis or not. */
static int
chan_hangup(struct lws *wsi, struct sim_req *r, const char *id)
{
	const char	*reason = sim_arg(r, "reason");
	const char	*code = sim_arg(r, "reason_code");
	struct sim_chan	*c;
	int		 cause = 16, rc;

	sim_rest_count(SIM_REST_HANGUP);
	if ((c = sim_chan_find(id)) == NULL)
		return sim_http_msg(wsi, 404, "Channel not found");
	if (reason != NULL && reason[0] && code != NULL && code[0])
		return sim_http_msg(wsi, 400,
		    "The reason and reason_code can't both be specified");
	if (code != NULL && code[0] && sscanf(code, "%30d", &cause) != 1)
		return sim_http_msg(wsi, 400,
		    "Invalid reason for hangup reason code provided");
	if ((code == NULL || !code[0]) && reason != NULL && reason[0] &&
	    (cause = reason_cause(reason)) == -1)
		return sim_http_msg(wsi, 400,
		    "Invalid reason for hangup reason provided");
	rc = sim_http_reply(wsi, 204, NULL, 0, 0);
	sim_chan_hangup(c, cause, SIM_HANGUP_REQUEST | SIM_HANGUP_SOFT);
	return rc;
}

/*
 * Where continue sends the channel, as the real handler works it out.
 * NULL when it can, else the message with its status in *st.
 */
static const char *
continue_target(const struct sim_req *r, const struct sim_chan *c,
    char *ctx, char *ext, int *prio, unsigned int *st)
{
	const char	*a_ctx = sim_arg(r, "context");
	const char	*a_ext = sim_arg(r, "extension");
	const char	*label = sim_arg(r, "label");
	long long	 p;
	int		 has_ctx = a_ctx && a_ctx[0], has_ext = a_ext && a_ext[0];

	snprintf(ctx, SIM_DP_LEN, "%s", has_ctx ? a_ctx : c->context);
	snprintf(ext, SIM_DP_LEN, "%s", has_ext ? a_ext :
	    (has_ctx ? "s" : c->exten));
	*st = 400;
	if (label != NULL && label[0]) {
		/* the simulator has no dialplan: only numeric labels */
		if (sscanf(label, "%30d", prio) != 1) {
			*st = 404;
			return "Requested label can not be found";
		}
		return *prio == 0 ? "Requested priority is illegal" : NULL;
	}
	if (sim_arg_num(r, "priority", 0, 0, 0x7fffffffLL, &p) == -1)
		return "Invalid priority";
	if (p > 0)
		*prio = (int)p;
	else
		*prio = !has_ctx && !has_ext ? c->priority + 1 : 1;
	return NULL;
}

static int
chan_continue(struct lws *wsi, struct sim_req *r, const char *id)
{
	char		 ctx[SIM_DP_LEN], ext[SIM_DP_LEN];
	const char	*err;
	struct sim_chan	*c;
	unsigned int	 st;
	int		 prio, rc;

	sim_rest_count(SIM_REST_CONTINUE);
	if ((c = sim_chan_control(wsi, id, &rc)) == NULL)
		return rc;
	if (c->state == SIM_CS_DOWN)
		return sim_http_msg(wsi, 412, "Channel in invalid state");
	if ((err = continue_target(r, c, ctx, ext, &prio, &st)) != NULL)
		return sim_http_msg(wsi, st, err);
	rc = sim_http_reply(wsi, 204, NULL, 0, 0);
	sim_chan_stasis_end(c, 0);
	c->dp_stasis = 0;
	snprintf(c->context, sizeof(c->context), "%s", ctx);
	snprintf(c->exten, sizeof(c->exten), "%s", ext);
	c->priority = prio;
	/* the dialplan runs on and, in the simulator, hangs up */
	c->next = SIM_NEXT_DESTROY;
	sim_timer_arm(&c->life, (uint64_t)CALLS.media.continue_ms * 1000,
	    sim_chan_life);
	return rc;
}

static int
var_set(struct lws *wsi, struct sim_req *r, const char *id)
{
	const char	*name = sim_arg(r, "variable");
	const char	*value = sim_arg(r, "value");
	struct sim_chan	*c;
	int		 rc;

	sim_rest_count(SIM_REST_VARIABLE_SET);
	if (name == NULL || name[0] == '\0')
		return sim_http_msg(wsi, 400, "Variable name is required");
	if ((c = sim_chan_control(wsi, id, &rc)) == NULL)
		return rc;
	if (sim_chan_var_set(c, name, value ? value : "", 1) == -1)
		return sim_http_msg(wsi, 400, "Failed to execute function");
	return sim_http_reply(wsi, 204, NULL, 0, 0);
}

/* The few dialplan functions a flow may read; NULL for others. */
static const char *
func_read(const struct sim_chan *c, const char *name)
{
	if (strcmp(name, "CALLERID(num)") == 0)
		return c->cid_num;
	if (strcmp(name, "CALLERID(name)") == 0)
		return c->cid_name;
	if (strcmp(name, "CHANNEL(name)") == 0)
		return c->name;
	return NULL;
}

static int
var_get(struct lws *wsi, struct sim_req *r, const char *id)
{
	const char	*name = sim_arg(r, "variable"), *v;
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	struct sim_chan	*c;
	int		 rc;

	sim_rest_count(SIM_REST_VARIABLE_GET);
	if (name == NULL || name[0] == '\0')
		return sim_http_msg(wsi, 400, "Variable name is required");
	if ((c = sim_chan_find(id)) == NULL)
		return sim_http_msg(wsi, 404, "Provided channel was not found");
	if (name[strlen(name) - 1] == ')') {
		if ((v = func_read(c, name)) == NULL)
			return sim_http_msg(wsi, 500,
			    "Unable to read provided function");
	} else if ((v = sim_chan_var(c, name)) == NULL)
		return sim_http_msg(wsi, 404,
		    "Provided variable was not found");
	sb_printf(&b, "{\"value\": ");
	sb_str(&b, v);
	sb_printf(&b, "}");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

static int
play_noid(struct lws *wsi, struct sim_req *r, const char *id)
{
	return sim_media_play(wsi, r, id, NULL);
}

/* /channels/{id}/OP */
static const struct {
	const char	*op;
	int		 method;
	int		(*fn)(struct lws *, struct sim_req *, const char *);
} chan_ops[] = {
	{ "answer",	LWSHUMETH_POST,	chan_answer },
	{ "play",	LWSHUMETH_POST,	play_noid },
	{ "record",	LWSHUMETH_POST,	sim_media_record },
	{ "continue",	LWSHUMETH_POST,	chan_continue },
	{ "variable",	LWSHUMETH_POST,	var_set },
	{ "variable",	LWSHUMETH_GET,	var_get },
};

static int
chan_op(struct lws *wsi, struct sim_req *r, char seg[][SIM_ID_LEN])
{
	size_t	i;
	int	known = 0;

	for (i = 0; i < sizeof(chan_ops) / sizeof(chan_ops[0]); i++) {
		if (strcmp(seg[1], chan_ops[i].op) != 0)
			continue;
		known = 1;
		if (r->method == chan_ops[i].method)
			return chan_ops[i].fn(wsi, r, seg[0]);
	}
	sim_rest_count(SIM_REST_OTHER);
	return known ? sim_http_msg(wsi, 405, "Invalid method") :
	    sim_http_msg(wsi, 404, "Not found");
}

/* /channels/{id} */
static int
chan_one(struct lws *wsi, struct sim_req *r, const char *id)
{
	if (strcmp(id, "externalMedia") == 0 && r->method == LWSHUMETH_POST)
		return sim_chan_external_media(wsi, r);
	switch (r->method) {
	case LWSHUMETH_GET:
		sim_rest_count(SIM_REST_OTHER);
		return chan_get(wsi, id);
	case LWSHUMETH_DELETE:
		return chan_hangup(wsi, r, id);
	case LWSHUMETH_POST:
		return sim_chan_originate(wsi, r, id);
	default:
		sim_rest_count(SIM_REST_OTHER);
		return sim_http_msg(wsi, 405, "Invalid method");
	}
}

/* Everything under /ari/channels; seg holds the path after it. */
int
sim_chan_route(struct lws *wsi, struct sim_req *r, char seg[][SIM_ID_LEN],
    int nseg)
{
	if (nseg == 0 && r->method == LWSHUMETH_POST)
		return sim_chan_originate(wsi, r, NULL);
	if (nseg == 1)
		return chan_one(wsi, r, seg[0]);
	if (nseg == 2)
		return chan_op(wsi, r, seg);
	if (nseg == 3 && strcmp(seg[1], "play") == 0 &&
	    r->method == LWSHUMETH_POST)
		return sim_media_play(wsi, r, seg[0], seg[2]);
	sim_rest_count(SIM_REST_OTHER);
	if (nseg == 0)
		return r->method == LWSHUMETH_GET ? chan_list(wsi) :
		    sim_http_msg(wsi, 405, "Invalid method");
	return sim_http_msg(wsi, 404, "Not found");
}
