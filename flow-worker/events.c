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
static const uint64_t latency_bounds_us[] = MAI_LATENCY_BOUNDS_US;
_Static_assert(sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]) ==
    MAI_LATENCY_BUCKETS - 1, "one bucket per bound, plus +Inf");

/* One histogram sample of d_ns. */
void
flow_latency_add(struct mai_latency *l, uint64_t d_ns)
{
	uint64_t	us = d_ns / 1000;
	size_t		i, n = sizeof(latency_bounds_us) /
			    sizeof(latency_bounds_us[0]);

	for (i = 0; i < n && us > latency_bounds_us[i]; i++)
		;
	l->bucket[i]++;
	l->count++;
	l->sum_ns += d_ns;
	if (d_ns > l->max_ns)
		l->max_ns = d_ns;
}

/* How long the event took through mai to us. */
static void
flow_latency_record(struct flow *f, uint64_t ts_ns)
{
	uint64_t	now = frame_now_ns();

	if (ts_ns == 0 || ts_ns > now)
		return;
	flow_latency_add(&f->lat[MAI_LAT_RELAY], now - ts_ns);
}

void
flow_event_handle(struct flow *f, uint64_t seq, const char *data, size_t len)
{
	struct json_object	*obj, *type;

	if (seq <= f->last_seq) {
		log_debug("event replayed, already handled seq=%llu",
		    (unsigned long long)seq);
		return;
	}
	f->last_seq = seq;
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
	ariev_handle(f, obj);
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
	char	err[FLOW_ERR_MAX];

	if (!msg_payload_ok(hdr->type, len)) {
		log_warnx("frame from supervisor refused type=%s len=%zu",
		    msg_name(hdr->type), len);
		return;
	}
	switch (hdr->type) {
	case MAI_MSG_EVENT:
		flow_latency_record(f, hdr->ts_ns);
		f->rx_ns = frame_now_ns();
		flow_event_handle(f, hdr->seq, ipc_buf, len);
		f->rx_ns = 0;
		break;
	case MAI_MSG_CONFIG:
		/* A reload: new settings and flows, calls keep running. */
		memcpy(&f->conf, ipc_buf, sizeof(f->conf));
		log_setlevel(f->conf.log_level, f->conf.log_json);
		if (ari_rest_configure(f->rest, &f->conf) == -1)
			log_warnx("reload: ARI credentials not taken over");
		break;
	case MAI_MSG_FLOWS:
		/* The flow file's bytes, after CONFIG at start and reload. */
		flow_flows_set(f, flowset_parse(f->conf.flows_file, ipc_buf,
		    len, err, sizeof(err)), err);
		break;
	default:
		log_warnx("unexpected frame from supervisor type=%s",
		    msg_name(hdr->type));
	}
}

/*
 * Stop or resume reading the supervisor's socket.  While stopped, events
 * wait in the supervisor's queue; reconcile.c needs that at start.
 */
void
flow_ipc_hold(struct flow *f, int on)
{
	if (on && !f->holding)
		event_del(f->ev_ipc);
	else if (!on && f->holding)
		event_add(f->ev_ipc, NULL);
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

/* Both histograms, when either has new samples. */
static void
flow_latency_send(struct flow *f)
{
	uint64_t	n = f->lat[MAI_LAT_RELAY].count +
			    f->lat[MAI_LAT_ANSWER].count;

	if (n != f->lat_reported && frame_send(MAI_IPC_FD, MAI_MSG_LATENCY,
	    0, f->lat, sizeof(f->lat)) >= 0)
		f->lat_reported = n;
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
		areq_latency_log(f, 0);
	}
	flow_latency_send(f);
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
