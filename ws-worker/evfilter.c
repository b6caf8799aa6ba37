/*
 * evfilter.c — ask Asterisk to write only the events mai acts on.
 *
 * mai subscribes to everything (subscribeAll: legs, bridges and callers
 * whose StasisStart a gap lost are found that way), so Asterisk writes
 * every event of every channel on the system to this socket.  A call
 * through a Local channel is 26 events, of which mai acts on 8; every one
 * is turned into text and written by the application's single
 * taskprocessor, in line ahead of the next call's StasisStart.  Under a
 * burst that queue is where the answer latency went (docs/performance.md).
 * PUT /ari/applications/ARI_APP/eventFilter with an allowed list
 * (Asterisk 13.26 and 16.3 on) makes Asterisk drop the rest before it
 * writes them: they never cost text, a write, our read or a relay.
 *
 * Set after every connect (the application may have been made anew)
 * and before the delivery check, so that the check proves events still
 * come through the filter.  A refusal costs only speed: it is logged and
 * the delivery check goes ahead.  ARI_EVENT_FILTER=0 sends {}, which
 * clears the lists: an application Asterisk kept (it had channels) would
 * otherwise keep the filter an earlier run set.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "urlenc.h"
#include "ws.h"

/*
 * Every type a worker acts on: the flow-worker's dispatch
 * (flow-worker/ariev.c) and claims (claim.c), and the ws-worker's
 * delivery check (ChannelUserevent) and takeover watch
 * (ApplicationReplaced: Asterisk's app_update() sends it through the
 * application like any event, so the filter applies to it too; only
 * ApplicationRegistered and ApplicationUnregistered go around it).  A
 * type handled there must be listed here, or it never arrives: the
 * simulator filters the way Asterisk does, so the tests catch a type
 * left out.
 */
static const char *const evfilter_types[] = {
	"StasisStart", "StasisEnd", "ChannelDestroyed",
	"ChannelHangupRequest", "ChannelDtmfReceived", "PlaybackFinished",
	"RecordingFinished", "RecordingFailed", "CallBroadcast",
	"ChannelUserevent", "ApplicationReplaced",
};
#define EVFILTER_NTYPES	(sizeof(evfilter_types) / sizeof(evfilter_types[0]))

struct evfilter {
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	struct lws		*wsi;		/* the PUT under way */
	lws_sorted_usec_list_t	 sul_timeout;
	lws_sorted_usec_list_t	 sul_resend;
	bool			 pending;	/* started, delivery not yet */
	bool			 resend;	/* the last link's PUT is still
						   closing: send once it is */
	size_t			 body_len;
	unsigned char		 body[LWS_PRE + 512];
	char			 addr[64];	/* numeric, WebSocket peer */
};

static struct evfilter	ef;

/*
 * {"allowed":[{"type":"StasisStart"},...]} after LWS_PRE bytes, or {}
 * (no filter) with ARI_EVENT_FILTER=0.
 */
static int
evfilter_body(void)
{
	char	*b = (char *)ef.body + LWS_PRE;
	size_t	 room = sizeof(ef.body) - LWS_PRE, i;
	int	 n;

	ef.body_len = 0;
	if (!ws_conf.ari_event_filter) {
		ef.body_len = (size_t)snprintf(b, room, "{}");
		return 0;
	}
	n = snprintf(b, room, "{\"allowed\":[");
	for (i = 0; n > 0 && (size_t)n < room && i < EVFILTER_NTYPES; i++)
		n += snprintf(b + n, room - (size_t)n, "%s{\"type\":\"%s\"}",
		    i > 0 ? "," : "", evfilter_types[i]);
	if (n > 0 && (size_t)n < room)
		n += snprintf(b + n, room - (size_t)n, "]}");
	if (n <= 0 || (size_t)n >= room)
		return -1;
	ef.body_len = (size_t)n;
	return 0;
}

/* Filter set, refused or given up on: the delivery check goes next. */
static void
evfilter_done(void)
{
	if (!ef.pending)
		return;
	ef.pending = false;
	lws_sul_cancel(&ef.sul_timeout);
	delivery_start(ef.addr);
}

static void
evfilter_timeout_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	log_warnx("ARI event filter: no answer within %d ms; Asterisk "
	    "sends every event", EVFILTER_TIMEOUT_MS);
	if (ef.wsi != NULL)
		lws_set_timeout(ef.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
	evfilter_done();
}

static int
evfilter_send(void)
{
	char	path[256], app[sizeof(ws_conf.ari_app) * 3];

	urlenc(app, sizeof(app), ws_conf.ari_app);
	snprintf(path, sizeof(path), "/ari/applications/%s/eventFilter", app);
	if (evfilter_body() == -1)
		return -1;
	return basic_request(ef.ctx, ef.vh, ef.addr, "PUT", path,
	    "mai-evfilter", &ef.wsi);
}

static void
evfilter_go(void)
{
	ef.resend = false;
	if (!ef.pending)
		return;
	if (evfilter_send() == -1) {
		log_warnx("ARI event filter could not be sent; Asterisk sends "
		    "every event");
		evfilter_done();
	}
}

/*
 * From the loop, not from inside the last request's own close: lws
 * clears that request's ef.wsi after its callbacks.
 */
static void
evfilter_resend_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	evfilter_go();
}

/* The WebSocket is up: peer is the numeric address it reached, or "". */
void
evfilter_start(const char *peer)
{
	snprintf(ef.addr, sizeof(ef.addr), "%s", peer);
	ef.pending = true;
	lws_sul_schedule(ef.ctx, 0, &ef.sul_timeout, evfilter_timeout_cb,
	    EVFILTER_TIMEOUT_MS * MSEC);
	/* One request at a time: the last link's goes first (being killed). */
	if (ef.wsi != NULL)
		ef.resend = true;
	else
		evfilter_go();
}

/* The link went down: nothing follows, not even the delivery check. */
void
evfilter_stop(void)
{
	ef.pending = false;
	ef.resend = false;
	lws_sul_cancel(&ef.sul_timeout);
	lws_sul_cancel(&ef.sul_resend);
	if (ef.wsi != NULL)
		lws_set_timeout(ef.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
}

static void
evfilter_answer(struct lws *wsi)
{
	unsigned int	status = lws_http_client_http_response(wsi);

	if (!ef.pending || ef.resend) {
		/* The link it was for went down: nothing to say any more. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		return;
	}
	parent_flag(MAI_FLAG_EVENT_FILTER, status == 200 &&
	    ws_conf.ari_event_filter);
	if (status == 200 && ws_conf.ari_event_filter)
		log_info("ARI event filter set: %zu event types", EVFILTER_NTYPES);
	else if (status == 200)
		log_info("ARI event filter cleared (ARI_EVENT_FILTER=0): "
		    "every event");
	else if (status == 404)
		log_warnx("ARI event filter refused status=404: this Asterisk "
		    "has no eventFilter (13.26/16.3 on) or does not know "
		    "ARI_APP=%s; it sends every event", ws_conf.ari_app);
	else
		log_warnx("ARI event filter refused status=%u; Asterisk sends "
		    "every event", status);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	evfilter_done();
}

/* The body goes out once lws says the connection may be written. */
static int
evfilter_write_body(struct lws *wsi)
{
	lws_client_http_body_pending(wsi, 0);
	if (lws_write(wsi, ef.body + LWS_PRE, ef.body_len,
	    LWS_WRITE_HTTP_FINAL) != (int)ef.body_len)
		return -1;
	return 0;
}

static int
evfilter_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	if (basic_headers(wsi, p, end, ef.body_len) == -1)
		return -1;
	lws_client_http_body_pending(wsi, 1);
	lws_callback_on_writable(wsi);
	return 0;
}

int
evfilter_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	(void)user;
	if (wsi == NULL || wsi != ef.wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* in: where lws writes the next header; len: room left. */
		return evfilter_headers(wsi, (unsigned char **)in,
		    *(unsigned char **)in + len);
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
		return evfilter_write_body(wsi);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		evfilter_answer(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_warnx("ARI event filter failed: %.*s; Asterisk sends "
		    "every event", in != NULL ? (int)(len > 200 ? 200 : len) :
		    7, in != NULL ? (const char *)in : "unknown");
		__attribute__((fallthrough));
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		ef.wsi = NULL;
		if (ef.resend && ef.pending)	/* the new link's turn */
			lws_sul_schedule(ef.ctx, 0, &ef.sul_resend,
			    evfilter_resend_cb, 1);
		else
			evfilter_done();
		break;
	default:
		break;
	}
	return 0;
}

void
evfilter_init(struct lws_context *ctx, struct lws_vhost *vh)
{
	ef.ctx = ctx;
	ef.vh = vh;
}
