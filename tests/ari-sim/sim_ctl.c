/*
 * /_sim/ fault-injection endpoints.  No authentication, any method; each
 * answers 200 {"ok":true,...} or 400 {"ok":false,"error":"..."}.  The
 * call controls live in sim_calls.c and are routed from here.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MALFORMED_MAX	100000
#define OVERSIZED_MAX	(64LL << 20)
#define BURST_MAX	10000000LL
#define BURST_SIZE_MAX	(1LL << 20)

static int ctl_ok(struct lws *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static int ctl_fail(struct lws *, unsigned int, const char *);

static int
ctl_ok(struct lws *wsi, const char *fmt, ...)
{
	char	extra[1024], body[1100];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(extra))
		return -1;
	n = snprintf(body, sizeof(body), "{\"ok\":true%s}", extra);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	return sim_http_reply(wsi, 200, body, (size_t)n, 0);
}

/* For the call controls in sim_calls.c. */
int
sim_ctl_ok(struct lws *wsi, const char *fmt, ...)
{
	char	extra[1024];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(extra))
		return -1;
	return ctl_ok(wsi, "%s", extra);
}

int
sim_ctl_fail(struct lws *wsi, unsigned int status, const char *msg)
{
	return ctl_fail(wsi, status, msg);
}

static int
ctl_fail(struct lws *wsi, unsigned int status, const char *msg)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"%s\"}",
	    msg);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	return sim_http_reply(wsi, status, body, (size_t)n, 0);
}

static int
ctl_err(struct lws *wsi, const char *msg)
{
	return ctl_fail(wsi, 400, msg);
}

/* A 0|1 switch argument (on=, ok=); absent means 1. */
static int
ctl_flag(struct lws *wsi, const struct sim_req *r, const char *name,
    int *flag)
{
	long long	v;

	if (sim_arg_num(r, name, 1, 0, 1, &v) == -1)
		return ctl_err(wsi, "argument must be 0 or 1");
	*flag = (int)v;
	sim_log("control %s %s=%d", r->path, name, *flag);
	return ctl_ok(wsi, ",\"%s\":%d", name, *flag);
}

static int
ctl_auth(struct lws *wsi, struct sim_req *r)
{
	int	ok = !sim.faults.auth_reject, rc;

	rc = ctl_flag(wsi, r, "ok", &ok);
	sim.faults.auth_reject = !ok;
	return rc;
}

static int
ctl_notbooted(struct lws *wsi, struct sim_req *r)
{
	return ctl_flag(wsi, r, "on", &sim.faults.notbooted);
}

static int
ctl_refuse(struct lws *wsi, struct sim_req *r)
{
	return ctl_flag(wsi, r, "on", &sim.faults.refuse);
}

/* PUT eventFilter refused: 404 as before 13.26/16.3, or another status. */
static int
ctl_nofilter(struct lws *wsi, struct sim_req *r)
{
	long long	st;

	if (sim_arg_num(r, "status", 404, 400, 599, &st) == -1)
		return ctl_err(wsi, "status must be 400..599");
	sim.faults.nofilter_status = (int)st;
	return ctl_flag(wsi, r, "on", &sim.faults.nofilter);
}

static int
ctl_halfopen(struct lws *wsi, struct sim_req *r)
{
	int	on = sim.faults.halfopen, rc;

	rc = ctl_flag(wsi, r, "on", &on);
	if (on != sim.faults.halfopen)
		sim_ws_set_halfopen(on);
	return rc;
}

static int
ctl_drop(struct lws *wsi, struct sim_req *r)
{
	int	n = sim_ws_drop_all();

	(void)r;
	sim_log("control drop sockets=%d", n);
	return ctl_ok(wsi, ",\"dropped\":%d", n);
}

static int
ctl_reset(struct lws *wsi, struct sim_req *r)
{
	(void)r;
	sim.faults.auth_reject = 0;
	sim.faults.notbooted = 0;
	sim.faults.refuse = 0;
	sim.faults.nofilter = 0;
	if (sim.faults.halfopen)
		sim_ws_set_halfopen(0);
	sim_log("control reset");
	return ctl_ok(wsi, "%s", "");
}

static int
ctl_malformed(struct lws *wsi, struct sim_req *r)
{
	static const char	 bad[] = "{\"type\": \"StasisStart\", "
	    "\"channel\": {";
	long long		 n, i;
	int			 socks = 0;

	if (sim_arg_num(r, "n", 1, 1, MALFORMED_MAX, &n) == -1)
		return ctl_err(wsi, "n must be 1..100000");
	for (i = 0; i < n; i++)
		socks = sim_ws_broadcast(bad, sizeof(bad) - 1);
	sim_log("control malformed n=%lld sockets=%d", n, socks);
	return ctl_ok(wsi, ",\"queued\":%lld,\"sockets\":%d", n, socks);
}

static int
ctl_oversized(struct lws *wsi, struct sim_req *r)
{
	static const char	 head[] = "{\"type\":\"ChannelVarset\","
	    "\"value\":\"";
	size_t			 hlen = sizeof(head) - 1;
	long long		 n;
	char			*buf;
	int			 socks;

	if (sim_arg_num(r, "bytes", 1 << 20, (long long)hlen + 2,
	    OVERSIZED_MAX, &n) == -1)
		return ctl_err(wsi, "bytes must be 36..67108864");
	if ((buf = malloc((size_t)n)) == NULL)
		return -1;
	memcpy(buf, head, hlen);
	memset(buf + hlen, 'x', (size_t)n - hlen - 2);
	memcpy(buf + n - 2, "\"}", 2);
	socks = sim_ws_broadcast(buf, (size_t)n);
	free(buf);
	sim_log("control oversized bytes=%lld sockets=%d", n, socks);
	return ctl_ok(wsi, ",\"bytes\":%lld,\"sockets\":%d", n, socks);
}

/* sim_seq is global: each burst takes the next n numbers. */
static int
ctl_burst(struct lws *wsi, struct sim_req *r)
{
	long long	n, size;
	uint64_t	first;
	int		socks;

	if (sim_arg_num(r, "n", 1, 1, BURST_MAX, &n) == -1)
		return ctl_err(wsi, "n must be 1..10000000");
	if (sim_arg_num(r, "size", 1024, 1, BURST_SIZE_MAX, &size) == -1)
		return ctl_err(wsi, "size must be 1..1048576");
	first = sim.seq + 1;
	sim.seq += (uint64_t)n;
	socks = sim_ws_burst(first, sim.seq, (size_t)size);
	sim_log("control burst n=%lld size=%lld sockets=%d", n, size, socks);
	return ctl_ok(wsi, ",\"queued\":%lld,\"first_seq\":%llu,"
	    "\"sockets\":%d", n, (unsigned long long)first, socks);
}

static int
ctl_replaced(struct lws *wsi, struct sim_req *r)
{
	const char	*app = sim_arg(r, "app");

	if (app == NULL || app[0] == '\0')
		return ctl_err(wsi, "app is required");
	if (sim_app_replaced(app) == -1)
		return ctl_err(wsi, "no WebSocket holds that app");
	return ctl_ok(wsi, "%s", "");
}

static int
ctl_release(struct lws *wsi, struct sim_req *r)
{
	const char	*app = sim_arg(r, "app");

	if (app == NULL || app[0] == '\0')
		return ctl_err(wsi, "app is required");
	if (sim_app_release(app) == -1)
		return ctl_err(wsi, "no phantom holds that app");
	return ctl_ok(wsi, "%s", "");
}

static int
ctl_event(struct lws *wsi, struct sim_req *r)
{
	long long	binary;
	int		socks;

	if (r->body == NULL || r->body_len == 0)
		return ctl_err(wsi, "POST the event as the body");
	if (sim_arg_num(r, "binary", 0, 0, 1, &binary) == -1)
		return ctl_err(wsi, "binary must be 0 or 1");
	socks = binary ? sim_ws_broadcast_binary(r->body, r->body_len) :
	    sim_ws_broadcast(r->body, r->body_len);
	sim_log("control event bytes=%zu binary=%lld sockets=%d", r->body_len,
	    binary, socks);
	return ctl_ok(wsi, ",\"sockets\":%d", socks);
}

static void
stats_apps(struct sim_buf *sb)
{
	struct sim_app	*a;
	char		 esc[SIM_APP_LEN * 6 + 1];
	const char	*sep = "";

	sb_printf(sb, ",\"apps\":[");
	for (a = sim.apps; a != NULL; a = a->next) {
		if (sim_json_escape(esc, sizeof(esc), a->name) == (size_t)-1)
			continue;
		sb_printf(sb, "%s{\"name\":\"%s\",\"connected\":%s}", sep,
		    esc, a->owner != NULL ? "true" : "false");
		sep = ",";
	}
	sb_printf(sb, "]");
}

static int
ctl_stats(struct lws *wsi, struct sim_req *r)
{
	struct sim_buf		 sb = { NULL, 0, 0, 0 };
	const struct sim_stats	*st = &sim.stats;
	int			 rc;

	(void)r;
	sb_printf(&sb, "{\"ok\":true,\"ws_connections_total\":%llu,"
	    "\"ws_connected\":%llu,\"ws_auth_failures\":%llu,"
	    "\"http_auth_failures\":%llu,\"info_requests\":%llu,"
	    "\"ping_requests\":%llu,"
	    "\"user_events\":%llu,\"events_sent\":%llu,"
	    "\"events_filtered\":%llu,"
	    "\"burst_pending\":%llu,\"sim_seq\":%llu",
	    (unsigned long long)st->ws_connections_total,
	    (unsigned long long)st->ws_connected,
	    (unsigned long long)st->ws_auth_failures,
	    (unsigned long long)st->http_auth_failures,
	    (unsigned long long)st->info_requests,
	    (unsigned long long)st->ping_requests,
	    (unsigned long long)st->user_events,
	    (unsigned long long)st->events_sent,
	    (unsigned long long)st->events_filtered,
	    (unsigned long long)sim_ws_burst_pending(),
	    (unsigned long long)sim.seq);
	sb_printf(&sb, ",\"auth_ok\":%d,\"notbooted\":%d,\"halfopen\":%d,"
	    "\"refuse\":%d,\"nofilter\":%d", !sim.faults.auth_reject,
	    sim.faults.notbooted, sim.faults.halfopen, sim.faults.refuse,
	    sim.faults.nofilter);
	stats_apps(&sb);
	sim_calls_stats(&sb);
	sb_printf(&sb, "}");
	rc = sb.err ? -1 : sim_http_reply(wsi, 200, sb.p, sb.len, 0);
	sb_free(&sb);
	return rc;
}

static const struct {
	const char	*path;
	int		(*fn)(struct lws *, struct sim_req *);
} ctl_routes[] = {
	{ "/_sim/auth",		ctl_auth },
	{ "/_sim/notbooted",	ctl_notbooted },
	{ "/_sim/nofilter",	ctl_nofilter },
	{ "/_sim/drop",		ctl_drop },
	{ "/_sim/halfopen",	ctl_halfopen },
	{ "/_sim/refuse",	ctl_refuse },
	{ "/_sim/malformed",	ctl_malformed },
	{ "/_sim/oversized",	ctl_oversized },
	{ "/_sim/burst",	ctl_burst },
	{ "/_sim/replaced",	ctl_replaced },
	{ "/_sim/release",	ctl_release },
	{ "/_sim/event",	ctl_event },
	{ "/_sim/stats",	ctl_stats },
	{ "/_sim/reset",	ctl_reset },
	{ "/_sim/call",		sim_ctl_call },
	{ "/_sim/calls",	sim_ctl_calls },
	{ "/_sim/dtmf",		sim_ctl_dtmf },
	{ "/_sim/hangup",	sim_ctl_hangup },
	{ "/_sim/answer",	sim_ctl_answer },
	{ "/_sim/media",	sim_ctl_media },
	{ "/_sim/playbacks_end", sim_ctl_playbacks_end },
	{ "/_sim/play_release",	sim_ctl_play_release },
	{ "/_sim/requests",	sim_ctl_requests },
	{ "/_sim/reset_calls",	sim_ctl_reset_calls },
};

int
sim_ctl_dispatch(struct lws *wsi, struct sim_req *r)
{
	size_t	i;

	for (i = 0; i < sizeof(ctl_routes) / sizeof(ctl_routes[0]); i++)
		if (strcmp(r->path, ctl_routes[i].path) == 0)
			return ctl_routes[i].fn(wsi, r);
	return ctl_fail(wsi, 404, "unknown control endpoint");
}
