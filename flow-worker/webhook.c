/*
 * webhook.c — ask a web service what the call does next.
 *
 * POST the call's context as JSON to the action's URL (through ari_rest's
 * loop, without the ARI credentials) and branch on the answer:
 *   request  {"channel_id", "caller": {"number", "name"}, "exten", "flow",
 *             "state", "variables": {...}, "event": {"name", "value"}}
 *   answer   {"next": "STATE", "set": {"VAR": "value", ...}}  (both optional)
 * "set" becomes channel variables; "next" names a state of the same flow.
 * No 2xx JSON object in time, or a "next" that does not exist: the
 * outcome is "webhook_failed" (counted in webhook_errors).
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/*
 * The call as JSON, what a web service needs to decide (a webhook) or to
 * talk to the caller (the bot's control request, botctl.c).
 */
struct json_object *
call_context_json(const struct call *c)
{
	struct json_object	*o, *caller, *vars, *ev;
	size_t			 i;

	if ((o = json_object_new_object()) == NULL ||
	    (caller = json_object_new_object()) == NULL ||
	    (vars = json_object_new_object()) == NULL ||
	    (ev = json_object_new_object()) == NULL)
		fatalx("webhook body");
	json_object_object_add(o, "channel_id", json_object_new_string(c->id));
	json_object_object_add(caller, "number",
	    json_object_new_string(c->caller_num));
	json_object_object_add(caller, "name",
	    json_object_new_string(c->caller_name));
	json_object_object_add(o, "caller", caller);
	json_object_object_add(o, "exten", json_object_new_string(c->exten));
	json_object_object_add(o, "flow", json_object_new_string(c->flow->name));
	json_object_object_add(o, "state",
	    json_object_new_string(c->flow->states[c->state].name));
	for (i = 0; i < c->nvars; i++)
		json_object_object_add(vars, c->vars[i].name,
		    json_object_new_string(c->vars[i].value));
	json_object_object_add(o, "variables", vars);
	json_object_object_add(ev, "name", json_object_new_string(c->ev_name));
	json_object_object_add(ev, "value",
	    json_object_new_string(c->ev_value));
	json_object_object_add(o, "event", ev);
	return o;
}

static void
webhook_failed(struct call *c, const char *why)
{
	c->f->counters.v[MAI_CNT_FLOW_WEBHOOK_ERRORS]++;
	log_warnx("call id=%s flow=%s state=%s: webhook failed: %s", c->id,
	    c->flow->name, c->flow->states[c->state].name, why);
	engine_step_done(c, "webhook_failed", NULL);
}

static void
webhook_cb(struct call *c, const struct ari_result *res, uint32_t gen)
{
	struct json_object	*next = NULL, *set;
	int			 to = -1;

	if (gen != c->gen || c->phase != CALL_RUNNING)
		return;
	if (res->error != NULL) {
		webhook_failed(c, res->error);
		return;
	}
	if (!json_object_is_type(res->body, json_type_object)) {
		webhook_failed(c, "the answer is not a JSON object");
		return;
	}
	if (json_object_object_get_ex(res->body, "next", &next) &&
	    (to = flowdef_state(c->flow, json_object_get_string(next))) ==
	    -1) {
		webhook_failed(c, "\"next\" names no state of this flow");
		return;
	}
	if (json_object_object_get_ex(res->body, "set", &set) &&
	    json_object_is_type(set, json_type_object))
		var_set_json(c, set, "webhook");
	if (to >= 0) {
		c->hops = 0;
		engine_goto(c, to, "webhook", NULL);
	} else
		engine_step_done(c, NULL, NULL);
}

void
webhook_start(struct call *c, const struct act *a)
{
	char	url[ARI_REST_URL_MAX];

	var_expand(c, a->target, url, sizeof(url));
	if (areq_post_url(c, c->f->rest, url, call_context_json(c), a->ms,
	    webhook_cb) == -1) {
		c->f->counters.v[MAI_CNT_FLOW_WEBHOOK_ERRORS]++;
		log_warnx("call id=%s: webhook URL %.200s cannot be used", c->id,
		    url);
		action_soon(c, "webhook_failed");
	}
}
