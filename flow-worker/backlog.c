/*
 * backlog.c — ARI requests waiting for room in ari_rest.
 *
 * ari_rest runs at most ARI_REST_MAX_CONNS requests at once, one per
 * connection.  Beyond that, requests wait here (FLOW_BACKLOG_MAX, then
 * they fail and are counted) instead of failing the call; here, not in
 * curl, so that a new call's first request (its answer: a caller waits
 * in silence) goes ahead of the others.
 */
#include <json-c/json.h>

#include "ari_rest.h"
#include "flow.h"
#include "areq.h"

void
backlog_init(struct flow *f)
{
	TAILQ_INIT(&f->backlog);
	TAILQ_INIT(&f->backlog_first);
	TAILQ_INIT(&f->unanswered);
	f->nbacklog = 0;
}

/* r waits for room; -1 when the backlog is full (r untouched). */
int
backlog_add(struct areq *r)
{
	struct flow	*f = r->f;

	if (f->nbacklog >= FLOW_BACKLOG_MAX)
		return -1;
	r->where = AREQ_BACKLOG;
	if (r->first)
		TAILQ_INSERT_TAIL(&f->backlog_first, r, bentry);
	else
		TAILQ_INSERT_TAIL(&f->backlog, r, bentry);
	f->nbacklog++;
	return 0;
}

void
backlog_remove(struct areq *r)
{
	if (r->first)
		TAILQ_REMOVE(&r->f->backlog_first, r, bentry);
	else
		TAILQ_REMOVE(&r->f->backlog, r, bentry);
	r->f->nbacklog--;
}

/*
 * Room in ari_rest again: new calls' first requests, then the others,
 * oldest first, until it is full once more.  first_only: leave the
 * others waiting.
 */
void
backlog_drain(struct flow *f, int first_only)
{
	struct areq	*r;

	for (;;) {
		if ((r = TAILQ_FIRST(&f->backlog_first)) == NULL &&
		    (first_only || (r = TAILQ_FIRST(&f->backlog)) == NULL))
			break;
		backlog_remove(r);
		areq_issue(r);
		if (r->where == AREQ_BACKLOG)
			break;
	}
}
