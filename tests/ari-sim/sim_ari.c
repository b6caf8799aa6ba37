/*
 * The ARI surface: asterisk/info, applications, user events, the routing
 * of the call resources (sim_chan_rest.c, sim_bridge.c, sim_media_rest.c)
 * and the admission of the /ari/events WebSocket, answered the way
 * Asterisk 22 answers them.
 */

#include <stdio.h>
#include <string.h>

#include "sim.h"

#define ESC_LEN(n)	((n) * 6 + 1)	/* worst case of sim_json_escape */

/* A name taken from the path: non-empty, one segment. */
static int
path_name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL &&
	    strlen(name) < SIM_APP_LEN;
}

static int
ari_info(struct lws *wsi, const struct sim_req *r)
{
	if (r->method != LWSHUMETH_GET)
		return sim_http_msg(wsi, 405, "Invalid method");
	return sim_http_reply(wsi, 200, sim.info, sim.info_len, 0);
}

/* What a warm pool sends to keep its connections (common/ari_pool.c). */
static int
ari_ping(struct lws *wsi, const struct sim_req *r)
{
	static const char	pong[] = "{\"asterisk_id\":\"00:00:00:00:00:00\","
	    "\"ping\":\"pong\",\"timestamp\":\"2025-01-01T00:00:00.000+0000\"}";

	if (r->method != LWSHUMETH_GET)
		return sim_http_msg(wsi, 405, "Invalid method");
	sim.stats.ping_requests++;
	return sim_http_reply(wsi, 200, pong, sizeof(pong) - 1, 0);
}

/*
 * GET /applications/{name}, and PUT .../eventFilter, which answers the
 * same object once the filter is set (sim_filter.c).
 */
static int
ari_application(struct lws *wsi, const struct sim_req *r, const char *path)
{
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	char		 name[SIM_APP_LEN];
	const char	*sub = strchr(path, '/');
	struct sim_app	*a;
	int		 put = sub != NULL && strcmp(sub, "/eventFilter") == 0;
	int		 rc;

	snprintf(name, sizeof(name), "%.*s", sub != NULL ?
	    (int)(sub - path) : (int)strlen(path), path);
	if (put && sim.faults.nofilter)
		return sim_http_msg(wsi, (unsigned int)sim.faults.nofilter_status,
		    sim.faults.nofilter_status == 404 ? "Not found" :
		    "Internal Server Error");
	if (!path_name_ok(name) || (sub != NULL && !put))
		return sim_http_msg(wsi, 404, "Not found");
	if (r->method != (put ? LWSHUMETH_PUT : LWSHUMETH_GET))
		return sim_http_msg(wsi, 405, "Invalid method");
	if ((a = sim_app_find(name)) == NULL)
		return sim_http_msg(wsi, 404, "Application not found");
	if (put && sim_filter_put(a, r) == -1)
		return sim_http_msg(wsi, 400, "Invalid format definition");
	sb_printf(&b, "{\n  \"name\": ");
	sb_str(&b, name);
	sb_printf(&b, ",\n  ");
	sim_calls_app_ids(&b, name);
	sb_printf(&b, ",\n  \"endpoint_ids\": [],\n  \"device_names\": [],\n  ");
	sim_filter_json(&b, a);
	sb_printf(&b, "\n}");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

/* The ChannelUserevent Asterisk emits for POST /ari/events/user/NAME. */
static int
user_event_json(char *buf, size_t len, const char *event, const char *app)
{
	char	ts[SIM_TS_LEN], eesc[ESC_LEN(SIM_PATH_LEN)];
	char	aesc[ESC_LEN(SIM_APP_LEN)];
	int	n;

	if (sim_json_escape(eesc, sizeof(eesc), event) == (size_t)-1 ||
	    sim_json_escape(aesc, sizeof(aesc), app) == (size_t)-1)
		return -1;
	sim_timestamp(ts, sizeof(ts));
	n = snprintf(buf, len, "{\"type\": \"ChannelUserevent\", "
	    "\"timestamp\": \"%s\", \"eventname\": \"%s\", "
	    "\"userevent\": {\"eventname\": \"%s\"}, "
	    "\"asterisk_id\": \"" SIM_ASTERISK_ID "\", "
	    "\"application\": \"%s\"}", ts, eesc, eesc, aesc);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

static int
ari_user_event(struct lws *wsi, const struct sim_req *r, const char *event)
{
	char		 buf[ESC_LEN(SIM_PATH_LEN) * 2 + 1024];
	const char	*app;
	struct sim_app	*a;
	int		 n;

	if (event[0] == '\0' || strchr(event, '/') != NULL)
		return sim_http_msg(wsi, 404, "Not found");
	if (r->method != LWSHUMETH_POST)
		return sim_http_msg(wsi, 405, "Invalid method");
	app = sim_arg(r, "application");
	if (app == NULL || app[0] == '\0')
		return sim_http_msg(wsi, 400, "Missing parameter application");
	/* Asterisk: STASIS_APP_USER_APP_NOT_FOUND is a 404 */
	if ((a = sim_app_find(app)) == NULL)
		return sim_http_msg(wsi, 404, "Application not found");
	if ((n = user_event_json(buf, sizeof(buf), event, app)) == -1)
		return -1;
	/* a phantom owner (after /_sim/replaced) swallows the event */
	if (a->owner != NULL && sim_filter_allows(a, "ChannelUserevent") &&
	    sim_ws_send(a->owner, buf, (size_t)n) == -1)
		return -1;
	sim.stats.user_events++;
	return sim_http_reply(wsi, 204, NULL, 0, 0);
}

/* The call resources: channels, bridges, playbacks, live recordings. */
static const struct {
	const char	*prefix;
	int		(*fn)(struct lws *, struct sim_req *,
			    char [][SIM_ID_LEN], int);
} call_routes[] = {
	{ "/ari/channels",		sim_chan_route },
	{ "/ari/bridges",		sim_bridge_route },
	{ "/ari/playbacks",		sim_media_route_playbacks },
	{ "/ari/recordings/live",	sim_media_route_recordings },
};

/* Returns 1 when the path is a call resource, its answer's rc in *rc. */
static int
ari_calls_route(struct lws *wsi, struct sim_req *r, int *rc)
{
	char		 seg[SIM_PATH_SEGS][SIM_ID_LEN];
	const char	*rest;
	size_t		 i, n;
	int		 nseg;

	for (i = 0; i < sizeof(call_routes) / sizeof(call_routes[0]); i++) {
		n = strlen(call_routes[i].prefix);
		if (strncmp(r->path, call_routes[i].prefix, n) != 0 ||
		    (r->path[n] != '\0' && r->path[n] != '/'))
			continue;
		rest = r->path[n] == '/' ? r->path + n + 1 : r->path + n;
		if ((nseg = sim_path_split(rest, seg, SIM_PATH_SEGS)) == -1) {
			sim_rest_count(SIM_REST_OTHER);
			*rc = sim_http_msg(wsi, 404, "Not found");
		} else
			*rc = call_routes[i].fn(wsi, r, seg, nseg);
		return 1;
	}
	return 0;
}

int
sim_ari_dispatch(struct lws *wsi, struct sim_req *r)
{
	int	rc;

	if (strcmp(r->path, "/ari/asterisk/info") == 0)
		sim.stats.info_requests++;
	/* Asterisk checks "fully booted" before it looks at credentials */
	if (sim.faults.notbooted)
		return sim_http_msg(wsi, 503, "Asterisk not booted");
	if (!r->authed) {
		sim.stats.http_auth_failures++;
		return sim_http_msg(wsi, 401, "Authentication required");
	}
	if (ari_calls_route(wsi, r, &rc))
		return rc;
	sim_rest_count(SIM_REST_OTHER);
	if (strcmp(r->path, "/ari/asterisk/info") == 0)
		return ari_info(wsi, r);
	if (strcmp(r->path, "/ari/asterisk/ping") == 0)
		return ari_ping(wsi, r);
	if (strncmp(r->path, "/ari/applications/", 18) == 0)
		return ari_application(wsi, r, r->path + 18);
	if (strncmp(r->path, "/ari/events/user/", 17) == 0)
		return ari_user_event(wsi, r, r->path + 17);
	return sim_http_msg(wsi, 404, "Not found");
}

/*
 * Split "a,b,c" into the session's app list.  Empty items are skipped and
 * duplicates folded; too many or too long names make the handshake fail.
 */
static int
parse_apps(const char *list, struct sim_session *s)
{
	const char	*p = list, *e;
	size_t		 n;
	int		 i, dup;

	s->napps = 0;
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if ((n = (size_t)(e - p)) == 0)
			continue;
		if (n >= SIM_APP_LEN)
			return -1;
		for (dup = 0, i = 0; i < s->napps; i++)
			if (strncmp(s->apps[i], p, n) == 0 &&
			    s->apps[i][n] == '\0')
				dup = 1;
		if (dup)
			continue;
		if (s->napps == SIM_MAX_APPS)
			return -1;
		memcpy(s->apps[s->napps], p, n);
		s->apps[s->napps++][n] = '\0';
	}
	return s->napps > 0 ? 0 : -1;
}

/* Answer a refused upgrade, then hang up: nothing else may follow. */
static int
ws_reject(struct lws *wsi, unsigned int status, const char *msg)
{
	sim_log("ws handshake refused: %u %s", status, msg);
	sim_http_reject(wsi, status, msg);
	return -1;
}

/*
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: admit or refuse the WebSocket with
 * a proper HTTP answer, in the order Asterisk checks things.
 */
int
sim_ws_confirm(struct lws *wsi)
{
	static struct sim_req	r;	/* 5 KB; the loop is single-threaded */
	struct sim_session	probe;
	const char		*apps;

	memset(&r, 0, sizeof(r));
	if (sim_req_parse(wsi, &r) == -1)
		return ws_reject(wsi, 400, "Bad request");
	if (sim.faults.refuse && !r.ctl_only)
		return -1;
	if (r.ctl_only || strcmp(r.path, "/ari/events") != 0)
		return ws_reject(wsi, 404, "Not found");
	if (sim.faults.notbooted)
		return ws_reject(wsi, 503, "Asterisk not booted");
	if (!r.authed) {
		sim.stats.ws_auth_failures++;
		return ws_reject(wsi, 401, "Authentication required");
	}
	apps = sim_arg(&r, "app");
	if (apps == NULL || apps[0] == '\0')
		return ws_reject(wsi, 400, "Missing param 'app'");
	if (parse_apps(apps, &probe) == -1)
		return ws_reject(wsi, 400, "Invalid param 'app'");
	return 0;
}

/* LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: the pss exists, keep apps. */
int
sim_ws_filter(struct lws *wsi, struct sim_session *s)
{
	char		 buf[SIM_QBUF_LEN];
	const char	*apps;

	memset(s, 0, sizeof(*s));
	apps = lws_get_urlarg_by_name(wsi, "app=", buf, sizeof(buf));
	if (apps == NULL || parse_apps(apps, s) == -1)
		return -1;
	s->subscribe_all = sim_truthy(lws_get_urlarg_by_name(wsi,
	    "subscribeAll=", buf, sizeof(buf)));
	return 0;
}
