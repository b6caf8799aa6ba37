/*
 * events.c — ARI events from the supervisor, handled in order and acked.
 *
 * The ack is cumulative and sent once per batch read, not per event: the
 * supervisor keeps every event until it is acked, so an event this process
 * did not finish is replayed to its successor.  A replayed event may have
 * been seen before (at-least-once); seq numbers make that visible.
 */
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "privsep.h"
#include "ari_rest.h"
#include "flow.h"

static char	ipc_buf[MAI_FRAME_PAYLOAD_MAX];

/*
 * One event, read from the supervisor's socket at rx_ns (CLOCK_MONOTONIC):
 * the start of a new call's answer latency.
 */
/* 0: a frame of the event stream this process handled already. */
static int
flow_stream_new(struct flow *f, uint64_t seq)
{
	if (seq <= f->last_seq) {
		log_debug("event replayed, already handled seq=%llu",
		    (unsigned long long)seq);
		return 0;
	}
	f->last_seq = seq;
	return 1;
}

void
flow_event_handle(struct flow *f, uint64_t seq, const char *data, size_t len,
    uint64_t rx_ns)
{
	struct json_object	*obj, *type;

	if (!flow_stream_new(f, seq))
		return;
	f->counters.v[MAI_CNT_FLOW_EVENTS]++;
	json_tokener_reset(f->tok);
	obj = json_tokener_parse_ex(f->tok, data, (int)len);
	if (obj == NULL || !json_object_object_get_ex(obj, "type", &type)) {
		log_warnx("event without a type seq=%llu len=%zu",
		    (unsigned long long)seq, len);
		json_object_put(obj);
		return;
	}
	log_debug("event seq=%llu type=%s", (unsigned long long)seq,
	    json_object_get_string(type));
	ariev_handle(f, obj, rx_ns);
	json_object_put(obj);
}

/* Cumulative; a failed send is retried by the counters timer. */
static void
flow_ack(struct flow *f)
{
	ssize_t	n;

	if (f->last_seq == f->acked_seq)
		return;
	n = frame_send(MAI_IPC_FD, MAI_MSG_EVENT_ACK, f->last_seq, NULL, 0);
	if (n < 0) {
		log_debug("event ack deferred seq=%llu: %s",
		    (unsigned long long)f->last_seq, frame_error(n));
		return;
	}
	f->acked_seq = f->last_seq;
}

static void
flow_ipc_frame(struct flow *f, const struct mai_frame_hdr *hdr, size_t len)
{
	uint64_t	rx_ns;

	if (!msg_payload_ok(hdr->type, len)) {
		log_warnx("frame from supervisor refused type=%s len=%zu",
		    msg_name(hdr->type), len);
		return;
	}
	switch (hdr->type) {
	case MAI_MSG_EVENT:
		rx_ns = frame_now_ns();
		latency_relay(f, hdr->ts_ns, rx_ns);
		f->ev_read_ns = hdr->ts_ns;
		flow_event_handle(f, hdr->seq, ipc_buf, len, rx_ns);
		break;
	case MAI_MSG_GAP_BEGIN:
	case MAI_MSG_GAP_END:
		/* In order with the events: all read before it are handled. */
		if (flow_stream_new(f, hdr->seq))
			resync_gap(f, hdr->type == MAI_MSG_GAP_BEGIN,
			    hdr->ts_ns);
		break;
	case MAI_MSG_CONFIG:
		/* A reload: new settings and flows, calls keep running. */
		if (worker_take_config(&f->conf, ipc_buf, len) == 0 &&
		    ari_rest_configure(f->rest, &f->conf) == -1)
			log_warnx("reload: ARI credentials not taken over");
		explicit_bzero(ipc_buf, len);
		break;
	case MAI_MSG_READY:
		claim_ready(f, (const struct mai_ready *)ipc_buf);
		break;
	case MAI_MSG_FLOWS:
		/* The flow file's bytes, after CONFIG at start and reload. */
		flow_flows_take(f, ipc_buf, len);
		break;
	case MAI_MSG_PING:
		/* Answered from this loop, with the progress it can see. */
		worker_send_pong(hdr->seq, areq_oldest_ms(f));
		break;
	default:
		log_warnx("unexpected frame from supervisor type=%s",
		    msg_name(hdr->type));
	}
}

/*
 * While the socket is not read, PINGs wait behind the held events: the
 * loop says unasked, at the heartbeat interval, that it runs.
 */
static void
flow_alive_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)ev;
	worker_send_pong(0, areq_oldest_ms(f));
}

static void
flow_alive_start(struct flow *f)
{
	struct timeval	tv;
	uint32_t	ms = f->conf.heartbeat_interval_ms;

	if (ms == 0)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (f->ev_alive == NULL && (f->ev_alive = event_new(f->base, -1,
	    EV_PERSIST, flow_alive_cb, f)) == NULL)
		fatalx("event_new");
	event_add(f->ev_alive, &tv);
	flow_alive_cb(-1, 0, f);
}

/*
 * Stop or resume reading the supervisor's socket.  While stopped, events
 * wait in the supervisor's queue; reconcile.c needs that at start.
 */
void
flow_ipc_hold(struct flow *f, int on)
{
	if (on && !f->holding) {
		event_del(f->ev_ipc);
		flow_alive_start(f);
	} else if (!on && f->holding) {
		event_add(f->ev_ipc, NULL);
		if (f->ev_alive != NULL)
			event_del(f->ev_alive);
	}
	f->holding = (uint8_t)on;
}

static void
flow_ipc_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow		*f = arg;
	struct mai_frame_hdr	 hdr;
	ssize_t			 n;
	int			 i;

	(void)ev;
	for (i = 0; i < FLOW_FRAMES_PER_WAKEUP; i++) {
		n = frame_recv(fd, &hdr, ipc_buf, sizeof(ipc_buf), NULL);
		if (n == FRAME_EAGAIN)
			break;
		if (n == FRAME_ECLOSED) {
			log_info("supervisor closed the socket: exiting");
			event_base_loopexit(f->base, NULL);
			return;
		}
		if (n < 0) {
			log_warnx("frame from supervisor refused: %s",
			    frame_error(n));
			continue;
		}
		flow_ipc_frame(f, &hdr, (size_t)n);
	}
	flow_ack(f);
}

static void
flow_counters_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)ev;
	flow_ack(f);
	if (++f->answer_lat_ticks >= FLOW_LATENCY_LOG_TICKS) {
		f->answer_lat_ticks = 0;
		latency_log(f, 0);
	}
	latency_report(f);
	if (memcmp(&f->counters, &f->reported, sizeof(f->counters)) == 0)
		return;
	worker_send_counters(&f->counters);
	f->reported = f->counters;
}

void
flow_ipc_attach(struct flow *f)
{
	struct timeval	tv = { FLOW_COUNTERS_MS / 1000, 0 };

	if ((f->tok = json_tokener_new()) == NULL)
		fatalx("json_tokener_new");
	f->ev_ipc = event_new(f->base, MAI_IPC_FD, EV_READ | EV_PERSIST,
	    flow_ipc_read_cb, f);
	f->ev_counters = event_new(f->base, -1, EV_PERSIST, flow_counters_cb, f);
	if (f->ev_ipc == NULL || f->ev_counters == NULL)
		fatalx("event_new");
	event_add(f->ev_ipc, NULL);
	event_add(f->ev_counters, &tv);
}
