/*
 * fuzz_jsoncheck.c — the ws-worker's event check (ws-worker/jsoncheck.c)
 * over arbitrary WebSocket message bytes.
 *
 * Beyond memory safety, two properties: the "type" it reports lies
 * inside the message, and whatever it relays as an event the
 * flow-worker's json-c parse reads as an object with a string "type"
 * (else the event would be relayed, counted and then dropped).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ws.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What flow-worker/events.c does with the bytes the supervisor relays. */
static int
flow_worker_sees_event(const char *buf, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*obj, *type;
	int			 ok;

	if ((tok = json_tokener_new()) == NULL)
		abort();
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	ok = obj != NULL && json_object_object_get_ex(obj, "type", &type) &&
	    json_object_is_type(type, json_type_string);
	json_object_put(obj);
	json_tokener_free(tok);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct json_event	 ev;
	enum json_verdict	 v;

	v = json_event_check(buf, size, &ev);
	(void)json_verdict_name(v);
	if (v != JSON_EVENT)
		return 0;
	if (ev.type == NULL || ev.type < buf || ev.type_len > size ||
	    ev.type + ev.type_len > buf + size)
		abort();
	if (!flow_worker_sees_event(buf, size)) {
		fprintf(stderr, "jsoncheck relays what json-c refuses\n");
		abort();
	}
	return 0;
}
