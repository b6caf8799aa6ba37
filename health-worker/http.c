/*
 * http.c — the HTTP side: routes, answers, request counters and drain.
 *
 * evhttp hands every request to http_dispatch() (every method it knows)
 * so that 404 and 405 answers are ours, in JSON, and counted; a method
 * HTTP does not define is answered 501 by evhttp (RFC 9110 15.6.2: 405 is
 * for a method known but not allowed on the resource).  Answers come
 * from cached bodies; nothing here blocks or talks to Asterisk.
 *
 * Each connection gets a deadline for every request (slowloris) and the
 * number open is capped; evhttp 2.1 has neither, so http_conn_* add them
 * around its bufferevent hook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/http_struct.h>	/* the request's HTTP version */
#include <event2/keyvalq_struct.h>

#include "health.h"
#include "log.h"

#define CT_JSON		"application/json"
#define CT_PROM		"text/plain; version=0.0.4"

#define BODY_OK		"{\"status\":\"ok\"}"
#define BODY_404	"{\"status\":\"error\",\"error\":\"not found\"}"
#define BODY_405	"{\"status\":\"error\",\"error\":\"method not allowed\"}"
#define BODY_400	"{\"status\":\"error\",\"error\":\"bad request\"}"
#define BODY_505	"{\"status\":\"error\",\"error\":\"HTTP version not " \
			"supported\"}"

/* Every method evhttp knows, so that it never answers 405 on our behalf. */
#define HTTP_ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | \
    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | \
    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | \
    EVHTTP_REQ_PATCH)

static const char *const route_paths[ROUTE_COUNT] = {
	[ROUTE_HEALTHZ] = "/healthz",
	[ROUTE_DEPS] = "/healthz/deps",
	[ROUTE_READYZ] = "/readyz",
	[ROUTE_METRICS] = "/metrics",
	[ROUTE_OTHER] = "other",
};

static const int code_numbers[CODE_COUNT] = {
	[CODE_200] = 200,
	[CODE_400] = 400,
	[CODE_404] = 404,
	[CODE_405] = 405,
	[CODE_503] = 503,
	[CODE_505] = 505,
};

const char *
http_route_label(enum http_route r)
{
	return (unsigned)r < ROUTE_COUNT ? route_paths[r] : "other";
}

int
http_code_number(enum http_code c)
{
	return (unsigned)c < CODE_COUNT ? code_numbers[c] : 0;
}

static void
http_count(struct http_server *srv, enum http_route route, int code)
{
	int	c;

	for (c = 0; c < CODE_COUNT; c++)
		if (code_numbers[c] == code) {
			srv->requests[route][c]++;
			return;
		}
}

/* The query string never matters: /readyz?x=1 is /readyz. */
static enum http_route
http_route_of(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path;
	int			 r;

	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL)
		return ROUTE_OTHER;
	for (r = 0; r < ROUTE_OTHER; r++)
		if (strcmp(path, route_paths[r]) == 0)
			return (enum http_route)r;
	return ROUTE_OTHER;
}

/*
 * While draining, every answer closes its connection so that the client
 * reconnects, and the supervisor's backlog hands that connection to the
 * next health-worker.  An HTTP/1.0 keep-alive request would also make
 * evhttp add "Connection: keep-alive": forget that the client asked.
 */
static void
http_drain_headers(struct evhttp_request *req, struct evkeyvalq *out)
{
	evhttp_remove_header(evhttp_request_get_input_headers(req),
	    "Connection");
	evhttp_add_header(out, "Connection", "close");
}

/*
 * Send what the output buffer holds.  HEAD carries no body, so evhttp
 * leaves Content-Length out; we give the length a GET would have had.
 */
static void
http_finish(struct http_server *srv, struct evhttp_request *req,
    enum http_route route, int code, const char *type, size_t len)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	char			 clen[24];

	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(out, "Content-Length", clen);
	}
	if (srv->draining)
		http_drain_headers(req, out);
	http_count(srv, route, code);
	evhttp_send_reply(req, code, NULL, NULL);
}

static void
http_reply(struct http_server *srv, struct evhttp_request *req,
    enum http_route route, int code, const char *body, size_t len)
{
	struct evbuffer	*buf = evhttp_request_get_output_buffer(req);

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD &&
	    evbuffer_add(buf, body, len) == -1)
		log_warnx("http answer dropped its body: out of memory");
	http_finish(srv, req, route, code, CT_JSON, len);
}

static void
http_reply_metrics(struct http_server *srv, struct evhttp_request *req)
{
	struct evbuffer	*buf = evhttp_request_get_output_buffer(req);
	size_t		 len;

	render_metrics(buf, srv->state, srv);
	len = evbuffer_get_length(buf);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD)
		evbuffer_drain(buf, len);
	http_finish(srv, req, ROUTE_METRICS, 200, CT_PROM, len);
}

static unsigned int
http_max_conns(const struct http_server *srv)
{
	return srv->conf != NULL && srv->conf->http_max_conns > 0 ?
	    srv->conf->http_max_conns : HEALTH_MAX_CONNS_DEF;
}

static void
http_conn_free(struct http_conn *c)
{
	struct http_server	*srv = c->srv;

	if (c->evcon != NULL)
		TAILQ_REMOVE(&srv->conns, c, entry);
	if (c->attach != NULL)
		event_free(c->attach);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c);
	if (srv->conns_open > 0)
		srv->conns_open--;
	if (srv->conns_open < http_max_conns(srv))
		srv->at_cap = 0;
	if (srv->draining && srv->conns_open == 0 && srv->drained != NULL)
		event_active(srv->drained, EV_TIMEOUT, 1);
}

static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	http_conn_free(arg);
}

/* The next request must be complete by then (from accept or an answer). */
static void
http_conn_arm(struct http_conn *c)
{
	const struct mai_config	*conf = c->srv->conf;
	uint32_t		 ms = conf != NULL &&
				    conf->http_header_timeout_ms > 0 ?
				    conf->http_header_timeout_ms :
				    HEALTH_HEADER_TIMEOUT_DEF_MS;
	struct timeval		 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->deadline, &tv);
}

static void
http_conn_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct http_conn	*c = arg;

	(void)fd;
	(void)ev;
	c->srv->deadline_closed++;
	log_debug("http connection closed: request not complete in time");
	evhttp_connection_free(c->evcon);	/* calls http_conn_closed */
}

/*
 * Right after accept, before any byte is read (an activated event runs
 * before the loop polls again): evhttp has made its connection around
 * our bufferevent, whose callback argument it is.  Nothing of it exists
 * if evhttp failed; then only our part is undone.
 */
static void
http_conn_attach(evutil_socket_t fd, short ev, void *arg)
{
	struct http_conn	*c = arg;
	struct http_server	*srv = c->srv;
	void			*evcon = NULL;

	(void)fd;
	(void)ev;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	bufferevent_decref(c->bev);
	event_free(c->attach);
	c->attach = NULL;
	if (evcon == NULL) {
		http_conn_free(c);
		return;
	}
	c->evcon = evcon;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	evhttp_connection_set_closecb(c->evcon, http_conn_closed, c);
	if (c->refuse) {
		srv->conns_refused++;
		evhttp_connection_free(c->evcon);
		return;
	}
	http_conn_arm(c);
}

/*
 * evhttp asks for each accepted connection's bufferevent: we make it, to
 * learn of the connection before its first byte.  Our reference keeps
 * the bufferevent valid until http_conn_attach(), whatever evhttp does.
 */
static struct bufferevent *
http_conn_new(struct event_base *base, void *arg)
{
	struct http_server	*srv = arg;
	struct http_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(base, -1, 0)) == NULL ||
	    (c->attach = event_new(base, -1, 0, http_conn_attach, c)) ==
	    NULL || (c->deadline = evtimer_new(base, http_conn_deadline, c))
	    == NULL)
		fatalx("http connection: out of memory");
	c->srv = srv;
	bufferevent_incref(c->bev);
	if (srv->conns_open >= http_max_conns(srv)) {
		c->refuse = 1;
		if (!srv->at_cap)
			log_warnx("http connections at the cap max=%u: closing "
			    "new ones until some end (HTTP_MAX_CONNECTIONS)",
			    http_max_conns(srv));
		srv->at_cap = 1;
	}
	srv->conns_open++;
	event_active(c->attach, EV_TIMEOUT, 1);
	return c->bev;
}

static struct http_conn *
http_conn_find(struct http_server *srv, struct evhttp_connection *evcon)
{
	struct http_conn	*c;

	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/*
 * What evhttp lets through but we must not: a version other than 1.0 and
 * 1.1 (it takes HTTP/1.7 and echoes it), and a body length that is not
 * one number (two different Content-Length headers, or one beside
 * Transfer-Encoding, is how requests are smuggled: RFC 9112 6.3).
 * 0 when fine, else the status to answer.
 */
static int
http_request_check(struct evhttp_request *req)
{
	const struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	const struct evkeyval	*kv;
	const char		*clen = NULL;
	int			 te = 0;

	if (req->major != 1 || req->minor > 1)
		return 505;
	TAILQ_FOREACH(kv, in, next) {
		if (strcasecmp(kv->key, "Transfer-Encoding") == 0)
			te = 1;
		else if (strcasecmp(kv->key, "Content-Length") != 0)
			continue;
		else if (clen != NULL && strcmp(clen, kv->value) != 0)
			return 400;
		else
			clen = kv->value;
	}
	return te && clen != NULL ? 400 : 0;
}

/* Answer a request we refuse, and close its connection after. */
static void
http_refuse(struct http_server *srv, struct evhttp_request *req,
    enum http_route route, int code)
{
	if (code == 505) {
		req->major = 1;		/* our status line is HTTP/1.1 */
		req->minor = 1;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	if (code == 505)
		http_reply(srv, req, route, code, BODY_505, strlen(BODY_505));
	else
		http_reply(srv, req, route, code, BODY_400, strlen(BODY_400));
}

static void	http_route_request(struct http_server *,
		    struct evhttp_request *, enum http_route,
		    enum evhttp_cmd_type);

static void
http_dispatch(struct evhttp_request *req, void *arg)
{
	struct http_server		*srv = arg;
	enum http_route			 route = http_route_of(req);
	enum evhttp_cmd_type		 cmd = evhttp_request_get_command(req);
	struct http_conn		*c;
	int				 bad;

	/*
	 * Complete: no deadline while we answer, the next one from here.  The
	 * answer is only queued, so the connection outlives this call.
	 */
	c = http_conn_find(srv, evhttp_request_get_connection(req));
	if (c != NULL)
		evtimer_del(c->deadline);
	if ((bad = http_request_check(req)) != 0)
		http_refuse(srv, req, route, bad);
	else
		http_route_request(srv, req, route, cmd);
	if (c != NULL)
		http_conn_arm(c);
}

static void
http_route_request(struct http_server *srv, struct evhttp_request *req,
    enum http_route route, enum evhttp_cmd_type cmd)
{
	const struct cached_answer	*a;

	if (route == ROUTE_OTHER) {
		http_reply(srv, req, route, 404, BODY_404, strlen(BODY_404));
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_reply(srv, req, route, 405, BODY_405, strlen(BODY_405));
		return;
	}
	switch (route) {
	case ROUTE_HEALTHZ:
		http_reply(srv, req, route, 200, BODY_OK, strlen(BODY_OK));
		break;
	case ROUTE_DEPS:
	case ROUTE_READYZ:
		a = route == ROUTE_DEPS ? &srv->state->deps : &srv->state->ready;
		http_reply(srv, req, route, a->code, a->body, a->len);
		break;
	case ROUTE_METRICS:
		http_reply_metrics(srv, req);
		break;
	default:
		http_reply(srv, req, ROUTE_OTHER, 404, BODY_404,
		    strlen(BODY_404));
		break;
	}
}

/* Serve on the listening socket the supervisor bound and handed us. */
void
http_init(struct http_server *srv, struct event_base *base, int listen_fd,
    struct health_state *st, const struct mai_config *conf)
{
	memset(srv, 0, sizeof(*srv));
	TAILQ_INIT(&srv->conns);
	srv->state = st;
	srv->conf = conf;
	if ((srv->http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_max_headers_size(srv->http, HEALTH_MAX_HEADERS);
	evhttp_set_max_body_size(srv->http, HEALTH_MAX_BODY);
	evhttp_set_timeout(srv->http, HEALTH_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(srv->http, HTTP_ALL_METHODS);
	evhttp_set_gencb(srv->http, http_dispatch, srv);
	evhttp_set_bevcb(srv->http, http_conn_new, srv);
	srv->listen_fd = listen_fd;
}

/* Once there is something to answer from; see HEALTH_ACCEPT_WAIT_MS. */
void
http_accept_start(struct http_server *srv)
{
	if (srv->listen_fd == -1 || srv->draining)
		return;
	if ((srv->bound = evhttp_accept_socket_with_handle(srv->http,
	    srv->listen_fd)) == NULL)
		fatalx("cannot accept on the listen socket fd=%d",
		    srv->listen_fd);
	log_info("accepting http connections fd=%d", srv->listen_fd);
	srv->listen_fd = -1;	/* evhttp closes it when done */
}

/*
 * Stop accepting at once.  Freeing the bound socket closes only our copy:
 * the supervisor keeps the listening socket, so new connections wait in
 * its backlog for the next health-worker instead of being refused.
 * `drained` is activated once no connection is left open, so a drain
 * that busy clients finish in a few ms does not wait its whole window.
 */
void
http_drain_start(struct http_server *srv, struct event *drained)
{
	srv->draining = 1;
	srv->drained = drained;
	if (srv->bound != NULL) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
	}
	if (srv->listen_fd != -1) {
		close(srv->listen_fd);
		srv->listen_fd = -1;
	}
	if (srv->conns_open == 0)
		event_active(drained, EV_TIMEOUT, 1);
}

void
http_free(struct http_server *srv)
{
	if (srv->listen_fd != -1)
		close(srv->listen_fd);
	srv->listen_fd = -1;
	if (srv->http != NULL)
		evhttp_free(srv->http);
	srv->http = NULL;
	srv->bound = NULL;
}
