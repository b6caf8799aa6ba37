/*
 * foreign.c — which of the objects named like ours belong to another mai.
 *
 * Several instances on one edge (StasisBroadcast, docs/scaling.md) share
 * the id scheme: every leg and bridge is "mai-" KIND HEX8 "-" CALLERID.
 * A flow-worker that takes stock (at start, after a WebSocket gap) must
 * clean up its own leftovers, never a peer's live call: an object whose
 * caller channel is alive and not in our application is a peer's (or the
 * dialplan's) and is left alone.  The callers are the channel listing the
 * takeover already has; kept sorted for a binary search per object, since
 * a site may list thousands.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "flow.h"

static int
foreign_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * From the channel listing: the ids of callers alive elsewhere.  The
 * strings stay in the listing, which this keeps (json_object_get).
 */
void
foreign_collect(struct flow *f, struct json_object *chans)
{
	struct reconcile	*rc = f->reconcile;
	struct json_object	*ch, *id;
	size_t			 i, n = json_object_array_length(chans);

	foreign_free(f);
	if (n == 0 || (rc->foreign = calloc(n, sizeof(*rc->foreign))) == NULL)
		return;
	rc->listing = json_object_get(chans);
	for (i = 0; i < n; i++) {
		ch = json_object_array_get_idx(chans, i);
		if (!json_object_object_get_ex(ch, "id", &id) ||
		    !json_object_is_type(id, json_type_string) ||
		    strncmp(json_object_get_string(id), FLOW_ID_PREFIX,
		    strlen(FLOW_ID_PREFIX)) == 0 || ariev_in_app(f, ch))
			continue;
		rc->foreign[rc->nforeign++] = json_object_get_string(id);
	}
	qsort(rc->foreign, rc->nforeign, sizeof(*rc->foreign), foreign_cmp);
}

/* Is object id (a leg, a bridge) a call's that lives outside our app? */
int
foreign_owns(const struct flow *f, const char *id)
{
	const struct reconcile	*rc = f->reconcile;
	size_t			 n = strlen(FLOW_ID_PREFIX);
	const char		*caller;

	/* "mai-" KIND HEX8 "-": the caller's id follows (call_of_obj). */
	if (rc == NULL || rc->nforeign == 0 || strlen(id) < n + 11 ||
	    id[n + 9] != '-')
		return 0;
	caller = id + n + 10;
	return bsearch(&caller, rc->foreign, rc->nforeign,
	    sizeof(*rc->foreign), foreign_cmp) != NULL;
}

void
foreign_free(struct flow *f)
{
	struct reconcile	*rc = f->reconcile;

	if (rc == NULL)
		return;
	free(rc->foreign);
	rc->foreign = NULL;
	rc->nforeign = 0;
	json_object_put(rc->listing);
	rc->listing = NULL;
}
