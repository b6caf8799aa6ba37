/*
 * keepalive.c — WebSocket pings, and the verdict on a link gone quiet.
 *
 * Asterisk answers pings but never sends one and has no idle timeout on
 * /ari/events, so a peer that vanished without a FIN (a crashed host, a
 * NAT that forgot us, a half-open socket) would otherwise look connected
 * for ever.  A ping goes out every ping_interval_ms; when no pong follows
 * within ping_timeout_ms the link is declared dead.  The deadline starts
 * when the ping is due, not when lws manages to write it: a socket that
 * cannot even take a ping is just as dead.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "ws.h"

struct keepalive {
	struct lws_context	*ctx;
	struct lws		*wsi;
	lws_sorted_usec_list_t	 sul_ping;
	lws_sorted_usec_list_t	 sul_deadline;
	lws_usec_t		 due_at;	/* of the unanswered ping */
	bool			 ping_due;	/* write one when writable */
	bool			 waiting;	/* a ping has no pong yet */
};

static struct keepalive	ka;

static void
keepalive_deadline_cb(lws_sorted_usec_list_t *sul)
{
	char	why[64];

	(void)sul;
	snprintf(why, sizeof(why), "no pong within %u ms",
	    ws_conf.ping_timeout_ms);
	ka.waiting = false;
	link_dead(why);
}

static void
keepalive_ping_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (ka.wsi == NULL)
		return;
	if (!ka.waiting) {
		ka.waiting = true;
		ka.due_at = lws_now_usecs();
		lws_sul_schedule(ka.ctx, 0, &ka.sul_deadline,
		    keepalive_deadline_cb, ws_conf.ping_timeout_ms * MSEC);
	}
	ka.ping_due = true;
	lws_callback_on_writable(ka.wsi);
	lws_sul_schedule(ka.ctx, 0, &ka.sul_ping, keepalive_ping_cb,
	    ws_conf.ping_interval_ms * MSEC);
}

void
keepalive_start(struct lws_context *ctx, struct lws *wsi)
{
	ka.ctx = ctx;
	ka.wsi = wsi;
	ka.ping_due = ka.waiting = false;
	lws_sul_schedule(ctx, 0, &ka.sul_ping, keepalive_ping_cb,
	    ws_conf.ping_interval_ms * MSEC);
}

void
keepalive_stop(void)
{
	lws_sul_cancel(&ka.sul_ping);
	lws_sul_cancel(&ka.sul_deadline);
	ka.wsi = NULL;
	ka.ping_due = ka.waiting = false;
}

/* From CLIENT_WRITEABLE: send the ping that is due, if any. */
int
keepalive_writeable(struct lws *wsi)
{
	static const char	payload[] = "mai";
	unsigned char		buf[LWS_PRE + sizeof(payload)];

	if (!ka.ping_due)
		return 0;
	ka.ping_due = false;
	memcpy(buf + LWS_PRE, payload, sizeof(payload) - 1);
	if (lws_write(wsi, buf + LWS_PRE, sizeof(payload) - 1,
	    LWS_WRITE_PING) < 0) {
		log_warnx("ARI WebSocket ping write failed");
		return -1;
	}
	return 0;
}

void
keepalive_pong(void)
{
	if (!ka.waiting)
		return;
	ka.waiting = false;
	lws_sul_cancel(&ka.sul_deadline);
	log_debug("pong rtt_us=%lld", (long long)(lws_now_usecs() - ka.due_at));
}
