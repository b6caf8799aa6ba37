/*
 * ari_rest.c — ARI REST requests: admission, the pending list, callbacks.
 *
 * A request is either refused here with errno and no callback, or
 * admitted: checked against the bounds (ARI_REST_MAX_CALLS in all, the
 * pool's size to ARI), given the credentials if it goes to ARI, handed to
 * the pool (ari_pool.c: warm connections) or, for a webhook, straight to
 * the transport (ari_curl.c), and kept on the pending list until its
 * callback has returned.  Over a bound is EAGAIN, and a caller that must
 * not lose the request queues it itself, in its own order
 * (flow-worker/backlog.c): the pool only holds the few admitted requests
 * that wait for a connection.
 *
 * Callbacks run from ari_xfer_collect(), which the transport calls from
 * the loop, never from inside ari_rest_call().
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ari_rest.h"
#include "ari_xfer.h"
#include "ipc.h"
#include "log.h"

/* The methods ARI uses; `body` says whether a JSON body may go along. */
struct ari_method {
	const char	*name;
	int		 body;
};

/* rest_admit()'s and rest_start()'s `ari`: 0 a webhook, 1 a request. */
#define ARI_KEEPALIVE	2	/* the pool's ping: to ARI, not counted */

static const struct ari_method ari_methods[] = {
	{ "GET", 0 }, { "POST", 1 }, { "PUT", 1 }, { "DELETE", 1 },
};

struct ari_rest {
	struct ari_curl		*curl;		/* moves the bytes */
	struct ari_pool		*pool;		/* connections to ARI */
	struct ari_xfers	 xfers;		/* admitted, not called back */
	unsigned int		 nxfers;
	unsigned int		 nari;		/* of them to ARI, keep-alive
						   pings aside */
	unsigned int		 conns;		/* the pool's size: the most
						   nari may be */
	unsigned int		 max_xfers;	/* ARI_REST_MAX_CALLS, or
						   ari_rest_limit()'s */
	int			 dispatching;	/* callbacks running */
	int			 closing;	/* ari_rest_free() was called */
	char			 base_url[ARI_REST_URL_MAX];
};

static void	rest_destroy(struct ari_rest *);

/* Held against the pool's size: ARI requests, not the pool's own pings. */
static int
xfer_counted(const struct ari_xfer *x)
{
	return x->ari && !x->keepalive;
}

static void
xfer_free(struct ari_xfer *x)
{
	ari_curl_release(x);
	free(x->path);
	free(x);
}

/* Leave the list first: the callback may start requests or free it all. */
static void
xfer_finish(struct ari_xfer *x, enum ari_rest_fail fail)
{
	struct ari_rest		*r = x->rest;
	struct ari_outcome	 o;
	struct ari_result	 res;

	memset(&o, 0, sizeof(o));
	ari_curl_end(r->curl, x, fail, &o);
	if (x->ari)
		ari_pool_leave(r->pool, x);
	TAILQ_REMOVE(&r->xfers, x, entry);
	r->nxfers--;
	r->nari -= xfer_counted(x);
	o.method = x->method;
	o.path = x->path;
	o.fail = fail;
	o.timeout_ms = x->timeout_ms;
	o.body_max = x->body_max;
	ari_result_make(&res, &o, x->error, sizeof(x->error));
	x->cb(&res, x->arg);
	json_object_put(res.body);
	xfer_free(x);
}

/*
 * Callbacks run from here.  An ari_rest_free() from inside one only marks
 * the struct; once that callback returns, the requests still pending are
 * cancelled (even those curl has just finished) and it is torn down.
 */
void
ari_xfer_collect(struct ari_rest *r)
{
	struct ari_xfer		*x;
	enum ari_rest_fail	 fail;

	r->dispatching++;
	while (!r->closing && (x = ari_curl_done(r->curl, &fail)) != NULL)
		xfer_finish(x, fail);
	/* Their connections are free now: the next requests take them. */
	if (!r->closing)
		ari_pool_dispatch(r->pool);
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

/* The request's own bounds: opts, or the defaults, cut to the limits. */
static struct ari_xfer *
xfer_new(struct ari_rest *r, int ari, const char *method, const char *path,
    const struct ari_call_opts *opts)
{
	struct ari_xfer	*x;
	unsigned int	 timeout_ms = opts->timeout_ms;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->rest = r;
	x->ari = ari;
	x->method = method;
	x->body_max = opts->body_max != 0 ? opts->body_max :
	    ARI_REST_BODY_MAX;
	if (timeout_ms == 0)
		timeout_ms = ARI_REST_TIMEOUT_DEF_MS;
	x->timeout_ms = timeout_ms < ARI_REST_TIMEOUT_MAX_MS ? timeout_ms :
	    ARI_REST_TIMEOUT_MAX_MS;
	if ((x->path = strdup(path)) == NULL) {
		xfer_free(x);
		errno = ENOMEM;
		return NULL;
	}
	return x;
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
	if (r->nxfers >= r->max_xfers ||
	    (ari == 1 && r->nari >= r->conns))
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

/* Hand an admitted request to the transport; `shown` names it in errors. */
static int
rest_start(struct ari_rest *r, int ari, const struct ari_method *m,
    const char *shown, const char *url, const char *json,
    const struct ari_call_opts *opts, ari_rest_cb cb, void *arg)
{
	struct ari_xfer	*x;
	int		 err;

	if ((x = xfer_new(r, ari != 0, m->name, shown, opts)) == NULL)
		return -1;
	x->keepalive = ari == ARI_KEEPALIVE;
	x->cb = cb;
	x->arg = arg;
	if (ari_curl_prepare(r->curl, x, url, json) == -1) {
		err = errno;
		xfer_free(x);
		return rest_refuse(err);
	}
	TAILQ_INSERT_TAIL(&r->xfers, x, entry);
	r->nxfers++;
	r->nari += xfer_counted(x);
	if (x->ari)
		ari_pool_submit(r->pool, x);
	else
		ari_curl_go(r->curl, x);
	return 0;
}

/*
 * Start METHOD base_url+path, with body (if any) sent as JSON, and call cb
 * exactly once, later, from the event loop.  opts->timeout_ms bounds the
 * whole call (0: ARI_REST_TIMEOUT_DEF_MS), opts->body_max the answer.
 * Returns 0, or -1 with errno and no callback: EINVAL (unknown method, a
 * body on GET, a path that is not absolute or holds blanks/controls/'#',
 * no cb, body_max over ARI_REST_BODY_HUGE), EAGAIN (the pool's size in
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
	return rest_start(r, 1, m, path, url, json, opts, cb, arg);
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
	return rest_start(r, 0, m, url, url, json, &opts, cb, arg);
}

/*
 * ari_pool.c's keep-alive: GET /asterisk/ping, not held against the
 * pool's size (it is sent only when a connection is idle or missing, and
 * a caller refused for it would wait for nothing).
 */
int
ari_rest_keepalive(struct ari_rest *r, ari_rest_cb cb, void *arg)
{
	static const char	 path[] = "/asterisk/ping";
	const struct ari_method	*m;
	const char		*json;
	char			 url[ARI_REST_URL_MAX];
	struct ari_call_opts	 opts = {
		.timeout_ms = ARI_REST_KEEPALIVE_TIMEOUT_MS };

	if (rest_admit(r, ARI_KEEPALIVE, "GET", NULL, &opts, cb, &m, &json) ==
	    -1)
		return -1;
	if (snprintf(url, sizeof(url), "%s%s", r->base_url, path) >=
	    (int)sizeof(url))
		return rest_refuse(EMSGSIZE);
	return rest_start(r, ARI_KEEPALIVE, m, path, url, json, &opts, cb,
	    arg);
}

/*
 * At most conns connections to ARI (1..ARI_REST_MAX_CONNS), and as many
 * requests to ARI in flight; warm: open them now and keep them open.
 * Returns -1 with EINVAL if conns is out of range.
 */
int
ari_rest_pool(struct ari_rest *r, unsigned int conns, int warm)
{
	if (ari_pool_size(r->pool, conns, warm) == -1)
		return rest_refuse(EINVAL);
	r->conns = conns;
	return 0;
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
	if (ari_curl_credentials(r->curl, c->ari_user, c->ari_password) ==
	    -1) {
		log_warnx("ARI REST: cannot set the credentials");
		return -1;
	}
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
	TAILQ_INIT(&r->xfers);
	r->max_xfers = ARI_REST_MAX_CALLS;
	r->conns = ARI_REST_CONNS_DEF;
	if ((r->curl = ari_curl_new(base, r)) == NULL ||
	    (r->pool = ari_pool_new(base, r, r->curl)) == NULL ||
	    ari_rest_configure(r, conf) == -1) {
		rest_destroy(r);
		return NULL;
	}
	return r;
}

/*
 * Cancel the pending requests made with this arg: their callbacks run now,
 * from inside this call, with ARI_FAIL_CANCELLED, and their connections
 * close (the server sees the client leave).  For a caller that stops
 * waiting for a long request (a bot's control request, botctl.c).
 */
void
ari_rest_cancel(struct ari_rest *r, void *arg)
{
	struct ari_xfer	*x, *next;

	r->dispatching++;
	for (x = TAILQ_FIRST(&r->xfers); x != NULL; x = next) {
		next = TAILQ_NEXT(x, entry);
		if (x->arg == arg) {
			xfer_finish(x, ARI_FAIL_CANCELLED);
			break;
		}
	}
	if (--r->dispatching == 0 && r->closing)
		rest_destroy(r);
}

/*
 * An instance for long requests to one other server (the flow-worker's
 * bot control requests, each open for a whole conversation): up to max
 * at once, each on a connection of its own, none waiting inside curl.
 * -1 if max is 0 or over ARI_REST_LIMIT_MAX, or curl refuses.
 */
int
ari_rest_limit(struct ari_rest *r, unsigned int max)
{
	if (max == 0 || max > ARI_REST_LIMIT_MAX ||
	    ari_curl_limit(r->curl, max) == -1)
		return -1;
	r->max_xfers = max;
	return 0;
}

/*
 * Pending requests are cancelled and their callbacks DO run, with status
 * 0, ARI_FAIL_CANCELLED and "...: cancelled", so callers can release what
 * they passed as arg; ari_rest_call() from such a callback fails with
 * ECANCELED.  Then the transport goes, and its connections with it.
 */
static void
rest_destroy(struct ari_rest *r)
{
	struct ari_xfer	*x;

	r->closing = 1;
	r->dispatching++;
	while ((x = TAILQ_FIRST(&r->xfers)) != NULL)
		xfer_finish(x, ARI_FAIL_CANCELLED);
	ari_pool_free(r->pool);
	ari_curl_free(r->curl);
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
