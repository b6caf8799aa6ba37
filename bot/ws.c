/*
 * ws.c — Asterisk's WebSocket media (chan_websocket, 22.6+): Asterisk
 * connects to us as a client (websocket_client.conf uri=ws://bot:PORT/),
 * sends MEDIA_START naming its channel, then raw audio in binary frames
 * (slin16 in Asterisk's native little-endian order) and control in text.
 *
 * libwebsockets runs inside our libevent loop: Debian's lws has neither a
 * libevent plugin nor external-poll callbacks, so the loop calls
 * lws_service() without waiting every WS_SERVICE_MS (accepts, writes,
 * lws timers) and at once when a media connection has data.  lws writes
 * only when a connection is writeable, so outgoing messages wait in a
 * bounded per-connection queue.  A connection is matched to its session by the
 * channel name (or id) in MEDIA_START, whichever of it and the control
 * request comes first; an unmatched one waits up to WS_MATCH_MS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <libwebsockets.h>

#include "log.h"
#include "bot.h"

#define WS_QUEUE_MAX	256	/* messages (5 s of 20 ms frames) */
#define WS_TEXT_MAX	1024	/* Asterisk's are <= 128 bytes; JSON more */
#define WS_RX_MAX	65536
#define WS_SERVICE_MS	10	/* half a frame: writes are never late */
#define WS_WRITE_BURST	8	/* messages per writeable callback */

struct ws_msg {
	TAILQ_ENTRY(ws_msg)	 entry;
	bool			 text;
	size_t			 len;
	unsigned char		 buf[];		/* LWS_PRE + len */
};

struct ws_conn {
	TAILQ_ENTRY(ws_conn)	 entry;
	struct lws		*wsi;
	uint64_t		 sid;		/* 0: no session */
	char			 channel[BOT_ID_MAX];
	char			 channel_id[BOT_ID_MAX];
	TAILQ_HEAD(, ws_msg)	 q;
	int			 nq;
	bool			 xoff;
	bool			 hangup;	/* close after the queue */
	struct event		*rx;		/* its socket is readable */
	char			 text[WS_TEXT_MAX];
	size_t			 tlen;
};

static struct lws_context	*ctx;
static struct event		*ws_timer;
static TAILQ_HEAD(, ws_conn)	 pending = TAILQ_HEAD_INITIALIZER(pending);

/* Data from Asterisk: service lws now rather than at the next tick. */
static void
ws_fd_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	lws_service(ctx, -1);
}

static void
ws_queue(struct ws_conn *c, const void *p, size_t len, bool text)
{
	struct ws_msg	*m;

	if (c == NULL || c->wsi == NULL)
		return;
	if (c->nq >= WS_QUEUE_MAX) {
		log_debug("ws queue full channel=%s: message dropped",
		    c->channel);
		return;
	}
	if ((m = malloc(sizeof(*m) + LWS_PRE + len)) == NULL)
		fatal("malloc");
	m->text = text;
	m->len = len;
	memcpy(m->buf + LWS_PRE, p, len);
	TAILQ_INSERT_TAIL(&c->q, m, entry);
	c->nq++;
	lws_callback_on_writable(c->wsi);
}

static void
ws_purge(struct ws_conn *c, bool binary_only)
{
	struct ws_msg	*m, *next;

	for (m = TAILQ_FIRST(&c->q); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (binary_only && m->text)
			continue;
		TAILQ_REMOVE(&c->q, m, entry);
		c->nq--;
		free(m);
	}
}

void
ws_send_audio(struct ws_conn *c, const uint8_t *p, size_t len)
{
	ws_queue(c, p, len, false);
}

void
ws_send_text(struct ws_conn *c, const char *t)
{
	if (c == NULL)
		return;
	/* Barge-in: what we have not written yet is stale too. */
	if (strcmp(t, "FLUSH_MEDIA") == 0)
		ws_purge(c, true);
	if (strcmp(t, "HANGUP") == 0)
		c->hangup = true;
	ws_queue(c, t, strlen(t), true);
}

/* The session is gone: the connection lives on until Asterisk closes. */
void
ws_detach(struct ws_conn *c)
{
	c->sid = 0;
}

static void
ws_attach(struct ws_conn *c, struct session *s)
{
	TAILQ_REMOVE(&pending, c, entry);
	c->sid = s->id;
	s->ws = c;
	log_info("media websocket matched id=%llu channel=%s",
	    (unsigned long long)s->id, c->channel);
}

/* A WebSocket session was registered: is its connection waiting? */
void
ws_match_pending(struct session *s)
{
	struct ws_conn	*c;

	TAILQ_FOREACH(c, &pending, entry)
		if (c->channel[0] != '\0' && s->ws == NULL &&
		    (strcmp(c->channel, s->leg_name) == 0 ||
		    strcmp(c->channel_id, s->leg) == 0)) {
			ws_attach(c, s);
			return;
		}
}

/* "MEDIA_START k:v k:v", or the same as JSON (control_msg_format). */
static void
ws_media_start(struct ws_conn *c, char *t)
{
	struct json_object	*o, *v;
	struct session		*s;
	char			*tok, *save = NULL;

	if (t[0] == '{' && (o = json_tokener_parse(t)) != NULL) {
		if (json_object_object_get_ex(o, "channel", &v))
			snprintf(c->channel, sizeof(c->channel), "%s",
			    json_object_get_string(v));
		if (json_object_object_get_ex(o, "channel_id", &v))
			snprintf(c->channel_id, sizeof(c->channel_id), "%s",
			    json_object_get_string(v));
		json_object_put(o);
	} else
		for (tok = strtok_r(t, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			if (strncmp(tok, "channel:", 8) == 0)
				snprintf(c->channel, sizeof(c->channel), "%s",
				    tok + 8);
			else if (strncmp(tok, "channel_id:", 11) == 0)
				snprintf(c->channel_id, sizeof(c->channel_id),
				    "%s", tok + 11);
		}
	if ((s = session_by_ws(c->channel, c->channel_id)) != NULL)
		ws_attach(c, s);
	else
		log_debug("media websocket waits for its session channel=%s",
		    c->channel);
}

static void
ws_text(struct ws_conn *c)
{
	c->text[c->tlen] = '\0';
	if (strstr(c->text, "MEDIA_START") != NULL && c->sid == 0)
		ws_media_start(c, c->text);
	else if (strstr(c->text, "MEDIA_XOFF") != NULL)
		c->xoff = true;
	else if (strstr(c->text, "MEDIA_XON") != NULL)
		c->xoff = false;
	else
		log_debug("media websocket text=\"%.60s\"", c->text);
	c->tlen = 0;
}

static void
ws_receive(struct lws *wsi, struct ws_conn *c, const void *in, size_t len)
{
	struct session	*s;
	size_t		 n;

	if (!lws_frame_is_binary(wsi)) {
		n = len;
		if (c->tlen + n >= sizeof(c->text))
			n = sizeof(c->text) - 1 - c->tlen;
		memcpy(c->text + c->tlen, in, n);
		c->tlen += n;
		if (lws_is_final_fragment(wsi))
			ws_text(c);
		return;
	}
	if (c->sid != 0 && (s = session_by_id(c->sid)) != NULL)
		media_in(s, in, len, 1);
}

static int
ws_writeable(struct lws *wsi, struct ws_conn *c)
{
	struct ws_msg	*m;
	int		 i;

	for (i = 0; i < WS_WRITE_BURST && !lws_send_pipe_choked(wsi); i++) {
		if ((m = TAILQ_FIRST(&c->q)) == NULL)
			return c->hangup ? -1 : 0;
		if (c->xoff && !m->text)
			return 0;	/* Asterisk's queue is full: wait XON */
		TAILQ_REMOVE(&c->q, m, entry);
		c->nq--;
		if (lws_write(wsi, m->buf + LWS_PRE, m->len, m->text ?
		    LWS_WRITE_TEXT : LWS_WRITE_BINARY) < (int)m->len) {
			free(m);
			return -1;
		}
		free(m);
	}
	if (!TAILQ_EMPTY(&c->q) || c->hangup)
		lws_callback_on_writable(wsi);
	return 0;
}

static void
ws_closed(struct ws_conn *c)
{
	struct session	*s = c->sid != 0 ? session_by_id(c->sid) : NULL;

	ws_purge(c, false);
	c->wsi = NULL;
	if (c->rx != NULL)
		event_free(c->rx);
	c->rx = NULL;
	if (c->sid == 0 && c->channel[0] == '\0')
		metrics_count("ws_unmatched", 1);
	if (c->sid == 0)
		TAILQ_REMOVE(&pending, c, entry);
	if (s != NULL) {
		s->ws = NULL;
		session_end(s, "media websocket closed");
	}
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ws_conn	*c = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		TAILQ_INIT(&c->q);
		c->rx = event_new(bot_base, lws_get_socket_fd(wsi),
		    EV_READ | EV_PERSIST, ws_fd_cb, NULL);
		if (c->rx == NULL || event_add(c->rx, NULL) == -1)
			fatalx("can't watch a media WebSocket");
		TAILQ_INSERT_TAIL(&pending, c, entry);
		metrics_count("ws_conns", 1);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		ws_receive(wsi, c, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, c);
	case LWS_CALLBACK_CLOSED:
		ws_closed(c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols ws_protocols[] = {
	{ "media", ws_callback, sizeof(struct ws_conn), WS_RX_MAX, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
ws_tick(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	lws_service(ctx, -1);	/* a poll that does not wait */
}

static void
ws_lws_log(int level, const char *line)
{
	log_debug("lws level=%d %.*s", level, (int)strcspn(line, "\n"), line);
}

void
ws_init(void)
{
	struct lws_context_creation_info	info;
	struct timeval				tv = { 0, WS_SERVICE_MS * 1000 };
	static char				host[64];
	const char				*colon;

	if (bot_conf.ws_listen[0] == '\0')
		return;
	colon = strrchr(bot_conf.ws_listen, ':');
	snprintf(host, sizeof(host), "%.*s", (int)(colon - bot_conf.ws_listen),
	    bot_conf.ws_listen);
	lws_set_log_level(LLL_ERR | LLL_WARN, ws_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = atoi(colon + 1);
	info.iface = strcmp(host, "0.0.0.0") == 0 ? NULL : host;
	info.protocols = ws_protocols;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.user = NULL;
	if ((ctx = lws_create_context(&info)) == NULL)
		fatalx("can't listen on BOT_WS_LISTEN=%s", bot_conf.ws_listen);
	ws_timer = event_new(bot_base, -1, EV_PERSIST, ws_tick, NULL);
	if (ws_timer == NULL || event_add(ws_timer, &tv) == -1)
		fatalx("can't start the WebSocket timer");
}

void
ws_shutdown(void)
{
	if (ctx == NULL)
		return;
	lws_context_destroy(ctx);
	ctx = NULL;
	event_free(ws_timer);
}
