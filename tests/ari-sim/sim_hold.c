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
 *
 * With /_sim/media?hold_play=1 a play request is parked before Asterisk
 * even looks at it (no playback exists yet), until /_sim/play_release:
 * the window in which a client may want to stop a playback whose POST
 * is still unanswered, opened on cue rather than by timing.
 */

#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

struct sim_held {
	TAILQ_ENTRY(sim_held)	 entry;
	struct lws		*wsi;
	char			 chan[SIM_ID_LEN];
	int			 play;		/* a play, until play_release */
	int			 ready;		/* its media ended / released */
};

static TAILQ_HEAD(, sim_held)	held = TAILQ_HEAD_INITIALIZER(held);
static size_t			nheld, nheld_max;
static uint64_t			nheld_total;

/*
 * The channel id of POST /ari/channels/{id}/(answer|variable), or of
 * POST /ari/channels/{id}/play[/{playbackId}] with *play set; or NULL.
 */
static const char *
hold_chan(const struct sim_req *r, char *id, size_t size, int *play)
{
	static const char	 prefix[] = "/ari/channels/";
	const char		*p, *slash;

	if (r->method != LWSHUMETH_POST ||
	    strncmp(r->path, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	p = r->path + sizeof(prefix) - 1;
	if ((slash = strchr(p, '/')) == NULL || (size_t)(slash - p) >= size)
		return NULL;
	*play = strcmp(slash, "/play") == 0 ||
	    strncmp(slash, "/play/", 6) == 0;
	if (!*play && strcmp(slash, "/answer") != 0 &&
	    strcmp(slash, "/variable") != 0)
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

static void
hold_drop(struct sim_held *h)
{
	TAILQ_REMOVE(&held, h, entry);
	nheld -= !h->play;
	free(h);
}

/* Should r wait, unanswered?  The channel's id into id if so. */
static int
hold_wanted(const struct sim_req *r, char *id, size_t size, int *play)
{
	if (!r->authed || hold_chan(r, id, size, play) == NULL)
		return 0;
	/* A released play goes, even if plays are held again by now. */
	if (*play)
		return CALLS.media.hold_play && !r->released;
	return CALLS.media.hold_behind_playback && media_running(id);
}

/* 1: r waits for the channel's media to end, or for play_release. */
int
sim_hold_maybe(struct lws *wsi, const struct sim_req *r)
{
	struct sim_held	*h;
	char		 id[SIM_ID_LEN];
	int		 play = 0;

	/* lws may report the end of an empty body after the request. */
	if (hold_find(wsi) != NULL)
		return 1;
	if (!hold_wanted(r, id, sizeof(id), &play))
		return 0;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return 0;
	h->wsi = wsi;
	h->play = play;
	memcpy(h->chan, id, sizeof(h->chan));
	TAILQ_INSERT_TAIL(&held, h, entry);
	/* The held_requests figures are about media; plays: held_plays. */
	if (!play && ++nheld > nheld_max)
		nheld_max = nheld;
	nheld_total += !play;
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
		if (!h->ready && !h->play && strcmp(h->chan, id) == 0) {
			h->ready = 1;
			lws_callback_on_writable(h->wsi);
		}
}

/* /_sim/play_release: every held play goes, in the order it came. */
size_t
sim_hold_release_plays(void)
{
	struct sim_held	*h;
	size_t		 n = 0;

	TAILQ_FOREACH(h, &held, entry)
		if (!h->ready && h->play) {
			h->ready = 1;
			lws_callback_on_writable(h->wsi);
			n++;
		}
	return n;
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
	hold_drop(h);
	return 1;
}

/* The connection closed: its held request is gone with it. */
void
sim_hold_forget(struct lws *wsi)
{
	struct sim_held	*h = hold_find(wsi);

	if (h != NULL)
		hold_drop(h);
}

void
sim_hold_stats(struct sim_buf *b)
{
	struct sim_held	*h;
	size_t		 plays = 0;

	TAILQ_FOREACH(h, &held, entry)
		plays += h->play && !h->ready;
	sb_printf(b, ",\"held_requests\":%zu,\"held_requests_max\":%zu,"
	    "\"held_requests_total\":%llu,\"held_plays\":%zu", nheld,
	    nheld_max, (unsigned long long)nheld_total, plays);
}

/* reset_calls: the figures start again (held requests stay held). */
void
sim_hold_reset(void)
{
	nheld_max = nheld;
	nheld_total = 0;
}
