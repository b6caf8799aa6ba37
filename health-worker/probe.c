/*
 * probe.c — the ARI probe.
 *
 * Every probe interval, one GET /ari/asterisk/info with Basic auth, never
 * more than one in flight.  The result is cached for /healthz/deps,
 * reported to the supervisor as edge_http_reachable and ari_auth, and
 * logged once per transition.  The call itself goes through
 * common/ari_curl.c (libcurl multi on our event_base), so it never blocks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "privsep.h"

static const char *const result_labels[PROBE_RESULT_COUNT] = {
	[PROBE_OK] = "ok",
	[PROBE_UNAUTHORIZED] = "unauthorized",
	[PROBE_HTTP_ERROR] = "http_error",
	[PROBE_UNREACHABLE] = "unreachable",
};

const char *
probe_result_label(enum probe_result r)
{
	return (unsigned)r < PROBE_RESULT_COUNT ? result_labels[r] : "unknown";
}

static struct timeval
ms_to_tv(long ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

static long
probe_interval_ms(const struct mai_config *c)
{
	if (c->probe_interval_ms == 0)
		return PROBE_INTERVAL_DEF_MS;
	if (c->probe_interval_ms < PROBE_INTERVAL_MIN_MS)
		return PROBE_INTERVAL_MIN_MS;
	return (long)c->probe_interval_ms;
}

static long
probe_timeout_ms(const struct mai_config *c)
{
	return c->probe_timeout_ms ? (long)c->probe_timeout_ms :
	    PROBE_TIMEOUT_DEF_MS;
}

static enum probe_result
probe_classify(long status)
{
	if (status == 200)
		return PROBE_OK;
	if (status == 401 || status == 403)
		return PROBE_UNAUTHORIZED;
	if (status > 0)
		return PROBE_HTTP_ERROR;
	return PROBE_UNREACHABLE;
}

/* Operators read these: say what to fix.  Never the password. */
static void
probe_log(const struct probe *p, const struct probe_outcome *o,
    const char *error)
{
	const char	*user = p->conf->ari_user;

	switch (o->status) {
	case 0:
		log_warnx("ARI unreachable, edge_http_reachable=false url=%s "
		    "curl_error=\"%s\"", p->url, error != NULL ? error : "?");
		break;
	case 200:
		log_info("ARI reachable and credentials accepted status=200 "
		    "url=%s user=%s", p->url, user);
		break;
	case 401:
		log_warnx("ARI rejected the credentials status=401: "
		    "ARI_USER/ARI_PASSWORD do not match ari.conf url=%s user=%s",
		    p->url, user);
		break;
	case 403:
		log_warnx("ARI refused the request status=403: an ACL or the "
		    "permissions of user=%s (read_only?) deny it url=%s",
		    user, p->url);
		break;
	case 503:
		log_warnx("Asterisk not booted yet status=503 url=%s", p->url);
		break;
	default:
		log_warnx("ARI answered an unexpected status=%ld url=%s",
		    o->status, p->url);
		break;
	}
}

static void
probe_log_transition(struct probe *p, const struct probe_outcome *o,
    const char *error)
{
	if (p->have_last && p->last.result == o->result &&
	    p->last.status == o->status && p->last.fail == o->fail)
		return;
	p->last = *o;
	p->have_last = 1;
	probe_log(p, o, error);
}

/*
 * The supervisor's snapshot disagrees with what we last measured: a
 * report was lost (full socket buffer), or the supervisor cleared our
 * flags when a previous health-worker exited.  Say it again.  A draining
 * worker keeps quiet: its successor owns the flags now.
 */
void
probe_flags_sync(struct probe *p)
{
	const struct health_state	*st = p->state;
	const uint8_t			*f = st->snap.flags;

	if (!st->probed || !st->have_snap || p->stopped)
		return;
	if (f[MAI_FLAG_EDGE_REACHABLE] != st->edge_reachable) {
		log_debug("snapshot disagrees, edge_http_reachable=%d resent",
		    st->edge_reachable);
		worker_send_flag(MAI_FLAG_EDGE_REACHABLE, st->edge_reachable);
	}
	if (f[MAI_FLAG_ARI_AUTH] != st->ari_auth) {
		log_debug("snapshot disagrees, ari_auth=%d resent",
		    st->ari_auth);
		worker_send_flag(MAI_FLAG_ARI_AUTH, st->ari_auth);
	}
}

/* Report the flags after the first result and whenever they change. */
static void
probe_publish(struct probe *p, int edge, int auth)
{
	struct health_state	*st = p->state;
	int			 first = !st->probed;
	int			 edge_changed = first || edge != st->edge_reachable;
	int			 auth_changed = first || auth != st->ari_auth;

	st->probed = 1;
	st->edge_reachable = edge;
	st->ari_auth = auth;
	if (edge_changed)
		worker_send_flag(MAI_FLAG_EDGE_REACHABLE, edge);
	if (auth_changed)
		worker_send_flag(MAI_FLAG_ARI_AUTH, auth);
	if (edge_changed || auth_changed)
		render_deps(st);
	else
		probe_flags_sync(p);
}

/*
 * ari_rest's callback.  A cancelled probe (probe_free() during one) only
 * ends: nobody reads its result any more.
 */
static void
probe_done(const struct ari_result *res, void *arg)
{
	struct probe		*p = arg;
	struct probe_outcome	 o;

	p->in_flight = 0;
	if (res->fail == ARI_FAIL_CANCELLED)
		return;
	/* Any HTTP status means reachable, even if the body then failed. */
	o.status = res->status;
	o.result = probe_classify(res->status);
	o.fail = res->status > 0 ? ARI_FAIL_NONE : res->fail;
	p->state->probe_total[o.result]++;
	probe_log_transition(p, &o, res->error);
	probe_publish(p, res->status > 0, res->status == 200);
	if (p->result_ev != NULL)
		event_active(p->result_ev, EV_TIMEOUT, 1);
	if (p->again && !p->stopped) {
		p->again = 0;
		event_active(p->tick, EV_TIMEOUT, 1);
	}
}

static void
probe_launch(struct probe *p)
{
	if (ari_rest_call(p->rest, "GET", PROBE_PATH, NULL,
	    (unsigned int)probe_timeout_ms(p->conf), probe_done, p) == -1) {
		log_warnx("ARI probe not started: %s", strerror(errno));
		return;
	}
	p->in_flight = 1;
}

/* Only the timer starts probes: HTTP requests read the cached result. */
static void
probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;

	(void)fd;
	(void)what;
	if (p->stopped)
		return;
	if (p->in_flight) {
		log_debug("ARI probe still running, tick skipped");
		return;
	}
	probe_launch(p);
}

/*
 * ari_rest holds the URL and credentials; the URL is kept here too for
 * log lines (it never carries credentials).
 */
static void
probe_apply_config(struct probe *p)
{
	if (ari_rest_configure(p->rest, p->conf) == -1)
		log_warnx("ARI probe: new config not applied");
	snprintf(p->url, sizeof(p->url), "%s%s", ari_rest_base_url(p->rest),
	    PROBE_PATH);
}

/* Before the sandbox: curl may open files and allocate here. */
void
probe_init(struct probe *p, struct event_base *base,
    const struct mai_config *conf, struct health_state *st)
{
	memset(p, 0, sizeof(*p));
	p->base = base;
	p->conf = conf;
	p->state = st;
	if ((p->rest = ari_rest_new(base, conf)) == NULL)
		fatalx("ARI probe: cannot set up the REST client");
	if ((p->tick = event_new(base, -1, EV_PERSIST, probe_tick, p)) ==
	    NULL)
		fatalx("ARI probe: cannot create the interval timer");
	probe_apply_config(p);
}

/* First probe at once, then every interval. */
void
probe_start(struct probe *p)
{
	struct timeval	tv = ms_to_tv(probe_interval_ms(p->conf));

	if (evtimer_add(p->tick, &tv) == -1)
		fatalx("ARI probe: cannot arm the interval timer");
	event_active(p->tick, EV_TIMEOUT, 1);
	log_info("ARI probe every %ld ms timeout=%ld ms url=%s",
	    probe_interval_ms(p->conf), probe_timeout_ms(p->conf), p->url);
}

/* New credentials are tried at once rather than after an interval. */
void
probe_reconfigure(struct probe *p)
{
	probe_apply_config(p);
	if (p->stopped)
		return;
	if (p->in_flight)
		p->again = 1;
	probe_start(p);
}

/* Draining: no new probes; one in flight may still finish and report. */
void
probe_stop(struct probe *p)
{
	p->stopped = 1;
	p->again = 0;
	evtimer_del(p->tick);
}

/* A probe in flight is cancelled (see probe_done()). */
void
probe_free(struct probe *p)
{
	p->stopped = 1;
	ari_rest_free(p->rest);
	if (p->tick != NULL)
		event_free(p->tick);
	memset(p, 0, sizeof(*p));
}
