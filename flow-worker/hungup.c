/*
 * hungup.c — callers whose hangup Asterisk is still carrying out.
 *
 * A call ends at its ChannelHangupRequest, but Asterisk takes a while to
 * tear the channel down (media stopped, bridge left, StasisEnd,
 * ChannelDestroyed), and until then GET /channels lists it in Stasis, as
 * our application's.  The listing after a WebSocket gap (reconcile.c)
 * must not take such a channel up as a caller whose StasisStart was
 * lost: its call would start over and end a second time.  So the last
 * HUNGUP_MAX ids are kept for HUNGUP_KEEP_MS.  A channel being hung up
 * never enters Stasis again, so leaving it alone loses no call; an id
 * pushed out of the ring, or older, is long gone from Asterisk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "flow.h"

#define HUNGUP_MAX	512
#define HUNGUP_KEEP_MS	30000

struct hungup_id {
	uint64_t	ns;		/* when its hangup was seen; 0: free */
	char		id[FLOW_CHAN_ID_MAX];
};

struct hungup {
	struct hungup_id	ids[HUNGUP_MAX];
	size_t			next;	/* the oldest, overwritten next */
};

/* The caller `id` is being hung up: its ChannelHangupRequest came. */
void
hungup_note(struct flow *f, const char *id)
{
	struct hungup_id	*h;

	if (f->hungup == NULL && (f->hungup = calloc(1,
	    sizeof(*f->hungup))) == NULL)
		fatal("hungup");
	h = &f->hungup->ids[f->hungup->next];
	f->hungup->next = (f->hungup->next + 1) % HUNGUP_MAX;
	h->ns = frame_now_ns();
	snprintf(h->id, sizeof(h->id), "%s", id);
}

/* Whether `id` was hung up within the last HUNGUP_KEEP_MS. */
int
hungup_recent(const struct flow *f, const char *id)
{
	const uint64_t	 keep = (uint64_t)HUNGUP_KEEP_MS * 1000000;
	uint64_t	 now = frame_now_ns();
	size_t		 i;

	if (f->hungup == NULL)
		return 0;
	for (i = 0; i < HUNGUP_MAX; i++)
		if (f->hungup->ids[i].ns != 0 &&
		    now - f->hungup->ids[i].ns < keep &&
		    strcmp(f->hungup->ids[i].id, id) == 0)
			return 1;
	return 0;
}

void
hungup_free(struct flow *f)
{
	free(f->hungup);
	f->hungup = NULL;
}
