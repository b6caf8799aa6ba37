/*
 * ari_rest.c — ARI REST calls: libcurl's multi interface on libevent.
 *
 * curl never blocks here: it says which sockets to watch (rest_socket_cb)
 * and when to call back (rest_timer_cb); libevent does the waiting and
 * hands readiness back through curl_multi_socket_action().  Finished
 * transfers are collected after every such action and their callbacks run
 * from there, never from inside ari_rest_call().
 *
 * The credentials are set once on a prototype handle (`proto`) that is
 * never performed; each call runs on a curl_easy_duphandle() of it, so the
 * password exists only inside curl's option storage and nothing here has
 * to keep, copy or wipe it.  Connections are cached in the multi handle and
 * reused across calls.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ari_rest.h"
#include "ipc.h"
#include "log.h"
#include "urlenc.h"

#ifndef MAI_VERSION
#define MAI_VERSION	"dev"	/* test builds outside the top Makefile */
#endif

#define ARI_REST_RESP_INIT	4096	/* first response buffer, then doubled */
/* Idle connections kept: Asterisk's, and room for webhook hosts. */
#define ARI_REST_CONN_CACHE	(2 * ARI_REST_MAX_CONNS)

/* The methods ARI uses; `body` says whether a JSON body may go along. */
struct ari_method {
	const char	*name;
	int		 body;
};

static const struct ari_method ari_methods[] = {
	{ "GET", 0 }, { "POST", 1 }, { "PUT", 1 }, { "DELETE", 1 },
};

/* One call from ari_rest_call() until its callback has returned. */
struct ari_call {
	TAILQ_ENTRY(ari_call)	 entry;
	struct ari_rest		*rest;
	CURL			*easy;
	const char		*method;	/* from ari_methods */
	char			*path;
	unsigned int		 timeout_ms;
	size_t			 body_max;	/* of the answer */
	uint64_t		 sent_ns;	/* request began to go out */
	int			 ari;		/* to ARI, not a webhook */
	ari_rest_cb		 cb;
	void			*arg;
	char			*resp;		/* NUL-terminated */
	size_t			 resp_len;
	size_t			 resp_cap;
	int			 too_big;
	CURLcode		 rc;
	char			 errbuf[CURL_ERROR_SIZE];
	char			 error[ARI_REST_ERR_MAX];
};

TAILQ_HEAD(ari_calls, ari_call);

struct ari_rest {
	struct event_base	*base;
	CURLM			*multi;
	CURL			*proto;		/* options each call copies */
	CURL			*anon;		/* the same without credentials,
						   for ari_rest_call_url() */
	struct curl_slist	*hdr_json;	/* calls with a body */
	struct curl_slist	*hdr_plain;	/* calls without */
	struct event		*timer;		/* curl's own timeout */
	struct event		*collect;	/* rest_collect(), later */
	struct ari_calls	 calls;
	unsigned int		 ncalls;
	unsigned int		 nari;		/* of them to ARI */
	int			 dispatching;	/* callbacks running */
	int			 closing;	/* ari_rest_free() was called */
	char			 base_url[ARI_REST_URL_MAX];
};

static void	rest_collect(struct ari_rest *);
static void	rest_destroy(struct ari_rest *);

/* libevent -> curl: a watched socket is ready. */
static void
rest_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct ari_rest	*r = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(r->multi, fd, flags, &running);
	rest_collect(r);
}

/* Transfers that finished while a call was being started. */
static void
rest_collect_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rest_collect(arg);
}

/* libevent -> curl: curl's timeout expired. */
static void
rest_timeout_event(evutil_socket_t fd, short what, void *arg)
{
	struct ari_rest	*r = arg;
	int		 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	rest_collect(r);
}

/* curl -> libevent: watch this socket for these directions, or stop. */
static int
rest_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct ari_rest	*r = userp;
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
		if ((ev = event_new(r->base, s, kind, rest_socket_event,
		    r)) == NULL) {
			log_warnx("ARI REST: no memory for a socket event");
			return -1;
		}
		curl_multi_assign(r->multi, s, ev);
	} else {
		event_del(ev);
		event_assign(ev, r->base, s, kind, rest_socket_event, r);
	}
	if (event_add(ev, NULL) == -1) {
		log_warnx("ARI REST: cannot watch socket fd=%d", (int)s);
		return -1;
	}
	return 0;
}

/* curl -> libevent: call me back in timeout_ms, or never (-1). */
static int
rest_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct ari_rest	*r = userp;
	struct timeval	 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(r->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(r->timer, &tv) == -1 ? -1 : 0;
}

/* Keep the answer, up to the call's body_max; more fails the transfer. */
static size_t
call_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct ari_call	*c = arg;
	size_t		 n = size * nmemb, cap;
	char		*nb;

	if (n > c->body_max - c->resp_len) {
		c->too_big = 1;
		return 0;
	}
	if (c->resp_len + n + 1 > c->resp_cap) {
		cap = c->resp_cap ? c->resp_cap : ARI_REST_RESP_INIT;
		while (cap < c->resp_len + n + 1)
			cap *= 2;
		if ((nb = realloc(c->resp, cap)) == NULL)
			return 0;
		c->resp = nb;
		c->resp_cap = cap;
	}
	memcpy(c->resp + c->resp_len, data, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	return n;
}

/*
 * curl has a connection and is about to write the request: the moment
 * callers measure "request sent" by (the answer latency).
 */
static int
call_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct ari_call	*c = arg;
	struct timespec	 ts;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->sent_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
	    (uint64_t)ts.tv_nsec;
	return CURL_PREREQFUNC_OK;
}

static void
call_free(struct ari_call *c)
{
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	free(c->path);
	free(c->resp);
	free(c);
}

/* A refused connection is told apart: ARI down, not the network. */
static enum ari_rest_fail
call_fail_kind(const struct ari_call *c)
{
	long	oserr = 0;

	if (c->too_big || c->rc == CURLE_FILESIZE_EXCEEDED)
		return ARI_FAIL_TOOBIG;
	switch (c->rc) {
	case CURLE_OK:
		return ARI_FAIL_NONE;
	case CURLE_OPERATION_TIMEDOUT:
		return ARI_FAIL_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return ARI_FAIL_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &oserr) ==
		    CURLE_OK && oserr == ECONNREFUSED)
			return ARI_FAIL_REFUSED;
		return ARI_FAIL_CONNECT;
	default:
		return ARI_FAIL_TRANSPORT;
	}
}

/* Leave the list first: the callback may start calls or free it all. */
static void
call_finish(struct ari_call *c, enum ari_rest_fail fail)
{
	struct ari_rest		*r = c->rest;
	struct ari_outcome	 o;
	struct ari_result	 res;

	memset(&o, 0, sizeof(o));
	if (fail != ARI_FAIL_CANCELLED &&
	    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &o.status) !=
	    CURLE_OK)
		o.status = 0;
	curl_multi_remove_handle(r->multi, c->easy);
	TAILQ_REMOVE(&r->calls, c, entry);
	r->ncalls--;
	r->nari -= c->ari != 0;
	o.method = c->method;
	o.path = c->path;
	o.fail = fail;
	o.timeout_ms = c->timeout_ms;
	o.body_max = c->body_max;
	o.sent_ns = c->sent_ns;
	o.detail = c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(c->rc);
	o.resp = c->resp;
	o.resp_len = c->resp_len;
	ari_result_make(&res, &o, c->error, sizeof(c->error));
	c->cb(&res, c->arg);
	json_object_put(res.body);
	call_free(c);
}

/*
 * Callbacks run from here.  An ari_rest_free() from inside one only marks
 * the struct; once that callback returns, the calls still pending are
 * cancelled (even those curl has just finished) and it is torn down.
 */
static void
rest_collect(struct ari_rest *r)
{
	struct ari_call	*c;
	CURLMsg		*msg;
	char		*priv;
	int		 left;

	r->dispatching++;
	while (!r->closing &&
	    (msg = curl_multi_info_read(r->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE ||
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv) != CURLE_OK || priv == NULL)
			continue;
		c = (struct ari_call *)(void *)priv;
		c->rc = msg->data.result;
		call_finish(c, call_fail_kind(c));
	}
	if (--r->dispatching == 0 && r->closing)
		rest_destroy(r);
}

/* Fail with errno set; from ari_rest_call(), no callback will run. */
static int
rest_refuse(int err)
{
	errno = err;
	return -1;
}

static const struct ari_method *
rest_method(const char *name)
{
	size_t	i;

	for (i = 0; name != NULL &&
	    i < sizeof(ari_methods) / sizeof(ari_methods[0]); i++)
		if (strcmp(name, ari_methods[i].name) == 0)
			return &ari_methods[i];
	return NULL;
}

/*
 * POST and PUT always send a Content-Length (0 without a body); DELETE
 * only when it has a body; GET never has one.
 */
static int
call_setup_method(struct ari_call *c, const char *json)
{
	CURL	*e = c->easy;

	if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method) != CURLE_OK)
		return -1;
	if (json == NULL && (strcmp(c->method, "GET") == 0 ||
	    strcmp(c->method, "DELETE") == 0))
		return 0;
	if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, json != NULL ?
	    (long)strlen(json) : 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, json != NULL ? json :
	    "") != CURLE_OK ||
	    (json != NULL && curl_easy_setopt(e, CURLOPT_HTTPHEADER,
	    c->rest->hdr_json) != CURLE_OK))
		return -1;
	return 0;
}

static int
call_setup(struct ari_call *c, const char *url, const char *json)
{
	CURL	*e = c->easy;
	long	 t = (long)c->timeout_ms;

	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, call_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, t) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, t) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->rest->hdr_plain) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)c->body_max) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, call_prereq) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PREREQDATA, c) != CURLE_OK)
		return -1;
	return call_setup_method(c, json);
}

static struct ari_call *
call_new(struct ari_rest *r, CURL *proto, const char *method,
    const char *path, const struct ari_call_opts *opts)
{
	struct ari_call	*c;
	unsigned int	 timeout_ms = opts->timeout_ms;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->rest = r;
	c->method = method;
	c->body_max = opts->body_max != 0 ? opts->body_max :
	    ARI_REST_BODY_MAX;
	if (timeout_ms == 0)
		timeout_ms = ARI_REST_TIMEOUT_DEF_MS;
	c->timeout_ms = timeout_ms < ARI_REST_TIMEOUT_MAX_MS ? timeout_ms :
	    ARI_REST_TIMEOUT_MAX_MS;
	if ((c->path = strdup(path)) == NULL ||
	    (c->easy = curl_easy_duphandle(proto)) == NULL) {
		call_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

/* Checks shared by both entries; errno as ari_rest_call() documents. */
static int
rest_admit(struct ari_rest *r, int ari, const char *method,
    struct json_object *body, const struct ari_call_opts *opts,
    ari_rest_cb cb, const struct ari_method **mp, const char **jsonp)
{
	const struct ari_method	*m;

	*jsonp = NULL;
	if (r->closing)
		return rest_refuse(ECANCELED);
	if (r->ncalls >= ARI_REST_MAX_CALLS ||
	    (ari && r->nari >= ARI_REST_MAX_CONNS))
		return rest_refuse(EAGAIN);
	if (cb == NULL || (m = rest_method(method)) == NULL ||
	    (body != NULL && !m->body) ||
	    opts->body_max > ARI_REST_BODY_HUGE)
		return rest_refuse(EINVAL);
	if (body != NULL && (*jsonp = json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN)) == NULL)
		return rest_refuse(ENOMEM);
	if (*jsonp != NULL && strlen(*jsonp) > ARI_REST_BODY_MAX)
		return rest_refuse(EMSGSIZE);
	*mp = m;
	return 0;
}

/* Hand a call to curl; `shown` is what its errors name. */
static int
rest_start(struct ari_rest *r, CURL *proto, const struct ari_method *m,
    const char *shown, const char *url, const char *json,
    const struct ari_call_opts *opts, ari_rest_cb cb, void *arg)
{
	struct ari_call	*c;
	int		 running;

	if ((c = call_new(r, proto, m->name, shown, opts)) == NULL)
		return -1;
	c->cb = cb;
	c->arg = arg;
	c->ari = proto == r->proto;
	if (call_setup(c, url, json) == -1 ||
	    curl_multi_add_handle(r->multi, c->easy) != CURLM_OK) {
		call_free(c);
		return rest_refuse(EIO);
	}
	TAILQ_INSERT_TAIL(&r->calls, c, entry);
	r->ncalls++;
	r->nari += c->ari;
	/*
	 * Out now, not when the loop next runs curl's timer: a caller in
	 * the middle of a batch of events would hold every request until
	 * the batch ends.  What this finishes (a failure) is collected from
	 * the loop, never from inside ari_rest_call().
	 */
	curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	event_active(r->collect, EV_TIMEOUT, 0);
	return 0;
}

/*
 * Start METHOD base_url+path, with body (if any) sent as JSON, and call cb
 * exactly once, later, from the event loop.  opts->timeout_ms bounds the
 * whole call (0: ARI_REST_TIMEOUT_DEF_MS), opts->body_max the answer.
 * Returns 0, or -1 with errno and no callback: EINVAL (unknown method, a
 * body on GET, a path that is not absolute or holds blanks/controls/'#',
 * no cb, body_max over ARI_REST_BODY_HUGE), EAGAIN (ARI_REST_MAX_CONNS
 * ARI calls or ARI_REST_MAX_CALLS in all pending), EMSGSIZE (URL or body
 * over its bound), ECANCELED (being freed), ENOMEM or EIO (curl refused
 * the handle).
 */
int
ari_rest_call_opts(struct ari_rest *r, const char *method, const char *path,
    struct json_object *body, const struct ari_call_opts *opts,
    ari_rest_cb cb, void *arg)
{
	const struct ari_method	*m;
	const char		*json;
	char			 url[ARI_REST_URL_MAX];
	int			 n;

	if (rest_admit(r, 1, method, body, opts, cb, &m, &json) == -1)
		return -1;
	if (!ari_path_ok(path))
		return rest_refuse(EINVAL);
	n = snprintf(url, sizeof(url), "%s%s", r->base_url, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return rest_refuse(EMSGSIZE);
	return rest_start(r, r->proto, m, path, url, json, opts, cb, arg);
}

/* The same with the default bounds and this timeout. */
int
ari_rest_call(struct ari_rest *r, const char *method, const char *path,
    struct json_object *body, unsigned int timeout_ms, ari_rest_cb cb,
    void *arg)
{
	struct ari_call_opts	opts = { .timeout_ms = timeout_ms };

	return ari_rest_call_opts(r, method, path, body, &opts, cb, arg);
}

/*
 * The same for an absolute http:// or https:// URL that is not ARI (a
 * webhook): same loop, bounds and callback rules, but a handle that never
 * had the ARI credentials, so they cannot travel to another host.  The
 * URL is what the result's `path` and error name.
 */
int
ari_rest_call_url(struct ari_rest *r, const char *method, const char *url,
    struct json_object *body, unsigned int timeout_ms, ari_rest_cb cb,
    void *arg)
{
	const struct ari_method	*m;
	const char		*json;
	struct ari_call_opts	 opts = { .timeout_ms = timeout_ms };

	if (rest_admit(r, 0, method, body, &opts, cb, &m, &json) == -1)
		return -1;
	if (!ari_url_ok(url))
		return rest_refuse(EINVAL);
	if (strlen(url) >= ARI_REST_URL_MAX)
		return rest_refuse(EMSGSIZE);
	return rest_start(r, r->anon, m, url, url, json, &opts, cb, arg);
}

/* The base URL, e.g. "http://127.0.0.1:8088/ari": never credentials. */
const char *
ari_rest_base_url(const struct ari_rest *r)
{
	return r->base_url;
}

/*
 * New URL and credentials for the calls started from now on; those in
 * flight finish with what they started with.  An IPv6 literal needs
 * brackets in a URL.  Returns -1 only if curl ran out of memory.
 */
int
ari_rest_configure(struct ari_rest *r, const struct mai_config *c)
{
	int	v6 = strchr(c->ari_host, ':') != NULL && c->ari_host[0] != '[';

	snprintf(r->base_url, sizeof(r->base_url), "%s://%s%s%s:%u/ari",
	    c->ari_tls ? "https" : "http", v6 ? "[" : "", c->ari_host,
	    v6 ? "]" : "", (unsigned)c->ari_port);
	if (curl_easy_setopt(r->proto, CURLOPT_USERNAME, c->ari_user) !=
	    CURLE_OK ||
	    curl_easy_setopt(r->proto, CURLOPT_PASSWORD, c->ari_password) !=
	    CURLE_OK) {
		log_warnx("ARI REST: cannot set the credentials");
		return -1;
	}
	return 0;
}

/*
 * Options every call inherits.  Basic auth only, no redirects (a Location
 * would carry the credentials elsewhere), no proxy from the environment,
 * no signals (curl's resolver timeout would use SIGALRM).
 */
static int
rest_setup_handle(CURL *e)
{
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "mai/" MAI_VERSION) !=
	    CURLE_OK)
		return -1;
	return 0;
}

static int
rest_setup_proto(struct ari_rest *r)
{
	if (rest_setup_handle(r->proto) == -1 ||
	    rest_setup_handle(r->anon) == -1)
		return -1;
	/* "Expect:" off: no 100-continue round trip before a body. */
	if ((r->hdr_plain = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL ||
	    (r->hdr_json = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL ||
	    curl_slist_append(r->hdr_plain, "Expect:") == NULL ||
	    curl_slist_append(r->hdr_json, "Expect:") == NULL ||
	    curl_slist_append(r->hdr_json,
	    "Content-Type: application/json") == NULL)
		return -1;
	return 0;
}

static int
rest_setup_multi(struct ari_rest *r)
{
	CURLM	*m = r->multi;

	if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, rest_socket_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, r) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, rest_timer_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_TIMERDATA, r) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)ARI_REST_MAX_CONNS) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS,
	    (long)ARI_REST_CONN_CACHE) != CURLM_OK)
		return -1;
	return 0;
}

/*
 * Before a sandbox: curl may read files and allocate here.  The caller
 * has run curl_global_init().  NULL if anything is missing.
 */
struct ari_rest *
ari_rest_new(struct event_base *base, const struct mai_config *conf)
{
	struct ari_rest	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->base = base;
	TAILQ_INIT(&r->calls);
	if ((r->multi = curl_multi_init()) == NULL ||
	    (r->proto = curl_easy_init()) == NULL ||
	    (r->anon = curl_easy_init()) == NULL ||
	    (r->timer = evtimer_new(base, rest_timeout_event, r)) == NULL ||
	    (r->collect = event_new(base, -1, 0, rest_collect_event, r)) ==
	    NULL ||
	    rest_setup_multi(r) == -1 || rest_setup_proto(r) == -1 ||
	    ari_rest_configure(r, conf) == -1) {
		rest_destroy(r);
		return NULL;
	}
	return r;
}

/*
 * Pending calls are cancelled and their callbacks DO run, with status 0,
 * ARI_FAIL_CANCELLED and "...: cancelled", so callers can release what
 * they passed as arg; ari_rest_call() from such a callback fails with
 * ECANCELED.  Then curl closes its connections (through rest_socket_cb,
 * which frees their events) and the rest goes.
 */
static void
rest_destroy(struct ari_rest *r)
{
	struct ari_call	*c;

	r->closing = 1;
	r->dispatching++;
	while ((c = TAILQ_FIRST(&r->calls)) != NULL)
		call_finish(c, ARI_FAIL_CANCELLED);
	if (r->multi != NULL)
		curl_multi_cleanup(r->multi);
	if (r->proto != NULL)
		curl_easy_cleanup(r->proto);
	if (r->anon != NULL)
		curl_easy_cleanup(r->anon);
	curl_slist_free_all(r->hdr_json);
	curl_slist_free_all(r->hdr_plain);
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->collect != NULL)
		event_free(r->collect);
	free(r);
}

/* Safe from inside a callback: the teardown then waits for it to return. */
void
ari_rest_free(struct ari_rest *r)
{
	if (r == NULL)
		return;
	r->closing = 1;
	if (r->dispatching > 0)
		return;
	rest_destroy(r);
}
