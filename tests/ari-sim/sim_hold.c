/*
 * sim_hold.c — Asterisk's channel commands held behind running media.
 *
 * Asterisk runs answer and "set a variable" as commands on the channel's
 * Stasis control queue and answers the HTTP request once the command ran;
 * a playback running on the channel keeps the queue busy until it ends
 * (seen on Asterisk 22.10 for a variable set behind a playback), and so
 * does a recording: record_file() runs ast_play_and_record_full() as a
 * command on the same queue (res_stasis_recording.c) and returns only
 * when the recording ends.  With /_sim/media?hold_behind_playback=1 the
 * simulator does the same: such a request is parked unanswered, its
 * connection busy, and dispatched again when the playback or recording
 * running on its channel ends.  Play, record and continue are queued
 * asynchronously by Asterisk (answered at once) and not held.
 */

#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

struct sim_held {
	TAILQ_ENTRY(sim_held)	 entry;
	struct lws		*wsi;
	char			 chan[SIM_ID_LEN];
	int			 ready;		/* its playback ended */
};

static TAILQ_HEAD(, sim_held)	held = TAILQ_HEAD_INITIALIZER(held);
static size_t			nheld, nheld_max;
static uint64_t			nheld_total;

/* The channel id of POST /ari/channels/{id}/(answer|variable), or NULL. */
static const char *
hold_chan(const struct sim_req *r, char *id, size_t size)
{
	static const char	 prefix[] = "/ari/channels/";
	const char		*p, *slash;

	if (r->method != LWSHUMETH_POST ||
	    strncmp(r->path, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	p = r->path + sizeof(prefix) - 1;
	if ((slash = strchr(p, '/')) == NULL || (size_t)(slash - p) >= size ||
	    (strcmp(slash, "/answer") != 0 && strcmp(slash, "/variable") != 0))
		return NULL;
	memcpy(id, p, (size_t)(slash - p));
	id[slash - p] = '\0';
	return id;
}

/* Is a playback or a recording running on channel id (queue busy)? */
static int
media_running(const char *id)
{
	struct sim_chan	*c = sim_chan_find(id);
	struct sim_op	*op;

	if (c == NULL || !c->in_stasis)
		return 0;
	op = TAILQ_FIRST(&c->ops);
	return op != NULL && op->running;
}

static struct sim_held *
hold_find(struct lws *wsi)
{
	struct sim_held	*h;

	TAILQ_FOREACH(h, &held, entry)
		if (h->wsi == wsi)
			return h;
	return NULL;
}

/* 1: r waits for the channel's running media to end, unanswered. */
int
sim_hold_maybe(struct lws *wsi, const struct sim_req *r)
{
	struct sim_held	*h;
	char		 id[SIM_ID_LEN];

	/* lws may report the end of an empty body after the request. */
	if (hold_find(wsi) != NULL)
		return 1;
	if (!CALLS.media.hold_behind_playback || !r->authed ||
	    hold_chan(r, id, sizeof(id)) == NULL || !media_running(id))
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return 0;
	h->wsi = wsi;
	memcpy(h->chan, id, sizeof(h->chan));
	TAILQ_INSERT_TAIL(&held, h, entry);
	if (++nheld > nheld_max)
		nheld_max = nheld;
	nheld_total++;
	/* No lws timeout: Asterisk keeps the request as long as the media. */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return 1;
}

/* Media of channel id ended: its held requests are tried again. */
void
sim_hold_wake(const char *id)
{
	struct sim_held	*h;

	TAILQ_FOREACH(h, &held, entry)
		if (!h->ready && strcmp(h->chan, id) == 0) {
			h->ready = 1;
			lws_callback_on_writable(h->wsi);
		}
}

/*
 * LWS_CALLBACK_HTTP_WRITEABLE: 1 if wsi's held request may now be
 * dispatched again (it is no longer held), 0 if it still waits or none.
 */
int
sim_hold_release(struct lws *wsi)
{
	struct sim_held	*h = hold_find(wsi);

	if (h == NULL || !h->ready)
		return 0;
	TAILQ_REMOVE(&held, h, entry);
	nheld--;
	free(h);
	return 1;
}

/* The connection closed: its held request is gone with it. */
void
sim_hold_forget(struct lws *wsi)
{
	struct sim_held	*h = hold_find(wsi);

	if (h == NULL)
		return;
	TAILQ_REMOVE(&held, h, entry);
	nheld--;
	free(h);
}

void
sim_hold_stats(struct sim_buf *b)
{
	sb_printf(b, ",\"held_requests\":%zu,\"held_requests_max\":%zu,"
	    "\"held_requests_total\":%llu", nheld, nheld_max,
	    (unsigned long long)nheld_total);
}

/* reset_calls: the figures start again (held requests stay held). */
void
sim_hold_reset(void)
{
	nheld_max = nheld;
	nheld_total = 0;
}
