/*
 * probe.c — the ARI probe: libcurl's multi interface driven by libevent.
 *
 * Every probe interval, one GET /ari/asterisk/info with Basic auth, never
 * more than one in flight.  The result is cached for /healthz/deps,
 * reported to the supervisor as edge_http_reachable and ari_auth, and
 * logged once per transition.  curl never blocks here: it says which
 * sockets to watch (probe_socket_cb) and when to call back
 * (probe_timer_cb); libevent does the waiting.
 */
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

static void	probe_collect(struct probe *);

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

/* libevent -> curl: a watched socket is ready. */
static void
probe_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(p->multi, fd, flags, &running);
	probe_collect(p);
}

/* libevent -> curl: curl's timeout expired. */
static void
probe_timeout_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe	*p = arg;
	int		 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	probe_collect(p);
}

/* curl -> libevent: watch this socket for these directions, or stop. */
static int
probe_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct probe	*p = userp;
	struct event	*ev = socketp;
	short		 kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev == NULL) {
		if ((ev = event_new(p->base, s, kind, probe_socket_event,
		    p)) == NULL) {
			log_warnx("ARI probe: no memory for a socket event");
			return -1;
		}
		curl_multi_assign(p->multi, s, ev);
	} else {
		event_del(ev);
		event_assign(ev, p->base, s, kind, probe_socket_event, p);
	}
	if (event_add(ev, NULL) == -1) {
		log_warnx("ARI probe: cannot watch socket fd=%d", (int)s);
		return -1;
	}
	return 0;
}

/* curl -> libevent: call me back in timeout_ms, or never (-1). */
static int
probe_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct probe	*p = userp;
	struct timeval	 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(p->curl_timer);
		return 0;
	}
	tv = ms_to_tv(timeout_ms);
	return evtimer_add(p->curl_timer, &tv) == -1 ? -1 : 0;
}

/* The body is not needed; the cap stops a peer that is not ARI. */
static size_t
probe_discard(char *data, size_t size, size_t nmemb, void *arg)
{
	struct probe	*p = arg;
	size_t		 n = size * nmemb;

	(void)data;
	p->body_bytes += n;
	return p->body_bytes > PROBE_BODY_CAP ? 0 : n;
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
probe_log(const struct probe *p, const struct probe_outcome *o)
{
	const char	*user = p->conf->ari_user;

	switch (o->status) {
	case 0:
		log_warnx("ARI unreachable, edge_http_reachable=false url=%s "
		    "curl_error=\"%s\"", p->url, p->errbuf[0] != '\0' ?
		    p->errbuf : curl_easy_strerror(o->curl_rc));
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
probe_log_transition(struct probe *p, const struct probe_outcome *o)
{
	if (p->have_last && p->last.result == o->result &&
	    p->last.status == o->status && p->last.curl_rc == o->curl_rc)
		return;
	p->last = *o;
	p->have_last = 1;
	probe_log(p, o);
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

static void
probe_done(struct probe *p, CURLcode rc)
{
	struct probe_outcome	o;
	long			status = 0;

	if (curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		status = 0;
	curl_multi_remove_handle(p->multi, p->easy);
	p->in_flight = 0;
	/* Any HTTP status means reachable, even if the body then failed. */
	o.status = status;
	o.result = probe_classify(status);
	o.curl_rc = status > 0 ? CURLE_OK : rc;
	p->state->probe_total[o.result]++;
	probe_log_transition(p, &o);
	probe_publish(p, status > 0, status == 200);
	if (p->result_ev != NULL)
		event_active(p->result_ev, EV_TIMEOUT, 1);
	if (p->again && !p->stopped) {
		p->again = 0;
		event_active(p->tick, EV_TIMEOUT, 1);
	}
}

static void
probe_collect(struct probe *p)
{
	CURLMsg		*msg;
	int		 left;

	while ((msg = curl_multi_info_read(p->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == p->easy)
			probe_done(p, msg->data.result);
}

static void
probe_launch(struct probe *p)
{
	CURLMcode	mc;

	p->body_bytes = 0;
	p->errbuf[0] = '\0';
	if ((mc = curl_multi_add_handle(p->multi, p->easy)) != CURLM_OK) {
		log_warnx("ARI probe not started: %s", curl_multi_strerror(mc));
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

static void
probe_opt(CURLcode rc, const char *what)
{
	if (rc != CURLE_OK)
		fatalx("ARI probe: curl option %s: %s", what,
		    curl_easy_strerror(rc));
}

/* Options that never change.  No redirects, no proxy from environ. */
static void
probe_setup_easy(struct probe *p)
{
	CURL	*e = p->easy;

	probe_opt(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L), "NOSIGNAL");
	probe_opt(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, probe_discard),
	    "WRITEFUNCTION");
	probe_opt(curl_easy_setopt(e, CURLOPT_WRITEDATA, p), "WRITEDATA");
	probe_opt(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf),
	    "ERRORBUFFER");
	probe_opt(curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC),
	    "HTTPAUTH");
	probe_opt(curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L),
	    "FOLLOWLOCATION");
	probe_opt(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"),
	    "PROTOCOLS_STR");
	probe_opt(curl_easy_setopt(e, CURLOPT_PROXY, ""), "PROXY");
	probe_opt(curl_easy_setopt(e, CURLOPT_USERAGENT,
	    "mai-health-worker/" MAI_VERSION), "USERAGENT");
}

static void
probe_setup_multi(struct probe *p)
{
	if (curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION,
	    probe_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p) != CURLM_OK ||
	    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION,
	    probe_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p) != CURLM_OK)
		fatalx("ARI probe: cannot hook curl to the event loop");
}

/*
 * URL and credentials from the current config.  The credentials go in
 * their own options, not the URL, so they need no escaping and the URL
 * can be logged.  An IPv6 literal needs brackets in a URL.
 */
static void
probe_apply_config(struct probe *p)
{
	const struct mai_config	*c = p->conf;
	int			 v6 = strchr(c->ari_host, ':') != NULL &&
				    c->ari_host[0] != '[';
	CURL			*e = p->easy;

	snprintf(p->url, sizeof(p->url), "%s://%s%s%s:%u/ari/asterisk/info",
	    c->ari_tls ? "https" : "http", v6 ? "[" : "", c->ari_host,
	    v6 ? "]" : "", (unsigned)c->ari_port);
	probe_opt(curl_easy_setopt(e, CURLOPT_URL, p->url), "URL");
	probe_opt(curl_easy_setopt(e, CURLOPT_USERNAME, c->ari_user),
	    "USERNAME");
	probe_opt(curl_easy_setopt(e, CURLOPT_PASSWORD, c->ari_password),
	    "PASSWORD");
	probe_opt(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, probe_timeout_ms(c)),
	    "TIMEOUT_MS");
	probe_opt(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    probe_timeout_ms(c)), "CONNECTTIMEOUT_MS");
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
	if ((p->multi = curl_multi_init()) == NULL ||
	    (p->easy = curl_easy_init()) == NULL)
		fatalx("ARI probe: curl init failed");
	if ((p->curl_timer = evtimer_new(base, probe_timeout_event, p)) ==
	    NULL || (p->tick = event_new(base, -1, EV_PERSIST, probe_tick,
	    p)) == NULL)
		fatalx("ARI probe: cannot create timers");
	probe_setup_multi(p);
	probe_setup_easy(p);
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

void
probe_free(struct probe *p)
{
	if (p->multi != NULL && p->easy != NULL && p->in_flight)
		curl_multi_remove_handle(p->multi, p->easy);
	if (p->easy != NULL)
		curl_easy_cleanup(p->easy);
	if (p->multi != NULL)
		curl_multi_cleanup(p->multi);
	if (p->curl_timer != NULL)
		event_free(p->curl_timer);
	if (p->tick != NULL)
		event_free(p->tick);
	memset(p, 0, sizeof(*p));
}
