/*
 * stub_ari.c — common/ari_rest.c's interface without curl or sockets.
 *
 * Calls wait in a FIFO until the harness answers the oldest one
 * (stub_ari_answer), with the status, failure kind and body it chose,
 * through ari_text.c's real ari_result_make().  The admission rules are
 * ari_rest.c's (bounds, methods, paths, URLs, ECANCELED while freeing),
 * so the flow-worker's backlog and failure paths run as in production.
 * Callbacks never run from inside ari_rest_call*(), as documented.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ari_rest.h"
#include "stub_ari.h"

struct stub_call {
	TAILQ_ENTRY(stub_call)	 entry;
	char			*method;
	char			*path;
	int			 ari;
	ari_rest_cb		 cb;
	void			*arg;
};

struct ari_rest {
	TAILQ_HEAD(, stub_call)	 calls;
	size_t			 ncalls;
	size_t			 nari;
	int			 closing;
	int			 dispatching;
};

struct ari_rest *
ari_rest_new(struct event_base *base, const struct mai_config *conf)
{
	struct ari_rest	*r;

	(void)base;
	(void)conf;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	TAILQ_INIT(&r->calls);
	return r;
}

int
ari_rest_configure(struct ari_rest *r, const struct mai_config *c)
{
	(void)r;
	(void)c;
	return 0;
}

const char *
ari_rest_base_url(const struct ari_rest *r)
{
	(void)r;
	return "http://127.0.0.1:8088/ari";
}

static int
stub_refuse(int err)
{
	errno = err;
	return -1;
}

static int
stub_method_ok(const char *m, struct json_object *body)
{
	if (m == NULL)
		return 0;
	if (strcmp(m, "GET") == 0)
		return body == NULL;
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0;
}

static int
stub_add(struct ari_rest *r, int ari, const char *method, const char *path,
    struct json_object *body, ari_rest_cb cb, void *arg)
{
	struct stub_call	*c;

	if (r->closing)
		return stub_refuse(ECANCELED);
	if (r->ncalls >= ARI_REST_MAX_CALLS ||
	    (ari && r->nari >= ARI_REST_MAX_CONNS))
		return stub_refuse(EAGAIN);
	if (cb == NULL || !stub_method_ok(method, body))
		return stub_refuse(EINVAL);
	if (body != NULL && json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN) == NULL)
		return stub_refuse(ENOMEM);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->method = strdup(method)) == NULL ||
	    (c->path = strdup(path)) == NULL)
		abort();
	c->ari = ari;
	c->cb = cb;
	c->arg = arg;
	TAILQ_INSERT_TAIL(&r->calls, c, entry);
	r->ncalls++;
	r->nari += ari != 0;
	return 0;
}

int
ari_rest_call_opts(struct ari_rest *r, const char *method, const char *path,
    struct json_object *body, const struct ari_call_opts *opts,
    ari_rest_cb cb, void *arg)
{
	if (opts->body_max > ARI_REST_BODY_HUGE)
		return stub_refuse(EINVAL);
	if (!ari_path_ok(path))
		return stub_refuse(EINVAL);
	if (strlen(path) + 32 >= ARI_REST_URL_MAX)
		return stub_refuse(EMSGSIZE);
	return stub_add(r, 1, method, path, body, cb, arg);
}

int
ari_rest_call(struct ari_rest *r, const char *method, const char *path,
    struct json_object *body, unsigned int timeout_ms, ari_rest_cb cb,
    void *arg)
{
	struct ari_call_opts	opts = { .timeout_ms = timeout_ms };

	return ari_rest_call_opts(r, method, path, body, &opts, cb, arg);
}

int
ari_rest_call_url(struct ari_rest *r, const char *method, const char *url,
    struct json_object *body, unsigned int timeout_ms, ari_rest_cb cb,
    void *arg)
{
	(void)timeout_ms;
	if (!ari_url_ok(url))
		return stub_refuse(EINVAL);
	if (strlen(url) >= ARI_REST_URL_MAX)
		return stub_refuse(EMSGSIZE);
	return stub_add(r, 0, method, url, body, cb, arg);
}

/* Leave the FIFO first: the callback may start calls or free it all. */
static void
stub_finish(struct ari_rest *r, struct stub_call *c, long status,
    enum ari_rest_fail fail, const char *resp, size_t resp_len)
{
	struct ari_outcome	o;
	struct ari_result	res;
	char			err[ARI_REST_ERR_MAX];

	TAILQ_REMOVE(&r->calls, c, entry);
	r->ncalls--;
	r->nari -= c->ari != 0;
	memset(&o, 0, sizeof(o));
	o.method = c->method;
	o.path = c->path;
	o.status = fail == ARI_FAIL_NONE || fail == ARI_FAIL_TOOBIG ?
	    status : 0;
	o.fail = fail;
	o.timeout_ms = ARI_REST_TIMEOUT_DEF_MS;
	o.body_max = ARI_REST_BODY_MAX;
	o.detail = "stub";
	o.resp = resp;
	o.resp_len = resp_len;
	ari_result_make(&res, &o, err, sizeof(err));
	r->dispatching++;
	c->cb(&res, c->arg);
	r->dispatching--;
	json_object_put(res.body);
	free(c->method);
	free(c->path);
	free(c);
}

size_t
stub_ari_pending(const struct ari_rest *r)
{
	return r->ncalls;
}

static void
stub_destroy(struct ari_rest *r)
{
	struct stub_call	*c;

	while ((c = TAILQ_FIRST(&r->calls)) != NULL)
		stub_finish(r, c, 0, ARI_FAIL_CANCELLED, NULL, 0);
	free(r);
}

/* The oldest call ends so; 0 when none was waiting. */
int
stub_ari_answer(struct ari_rest *r, long status, int fail, const char *body,
    size_t len)
{
	struct stub_call	*c;

	if (r->closing || (c = TAILQ_FIRST(&r->calls)) == NULL)
		return 0;
	if (fail < ARI_FAIL_NONE || fail > ARI_FAIL_TRANSPORT)
		fail = ARI_FAIL_TRANSPORT;
	stub_finish(r, c, status, (enum ari_rest_fail)fail, body, len);
	if (r->closing && r->dispatching == 0)
		stub_destroy(r);
	return 1;
}

/* Pending calls are cancelled: their callbacks run, as ari_rest.c's do. */
void
ari_rest_free(struct ari_rest *r)
{
	if (r == NULL)
		return;
	r->closing = 1;
	if (r->dispatching > 0)
		return;
	stub_destroy(r);
}

/* As ari_rest.c's: the stub has no connections to bound. */
int
ari_rest_limit(struct ari_rest *r, unsigned int max)
{
	(void)r;
	return max == 0 || max > ARI_REST_LIMIT_MAX ? -1 : 0;
}

/* The call made with arg ends cancelled, its callback run now. */
void
ari_rest_cancel(struct ari_rest *r, void *arg)
{
	struct stub_call	*c;

	TAILQ_FOREACH(c, &r->calls, entry)
		if (c->arg == arg)
			break;
	if (c == NULL)
		return;
	r->dispatching++;
	stub_finish(r, c, 0, ARI_FAIL_CANCELLED, NULL, 0);
	if (--r->dispatching == 0 && r->closing)
		stub_destroy(r);
}
