/*
 * relay.c — ARI events from the ws-worker to the flow-worker, in order.
 *
 * Every accepted event gets the next sequence number and stays queued
 * until the flow-worker acknowledges it; a flow-worker that dies takes
 * nothing with it: the relay rewinds and replays everything unacknowledged
 * to the next one (at-least-once, in order).  The queue is bounded in
 * events and bytes; an event that does not fit is dropped and counted.
 *
 * The WebSocket's gaps travel in the same queue, in order with the
 * events: GAP_BEGIN (events are lost from here on: the ws-worker says so,
 * or the supervisor when the ws-worker dies) and GAP_END (a WebSocket
 * again).  The flow-worker checks its calls at GAP_END, once everything
 * read before it is handled (docs/ipc.md).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "supervisor.h"

#define DROP_LOG_INTERVAL_S	5	/* one drop warning per interval */

void
relay_init(struct relay *r)
{
	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->queue);
	r->gap_open = true;	/* no WebSocket before the first */
}

static void
relay_log_drop(struct relay *r, size_t len)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (r->dropped > 1 &&
	    now.tv_sec - r->last_drop_log.tv_sec < DROP_LOG_INTERVAL_S)
		return;
	r->last_drop_log = now;
	log_warnx("event queue full: event dropped len=%zu queued=%llu "
	    "queued_bytes=%llu dropped_total=%llu (raise MAI_EVENT_QUEUE_MAX "
	    "or MAI_EVENT_QUEUE_BYTES if the flow-worker is only slow)", len,
	    (unsigned long long)r->count, (unsigned long long)r->bytes,
	    (unsigned long long)r->dropped);
}

static void
relay_append(struct relay *r, uint8_t type, const void *data, size_t len,
    uint64_t ts)
{
	struct event_item	*it;

	if ((it = malloc(sizeof(*it) + len)) == NULL) {
		r->dropped++;
		log_warn("%s dropped: malloc len=%zu", msg_name(type), len);
		return;
	}
	it->type = type;
	it->seq = ++r->last_seq;
	it->ts_ns = ts;
	it->len = len;
	if (len > 0)
		memcpy(it->data, data, len);
	TAILQ_INSERT_TAIL(&r->queue, it, entry);
	r->count++;
	r->bytes += len;
	if (type == MAI_MSG_EVENT)
		r->relayed++;
	if (r->next_send == NULL)
		r->next_send = it;
	readiness_counters_changed();
	relay_flush(r);
}

void
relay_enqueue(struct relay *r, const void *data, size_t len, uint64_t ts)
{
	if (r->count + 1 > sup->conf.queue_max_events ||
	    r->bytes + len > sup->conf.queue_max_bytes) {
		r->dropped++;
		relay_log_drop(r, len);
		readiness_counters_changed();
		return;
	}
	relay_append(r, MAI_MSG_EVENT, data, len, ts);
}

/*
 * A gap began or ended at ts.  Only a change is queued: the ws-worker and
 * the supervisor (when the ws-worker dies) may both say a gap began.
 */
void
relay_gap(struct relay *r, uint8_t type, uint64_t ts)
{
	bool	open = type == MAI_MSG_GAP_BEGIN;

	if (open == r->gap_open)
		return;
	if (r->count + 1 > sup->conf.queue_max_events + RELAY_GAPS_MAX) {
		r->dropped++;
		relay_log_drop(r, 0);
		return;
	}
	r->gap_open = open;
	log_info("event stream: %s", open ? "gap_begin (no WebSocket)" :
	    "gap_end (a WebSocket again)");
	relay_append(r, type, NULL, 0, ts);
}

/* Send until the flow-worker's socket is full; then wait for EV_WRITE. */
void
relay_flush(struct relay *r)
{
	struct worker	*w = &sup->workers[MAI_ROLE_FLOW];
	ssize_t		 n;

	if (w->state != MAI_WSTATE_RUNNING || w->fd == -1)
		return;
	while (r->next_send != NULL) {
		n = frame_send_stream(w->fd, r->next_send->type,
		    r->next_send->seq, r->next_send->ts_ns,
		    r->next_send->data, r->next_send->len);
		if (n == FRAME_EAGAIN) {
			event_add(w->ev_write, NULL);
			return;
		}
		if (n < 0) {
			/* It is going away; its exit rewinds the relay. */
			log_debug("event send to flow-worker: %s",
			    frame_error(n));
			return;
		}
		r->next_send = TAILQ_NEXT(r->next_send, entry);
	}
}

/* Acks are cumulative: everything up to seq was handled. */
void
relay_ack(struct relay *r, uint64_t seq)
{
	struct event_item	*it;

	while ((it = TAILQ_FIRST(&r->queue)) != NULL && it->seq <= seq) {
		if (it == r->next_send)
			break;	/* acking what was never sent: ignore */
		TAILQ_REMOVE(&r->queue, it, entry);
		r->count--;
		r->bytes -= it->len;
		if (it->type == MAI_MSG_EVENT)
			r->acked++;
		free(it);
	}
	readiness_counters_changed();
}

/* The flow-worker died: whatever it did not ack goes to the next one. */
void
relay_rewind(struct relay *r)
{
	struct event_item	*it;
	uint64_t		 n = 0;

	TAILQ_FOREACH(it, &r->queue, entry) {
		if (it == r->next_send)
			break;
		n++;
	}
	r->next_send = TAILQ_FIRST(&r->queue);
	r->replayed += n;
	if (r->count > 0)
		log_info("flow-worker gone: events held for replay queued=%llu "
		    "unacked=%llu", (unsigned long long)r->count,
		    (unsigned long long)n);
}
