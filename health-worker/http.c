/*
 * http.c — the HTTP side: routes, answers, request counters and drain.
 *
 * evhttp hands every request to http_dispatch() (all methods allowed) so
 * that 404 and 405 answers are ours, in JSON, and counted.  Answers come
 * from cached bodies; nothing here blocks or talks to Asterisk.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "health.h"
#include "log.h"

#define CT_JSON		"application/json"
#define CT_PROM		"text/plain; version=0.0.4"

#define BODY_OK		"{\"status\":\"ok\"}"
#define BODY_404	"{\"status\":\"error\",\"error\":\"not found\"}"
#define BODY_405	"{\"status\":\"error\",\"error\":\"method not allowed\"}"

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
	[CODE_404] = 404,
	[CODE_405] = 405,
	[CODE_503] = 503,
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

/* evhttp asks us for each accepted connection's bufferevent: count it. */
static struct bufferevent *
http_conn_new(struct event_base *base, void *arg)
{
	struct http_server	*srv = arg;

	(void)base;
	srv->conns_open++;
	return NULL;	/* evhttp makes its usual socket bufferevent */
}

static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_server	*srv = arg;

	(void)evcon;
	if (srv->conns_open > 0)
		srv->conns_open--;
	if (srv->draining && srv->conns_open == 0 && srv->drained != NULL)
		event_active(srv->drained, EV_TIMEOUT, 1);
}

static void
http_dispatch(struct evhttp_request *req, void *arg)
{
	struct http_server		*srv = arg;
	const struct cached_answer	*a;
	enum http_route			 route = http_route_of(req);
	enum evhttp_cmd_type		 cmd = evhttp_request_get_command(req);

	/* Two stores; evhttp offers no hook at accept that knows evcon. */
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    http_conn_closed, srv);
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
    struct health_state *st)
{
	memset(srv, 0, sizeof(*srv));
	srv->state = st;
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
