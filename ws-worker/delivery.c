/*
 * delivery.c — prove event delivery without waiting for a call.
 *
 * Readiness needs an event received since the WebSocket connected, and a
 * quiet system sends none.  ARI's POST /ari/events/user/NAME?application=
 * ARI_APP answers 204 and sends a ChannelUserevent back over our own
 * WebSocket, which sets events_received like any real event would.  The
 * POST is an lws HTTP client connection in the same loop, so the WebSocket
 * keeps being read while it runs.  It goes to the address the WebSocket
 * reached: no second name lookup, which would block the loop.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "urlenc.h"
#include "ws.h"

struct delivery {
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	struct lws		*wsi;		/* the POST under way */
	lws_sorted_usec_list_t	 sul_timeout;
	lws_sorted_usec_list_t	 sul_quiet;
	int			 tries;		/* since the link came up */
	bool			 armed;		/* no event seen yet */
	char			 addr[64];	/* numeric, WebSocket peer */
};

static struct delivery	dlv;

static uint32_t
probe_timeout_ms(void)
{
	return ws_conf.probe_timeout_ms != 0 ? ws_conf.probe_timeout_ms :
	    DELIVERY_TIMEOUT_MS;
}

static void
delivery_timeout_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (dlv.wsi == NULL)
		return;
	log_warnx("readiness probe timed out after %u ms", probe_timeout_ms());
	lws_set_timeout(dlv.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void
delivery_send(void)
{
	char	path[256], app[sizeof(ws_conf.ari_app) * 3];

	if (dlv.wsi != NULL || dlv.tries >= DELIVERY_TRIES_MAX)
		return;
	dlv.tries++;
	urlenc(app, sizeof(app), ws_conf.ari_app);
	snprintf(path, sizeof(path), "/ari/events/user/%s?application=%s",
	    DELIVERY_EVENT, app);
	log_debug("readiness probe try=%d path=%s", dlv.tries, path);
	if (basic_request(dlv.ctx, dlv.vh, dlv.addr, "POST", path,
	    "mai-delivery", &dlv.wsi) == -1) {
		log_warnx("readiness probe could not start");
		return;
	}
	lws_sul_schedule(dlv.ctx, 0, &dlv.sul_timeout, delivery_timeout_cb,
	    probe_timeout_ms() * MSEC);
}

/* No event since the link came up: ask again, a bounded number of times. */
static void
delivery_quiet_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (!dlv.armed)
		return;
	if (dlv.tries >= DELIVERY_TRIES_MAX) {
		log_warnx("no ARI event within %d ms of connecting after %d "
		    "probes; is ARI_APP=%s right?",
		    DELIVERY_QUIET_MS * dlv.tries, dlv.tries, ws_conf.ari_app);
		return;
	}
	log_info("no ARI event %d ms after connecting; probing again",
	    DELIVERY_QUIET_MS);
	delivery_send();
	lws_sul_schedule(dlv.ctx, 0, &dlv.sul_quiet, delivery_quiet_cb,
	    DELIVERY_QUIET_MS * MSEC);
}

/* The WebSocket is up: peer is the numeric address it reached, or "". */
void
delivery_start(const char *peer)
{
	snprintf(dlv.addr, sizeof(dlv.addr), "%s", peer);
	dlv.tries = 0;
	dlv.armed = true;
	delivery_send();
	lws_sul_schedule(dlv.ctx, 0, &dlv.sul_quiet, delivery_quiet_cb,
	    DELIVERY_QUIET_MS * MSEC);
}

void
delivery_event_seen(void)
{
	dlv.armed = false;
	lws_sul_cancel(&dlv.sul_quiet);
}

void
delivery_stop(void)
{
	dlv.armed = false;
	lws_sul_cancel(&dlv.sul_quiet);
	lws_sul_cancel(&dlv.sul_timeout);
	if (dlv.wsi != NULL)
		lws_set_timeout(dlv.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
}

/* The answer is all we need; the body is never read. */
static void
delivery_answer(struct lws *wsi)
{
	unsigned int	status = lws_http_client_http_response(wsi);

	if (status >= 200 && status < 300)
		log_debug("readiness probe sent status=%u", status);
	else if (status == 401)
		log_warnx("readiness probe refused status=401: ARI_USER/"
		    "ARI_PASSWORD do not match ari.conf");
	else if (status == 404)
		log_warnx("readiness probe refused status=404: ARI does not "
		    "know ARI_APP=%s (yet)", ws_conf.ari_app);
	else
		log_warnx("readiness probe refused status=%u", status);
	lws_sul_cancel(&dlv.sul_timeout);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

int
delivery_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	(void)user;
	if (wsi == NULL || wsi != dlv.wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* in: where lws writes the next header; len: room left. */
		return basic_headers(wsi, (unsigned char **)in,
		    *(unsigned char **)in + len, 0);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		delivery_answer(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_warnx("readiness probe failed: %.*s",
		    in != NULL ? (int)(len > 200 ? 200 : len) : 7,
		    in != NULL ? (const char *)in : "unknown");
		__attribute__((fallthrough));
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		lws_sul_cancel(&dlv.sul_timeout);
		dlv.wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

void
delivery_init(struct lws_context *ctx, struct lws_vhost *vh)
{
	dlv.ctx = ctx;
	dlv.vh = vh;
}
