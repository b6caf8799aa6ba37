/*
 * readiness.c — the readiness flags and the snapshot the health-worker
 * answers from.
 *
 * Flags change rarely and matter at once: each change schedules a push
 * for the end of this loop pass (changes in one pass coalesce).  Counters
 * change per event, so they ride along on a one-second timer instead of
 * costing a frame per event on the hot relay path.
 */
#include <string.h>
#include <time.h>

#include "log.h"
#include "supervisor.h"

static struct event	*ev_push;
static struct event	*ev_tick;
static bool		 counters_dirty;

static void
readiness_push_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	readiness_push();
}

static void
readiness_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	if (counters_dirty)
		readiness_push();
}

void
readiness_init(void)
{
	struct timeval	tv = { COUNTER_PUSH_MS / 1000,
			    (COUNTER_PUSH_MS % 1000) * 1000 };

	memset(sup->flags, 0, sizeof(sup->flags));
	ev_push = event_new(sup->base, -1, 0, readiness_push_cb, NULL);
	ev_tick = event_new(sup->base, -1, EV_PERSIST, readiness_tick_cb, NULL);
	if (ev_push == NULL || ev_tick == NULL)
		fatalx("event_new readiness");
	event_add(ev_tick, &tv);
}

void
readiness_changed(void)
{
	sup->generation++;
	/* Activating an already active event is a no-op: changes coalesce. */
	if (ev_push != NULL)
		event_active(ev_push, 0, 0);
}

void
readiness_counters_changed(void)
{
	counters_dirty = true;
}

void
readiness_set(enum mai_flag f, bool v)
{
	if (sup->flags[f] == v)
		return;
	sup->flags[f] = v;
	log_info("readiness flag=%s value=%s", flag_name(f), v ? "true" : "false");
	readiness_changed();
}

/* A worker that is gone cannot vouch for anything it reported. */
void
readiness_clear_role(enum mai_role role)
{
	int	f;

	for (f = 0; f < MAI_FLAG_COUNT; f++)
		if (flag_owner((enum mai_flag)f) == role && sup->flags[f]) {
			sup->flags[f] = 0;
			log_info("readiness flag=%s value=false reason=\"%s "
			    "down\"", flag_name((enum mai_flag)f),
			    role_name(role));
			readiness_changed();
		}
}

void
readiness_fill(struct mai_snapshot *s)
{
	struct worker		*w;
	struct mai_worker_status *ws;
	struct relay		*r = &sup->relay;
	int			 i;

	memset(s, 0, sizeof(*s));
	memcpy(s->flags, sup->flags, sizeof(s->flags));
	s->generation = sup->generation;
	s->events_relayed = r->relayed;
	s->events_acked = r->acked;
	s->events_dropped = r->dropped;
	s->events_queued = r->count;
	s->events_queued_bytes = r->bytes;
	s->events_replayed = r->replayed;
	s->started_at = (uint64_t)sup->started_at;
	s->ari_oldest_ms = sup->workers[MAI_ROLE_FLOW].ari_oldest_ms;
	s->event_oldest_ms = heartbeat_event_age_ms();
	s->progress_max_ms = sup->conf.progress_max_ms;
	memcpy(s->latency, sup->workers[MAI_ROLE_FLOW].latency,
	    sizeof(s->latency));
	for (i = 0; i < MAI_ROLE_COUNT; i++) {
		w = &sup->workers[i];
		ws = &s->workers[i];
		ws->pid = (int32_t)w->pid;
		ws->state = (uint8_t)w->state;
		ws->crashloop = w->fast_exits >= CRASHLOOP_EXITS;
		ws->hung = w->hung;
		ws->stalled = w->stalled;
		ws->heartbeats_missed = w->heartbeats_missed;
		ws->hung_kills = w->hung_kills;
		ws->restarts = w->restarts;
		ws->backoff_ms = w->backoff_ms;
		ws->last_exit = w->last_exit;
		ws->frames_refused = w->frames_refused;
		memcpy(ws->counters, w->counters, sizeof(ws->counters));
	}
}

/*
 * /readyz's verdict to the flow-worker: when it changes, and with force
 * after the flow-worker's CONFIG (a new one starts not ready).  A full
 * socket is retried by the next push (the one-second tick).
 */
void
readiness_tell_flow(const struct mai_snapshot *snap, bool force)
{
	static int		 told = -1;
	struct worker		*w = &sup->workers[MAI_ROLE_FLOW];
	struct mai_ready	 r;

	memset(&r, 0, sizeof(r));
	r.ready = snapshot_ready(snap) && !sup->draining;
	if ((!force && told == r.ready) || w->fd == -1 ||
	    (w->state != MAI_WSTATE_RUNNING && !force))
		return;
	if (frame_send(w->fd, MAI_MSG_READY, 0, &r, sizeof(r)) < 0) {
		told = -1;
		counters_dirty = true;
		return;
	}
	told = r.ready;
}

void
readiness_push(void)
{
	struct worker		*h = &sup->workers[MAI_ROLE_HEALTH];
	struct mai_snapshot	 snap;
	ssize_t			 n;

	readiness_fill(&snap);
	readiness_tell_flow(&snap, false);
	if (h->state != MAI_WSTATE_RUNNING || h->fd == -1)
		return;
	n = frame_send(h->fd, MAI_MSG_SNAPSHOT, 0, &snap, sizeof(snap));
	/* A full socket only delays it: the tick sends a fresh one. */
	counters_dirty = n < 0;
	if (n < 0 && n != FRAME_EAGAIN)
		log_debug("snapshot to health-worker: %s", frame_error(n));
}
