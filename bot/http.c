/*
 * http.c — the bot's HTTP server (libevent evhttp): health, readiness,
 * metrics and the control API's entry.
 *
 * The control API's POST /v1/calls is a long request (calls.c); evhttp
 * must therefore not time out a connection that waits for our answer,
 * only one that is slow to send its request (HTTP_READ_TIMEOUT_S).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "log.h"
#include "bot.h"

#define HTTP_BODY_MAX		65536	/* a call's JSON; larger is refused */
#define HTTP_HEADERS_MAX	16384

static struct evhttp	*http;

bool
bot_ready(void)
{
	if (!stt->ready() || !tts->ready() || !tts_espeak.ready())
		return false;
	if (bot_conf.llm_url[0] != '\0')
		return llm_ready();
	return dialogue_loaded();
}

static void
http_reply(struct evhttp_request *req, int code, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatal("evbuffer_new");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

void
http_json(struct evhttp_request *req, int code, const char *body)
{
	http_reply(req, code, "application/json", body, strlen(body));
}

static void
http_route(struct evhttp_request *req, void *arg)
{
	const char	*path = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	size_t		 plen = strcspn(path, "?");
	char		*body;
	size_t		 len;

	(void)arg;
#define IS(p)	(plen == strlen(p) && strncmp(path, p, plen) == 0)
	if (IS("/v1/calls")) {
		if (cmd != EVHTTP_REQ_POST)
			http_json(req, 405, "{\"error\":\"POST only\"}");
		else
			calls_post(req);
	} else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD)
		http_json(req, 405, "{\"error\":\"GET only\"}");
	else if (IS("/healthz"))
		http_json(req, 200, "{\"status\":\"ok\"}");
	else if (IS("/readyz")) {
		if (bot_ready())
			http_json(req, 200, "{\"status\":\"ok\"}");
		else
			http_json(req, 503, "{\"status\":\"degraded\"}");
	} else if (IS("/metrics")) {
		body = metrics_render(&len);
		http_reply(req, 200, "text/plain; version=0.0.4", body, len);
		free(body);
	} else
		http_json(req, 404, "{\"error\":\"no such path\"}");
#undef IS
}

static void
split_listen(const char *s, char *host, size_t size, uint16_t *port)
{
	const char	*colon = strrchr(s, ':');
	size_t		 n = (size_t)(colon - s);

	if (n >= size)
		n = size - 1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (host[0] == '[' && n > 1) {	/* [::] */
		memmove(host, host + 1, n);
		host[strcspn(host, "]")] = '\0';
	}
	*port = (uint16_t)atoi(colon + 1);
}

void
http_init(void)
{
	char		host[64];
	uint16_t	port;

	if ((http = evhttp_new(bot_base)) == NULL)
		fatalx("evhttp_new failed");
	split_listen(bot_conf.http_listen, host, sizeof(host), &port);
	if (evhttp_bind_socket(http, host, port) != 0)
		fatal("can't listen on BOT_HTTP_LISTEN=%s",
		    bot_conf.http_listen);
	evhttp_set_max_body_size(http, HTTP_BODY_MAX);
	evhttp_set_max_headers_size(http, HTTP_HEADERS_MAX);
	/*
	 * No connection timeout: a long request waits for the end of the
	 * conversation; its client's close is seen by calls.c instead.
	 */
	evhttp_set_timeout(http, 0);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(http, http_route, NULL);
}

void
http_shutdown(void)
{
	if (http != NULL)
		evhttp_free(http);
	http = NULL;
}
