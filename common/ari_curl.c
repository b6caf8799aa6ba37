/*
 * ari_curl.c — the transport of ARI REST requests: libcurl's multi
 * interface driven by libevent.
 *
 * curl never blocks here: curl_loop.c puts the multi handle on the
 * libevent loop.  After every socket action ari_rest.c collects what
 * finished (ari_xfer_collect(), which asks ari_curl_done()) and runs the
 * callbacks, never from inside ari_rest_call().
 *
 * The credentials are set once on a prototype handle (`proto`) that is
 * never performed; each request runs on a curl_easy_duphandle() of it, so
 * the password exists only inside curl's option storage and nothing here
 * has to keep, copy or wipe it.  Webhooks run on `anon`, which never had
 * them.  Connections are cached in the multi handle and reused across
 * requests.
 *
 * The connections to ARI are counted as curl opens and closes them
 * (sock_open/sock_close, set on `proto` only, so webhooks are not
 * counted): ari_pool.c decides from these counts whether a request can
 * have a warm connection or may open one (ari_curl_conns()).  A
 * connection is "opening" from its socket() until its first answer: only
 * then has Asterisk surely accept()ed it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "ari_rest.h"
#include "ari_xfer.h"
#include "curl_loop.h"
#include "log.h"

#ifndef MAI_VERSION
#define MAI_VERSION	"dev"	/* test builds outside the top Makefile */
#endif

#define ARI_REST_RESP_INIT	4096	/* first response buffer, then doubled */
/* Idle connections kept: Asterisk's, and room for webhook hosts. */
#define ARI_REST_CONN_CACHE	(2 * ARI_REST_MAX_CONNS)

/* One per struct ari_rest: the multi handle and its place in the loop. */
struct ari_curl {
	struct event_base	*base;
	struct ari_rest		*rest;		/* told when transfers end */
	CURLM			*multi;
	CURL			*proto;		/* options each ARI request
						   copies, credentials too */
	CURL			*anon;		/* the same without credentials,
						   for webhooks */
	struct curl_slist	*hdr_json;	/* requests with a body */
	struct curl_slist	*hdr_plain;	/* requests without */
	struct curl_loop	 loop;		/* multi on the event loop */
	struct event		*collect;	/* ari_xfer_collect(), later */
	struct ari_xfers	 failed;	/* curl refused to add them */
	unsigned int		 open;		/* connections to ARI */
	unsigned int		 opening;	/* of them not answered yet */
};

/* After each socket action of curl_loop.c: what finished, now. */
static void
glue_after(void *arg)
{
	struct ari_curl	*t = arg;

	ari_xfer_collect(t->rest);
}

/* Transfers that finished while a request was being started. */
static void
glue_collect_event(evutil_socket_t fd, short what, void *arg)
{
	struct ari_curl	*t = arg;

	(void)fd;
	(void)what;
	ari_xfer_collect(t->rest);
}

/* Keep the answer, up to the request's body_max; more fails the transfer. */
static size_t
wire_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct ari_xfer	*x = arg;
	struct ari_wire	*w = &x->wire;
	size_t		 n = size * nmemb, cap;
	char		*nb;

	if (n > x->body_max - w->resp_len) {
		w->too_big = 1;
		return 0;
	}
	if (w->resp_len + n + 1 > w->resp_cap) {
		cap = w->resp_cap ? w->resp_cap : ARI_REST_RESP_INIT;
		while (cap < w->resp_len + n + 1)
			cap *= 2;
		if ((nb = realloc(w->resp, cap)) == NULL)
			return 0;
		w->resp = nb;
		w->resp_cap = cap;
	}
	memcpy(w->resp + w->resp_len, data, n);
	w->resp_len += n;
	w->resp[w->resp_len] = '\0';
	return n;
}

/*
 * curl has a connection and is about to write the request: the moment
 * callers measure "request sent" by (the answer latency).
 */
static int
wire_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct ari_wire	*w = arg;
	struct timespec	 ts;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->sent_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
	    (uint64_t)ts.tv_nsec;
	return CURL_PREREQFUNC_OK;
}

/* A refused connection is told apart: ARI down, not the network. */
static enum ari_rest_fail
wire_fail_kind(const struct ari_wire *w)
{
	long	oserr = 0;

	if (w->too_big || w->rc == CURLE_FILESIZE_EXCEEDED)
		return ARI_FAIL_TOOBIG;
	switch (w->rc) {
	case CURLE_OK:
		return ARI_FAIL_NONE;
	case CURLE_OPERATION_TIMEDOUT:
		return ARI_FAIL_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return ARI_FAIL_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		if (curl_easy_getinfo(w->easy, CURLINFO_OS_ERRNO, &oserr) ==
		    CURLE_OK && oserr == ECONNREFUSED)
			return ARI_FAIL_REFUSED;
		return ARI_FAIL_CONNECT;
	default:
		return ARI_FAIL_TRANSPORT;
	}
}

/*
 * POST and PUT always send a Content-Length (0 without a body); DELETE
 * only when it has a body; GET never has one.
 */
static int
wire_setup_method(struct ari_curl *t, struct ari_xfer *x, const char *json)
{
	CURL	*e = x->wire.easy;

	if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method) != CURLE_OK)
		return -1;
	if (json == NULL && (strcmp(x->method, "GET") == 0 ||
	    strcmp(x->method, "DELETE") == 0))
		return 0;
	if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, json != NULL ?
	    (long)strlen(json) : 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, json != NULL ? json :
	    "") != CURLE_OK ||
	    (json != NULL && curl_easy_setopt(e, CURLOPT_HTTPHEADER,
	    t->hdr_json) != CURLE_OK))
		return -1;
	return 0;
}

static int
wire_setup(struct ari_curl *t, struct ari_xfer *x, const char *url,
    const char *json)
{
	CURL	*e = x->wire.easy;
	long	 ms = (long)x->timeout_ms;

	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wire_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->wire.errbuf) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdr_plain) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)x->body_max) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, wire_prereq) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PREREQDATA, &x->wire) != CURLE_OK)
		return -1;
	return wire_setup_method(t, x, json);
}

/*
 * Make an admitted request's curl handle: METHOD url, json (if any) as
 * the body, with the credentials when x->ari.  Nothing goes out before
 * ari_curl_go().  Returns 0, or -1 with errno ENOMEM or EIO (curl refused
 * the handle); ari_curl_release() then frees what was made.
 */
int
ari_curl_prepare(struct ari_curl *t, struct ari_xfer *x, const char *url,
    const char *json)
{
	x->wire.curl = t;
	if ((x->wire.easy = curl_easy_duphandle(x->ari ? t->proto :
	    t->anon)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (wire_setup(t, x, url, json) == -1 || (x->ari &&
	    curl_easy_setopt(x->wire.easy, CURLOPT_OPENSOCKETDATA, x) !=
	    CURLE_OK)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Out now, not when the loop next runs curl's timer: a caller in the
 * middle of a batch of events would hold every request until the batch
 * ends.  What this finishes (a failure, or curl refusing the handle) is
 * collected from the loop, never from inside ari_rest_call().
 */
void
ari_curl_go(struct ari_curl *t, struct ari_xfer *x)
{
	int	running;

	if (curl_multi_add_handle(t->multi, x->wire.easy) != CURLM_OK) {
		x->wire.rc = CURLE_FAILED_INIT;
		x->wire.refused = 1;
		TAILQ_INSERT_TAIL(&t->failed, x, qentry);
	} else
		curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0,
		    &running);
	event_active(t->collect, EV_TIMEOUT, 0);
}

/* Connections to ARI open now, and of them those not answered yet. */
void
ari_curl_conns(const struct ari_curl *t, unsigned int *open,
    unsigned int *opening)
{
	*open = t->open;
	*opening = t->opening;
}

/* The next request curl has finished, and how; NULL when none is left. */
struct ari_xfer *
ari_curl_done(struct ari_curl *t, enum ari_rest_fail *fail)
{
	struct ari_xfer	*x;
	CURLMsg		*msg;
	char		*priv;
	int		 left;

	if ((x = TAILQ_FIRST(&t->failed)) != NULL) {
		TAILQ_REMOVE(&t->failed, x, qentry);
		x->wire.refused = 0;
		*fail = ARI_FAIL_TRANSPORT;
		return x;
	}
	while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE ||
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv) != CURLE_OK || priv == NULL)
			continue;
		x = (struct ari_xfer *)(void *)priv;
		x->wire.rc = msg->data.result;
		*fail = wire_fail_kind(&x->wire);
		return x;
	}
	return NULL;
}

/*
 * Take a finished or cancelled request off curl and fill in the
 * transport's part of its outcome: status, when it went out, curl's
 * words, the body.  All stay valid until ari_curl_release().
 */
void
ari_curl_end(struct ari_curl *t, struct ari_xfer *x, enum ari_rest_fail fail,
    struct ari_outcome *o)
{
	struct ari_wire	*w = &x->wire;

	if (w->opened) {
		w->opened = 0;
		t->opening--;
	}
	if (w->refused) {
		w->refused = 0;
		TAILQ_REMOVE(&t->failed, x, qentry);
	}
	if (fail != ARI_FAIL_CANCELLED &&
	    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &o->status) !=
	    CURLE_OK)
		o->status = 0;
	curl_multi_remove_handle(t->multi, w->easy);
	o->sent_ns = w->sent_ns;
	o->detail = w->errbuf[0] != '\0' ? w->errbuf :
	    curl_easy_strerror(w->rc);
	o->resp = w->resp;
	o->resp_len = w->resp_len;
}

/* The handle and the answer; safe twice. */
void
ari_curl_release(struct ari_xfer *x)
{
	struct ari_wire	*w = &x->wire;

	if (w->easy != NULL)
		curl_easy_cleanup(w->easy);
	w->easy = NULL;
	free(w->resp);
	w->resp = NULL;
	w->resp_len = w->resp_cap = 0;
}

/*
 * For the requests started from now on; those in flight finish with what
 * they started with.  Returns -1 only if curl ran out of memory.
 */
int
ari_curl_credentials(struct ari_curl *t, const char *user,
    const char *password)
{
	if (curl_easy_setopt(t->proto, CURLOPT_USERNAME, user) != CURLE_OK ||
	    curl_easy_setopt(t->proto, CURLOPT_PASSWORD, password) != CURLE_OK)
		return -1;
	return 0;
}

/*
 * curl opens a connection for request x (ARI only): counted, and x's
 * until it has its answer.
 */
static curl_socket_t
sock_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct ari_xfer	*x = clientp;
	struct ari_curl	*t;
	curl_socket_t	 s;

	(void)purpose;
	if ((s = socket(a->family, a->socktype | SOCK_CLOEXEC,
	    a->protocol)) == -1 || x == NULL)
		return s == -1 ? CURL_SOCKET_BAD : s;
	t = x->wire.curl;
	t->open++;
	if (!x->wire.opened) {
		x->wire.opened = 1;
		t->opening++;
	}
	return s;
}

/* curl closes a connection to ARI (clientp: the struct ari_curl). */
static int
sock_close(void *clientp, curl_socket_t s)
{
	struct ari_curl	*t = clientp;

	t->open--;
	return close(s);
}

/*
 * Options every request inherits.  Basic auth only, no redirects (a
 * Location would carry the credentials elsewhere), no proxy from the
 * environment, no signals (curl's resolver timeout would use SIGALRM).
 */
static int
setup_handle(CURL *e)
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
setup_proto(struct ari_curl *t)
{
	if (setup_handle(t->proto) == -1 || setup_handle(t->anon) == -1)
		return -1;
	/*
	 * Counted connections to ARI.  An idle one is not reused after
	 * ARI_REST_IDLE_MAX_S: Asterisk may be closing it (it closes idle
	 * sessions after session_keep_alive, 15 s by default).
	 */
	if (curl_easy_setopt(t->proto, CURLOPT_OPENSOCKETFUNCTION,
	    sock_open) != CURLE_OK ||
	    curl_easy_setopt(t->proto, CURLOPT_CLOSESOCKETFUNCTION,
	    sock_close) != CURLE_OK ||
	    curl_easy_setopt(t->proto, CURLOPT_CLOSESOCKETDATA, t) !=
	    CURLE_OK ||
	    curl_easy_setopt(t->proto, CURLOPT_MAXAGE_CONN,
	    (long)ARI_REST_IDLE_MAX_S) != CURLE_OK)
		return -1;
	/* "Expect:" off: no 100-continue round trip before a body. */
	if ((t->hdr_plain = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL ||
	    (t->hdr_json = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL ||
	    curl_slist_append(t->hdr_plain, "Expect:") == NULL ||
	    curl_slist_append(t->hdr_json, "Expect:") == NULL ||
	    curl_slist_append(t->hdr_json,
	    "Content-Type: application/json") == NULL)
		return -1;
	return 0;
}

static int
setup_multi(struct ari_curl *t)
{
	CURLM	*m = t->multi;

	if (curl_loop_init(&t->loop, t->base, m, glue_after, t) == -1 ||
	    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)ARI_REST_MAX_CONNS) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS,
	    (long)ARI_REST_CONN_CACHE) != CURLM_OK)
		return -1;
	return 0;
}

/* Connections to one host (and kept idle) for ari_rest_limit(). */
int
ari_curl_limit(struct ari_curl *t, unsigned int max)
{
	if (curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)max) != CURLM_OK ||
	    curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)max) !=
	    CURLM_OK)
		return -1;
	return 0;
}

/*
 * Before a sandbox: curl may read files and allocate here.  The caller
 * has run curl_global_init().  NULL if anything is missing.
 */
struct ari_curl *
ari_curl_new(struct event_base *base, struct ari_rest *rest)
{
	struct ari_curl	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->base = base;
	t->rest = rest;
	TAILQ_INIT(&t->failed);
	if ((t->multi = curl_multi_init()) == NULL ||
	    (t->proto = curl_easy_init()) == NULL ||
	    (t->anon = curl_easy_init()) == NULL ||
	    (t->collect = event_new(base, -1, 0, glue_collect_event, t)) ==
	    NULL ||
	    setup_multi(t) == -1 || setup_proto(t) == -1) {
		ari_curl_free(t);
		return NULL;
	}
	return t;
}

/*
 * After every request has ended: curl closes its connections (through
 * curl_loop.c, which frees their events) and the rest goes.
 */
void
ari_curl_free(struct ari_curl *t)
{
	if (t == NULL)
		return;
	if (t->multi != NULL)
		curl_multi_cleanup(t->multi);
	if (t->proto != NULL)
		curl_easy_cleanup(t->proto);
	if (t->anon != NULL)
		curl_easy_cleanup(t->anon);
	curl_slist_free_all(t->hdr_json);
	curl_slist_free_all(t->hdr_plain);
	curl_loop_free(&t->loop);
	if (t->collect != NULL)
		event_free(t->collect);
	free(t);
}
