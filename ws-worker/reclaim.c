/*
 * reclaim.c — take ARI_APP back once the client that took it is gone.
 *
 * After ApplicationReplaced, Asterisk sends this socket nothing more for
 * the application.  Connecting again at once would take it back from a
 * client that still wants it, and that client would do the same: both
 * flap.  Instead, every RECLAIM_INTERVAL_MS, GET /ari/applications/ARI_APP
 * asks whether anyone holds it.  Probed on Asterisk 22.10.1 (docs/
 * operations.md): 200 while the other client is connected, 404 once it
 * left, even while our replaced socket is still open (it does not keep
 * the application), and closing our replaced socket does not take the
 * application from its new holder.  So: 200, wait; 404, link.c connects
 * again; anything else (Asterisk down or restarting) asks again later.
 * The request is an lws HTTP client in the loop, to the address the
 * WebSocket reached (no name lookup, which would block the loop).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "urlenc.h"
#include "ws.h"

struct reclaim {
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	struct lws		*wsi;		/* the GET under way */
	lws_sorted_usec_list_t	 sul_next;
	lws_sorted_usec_list_t	 sul_timeout;
	bool			 on;		/* replaced: checking */
	unsigned int		 last_status;	/* logged when it changes */
	char			 addr[64];	/* numeric, or "" */
};

static struct reclaim	rcl;

static void	reclaim_schedule(void);

static void
reclaim_timeout_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (rcl.wsi != NULL)
		lws_set_timeout(rcl.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
}

static void
reclaim_send(lws_sorted_usec_list_t *sul)
{
	char	path[256], app[sizeof(ws_conf.ari_app) * 3];

	(void)sul;
	if (!rcl.on || rcl.wsi != NULL)
		return;
	urlenc(app, sizeof(app), ws_conf.ari_app);
	snprintf(path, sizeof(path), "/ari/applications/%s", app);
	if (basic_request(rcl.ctx, rcl.vh, rcl.addr, "GET", path,
	    "mai-reclaim", &rcl.wsi) == -1) {
		reclaim_schedule();
		return;
	}
	lws_sul_schedule(rcl.ctx, 0, &rcl.sul_timeout, reclaim_timeout_cb,
	    RECLAIM_TIMEOUT_MS * MSEC);
}

static void
reclaim_schedule(void)
{
	if (rcl.on)
		lws_sul_schedule(rcl.ctx, 0, &rcl.sul_next, reclaim_send,
		    RECLAIM_INTERVAL_MS * MSEC);
}

/* Another client took ARI_APP: peer is the address the link reached. */
void
reclaim_start(const char *peer)
{
	if (peer != NULL && peer[0] != '\0')
		snprintf(rcl.addr, sizeof(rcl.addr), "%s", peer);
	rcl.on = true;
	rcl.last_status = 0;
	reclaim_schedule();
}

void
reclaim_stop(void)
{
	rcl.on = false;
	lws_sul_cancel(&rcl.sul_next);
	lws_sul_cancel(&rcl.sul_timeout);
	if (rcl.wsi != NULL)
		lws_set_timeout(rcl.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
}

static void
reclaim_answer(struct lws *wsi)
{
	unsigned int	status = lws_http_client_http_response(wsi);

	lws_sul_cancel(&rcl.sul_timeout);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	if (status != rcl.last_status)
		log_info("application check app=%s status=%u: %s",
		    ws_conf.ari_app, status, status == 200 ? "another client "
		    "still holds it" : status == 404 ? "nobody holds it: "
		    "taking it back" : "asking again later");
	rcl.last_status = status;
	if (status == 404 && rcl.on) {
		reclaim_stop();
		link_reclaim();
	}
}

int
reclaim_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	(void)user;
	if (wsi == NULL || wsi != rcl.wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return basic_headers(wsi, (unsigned char **)in,
		    *(unsigned char **)in + len, 0);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		reclaim_answer(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		log_debug("application check failed: %.*s",
		    in != NULL ? (int)(len > 200 ? 200 : len) : 7,
		    in != NULL ? (const char *)in : "unknown");
		__attribute__((fallthrough));
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		lws_sul_cancel(&rcl.sul_timeout);
		rcl.wsi = NULL;
		reclaim_schedule();
		break;
	default:
		break;
	}
	return 0;
}

void
reclaim_init(struct lws_context *ctx, struct lws_vhost *vh)
{
	rcl.ctx = ctx;
	rcl.vh = vh;
}
