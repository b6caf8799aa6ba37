/*
 * flowact.c — one action of a state, from JSON to struct act.
 *
 * {"action": "play", "media": ["sound:hello-world"]}: the "action" key
 * picks the kind, the other keys are its parameters.  Each kind lists the
 * keys it knows; anything else is refused, so that a misspelt parameter
 * is an error at load time and not a silent default during a call.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "urlenc.h"
#include "flow.h"

typedef int	(*act_parse_fn)(struct fparse *, struct json_object *,
		    struct act *);

struct act_spec {
	const char		*name;
	const char *const	*keys;
	act_parse_fn		 parse;
	uint8_t			 waits;		/* completes on an event */
	uint8_t			 terminal;	/* the call leaves Stasis */
};

/* ARI's media URI schemes (POST /channels/{id}/play). */
static const char *const media_schemes[] = { "sound:", "recording:",
    "tone:", "digits:", "number:", "characters:", NULL };

static int
p_uint(struct fparse *p, struct json_object *o, const char *key,
    unsigned int min, unsigned int max, unsigned int def, unsigned int *out)
{
	struct json_object	*v;
	int64_t			 n;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < min || n > max) {
		fparse_err(p, "\"%s\" must be a number %u..%u", key, min, max);
		return -1;
	}
	*out = (unsigned int)n;
	return 0;
}

static int
p_bool(struct fparse *p, struct json_object *o, const char *key, int def,
    uint8_t *out)
{
	struct json_object	*v;

	*out = (uint8_t)def;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		fparse_err(p, "\"%s\" must be true or false", key);
		return -1;
	}
	*out = (uint8_t)json_object_get_boolean(v);
	return 0;
}

static int
p_str(struct fparse *p, struct json_object *o, const char *key,
    const char *def, const char **out)
{
	struct json_object	*v;
	const char		*s;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (def == NULL)
			fparse_err(p, "\"%s\" is missing", key);
		return def == NULL ? -1 : 0;
	}
	s = json_object_get_string(v);
	if (!json_object_is_type(v, json_type_string) || s[0] == '\0' ||
	    strlen(s) >= FLOW_STR_MAX) {
		fparse_err(p, "\"%s\" must be a string of 1..%d bytes", key,
		    FLOW_STR_MAX - 1);
		return -1;
	}
	*out = s;
	return 0;
}

/* A channel variable name, as var_name_ok() says. */
static int
p_var(struct fparse *p, struct json_object *o, const char *key,
    const char *def, const char **out)
{
	if (p_str(p, o, key, def, out) == -1)
		return -1;
	if (!var_name_ok(*out)) {
		fparse_err(p, "\"%s\" must be a variable name (A-Z a-z 0-9 _, "
		    "under %d bytes)", key, FLOW_NAME_MAX);
		return -1;
	}
	return 0;
}

static int
p_media_one(struct fparse *p, const char *key, struct json_object *v,
    const char **out)
{
	const char	*s = json_object_get_string(v);
	size_t		 i;

	if (!json_object_is_type(v, json_type_string) ||
	    strlen(s) >= FLOW_STR_MAX || strchr(s, ',') != NULL) {
		fparse_err(p, "\"%s\" must hold media URIs (strings under %d "
		    "bytes, without commas)", key, FLOW_STR_MAX);
		return -1;
	}
	for (i = 0; media_schemes[i] != NULL; i++)
		if (strncmp(s, media_schemes[i], strlen(media_schemes[i])) == 0 &&
		    s[strlen(media_schemes[i])] != '\0') {
			*out = s;
			return 0;
		}
	fparse_err(p, "media \"%.64s\" must start with sound:, recording:, "
	    "tone:, digits:, number: or characters:", s);
	return -1;
}

/* One URI or a list of them, played in order as one playback. */
static int
p_media(struct fparse *p, struct json_object *o, const char *key,
    int required, const char **media)
{
	struct json_object	*v;
	size_t			 i, n;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			fparse_err(p, "\"%s\" is missing", key);
		return required ? -1 : 0;
	}
	if (!json_object_is_type(v, json_type_array))
		return p_media_one(p, key, v, &media[0]);
	n = json_object_array_length(v);
	if (n == 0 || n > FLOW_MEDIA_MAX) {
		fparse_err(p, "\"%s\" must list 1..%d media URIs", key,
		    FLOW_MEDIA_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (p_media_one(p, key, json_object_array_get_idx(v, i),
		    &media[i]) == -1)
			return -1;
	return 0;
}

/* One DTMF digit as a string, or "" for none. */
static int
p_digit(struct fparse *p, struct json_object *o, const char *key,
    char def, char *out)
{
	struct json_object	*v;
	const char		*s;

	*out = def;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	s = json_object_get_string(v);
	if (json_object_is_type(v, json_type_string) && s[0] == '\0') {
		*out = '\0';
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) || strlen(s) != 1 ||
	    strchr("0123456789*#ABCD", s[0]) == NULL) {
		fparse_err(p, "\"%s\" must be one DTMF digit or \"\"", key);
		return -1;
	}
	*out = s[0];
	return 0;
}

static int
parse_none(struct fparse *p, struct json_object *o, struct act *a)
{
	(void)p;
	(void)o;
	(void)a;
	return 0;
}

static int
parse_play(struct fparse *p, struct json_object *o, struct act *a)
{
	return p_media(p, o, "media", 1, a->media) == -1 ||
	    p_bool(p, o, "async", 0, &a->async) == -1 ? -1 : 0;
}

static int
parse_wait(struct fparse *p, struct json_object *o, struct act *a)
{
	if (!json_object_object_get_ex(o, "ms", NULL)) {
		fparse_err(p, "wait needs \"ms\"");
		return -1;
	}
	return p_uint(p, o, "ms", 1, 3600000, 0, &a->ms);
}

static int
parse_gather(struct fparse *p, struct json_object *o, struct act *a)
{
	if (p_media(p, o, "prompt", 0, a->media) == -1 ||
	    p_uint(p, o, "max_digits", 1, FLOW_DIGITS_MAX, 1,
	    &a->max_digits) == -1 ||
	    p_digit(p, o, "terminator", '#', &a->terminator) == -1 ||
	    p_uint(p, o, "inter_digit_ms", 100, 60000, 3000,
	    &a->inter_ms) == -1 ||
	    p_uint(p, o, "timeout_ms", 100, 600000, 5000, &a->ms) == -1 ||
	    p_var(p, o, "var", "DIGITS", &a->var) == -1)
		return -1;
	return 0;
}

static int
parse_record(struct fparse *p, struct json_object *o, struct act *a)
{
	if (p_str(p, o, "name", "mai-${CHANNEL_ID}", &a->value) == -1 ||
	    p_str(p, o, "format", "wav", &a->format) == -1 ||
	    p_uint(p, o, "max_duration_s", 0, 86400, 60,
	    &a->max_duration_s) == -1 ||
	    p_uint(p, o, "max_silence_s", 0, 3600, 0,
	    &a->max_silence_s) == -1 ||
	    p_bool(p, o, "beep", 1, &a->beep) == -1 ||
	    p_digit(p, o, "terminator", '#', &a->terminator) == -1 ||
	    p_var(p, o, "var", "RECORDING", &a->var) == -1)
		return -1;
	/* ARI's terminateOn knows none, any, * and #. */
	if (a->terminator != '\0' && a->terminator != '#' &&
	    a->terminator != '*') {
		fparse_err(p, "record \"terminator\" must be \"#\", \"*\" or "
		    "\"\"");
		return -1;
	}
	return 0;
}

static int
parse_setvar(struct fparse *p, struct json_object *o, struct act *a)
{
	struct json_object	*v;

	if (p_var(p, o, "var", NULL, &a->var) == -1)
		return -1;
	/* An empty value is allowed: it unsets the variable. */
	if (!json_object_object_get_ex(o, "value", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) >= FLOW_VAR_VALUE_MAX) {
		fparse_err(p, "setvar needs \"value\", a string under %d bytes",
		    FLOW_VAR_VALUE_MAX);
		return -1;
	}
	a->value = json_object_get_string(v);
	return 0;
}

static int
parse_dial(struct fparse *p, struct json_object *o, struct act *a)
{
	return p_str(p, o, "endpoint", NULL, &a->target) == -1 ||
	    p_uint(p, o, "timeout_ms", 1000, 600000, 30000, &a->ms) == -1 ||
	    p_str(p, o, "caller_id", "", &a->caller_id) == -1 ? -1 : 0;
}

/* Empty strings mean "from the configuration" (BOT_MEDIA_*). */
static int
parse_bot(struct fparse *p, struct json_object *o, struct act *a)
{
	if (p_str(p, o, "host", "", &a->target) == -1 ||
	    p_str(p, o, "format", "", &a->format) == -1 ||
	    p_str(p, o, "transport", "", &a->transport) == -1 ||
	    p_str(p, o, "control", "", &a->control) == -1 ||
	    p_uint(p, o, "max_ms", 0, 86400000, 0, &a->ms) == -1)
		return -1;
	if (a->transport[0] != '\0' && strcmp(a->transport, "udp") != 0 &&
	    strcmp(a->transport, "websocket") != 0) {
		fparse_err(p, "bot \"transport\" must be udp or websocket");
		return -1;
	}
	if (a->control[0] != '\0' && !ari_url_ok(a->control)) {
		fparse_err(p, "bot \"control\" must be an http:// or "
		    "https:// URL (the bot's control API)");
		return -1;
	}
	return 0;
}

static int
parse_webhook(struct fparse *p, struct json_object *o, struct act *a)
{
	if (p_str(p, o, "url", NULL, &a->target) == -1 ||
	    p_uint(p, o, "timeout_ms", 100, 30000, FLOW_WEBHOOK_TIMEOUT_MS,
	    &a->ms) == -1)
		return -1;
	if (strncmp(a->target, "http://", 7) != 0 &&
	    strncmp(a->target, "https://", 8) != 0) {
		fparse_err(p, "webhook \"url\" must start with http:// or "
		    "https://");
		return -1;
	}
	return 0;
}

static int
parse_continue(struct fparse *p, struct json_object *o, struct act *a)
{
	unsigned int	prio;

	if (p_str(p, o, "context", "", &a->context) == -1 ||
	    p_str(p, o, "exten", "", &a->exten) == -1 ||
	    p_uint(p, o, "priority", 0, 100000, 0, &prio) == -1)
		return -1;
	a->num = (int)prio;
	return 0;
}

static int
parse_hangup(struct fparse *p, struct json_object *o, struct act *a)
{
	unsigned int	cause;

	if (p_uint(p, o, "cause", 1, 127, 16, &cause) == -1)
		return -1;
	a->num = (int)cause;
	return 0;
}

#define K(...)	(const char *const[]){ "action", "description", __VA_ARGS__ }
static const struct act_spec act_specs[ACT_NKINDS] = {
	[ACT_ANSWER] = { "answer", K(NULL), parse_none, 0, 0 },
	[ACT_PLAY] = { "play", K("media", "async", NULL), parse_play, 1, 0 },
	[ACT_STOP] = { "stop", K(NULL), parse_none, 0, 0 },
	[ACT_WAIT] = { "wait", K("ms", NULL), parse_wait, 1, 0 },
	[ACT_GATHER] = { "gather", K("prompt", "max_digits", "terminator",
	    "inter_digit_ms", "timeout_ms", "var", NULL), parse_gather, 1, 0 },
	[ACT_RECORD] = { "record", K("name", "format", "max_duration_s",
	    "max_silence_s", "beep", "terminator", "var", NULL), parse_record,
	    1, 0 },
	[ACT_SETVAR] = { "setvar", K("var", "value", NULL), parse_setvar, 0,
	    0 },
	[ACT_DIAL] = { "dial", K("endpoint", "timeout_ms", "caller_id", NULL),
	    parse_dial, 1, 0 },
	[ACT_BOT] = { "bot", K("host", "format", "transport", "control",
	    "max_ms", NULL),
	    parse_bot, 1, 0 },
	[ACT_WEBHOOK] = { "webhook", K("url", "timeout_ms", NULL),
	    parse_webhook, 1, 0 },
	[ACT_CONTINUE] = { "continue", K("context", "exten", "priority",
	    NULL), parse_continue, 0, 1 },
	[ACT_HANGUP] = { "hangup", K("cause", NULL), parse_hangup, 0, 1 },
};
#undef K

const char *
act_name(enum act_kind k)
{
	return k < ACT_NKINDS ? act_specs[k].name : "?";
}

/* Completes on an ARI event, a timer or an answer, not at once. */
int
act_waits(const struct act *a)
{
	return act_specs[a->kind].waits && !(a->kind == ACT_PLAY && a->async);
}

/* How many ids of ours (call_obj_id) the action may make. */
size_t
act_ids(const struct act *a)
{
	switch (a->kind) {
	case ACT_PLAY:
	case ACT_GATHER:
		return 1;	/* the playback */
	case ACT_DIAL:
		return 3;	/* leg, its Local ;2 half, bridge */
	case ACT_BOT:
		return 2;	/* leg, bridge */
	default:
		return 0;
	}
}

int
act_terminal(const struct act *a)
{
	return act_specs[a->kind].terminal;
}

/*
 * {"action": NAME, params...}, or the short form {NAME: {params...}}.
 * The kind's index, with *params set to the object holding its keys.
 */
static int
flowact_kind(struct fparse *p, struct json_object *o,
    struct json_object **params)
{
	struct json_object	*v = NULL;
	const char		*name = NULL;
	size_t			 k;

	*params = o;
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "action", &v) &&
	    json_object_is_type(v, json_type_string))
		name = json_object_get_string(v);
	else if (json_object_is_type(o, json_type_object) &&
	    json_object_object_length(o) == 1) {
		json_object_object_foreach(o, key, val) {
			name = key;
			*params = val;
		}
		if (*params != NULL &&
		    !json_object_is_type(*params, json_type_object))
			name = NULL;
	}
	if (name == NULL) {
		fparse_err(p, "an action must be {\"action\": NAME, ...} or "
		    "{NAME: {...}}");
		return -1;
	}
	for (k = 0; k < ACT_NKINDS; k++)
		if (strcmp(name, act_specs[k].name) == 0)
			return (int)k;
	fparse_err(p, "unknown action \"%.64s\" (known: answer, play, stop, "
	    "wait, gather, record, setvar, dial, bot, webhook, continue, "
	    "hangup)", name);
	return -1;
}

int
flowact_parse(struct fparse *p, struct json_object *o, struct act *a)
{
	struct json_object	*params, *empty = NULL;
	char			 what[32];
	int			 k, rc;

	if ((k = flowact_kind(p, o, &params)) == -1)
		return -1;
	a->kind = (enum act_kind)k;
	snprintf(what, sizeof(what), "action %s", act_specs[k].name);
	/* {"hangup": null} is {"hangup": {}}: all defaults. */
	if (params == NULL && (params = empty = json_object_new_object()) ==
	    NULL)
		fatalx("json_object_new_object");
	rc = fparse_keys(p, params, what, act_specs[k].keys) == -1 ? -1 :
	    act_specs[k].parse(p, params, a);
	json_object_put(empty);
	return rc;
}
