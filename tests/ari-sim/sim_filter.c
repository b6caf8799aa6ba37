/*
 * An application's event filter: PUT /ari/applications/{app}/eventFilter
 * and the check each event for the application passes before it is
 * written, as Asterisk 22 does them (res/stasis/app.c, filter set and
 * match; res/ari/ari_websockets.c, the check on the socket's way out).
 *
 * The body's "disallowed" and "allowed" arrays are set in that order,
 * each only when present; an empty body, {}, or a body whose
 * Content-Type is not application/json (Asterisk does not read it)
 * clears both; an array
 * that is not one, or an entry without a "type" string, is a 400 (a
 * disallowed list set before a bad allowed list stays set, as there).
 * An event passes when its type is in no disallowed entry and in an
 * allowed entry, or the allowed list is empty.  ApplicationReplaced
 * passes it too (app_update() sends it through the application); only
 * ApplicationRegistered and ApplicationUnregistered go around it.
 */

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim.h"

/* Every entry an object with a non-empty "type" string. */
static int
filter_list_ok(json_object *list)
{
	json_object	*e, *t;
	size_t		 i, n;

	if (!json_object_is_type(list, json_type_array))
		return 0;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "type", &t) ||
		    !json_object_is_type(t, json_type_string) ||
		    json_object_get_string_len(t) == 0)
			return 0;
	}
	return 1;
}

/* One list from body (an object, or NULL: clear); -1: bad. */
static int
filter_set(json_object **member, json_object *body, const char *key)
{
	json_object	*list = NULL;

	if (body != NULL && json_object_is_type(body, json_type_object) &&
	    json_object_object_length(body) > 0 &&
	    !json_object_object_get_ex(body, key, &list))
		return 0;		/* not given: not changed */
	if (body != NULL && !json_object_is_type(body, json_type_object))
		list = body;		/* Asterisk takes a bare array as both */
	if (list != NULL && !filter_list_ok(list))
		return -1;
	json_object_put(*member);
	*member = list != NULL ? json_object_get(list) : NULL;
	return 0;
}

/* PUT eventFilter for a, whose JSON answer the caller writes. */
int
sim_filter_put(struct sim_app *a, const struct sim_req *r)
{
	json_object	*body = NULL;
	int		 rc = 0;

	/* A body that does not say JSON is not read: both lists clear. */
	if (r->json_body && r->body != NULL && r->body_len > 0 &&
	    (body = json_tokener_parse(r->body)) == NULL)
		return -1;
	if (filter_set((json_object **)&a->disallowed, body,
	    "disallowed") == -1 ||
	    filter_set((json_object **)&a->allowed, body, "allowed") == -1)
		rc = -1;
	json_object_put(body);
	if (rc == 0)
		sim_log("event filter app=%s allowed=%zu disallowed=%zu",
		    a->name, a->allowed != NULL ? json_object_array_length(
		    a->allowed) : 0, a->disallowed != NULL ?
		    json_object_array_length(a->disallowed) : 0);
	return rc;
}

static int
filter_has(const json_object *list, const char *type, int empty)
{
	json_object	*e, *t;
	size_t		 i, n;

	if (list == NULL || (n = json_object_array_length(list)) == 0)
		return empty;
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(list, i);
		if (json_object_object_get_ex(e, "type", &t) &&
		    strcmp(json_object_get_string(t), type) == 0)
			return 1;
	}
	return 0;
}

/* Whether an event of this type reaches a's socket. */
int
sim_filter_allows(const struct sim_app *a, const char *type)
{
	int	ok = !filter_has(a->disallowed, type, 0) &&
		    filter_has(a->allowed, type, 1);

	if (!ok)
		sim.stats.events_filtered++;
	return ok;
}

/*
 * The type of an event as the simulator lays it out: its first "type"
 * member (sim_ev_type(); some events put others before it, and nothing
 * inside an event has a "type" of its own).  An event without one is a
 * bug of the simulator's: said, and not sent.
 */
int
sim_filter_allows_json(const struct sim_app *a, const char *ev)
{
	static const char	key[] = "\"type\": \"";
	char			type[64];
	const char		*e;
	size_t			 n;

	if ((ev = strstr(ev, key)) == NULL ||
	    (e = strchr(ev + sizeof(key) - 1, '"')) == NULL ||
	    (n = (size_t)(e - ev) - (sizeof(key) - 1)) >= sizeof(type)) {
		sim_log("event without a type: not sent");
		return 0;
	}
	ev += sizeof(key) - 1;
	memcpy(type, ev, n);
	type[n] = '\0';
	return sim_filter_allows(a, type);
}

/* "events_allowed": [...], "events_disallowed": [...] of GET and PUT. */
void
sim_filter_json(struct sim_buf *b, const struct sim_app *a)
{
	sb_printf(b, "\"events_allowed\": %s,\n  \"events_disallowed\": %s",
	    a->allowed != NULL ? json_object_to_json_string_ext(a->allowed,
	    JSON_C_TO_STRING_PLAIN) : "[]", a->disallowed != NULL ?
	    json_object_to_json_string_ext(a->disallowed,
	    JSON_C_TO_STRING_PLAIN) : "[]");
}

void
sim_app_free(struct sim_app *a)
{
	json_object_put(a->allowed);
	json_object_put(a->disallowed);
	free(a);
}
