/*
 * vars.c — a call's variables and ${NAME} in action parameters.
 *
 * Variables a flow sets (gather digits, setvar, a webhook's "set") are
 * channel variables in Asterisk, so the dialplan sees them after a
 * `continue`; the call keeps a small copy (FLOW_VARS_MAX) for conditions,
 * expansions and the webhook body.  A few names are built in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static const char *
var_builtin(const struct call *c, const char *name)
{
	if (strcmp(name, "CHANNEL_ID") == 0)
		return c->id;
	if (strcmp(name, "EXTEN") == 0)
		return c->exten;
	if (strcmp(name, "CALLER_NUM") == 0)
		return c->caller_num;
	if (strcmp(name, "CALLER_NAME") == 0)
		return c->caller_name;
	if (strcmp(name, "FLOW") == 0)
		return c->flow != NULL ? c->flow->name : "";
	if (strcmp(name, "STATE") == 0)
		return c->flow != NULL && c->state >= 0 ?
		    c->flow->states[c->state].name : "";
	return NULL;
}

/* The value, "" when unset. */
const char *
var_get(const struct call *c, const char *name)
{
	const char	*v;
	size_t		 i;

	if ((v = var_builtin(c, name)) != NULL)
		return v;
	for (i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return c->vars[i].value;
	return "";
}

/*
 * A plain variable name: A-Z a-z 0-9 _.  Anything else could name a
 * dialplan function in ARI's setVariable (e.g. SHELL(...)), and names come
 * from webhook answers too.
 */
int
var_name_ok(const char *name)
{
	size_t	n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && name[n] == '\0' && n < FLOW_NAME_MAX;
}

/* -1 when the name is not plain, built in, or the call has no room. */
int
var_set(struct call *c, const char *name, const char *value)
{
	size_t	i;

	if (!var_name_ok(name) || var_builtin(c, name) != NULL)
		return -1;
	for (i = 0; i < c->nvars; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			break;
	if (i == c->nvars) {
		if (c->nvars == FLOW_VARS_MAX) {
			log_warnx("call id=%s: more than %d variables, %s not "
			    "kept", c->id, FLOW_VARS_MAX, name);
			return -1;
		}
		if (c->vars == NULL && (c->vars = calloc(FLOW_VARS_MAX,
		    sizeof(*c->vars))) == NULL)
			fatal("call variables");
		snprintf(c->vars[i].name, sizeof(c->vars[i].name), "%s", name);
		c->nvars++;
	}
	snprintf(c->vars[i].value, sizeof(c->vars[i].value), "%s", value);
	return 0;
}

/* "${NAME}" becomes the variable's value; the rest is copied; cut at size. */
void
var_expand(const struct call *c, const char *in, char *out, size_t size)
{
	const char	*end, *v;
	char		 name[FLOW_NAME_MAX];
	size_t		 o = 0, n;

	while (*in != '\0' && o + 1 < size) {
		if (in[0] == '$' && in[1] == '{' &&
		    (end = strchr(in + 2, '}')) != NULL &&
		    (size_t)(end - in - 2) < sizeof(name)) {
			n = (size_t)(end - in - 2);
			memcpy(name, in + 2, n);
			name[n] = '\0';
			for (v = var_get(c, name); *v != '\0' && o + 1 < size;)
				out[o++] = *v++;
			in = end + 1;
			continue;
		}
		out[o++] = *in++;
	}
	out[o] = '\0';
}

/*
 * Kept on the call and set on the channel, in the call's ARI order (a
 * failure only matters if it says the caller is gone).  -1 if not kept.
 */
int
var_set_channel(struct call *c, const char *name, const char *value)
{
	char	path[ARI_REST_URL_MAX];

	if (var_set(c, name, value) == -1)
		return -1;
	if (ari_rest_path(path, sizeof(path), "/channels/%s/variable",
	    c->id) != -1 &&
	    areq_path_add(path, sizeof(path), "variable", name) != -1 &&
	    areq_path_add(path, sizeof(path), "value", value) != -1)
		areq_call(c, "POST", path, action_quiet_cb);
	return 0;
}

/*
 * Each entry of a web service's "set" object (a webhook's, the bot's):
 * kept on the call and set on the channel; what cannot be is logged.
 */
void
var_set_json(struct call *c, struct json_object *set, const char *origin)
{
	json_object_object_foreach(set, name, v) {
		if (json_object_is_type(v, json_type_object) ||
		    json_object_is_type(v, json_type_array) ||
		    strlen(json_object_get_string(v)) >= FLOW_VAR_VALUE_MAX ||
		    var_set_channel(c, name, json_object_get_string(v)) == -1)
			log_warnx("call id=%s: %s set %.64s ignored (a string "
			    "under %d bytes for a name of A-Z a-z 0-9 _)",
			    c->id, origin, name, FLOW_VAR_VALUE_MAX);
	}
}
