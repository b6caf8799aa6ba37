/*
 * hungup.c — callers whose hangup Asterisk is still carrying out.
 *
 * A call ends at its ChannelHangupRequest, but Asterisk takes a while to
 * tear the channel down (media stopped, bridge left, StasisEnd,
 * ChannelDestroyed), and until then GET /channels lists it in Stasis, as
 * our application's.  The listing after a WebSocket gap (reconcile.c)
 * must not take such a channel up as a caller whose StasisStart was
 * lost: its call would start over and end a second time.  So each id is
 * kept from its ChannelHangupRequest until its StasisEnd or
 * ChannelDestroyed says it left Stasis; events a gap lost are made up for
 * by HUNGUP_KEEP_MS, and at most FLOW_CALLS_MAX ids are kept (the oldest
 * go first).  A channel being hung up never enters Stasis again, so
 * leaving it alone loses no call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "flow.h"

#define HUNGUP_BUCKETS	1024		/* a power of two */
#define HUNGUP_KEEP_MS	30000

_Static_assert((HUNGUP_BUCKETS & (HUNGUP_BUCKETS - 1)) == 0,
    "bucket count is a power of two");

struct hungup_id {
	LIST_ENTRY(hungup_id)	 hash;
	TAILQ_ENTRY(hungup_id)	 age;		/* oldest first */
	uint64_t		 ns;		/* its ChannelHangupRequest */
	char			 id[FLOW_CHAN_ID_MAX];
};

struct hungup {
	LIST_HEAD(, hungup_id)	 b[HUNGUP_BUCKETS];
	TAILQ_HEAD(, hungup_id)	 ages;
	size_t			 n;
};

static struct hungup_id *
hungup_find(const struct hungup *h, const char *id)
{
	struct hungup_id	*e;

	LIST_FOREACH(e, &h->b[call_id_hash(id) & (HUNGUP_BUCKETS - 1)], hash)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void
hungup_drop(struct hungup *h, struct hungup_id *e)
{
	LIST_REMOVE(e, hash);
	TAILQ_REMOVE(&h->ages, e, age);
	h->n--;
	free(e);
}

/* Ids whose StasisEnd a gap may have taken: kept HUNGUP_KEEP_MS. */
static void
hungup_expire(struct hungup *h, uint64_t now)
{
	const uint64_t		 keep = (uint64_t)HUNGUP_KEEP_MS * 1000000;
	struct hungup_id	*e;

	while ((e = TAILQ_FIRST(&h->ages)) != NULL &&
	    (now - e->ns >= keep || h->n > FLOW_CALLS_MAX))
		hungup_drop(h, e);
}

/* The caller `id` is being hung up: its ChannelHangupRequest came. */
void
hungup_note(struct flow *f, const char *id)
{
	struct hungup		*h = f->hungup;
	struct hungup_id	*e;
	size_t			 i;

	if (strlen(id) >= FLOW_CHAN_ID_MAX)
		return;
	if (h == NULL) {
		if ((h = f->hungup = calloc(1, sizeof(*h))) == NULL)
			fatal("hungup");
		for (i = 0; i < HUNGUP_BUCKETS; i++)
			LIST_INIT(&h->b[i]);
		TAILQ_INIT(&h->ages);
	}
	if ((e = hungup_find(h, id)) != NULL)
		hungup_drop(h, e);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("hungup");
	e->ns = frame_now_ns();
	snprintf(e->id, sizeof(e->id), "%s", id);
	LIST_INSERT_HEAD(&h->b[call_id_hash(id) & (HUNGUP_BUCKETS - 1)], e,
	    hash);
	TAILQ_INSERT_TAIL(&h->ages, e, age);
	h->n++;
	hungup_expire(h, e->ns);
}

/* Its StasisEnd or ChannelDestroyed came: no listing shows it in Stasis. */
void
hungup_forget(struct flow *f, const char *id)
{
	struct hungup_id	*e;

	if (f->hungup != NULL && (e = hungup_find(f->hungup, id)) != NULL)
		hungup_drop(f->hungup, e);
}

/* Whether `id` is a caller Asterisk is still hanging up. */
int
hungup_recent(struct flow *f, const char *id)
{
	if (f->hungup == NULL)
		return 0;
	hungup_expire(f->hungup, frame_now_ns());
	return hungup_find(f->hungup, id) != NULL;
}

void
hungup_free(struct flow *f)
{
	struct hungup_id	*e;

	if (f->hungup == NULL)
		return;
	while ((e = TAILQ_FIRST(&f->hungup->ages)) != NULL)
		hungup_drop(f->hungup, e);
	free(f->hungup);
	f->hungup = NULL;
}
