/*
 * inbox.c — whole ARI events out of WebSocket data, to the supervisor.
 *
 * lws hands a message over in pieces when it spans several WebSocket
 * frames or overflows the receive buffer; the pieces are joined here so
 * that one message becomes exactly one MAI_MSG_EVENT frame, in arrival
 * order.  A message that cannot fit in a frame is refused whole, never cut:
 * a truncated event is worse than a missing one.  Anything that is not a
 * JSON object with a string "type" (in UTF-8) is dropped: the supervisor
 * and the flow-worker may trust that every EVENT frame holds an ARI event.
 * Asterisk sends events as text messages only; a binary message is
 * refused and counted whole, whatever it holds.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ws.h"

#define APP_REPLACED_TYPE	"ApplicationReplaced"

struct inbox {
	char		*buf;		/* MAI_FRAME_PAYLOAD_MAX bytes */
	size_t		 len;
	bool		 refusing;	/* this message is too big */
	bool		 binary;	/* this message is binary: refused */
	size_t		 refused_len;
	struct ratelim	 big_log;
	struct ratelim	 bad_log;
};

static struct inbox	inbox;

void
inbox_init(void)
{
	if ((inbox.buf = malloc(MAI_FRAME_PAYLOAD_MAX)) == NULL)
		fatal("inbox buffer");
}

void
inbox_reset(void)
{
	inbox.len = 0;
	inbox.refusing = false;
	inbox.binary = false;
	inbox.refused_len = 0;
}

static void
inbox_refuse(size_t len)
{
	uint64_t	suppressed;

	parent_count(MAI_CNT_WS_FRAMES_REFUSED);
	if (ratelim_pass(&inbox.big_log, &suppressed))
		log_warnx("ARI message refused: len=%zu over the frame bound "
		    "max=%zu suppressed=%llu", len, MAI_FRAME_PAYLOAD_MAX,
		    (unsigned long long)suppressed);
}

static void
inbox_refuse_binary(size_t len)
{
	uint64_t	suppressed;

	parent_count(MAI_CNT_WS_FRAMES_REFUSED);
	if (ratelim_pass(&inbox.big_log, &suppressed))
		log_warnx("ARI message refused: binary len=%zu (Asterisk sends "
		    "text only) suppressed=%llu", len,
		    (unsigned long long)suppressed);
}

static void
inbox_malformed(enum json_verdict v, size_t len)
{
	uint64_t	suppressed;

	parent_count(MAI_CNT_WS_MALFORMED);
	if (ratelim_pass(&inbox.bad_log, &suppressed))
		log_warnx("ARI message dropped: %s len=%zu suppressed=%llu",
		    json_verdict_name(v), len, (unsigned long long)suppressed);
}

static void
inbox_deliver(const char *buf, size_t len)
{
	struct json_event	ev;
	enum json_verdict	v;
	bool			replaced;

	if ((v = json_event_check(buf, len, &ev)) != JSON_EVENT) {
		inbox_malformed(v, len);
		return;
	}
	parent_count(MAI_CNT_WS_EVENTS_IN);
	replaced = ev.type_len == sizeof(APP_REPLACED_TYPE) - 1 &&
	    memcmp(ev.type, APP_REPLACED_TYPE, ev.type_len) == 0;
	parent_event(buf, len);
	if (replaced)
		link_app_replaced();
	else if (link_is_up() && !parent_flag_get(MAI_FLAG_EVENTS_RECEIVED)) {
		parent_flag(MAI_FLAG_EVENTS_RECEIVED, 1);
		delivery_event_seen();
		log_info("first ARI event since connect type=%.*s",
		    (int)(ev.type_len > 64 ? 64 : ev.type_len), ev.type);
	}
}

static void
inbox_append(const void *in, size_t len)
{
	if (inbox.refusing) {
		inbox.refused_len += len;
		return;
	}
	if (len > MAI_FRAME_PAYLOAD_MAX - inbox.len) {
		inbox.refusing = true;
		inbox.refused_len = inbox.len + len;
		inbox.len = 0;
		return;
	}
	memcpy(inbox.buf + inbox.len, in, len);
	inbox.len += len;
}

/* LWS_CALLBACK_CLIENT_RECEIVE: one piece of a message. */
void
inbox_receive(struct lws *wsi, const void *in, size_t len)
{
	bool	first = lws_is_first_fragment(wsi) != 0;
	bool	final = lws_is_final_fragment(wsi) != 0;

	if (first) {
		inbox_reset();
		inbox.binary = lws_frame_is_binary(wsi) != 0;
	}
	if (inbox.binary) {
		/* Nothing of it is kept; only its length, for the log. */
		inbox.refused_len += len;
		if (final) {
			inbox_refuse_binary(inbox.refused_len);
			inbox_reset();
		}
		return;
	}
	if (first && final) {
		/* The common case: whole message, no copy. */
		if (len > MAI_FRAME_PAYLOAD_MAX)
			inbox_refuse(len);
		else
			inbox_deliver(in, len);
		return;
	}
	inbox_append(in, len);
	if (!final)
		return;
	if (inbox.refusing)
		inbox_refuse(inbox.refused_len);
	else
		inbox_deliver(inbox.buf, inbox.len);
	inbox_reset();
}
