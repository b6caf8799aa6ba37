/*
 * ready.c — the instance's readiness verdict from a snapshot: the one
 * rule behind /readyz (docs/architecture.md, "Readiness") and behind the
 * flow-worker's claiming of broadcast calls (docs/scaling.md).
 */
#include "ipc.h"

bool
snapshot_ready(const struct mai_snapshot *s)
{
	const struct mai_worker_status	*w;
	int				 r;

	for (r = 0; r < MAI_ROLE_COUNT; r++) {
		w = &s->workers[r];
		if (w->crashloop || w->hung || w->stalled)
			return false;
	}
	/* A WebSocket refused with 401 overrides a stale ari_auth. */
	return s->flags[MAI_FLAG_EDGE_REACHABLE] && s->flags[MAI_FLAG_ARI_AUTH] &&
	    !s->flags[MAI_FLAG_WS_AUTH_REJECTED] &&
	    s->flags[MAI_FLAG_WS_CONNECTED] && s->flags[MAI_FLAG_EVENTS_RECEIVED] &&
	    !s->flags[MAI_FLAG_APP_REPLACED];
}
