/*
 * render.c — turn the cached state into answer bytes.
 *
 * /healthz/deps and /readyz are what load balancers poll, thousands of
 * times a second: their bodies are rendered here once per change (new
 * snapshot, new probe result) and copied as-is into every answer.
 * /metrics is rendered per request; Prometheus scrapes it rarely.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "health.h"
#include "log.h"

/* The /readyz checks, in the order the JSON and the metrics show them. */
enum ready_check {
	CHECK_EDGE = 0,
	CHECK_AUTH,
	CHECK_WS,
	CHECK_EVENTS,
	CHECK_APP_REPLACED,
	CHECK_COUNT
};

static const char *const check_names[CHECK_COUNT] = {
	[CHECK_EDGE] = "edge_http_reachable",
	[CHECK_AUTH] = "ari_auth",
	[CHECK_WS] = "ws_connected",
	[CHECK_EVENTS] = "events_received",
	[CHECK_APP_REPLACED] = "app_replaced",
};

static const char *
json_bool(int v)
{
	return v ? "true" : "false";
}

/*
 * From the supervisor's snapshot only, so /readyz tells what the supervisor
 * knows.  A WebSocket refused with 401 overrides a stale ari_auth: the
 * probe may have run before the password changed in ari.conf.
 */
static int
ready_check(const struct health_state *st, enum ready_check c)
{
	const uint8_t	*f = st->snap.flags;

	if (!st->have_snap)
		return 0;
	switch (c) {
	case CHECK_EDGE:
		return f[MAI_FLAG_EDGE_REACHABLE] != 0;
	case CHECK_AUTH:
		return f[MAI_FLAG_ARI_AUTH] && !f[MAI_FLAG_WS_AUTH_REJECTED];
	case CHECK_WS:
		return f[MAI_FLAG_WS_CONNECTED] != 0;
	case CHECK_EVENTS:
		return f[MAI_FLAG_EVENTS_RECEIVED] != 0;
	case CHECK_APP_REPLACED:
		return f[MAI_FLAG_APP_REPLACED] != 0;
	default:
		return 0;
	}
}

/*
 * Worker conditions that make /readyz fail, each listed by worker name:
 * restarting too fast, hung (missed its heartbeat deadline, until its
 * successor says hello), stalled (the flow-worker's oldest ARI request or
 * unacknowledged event older than MAI_PROGRESS_MAX_MS).
 */
enum worker_cond {
	COND_CRASHLOOP = 0,
	COND_HUNG,
	COND_STALLED,
	COND_COUNT
};

static const char *const cond_names[COND_COUNT] = {
	[COND_CRASHLOOP] = "crashloop",
	[COND_HUNG] = "hung",
	[COND_STALLED] = "stalled",
};

static int
worker_cond(const struct mai_worker_status *w, enum worker_cond c)
{
	switch (c) {
	case COND_CRASHLOOP:
		return w->crashloop != 0;
	case COND_HUNG:
		return w->hung != 0;
	case COND_STALLED:
		return w->stalled != 0;
	default:
		return 0;
	}
}

static int
ready_ok(const struct health_state *st)
{
	/* The one rule (common/ready.c), also the flow-worker's for claims. */
	return st->have_snap && snapshot_ready(&st->snap);
}

/* Append to a cached answer; an overflow empties it and says so once. */
static void __attribute__((format(printf, 2, 3)))
answer_printf(struct cached_answer *a, const char *fmt, ...)
{
	va_list	ap;
	size_t	room = sizeof(a->body) - a->len;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(a->body + a->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		log_warnx("answer over %d bytes, sent empty", HEALTH_ANSWER_MAX);
		a->len = 0;
		a->body[0] = '\0';
		return;
	}
	a->len += (size_t)n;
}

void
render_deps(struct health_state *st)
{
	struct cached_answer	*a = &st->deps;
	int			 ok = st->edge_reachable && st->ari_auth;

	a->len = 0;
	a->code = ok ? 200 : 503;
	answer_printf(a, "{\"status\":\"%s\",\"edge_http_reachable\":%s,"
	    "\"ari_auth\":%s}", ok ? "ok" : "degraded",
	    json_bool(st->edge_reachable), json_bool(st->ari_auth));
}

void
render_ready(struct health_state *st)
{
	struct cached_answer	*a = &st->ready;
	int			 ok = ready_ok(st), r, c, first;

	a->len = 0;
	a->code = ok ? 200 : 503;
	answer_printf(a, "{\"status\":\"%s\"", ok ? "ok" : "degraded");
	for (r = 0; r < CHECK_COUNT; r++)
		answer_printf(a, ",\"%s\":%s", check_names[r],
		    json_bool(ready_check(st, (enum ready_check)r)));
	for (c = 0; c < COND_COUNT; c++) {
		answer_printf(a, ",\"%s\":[", cond_names[c]);
		for (r = 0, first = 1; r < MAI_ROLE_COUNT; r++) {
			if (!worker_cond(&st->snap.workers[r],
			    (enum worker_cond)c))
				continue;
			answer_printf(a, "%s\"%s\"", first ? "" : ",",
			    role_name((enum mai_role)r));
			first = 0;
		}
		answer_printf(a, "]");
	}
	answer_printf(a, "}");
}

static void
metric_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Per-worker series; one HELP/TYPE block each, one line per role. */
enum worker_metric {
	WM_UP = 0,
	WM_RESTARTS,
	WM_CRASHLOOP,
	WM_REFUSED,
	WM_BACKOFF,
	WM_EXIT,
	WM_HUNG,
	WM_MISSED,
	WM_HUNG_KILLS,
	WM_COUNT
};

static const struct {
	const char	*name, *type, *help;
} worker_metrics[WM_COUNT] = {
	[WM_UP] = { "mai_worker_up", "gauge",
	    "1 if the worker said hello and runs" },
	[WM_RESTARTS] = { "mai_worker_restarts_total", "counter",
	    "Restarts of the worker since the supervisor started" },
	[WM_CRASHLOOP] = { "mai_worker_crashloop", "gauge",
	    "1 if the worker restarts too fast" },
	[WM_REFUSED] = { "mai_worker_frames_refused_total", "counter",
	    "Malformed or oversized frames refused from the worker" },
	[WM_BACKOFF] = { "mai_worker_backoff_seconds", "gauge",
	    "Current restart delay of the worker" },
	[WM_EXIT] = { "mai_worker_last_exit_code", "gauge",
	    "Last exit code of the worker, or minus the signal" },
	[WM_HUNG] = { "mai_worker_hung", "gauge",
	    "1 from a missed heartbeat deadline until the successor says hello" },
	[WM_MISSED] = { "mai_worker_heartbeat_missed_total", "counter",
	    "Heartbeats the worker had not answered by the next one" },
	[WM_HUNG_KILLS] = { "mai_worker_hung_kills_total", "counter",
	    "Times the worker was killed for missing its heartbeat deadline" },
};

static void
render_worker_line(struct evbuffer *b, enum worker_metric m,
    enum mai_role role, const struct mai_worker_status *w)
{
	const char	*name = worker_metrics[m].name, *who = role_name(role);
	uint64_t	 v = 0;

	switch (m) {
	case WM_BACKOFF:
		evbuffer_add_printf(b, "%s{worker=\"%s\"} %u.%03u\n", name, who,
		    w->backoff_ms / 1000, w->backoff_ms % 1000);
		return;
	case WM_EXIT:
		evbuffer_add_printf(b, "%s{worker=\"%s\"} %d\n", name, who,
		    (int)w->last_exit);
		return;
	case WM_UP:
		v = w->state == MAI_WSTATE_RUNNING;
		break;
	case WM_RESTARTS:
		v = w->restarts;
		break;
	case WM_CRASHLOOP:
		v = w->crashloop != 0;
		break;
	case WM_REFUSED:
		v = w->frames_refused;
		break;
	case WM_HUNG:
		v = w->hung != 0;
		break;
	case WM_MISSED:
		v = w->heartbeats_missed;
		break;
	case WM_HUNG_KILLS:
		v = w->hung_kills;
		break;
	default:
		return;
	}
	evbuffer_add_printf(b, "%s{worker=\"%s\"} %" PRIu64 "\n", name, who, v);
}

static void
render_metrics_workers(struct evbuffer *b, const struct mai_snapshot *s)
{
	int	m, r;

	for (m = 0; m < WM_COUNT; m++) {
		metric_head(b, worker_metrics[m].name, worker_metrics[m].type,
		    worker_metrics[m].help);
		for (r = 0; r < MAI_ROLE_COUNT; r++)
			render_worker_line(b, (enum worker_metric)m,
			    (enum mai_role)r, &s->workers[r]);
	}
}

static void
render_metrics_ready(struct evbuffer *b, const struct health_state *st)
{
	int	c;

	metric_head(b, "mai_ready", "gauge",
	    "Each /readyz check, as the supervisor last reported it");
	for (c = 0; c < CHECK_COUNT; c++)
		evbuffer_add_printf(b, "mai_ready{check=\"%s\"} %d\n",
		    check_names[c], ready_check(st, (enum ready_check)c));
	metric_head(b, "mai_readyz_ok", "gauge", "1 if /readyz answers 200");
	evbuffer_add_printf(b, "mai_readyz_ok %d\n", ready_ok(st));
	metric_head(b, "mai_ws_event_filter", "gauge", "1 while Asterisk "
	    "writes only the event types mai acts on (ARI_EVENT_FILTER)");
	evbuffer_add_printf(b, "mai_ws_event_filter %d\n", st->have_snap &&
	    st->snap.flags[MAI_FLAG_EVENT_FILTER]);
}

/* Single-value series taken straight from the snapshot. */
static void
render_metrics_scalars(struct evbuffer *b, const struct mai_snapshot *s)
{
	const uint64_t	*ws = s->workers[MAI_ROLE_WS].counters;
	const uint64_t	*flow = s->workers[MAI_ROLE_FLOW].counters;
	const struct {
		const char	*name, *type, *help;
		uint64_t	 v;
	} m[] = {
	{ "mai_events_relayed_total", "counter", "ARI events accepted from "
	    "the ws-worker", s->events_relayed },
	{ "mai_events_acked_total", "counter", "ARI events handled by a "
	    "flow-worker", s->events_acked },
	{ "mai_events_dropped_total", "counter", "ARI events dropped at the "
	    "queue bound", s->events_dropped },
	{ "mai_events_replayed_total", "counter", "ARI events replayed to a "
	    "new flow-worker", s->events_replayed },
	{ "mai_events_queued", "gauge", "ARI events held for the flow-worker",
	    s->events_queued },
	{ "mai_events_queued_bytes", "gauge", "Bytes of ARI events held",
	    s->events_queued_bytes },
	{ "mai_ws_reconnects_total", "counter", "ARI WebSocket reconnect "
	    "attempts", ws[MAI_CNT_WS_RECONNECTS] },
	{ "mai_ws_frames_refused_total", "counter", "ARI WebSocket messages "
	    "refused: oversized or binary", ws[MAI_CNT_WS_FRAMES_REFUSED] },
	{ "mai_ws_malformed_total", "counter", "ARI WebSocket messages that "
	    "were not a JSON event in UTF-8", ws[MAI_CNT_WS_MALFORMED] },
	{ "mai_ws_events_in_total", "counter", "ARI events read from the "
	    "WebSocket", ws[MAI_CNT_WS_EVENTS_IN] },
	{ "mai_ws_relay_dropped_total", "counter", "ARI events the ws-worker "
	    "dropped because the supervisor did not read",
	    ws[MAI_CNT_WS_RELAY_DROPPED] },
	{ "mai_flow_events_total", "counter", "ARI events handled by the "
	    "flow-worker", flow[MAI_CNT_FLOW_EVENTS] },
	{ "mai_flow_calls_started_total", "counter", "Calls that entered a "
	    "flow", flow[MAI_CNT_FLOW_CALLS_STARTED] },
	{ "mai_flow_calls_active", "gauge", "Calls in a flow now",
	    flow[MAI_CNT_FLOW_CALLS_ACTIVE] },
	{ "mai_flow_calls_ended_total", "counter", "Calls that left their "
	    "flow", flow[MAI_CNT_FLOW_CALLS_ENDED] },
	{ "mai_flow_ari_errors_total", "counter", "ARI requests of call flows "
	    "that failed", flow[MAI_CNT_FLOW_ARI_ERRORS] },
	{ "mai_flow_webhook_errors_total", "counter", "Webhook calls that "
	    "failed or timed out", flow[MAI_CNT_FLOW_WEBHOOK_ERRORS] },
	{ "mai_flow_reload_failures_total", "counter", "Flow files refused at "
	    "reload", flow[MAI_CNT_FLOW_RELOAD_FAILS] },
	{ "mai_flow_calls_resumed_total", "counter", "Calls taken over from a "
	    "flow-worker that died or adopted from a lost instance",
	    flow[MAI_CNT_FLOW_RESUMED] },
	{ "mai_supervisor_start_time_seconds", "gauge", "Supervisor start, "
	    "unix time", s->started_at },
	};
	size_t	i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		metric_head(b, m[i].name, m[i].type, m[i].help);
		evbuffer_add_printf(b, "%s %" PRIu64 "\n", m[i].name, m[i].v);
	}
}

/* The flow-worker's latency histograms, by enum mai_lat. */
static const struct {
	const char	*name;
	const char	*help;
} latency_metrics[MAI_LAT_COUNT] = {
	[MAI_LAT_RELAY] = { "mai_event_relay_latency_seconds",
	    "Time from the ws-worker reading an ARI event to the flow-worker "
	    "receiving it" },
	[MAI_LAT_ANSWER] = { "mai_flow_answer_latency_seconds",
	    "Time from the flow-worker receiving a call's StasisStart to its "
	    "answer request being written to Asterisk" },
};

static void
render_seconds(struct evbuffer *b, const char *name, const char *suffix,
    uint64_t ns)
{
	evbuffer_add_printf(b, "%s%s %" PRIu64 ".%09" PRIu64 "\n", name,
	    suffix, ns / 1000000000, ns % 1000000000);
}

/* One histogram, then the largest sample as a gauge NAME_max. */
static void
render_metrics_latency(struct evbuffer *b, enum mai_lat k,
    const struct mai_latency *l)
{
	static const uint64_t	bounds[] = MAI_LATENCY_BOUNDS_US;
	const char		*name = latency_metrics[k].name;
	char			 max[64];
	uint64_t		 cum = 0;
	size_t			 i;

	metric_head(b, name, "histogram", latency_metrics[k].help);
	for (i = 0; i < MAI_LATENCY_BUCKETS; i++) {
		cum += l->bucket[i];
		if (i + 1 < MAI_LATENCY_BUCKETS)
			evbuffer_add_printf(b, "%s_bucket{le=\"%" PRIu64
			    ".%06" PRIu64 "\"} %" PRIu64 "\n", name,
			    bounds[i] / 1000000, bounds[i] % 1000000, cum);
		else
			evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %"
			    PRIu64 "\n", name, cum);
	}
	render_seconds(b, name, "_sum", l->sum_ns);
	evbuffer_add_printf(b, "%s_count %" PRIu64 "\n", name, l->count);
	snprintf(max, sizeof(max), "%s_max", name);
	metric_head(b, max, "gauge", "The largest sample of the histogram "
	    "above");
	render_seconds(b, max, "", l->max_ns);
}

/* The flow-worker's progress (heartbeat.c) and the bound on it. */
static void
render_metrics_progress(struct evbuffer *b, const struct mai_snapshot *s)
{
	const struct {
		const char	*name, *help;
		uint64_t	 ms;
	} m[] = {
	{ "mai_flow_ari_oldest_request_age_seconds", "Age of the flow-worker's "
	    "oldest ARI request not answered yet (0: none)", s->ari_oldest_ms },
	{ "mai_events_unacked_oldest_age_seconds", "Age of the oldest ARI "
	    "event no flow-worker acknowledged (0: none)", s->event_oldest_ms },
	{ "mai_progress_max_seconds", "MAI_PROGRESS_MAX_MS: either age above "
	    "it makes /readyz fail (0: off)", s->progress_max_ms },
	};
	size_t	i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		metric_head(b, m[i].name, "gauge", m[i].help);
		render_seconds(b, m[i].name, "", m[i].ms * 1000000);
	}
}

/* This process's own counters: the ARI probe and the HTTP answers. */
static void
render_metrics_own(struct evbuffer *b, const struct health_state *st,
    const struct http_server *srv)
{
	int	i, c;

	metric_head(b, "mai_ari_probe_total", "counter",
	    "ARI probes by this health-worker, by result");
	for (i = 0; i < PROBE_RESULT_COUNT; i++)
		evbuffer_add_printf(b, "mai_ari_probe_total{result=\"%s\"} %"
		    PRIu64 "\n", probe_result_label((enum probe_result)i),
		    st->probe_total[i]);
	metric_head(b, "mai_http_connections_open", "gauge",
	    "HTTP connections open at this health-worker");
	evbuffer_add_printf(b, "mai_http_connections_open %u\n",
	    srv->conns_open);
	metric_head(b, "mai_http_connections_refused_total", "counter",
	    "HTTP connections closed at once: HTTP_MAX_CONNECTIONS were open");
	evbuffer_add_printf(b, "mai_http_connections_refused_total %" PRIu64
	    "\n", srv->conns_refused);
	metric_head(b, "mai_http_request_timeouts_total", "counter",
	    "HTTP connections closed because a request was not complete "
	    "within HTTP_HEADER_TIMEOUT_MS");
	evbuffer_add_printf(b, "mai_http_request_timeouts_total %" PRIu64
	    "\n", srv->deadline_closed);
	metric_head(b, "mai_http_requests_total", "counter",
	    "HTTP answers of this health-worker, by path and code");
	for (i = 0; i < ROUTE_COUNT; i++)
		for (c = 0; c < CODE_COUNT; c++) {
			if (srv->requests[i][c] == 0)
				continue;
			evbuffer_add_printf(b, "mai_http_requests_total{path=\"%s\","
			    "code=\"%d\"} %" PRIu64 "\n",
			    http_route_label((enum http_route)i),
			    http_code_number((enum http_code)c),
			    srv->requests[i][c]);
		}
}

/*
 * Prometheus text format 0.0.4.  evbuffer_add_printf() fails only when
 * malloc does; a scrape cut short then is better than none.
 */
void
render_metrics(struct evbuffer *b, const struct health_state *st,
    const struct http_server *srv)
{
	int	k;

	render_metrics_workers(b, &st->snap);
	render_metrics_ready(b, st);
	render_metrics_scalars(b, &st->snap);
	render_metrics_progress(b, &st->snap);
	for (k = 0; k < MAI_LAT_COUNT; k++)
		render_metrics_latency(b, (enum mai_lat)k,
		    &st->snap.latency[k]);
	render_metrics_own(b, st, srv);
}
