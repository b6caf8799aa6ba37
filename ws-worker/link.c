/*
 * link.c — the WebSocket to Asterisk's /ari/events: connect, classify a
 * failure, reconnect with backoff, close cleanly.
 *
 * ARI takes the credentials in the query (api_key=USER:PASS) and answers a
 * bad pair with a plain HTTP 401 to the upgrade request.  lws 4.1 keeps the
 * parsed response headers until after it has called
 * LWS_CALLBACK_CLIENT_CONNECTION_ERROR, so the status is read there with
 * lws_http_client_http_response(); the handshake also passes through
 * LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP first, where the status is kept in
 * case a later lws hands the error over without headers.  No HTTP status
 * at all means the edge never answered: refused, unreachable, TLS failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "urlenc.h"
#include "ws.h"

enum link_state {
	LINK_DOWN = 0,		/* no socket; maybe a retry is scheduled */
	LINK_CONNECTING,	/* TCP, TLS or upgrade under way */
	LINK_UP,		/* upgraded; events flow */
	LINK_CLOSING		/* we asked lws to close it */
};

/* Why the last attempt failed; a warning is logged once per streak. */
enum link_fail {
	FAIL_NONE = 0,
	FAIL_AUTH,		/* 401 */
	FAIL_STATUS,		/* another HTTP status */
	FAIL_UNREACHABLE,	/* no HTTP answer */
	FAIL_TLS,		/* TLS handshake or certificate */
	FAIL_CLOSED		/* was up, then closed */
};

struct link {
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	struct lws		*wsi;
	enum link_state		 state;
	enum link_fail		 last_fail;
	unsigned int		 last_status;
	unsigned int		 http_status;	/* of the upgrade answer */
	lws_sorted_usec_list_t	 sul_retry;
	uint32_t		 backoff_ms;	/* base of the next delay */
	uint64_t		 attempts;	/* since the last success */
	lws_usec_t		 up_since;
	char			 peer[64];	/* numeric address reached */
	bool			 replaced;	/* another client has ARI_APP */
	bool			 gap_open;	/* events are lost: no link, or
						   replaced (GAP_BEGIN sent) */
	bool			 stopping;	/* the worker is exiting */
	bool			 reconnect_now;	/* a reload closed the link */
	/* ws[s]://host:port/path for logs, api_key masked */
	char			 url_log[LINK_PATH_MAX + MAI_STR_MAX + 32];
};

/* A new worker starts in a gap: its predecessor's, or before the first. */
static struct link	lk = { .gap_open = true };

static void	link_connect(void);
static void	link_log_failure(enum link_fail, unsigned int, const char *);

/*
 * Events for ARI_APP stop reaching us (the link is gone, or another
 * client took the application): whatever happens to calls now is lost,
 * and the flow-worker must check its calls once events flow again.  The
 * gap frames go in the event stream, behind the events read before.
 */
static void
link_gap(bool open)
{
	if (open == lk.gap_open)
		return;
	lk.gap_open = open;
	parent_gap(open ? MAI_MSG_GAP_BEGIN : MAI_MSG_GAP_END);
}

/* "host:port", with brackets around an IPv6 literal. */
int
link_host_header(char *buf, size_t size, const struct mai_config *c)
{
	int	n;

	if (strchr(c->ari_host, ':') != NULL)
		n = snprintf(buf, size, "[%s]:%u", c->ari_host, c->ari_port);
	else
		n = snprintf(buf, size, "%s:%u", c->ari_host, c->ari_port);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int
link_path(char *buf, size_t size)
{
	char	app[sizeof(ws_conf.ari_app) * 3], user[MAI_STR_MAX * 3];
	char	pass[MAI_STR_MAX * 3];
	int	n;

	urlenc(app, sizeof(app), ws_conf.ari_app);
	urlenc(user, sizeof(user), ws_conf.ari_user);
	urlenc(pass, sizeof(pass), ws_conf.ari_password);
	n = snprintf(buf, size, "/ari/events?app=%s&subscribeAll=true"
	    "&api_key=%s:%s", app, user, pass);
	explicit_bzero(pass, sizeof(pass));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Delay of the next attempt: the base +-jitter; the base then doubles. */
static uint32_t
link_next_delay(void)
{
	uint32_t	base, span;

	if (lk.backoff_ms < LINK_BACKOFF_MIN_MS)
		lk.backoff_ms = LINK_BACKOFF_MIN_MS;
	base = lk.backoff_ms;
	span = base / 100 * LINK_BACKOFF_JITTER_PCT;
	lk.backoff_ms = base >= LINK_BACKOFF_MAX_MS / 2 ?
	    LINK_BACKOFF_MAX_MS : base * 2;
	return base - span + arc4random_uniform(2 * span + 1);
}

static void
link_retry_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	parent_count(MAI_CNT_WS_RECONNECTS);
	link_connect();
}

static void
link_schedule(uint32_t delay_ms)
{
	lws_sul_schedule(lk.ctx, 0, &lk.sul_retry, link_retry_cb,
	    delay_ms * MSEC);
}

/*
 * The socket is gone (or never came up).  Everything that described it is
 * cleared at once, then a retry is scheduled unless the worker is stopping
 * or another client owns ARI_APP: fighting it would only flap both.
 */
static void
link_down(void)
{
	lws_usec_t	up;

	up = lk.up_since != 0 ? lws_now_usecs() - lk.up_since : 0;
	link_gap(true);
	lk.wsi = NULL;
	lk.state = LINK_DOWN;
	lk.up_since = 0;
	parent_flag(MAI_FLAG_WS_CONNECTED, 0);
	parent_flag(MAI_FLAG_EVENTS_RECEIVED, 0);
	parent_flag(MAI_FLAG_EVENT_FILTER, 0);
	keepalive_stop();
	evfilter_stop();
	delivery_stop();
	inbox_reset();
	if (lk.stopping) {
		/* Wake the loop: main() exits once the link is down. */
		lws_cancel_service(lk.ctx);
		return;
	}
	if (lk.reconnect_now) {
		lk.reconnect_now = false;
		link_schedule(0);
		return;
	}
	if (lk.replaced) {
		/* reclaim.c connects once nobody holds ARI_APP. */
		log_warnx("not reconnecting while ARI_APP=%s belongs to another "
		    "client: checking every %d ms whether it is free",
		    ws_conf.ari_app, RECLAIM_INTERVAL_MS);
		return;
	}
	if (up >= LINK_STABLE_MS * MSEC)
		lk.backoff_ms = LINK_BACKOFF_MIN_MS;
	link_schedule(link_next_delay());
}

static void
link_connect(void)
{
	struct lws_client_connect_info	ci;
	char				path[LINK_PATH_MAX];
	char				masked[LINK_PATH_MAX];
	char				host[MAI_STR_MAX + 16];

	if (link_path(path, sizeof(path)) == -1 ||
	    link_host_header(host, sizeof(host), &ws_conf) == -1)
		fatalx("ARI settings too long for the WebSocket URL");
	urlenc_mask_api_key(masked, sizeof(masked), path);
	snprintf(lk.url_log, sizeof(lk.url_log), "%s://%s%s",
	    ws_conf.ari_tls ? "wss" : "ws", host, masked);
	memset(&ci, 0, sizeof(ci));
	ci.context = lk.ctx;
	ci.vhost = lk.vh;
	ci.address = ws_conf.ari_host;
	ci.port = ws_conf.ari_port;
	ci.path = path;
	ci.host = host;
	ci.local_protocol_name = "mai-ari";	/* and no subprotocol asked */
	ci.ssl_connection = ws_conf.ari_tls ? LCCSCF_USE_SSL : 0;
	ci.pwsi = &lk.wsi;
	lk.state = LINK_CONNECTING;
	lk.http_status = 0;
	lk.attempts++;
	log_debug("connecting url=%s attempt=%llu", lk.url_log,
	    (unsigned long long)lk.attempts);
	/* lws copies path at once; a failure here gets no callback. */
	if (lws_client_connect_via_info(&ci) == NULL &&
	    lk.state == LINK_CONNECTING) {
		link_log_failure(FAIL_UNREACHABLE, 0,
		    "failed at once: name lookup or socket");
		link_down();
	}
	explicit_bzero(path, sizeof(path));
}

static void
link_log_failure(enum link_fail kind, unsigned int status, const char *why)
{
	bool	first = kind != lk.last_fail || status != lk.last_status;

	lk.last_fail = kind;
	lk.last_status = status;
	if (!first) {
		log_debug("ARI WebSocket attempt failed again status=%u "
		    "attempt=%llu", status, (unsigned long long)lk.attempts);
		return;
	}
	if (kind == FAIL_AUTH)
		log_warnx("ARI rejected the WebSocket handshake status=401: "
		    "ARI_USER/ARI_PASSWORD do not match ari.conf url=%s",
		    lk.url_log);
	else if (kind == FAIL_STATUS)
		log_warnx("ARI refused the WebSocket handshake status=%u%s "
		    "url=%s", status, status == 503 ?
		    " (Asterisk not fully booted)" : "", lk.url_log);
	else if (kind == FAIL_TLS)
		log_warnx("TLS with the edge failed (certificate not trusted "
		    "by the system CA bundle, or not for ARI_HOST?) host=%s "
		    "port=%u reason=\"%.200s\"", ws_conf.ari_host,
		    ws_conf.ari_port, why);
	else
		log_warnx("edge unreachable: ARI WebSocket connect failed "
		    "host=%s port=%u reason=\"%.200s\"", ws_conf.ari_host,
		    ws_conf.ari_port, why);
}

static void
link_connection_error(struct lws *wsi, const char *in, size_t len)
{
	char		why[256];
	unsigned int	status;

	if (lk.state == LINK_CLOSING) {
		/* We killed it (stop or reload): nothing to report. */
		link_down();
		return;
	}
	snprintf(why, sizeof(why), "%.*s", in != NULL ? (int)len : 0,
	    in != NULL ? in : "");
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "unknown");
	if ((status = lws_http_client_http_response(wsi)) == 0)
		status = lk.http_status;
	if (status == 401 || strstr(why, "unauthorized") != NULL) {
		parent_flag(MAI_FLAG_WS_AUTH_REJECTED, 1);
		link_log_failure(FAIL_AUTH, 401, why);
	} else if (status != 0)
		link_log_failure(FAIL_STATUS, status, why);
	else if (strstr(why, "SSL") != NULL || strstr(why, "tls") != NULL)
		link_log_failure(FAIL_TLS, 0, why);
	else
		link_log_failure(FAIL_UNREACHABLE, 0, why);
	link_down();
}

static void
link_established(struct lws *wsi)
{
	char	peer[64];

	lk.state = LINK_UP;
	lk.up_since = lws_now_usecs();
	lk.last_fail = FAIL_NONE;
	link_gap(false);
	parent_flag(MAI_FLAG_WS_CONNECTED, 1);
	parent_flag(MAI_FLAG_WS_AUTH_REJECTED, 0);
	log_info("ARI WebSocket connected url=%s attempts=%llu", lk.url_log,
	    (unsigned long long)lk.attempts);
	lk.attempts = 0;
	keepalive_start(lk.ctx, wsi);
	/*
	 * The event filter, then the delivery check, go to the address we
	 * reached: no second DNS lookup.
	 */
	if (lws_get_peer_simple(wsi, peer, sizeof(peer)) == NULL)
		peer[0] = '\0';
	snprintf(lk.peer, sizeof(lk.peer), "%s", peer);
	if (!lk.replaced)
		evfilter_start(peer);
}

static void
link_closed(void)
{
	lws_usec_t	up = lws_now_usecs() - lk.up_since;

	if (lk.stopping || lk.reconnect_now)
		log_info("ARI WebSocket closed up_ms=%lld",
		    (long long)(up / MSEC));
	else if (lk.state == LINK_CLOSING)
		log_debug("ARI WebSocket killed up_ms=%lld",
		    (long long)(up / MSEC));
	else
		log_warnx("ARI WebSocket closed by the edge up_ms=%lld",
		    (long long)(up / MSEC));
	lk.last_fail = FAIL_CLOSED;
	link_down();
}

/*
 * lws freed the socket without CONNECTION_ERROR or CLIENT_CLOSED: it does
 * so when the handshake outlives WS_CONNECT_TIMEOUT_S.
 */
static void
link_lost(void)
{
	if (lk.state == LINK_CONNECTING)
		link_log_failure(FAIL_UNREACHABLE, 0,
		    "no answer to the WebSocket handshake in time");
	else if (lk.state == LINK_UP)
		log_warnx("ARI WebSocket lost url=%s", lk.url_log);
	link_down();
}

/* Our side of a clean close: Close frame 1001, then lws waits for the ack. */
static int
link_writeable(struct lws *wsi)
{
	static const char	reason[] = "mai ws-worker closing";

	if (lk.state == LINK_CLOSING) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY,
		    (unsigned char *)(uintptr_t)reason, sizeof(reason) - 1);
		return -1;
	}
	return keepalive_writeable(wsi);
}

int
link_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	(void)user;
	if (wsi == NULL || wsi != lk.wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		lk.http_status = lws_http_client_http_response(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		link_connection_error(wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		link_established(wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		inbox_receive(wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		keepalive_pong();
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return link_writeable(wsi);
	case LWS_CALLBACK_CLIENT_CLOSED:
		link_closed();
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Gone without one of the callbacks above. */
		link_lost();
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Keepalive found no pong in time.  The readiness flags drop now; lws
 * kills the socket from its loop and CLIENT_CLOSED schedules the retry.
 */
void
link_dead(const char *why)
{
	if (lk.wsi == NULL)
		return;
	log_warnx("ARI WebSocket dead: %s url=%s", why, lk.url_log);
	parent_flag(MAI_FLAG_WS_CONNECTED, 0);
	parent_flag(MAI_FLAG_EVENTS_RECEIVED, 0);
	lk.state = LINK_CLOSING;
	lk.last_fail = FAIL_CLOSED;
	lws_set_timeout(lk.wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

/* Start closing whatever socket there is; link_down() follows. */
static void
link_shut(void)
{
	lws_sul_cancel(&lk.sul_retry);
	if (lk.wsi == NULL)
		return;
	if (lk.state == LINK_UP) {
		lk.state = LINK_CLOSING;
		lws_callback_on_writable(lk.wsi);
	} else {
		lk.state = LINK_CLOSING;
		lws_set_timeout(lk.wsi, PENDING_TIMEOUT_CLOSE_SEND,
		    LWS_TO_KILL_ASYNC);
	}
}

void
link_close(void)
{
	lk.stopping = true;
	reclaim_stop();
	link_shut();
}

bool
link_is_down(void)
{
	return lk.wsi == NULL;
}

bool
link_is_up(void)
{
	return lk.state == LINK_UP;
}

/*
 * Another client registered ARI_APP.  Asterisk keeps this socket open but
 * sends nothing more for the application; reconnecting now would take it
 * back and the other side would do the same.  Keep the socket, say so,
 * and let reclaim.c find out when nobody holds the application any more.
 */
void
link_app_replaced(void)
{
	if (lk.replaced)
		return;
	lk.replaced = true;
	link_gap(true);
	parent_flag(MAI_FLAG_APP_REPLACED, 1);
	parent_flag(MAI_FLAG_EVENT_FILTER, 0);
	evfilter_stop();
	delivery_stop();
	log_warnx("ApplicationReplaced: another client (another orchestrator "
	    "with ARI_APP=%s?) took over the application; events for it stop "
	    "here, and the ws-worker takes it back once nobody holds it "
	    "(checked every %d ms)", ws_conf.ari_app, RECLAIM_INTERVAL_MS);
	reclaim_start(lk.peer);
}

/* Replaced no more: connect again (a new socket registers ARI_APP). */
void
link_reclaim(void)
{
	lk.replaced = false;
	reclaim_stop();
	parent_flag(MAI_FLAG_APP_REPLACED, 0);
	lk.backoff_ms = LINK_BACKOFF_MIN_MS;
	lk.last_fail = FAIL_NONE;
	if (lk.wsi != NULL) {
		lk.reconnect_now = true;
		link_shut();
	} else {
		lws_sul_cancel(&lk.sul_retry);
		link_schedule(0);
	}
}

/* A new CONFIG from the supervisor (SIGHUP there). */
void
link_reload(const struct mai_config *c)
{
	bool	moved;

	if (c->ari_tls != ws_conf.ari_tls) {
		/* TLS is set up with the lws context, before the sandbox. */
		ws_stop(0, "ARI_TLS changed: exiting to be restarted with it");
		return;
	}
	moved = strcmp(c->ari_host, ws_conf.ari_host) != 0 ||
	    strcmp(c->ari_user, ws_conf.ari_user) != 0 ||
	    strcmp(c->ari_password, ws_conf.ari_password) != 0 ||
	    strcmp(c->ari_app, ws_conf.ari_app) != 0 ||
	    c->ari_port != ws_conf.ari_port;
	memcpy(&ws_conf, c, sizeof(ws_conf));
	ws_conf_defaults(&ws_conf);
	log_info("config reloaded reconnect=%s", moved || lk.replaced ?
	    "yes" : "no");
	if (!moved && !lk.replaced)
		return;
	link_reclaim();
}

void
link_init(struct lws_context *ctx, struct lws_vhost *vh)
{
	lk.ctx = ctx;
	lk.vh = vh;
	lk.backoff_ms = LINK_BACKOFF_MIN_MS;
}

void
link_start(void)
{
	link_connect();
}
