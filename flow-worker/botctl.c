/*
 * botctl.c — the bot's control request: whom the bot talks to, and how
 * the conversation ended.
 *
 * Once the bot leg exists (Asterisk answered its externalMedia request),
 * the call's context goes to the bot as POST {control}/v1/calls: the
 * caller, the leg, and where the leg's media comes from (docs/flows.md,
 * "Bot media contract").  The bot answers that request when the
 * conversation is over, with {"result": NAME, "set": {...}}: NAME is the
 * bot action's outcome ("bot:NAME", then "bot"), also kept as BOT_RESULT;
 * "set" become channel variables; the leg is hung up.
 *
 * The request stays open for the whole conversation.  So it runs on an
 * ari_rest of its own (f->botctl, at most FLOW_BOT_CONTROL_MAX at once),
 * never on the connections kept for ARI.  When the state is left or the
 * caller goes, the request is forgotten, not cancelled: the leg is hung
 * up, the bot sees its media end and answers; nobody listens then.  A
 * restarted flow-worker that adopts a bot leg sends the request again,
 * and the bot takes it as the same conversation.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static const char *
botctl_str(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, k1, &v))
		return NULL;
	if (k2 != NULL && !json_object_object_get_ex(v, k2, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

/*
 * "ADDR:PORT" Asterisk sends the leg's RTP from (and takes RTP back on),
 * from the externalMedia answer's channelvars; "" for chan_websocket.
 */
static void
botctl_peer(struct json_object *leg, char *buf, size_t size)
{
	const char	*addr, *port;

	addr = botctl_str(leg, "channelvars", "UNICASTRTP_LOCAL_ADDRESS");
	port = botctl_str(leg, "channelvars", "UNICASTRTP_LOCAL_PORT");
	if (addr == NULL || port == NULL)
		buf[0] = '\0';
	else
		snprintf(buf, size, strchr(addr, ':') != NULL ? "[%s]:%s" :
		    "%s:%s", addr, port);
}

static struct json_object *
botctl_body(struct call *c, const struct bot_media *m,
    struct json_object *leg)
{
	struct json_object	*o = call_context_json(c);
	const char		*name = botctl_str(leg, "name", NULL);
	char			 peer[FLOW_TEXT_MAX];

	botctl_peer(leg, peer, sizeof(peer));
	json_object_object_add(o, "call", json_object_new_string(c->id));
	json_object_object_add(o, "leg", json_object_new_string(c->rt.leg));
	json_object_object_add(o, "leg_name",
	    json_object_new_string(name != NULL ? name : ""));
	json_object_object_add(o, "transport",
	    json_object_new_string(m->transport));
	json_object_object_add(o, "format", json_object_new_string(m->format));
	json_object_object_add(o, "peer", json_object_new_string(peer));
	return o;
}

/* A result names an event: "bot:" and 1..FLOW_BOT_RESULT_MAX of [a-z0-9_-]. */
static int
botctl_result_ok(const char *r)
{
	size_t	n = strlen(r);

	return n >= 1 && n <= FLOW_BOT_RESULT_MAX &&
	    strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static void
botctl_failed(struct call *c, const char *why)
{
	c->f->counters.v[MAI_CNT_FLOW_WEBHOOK_ERRORS]++;
	log_warnx("call id=%s flow=%s: bot control failed: %s", c->id,
	    c->flow->name, why);
	legs_release(c, 0);
	engine_step_done(c, "error", NULL);
}

static void
botctl_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	struct json_object	*set;
	const char		*result;

	if (gen != c->gen || c->phase != CALL_RUNNING)
		return;
	if (res->error != NULL) {
		botctl_failed(c, res->error);
		return;
	}
	if ((result = botctl_str(res->body, "result", NULL)) == NULL ||
	    !botctl_result_ok(result)) {
		botctl_failed(c, "the answer names no valid \"result\"");
		return;
	}
	log_info("call id=%s flow=%s: bot ended the conversation result=%s",
	    c->id, c->flow->name, result);
	if (json_object_object_get_ex(res->body, "set", &set) &&
	    json_object_is_type(set, json_type_object))
		var_set_json(c, set, "bot");
	var_set_channel(c, "BOT_RESULT", result);
	legs_release(c, 0);
	engine_step_done(c, "bot", result);
}

/*
 * The leg is there (leg: Asterisk's answer to externalMedia): tell the
 * bot, when there is a control URL.  -1 when it cannot be asked.
 */
int
botctl_start(struct call *c, const struct bot_media *m,
    struct json_object *leg)
{
	char	url[ARI_REST_URL_MAX];

	if (m->control[0] == '\0')
		return 0;
	if ((size_t)snprintf(url, sizeof(url), "%s/v1/calls", m->control) >=
	    sizeof(url) || areq_post_url(c, c->f->botctl, url,
	    botctl_body(c, m, leg), m->max_ms > 0 ? m->max_ms +
	    FLOW_BOT_CONTROL_SLACK_MS : ARI_REST_TIMEOUT_MAX_MS, botctl_cb) ==
	    -1) {
		log_warnx("call id=%s: bot control URL %.200s cannot be used",
		    c->id, m->control);
		return -1;
	}
	return 0;
}
