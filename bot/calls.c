/*
 * calls.c — POST /v1/calls, the contract with mai's flow-worker.
 *
 * The flow-worker posts the call right after it created the external
 * media leg.  The request registers the session and stays open: the bot
 * answers it when the conversation ends, with the result the flow
 * branches on.  If the client closes it first (the caller hung up, the
 * flow left the state), the session ends at once.  See docs/bot.md.
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "log.h"
#include "bot.h"

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "ADDR:PORT" or "[V6]:PORT", numeric only: Asterisk gives numbers. */
static int
calls_peer(struct session *s, const char *peer)
{
	struct addrinfo	 hints, *ai;
	char		 host[64];
	const char	*colon = strrchr(peer, ':');
	size_t		 n;

	if (colon == NULL || (n = (size_t)(colon - peer)) == 0 ||
	    n >= sizeof(host))
		return -1;
	memcpy(host, peer, n);
	host[n] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, n);
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	memcpy(&s->peer, ai->ai_addr, ai->ai_addrlen);
	s->peerlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	s->peer_wild = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
	s->peer_known = !s->peer_wild;
	return 0;
}

static void
copy_id(char *dst, const char *src)
{
	snprintf(dst, BOT_ID_MAX, "%s", src != NULL ? src : "");
}

/* Fill the session from the body; a reason for the 400 on error. */
static const char *
calls_parse(struct session *s, struct json_object *o)
{
	struct json_object	*caller, *vars;
	const char		*v, *tr, *fmt;

	if ((v = jstr(o, "leg")) == NULL || *v == '\0' ||
	    strlen(v) >= BOT_ID_MAX)
		return "\"leg\" (the bot leg's channel id) is missing";
	copy_id(s->leg, v);
	copy_id(s->call, jstr(o, "call"));
	copy_id(s->leg_name, jstr(o, "leg_name"));
	copy_id(s->flow, jstr(o, "flow"));
	tr = jstr(o, "transport");
	if (tr == NULL || strcmp(tr, "udp") == 0)
		s->transport = BOT_TR_UDP;
	else if (strcmp(tr, "websocket") == 0)
		s->transport = BOT_TR_WS;
	else
		return "\"transport\" is not udp or websocket";
	fmt = jstr(o, "format");
	if (fmt == NULL || strcmp(fmt, "ulaw") == 0)
		s->format = BOT_FMT_ULAW;
	else if (strcmp(fmt, "slin16") == 0)
		s->format = BOT_FMT_SLIN16;
	else
		return "\"format\" is not ulaw or slin16";
	s->rate = s->format == BOT_FMT_ULAW ? 8000 : 16000;
	if (s->transport == BOT_TR_UDP) {
		if ((v = jstr(o, "peer")) == NULL)
			return "\"peer\" (Asterisk's RTP ADDR:PORT) is missing";
		if (calls_peer(s, v) == -1)
			return "\"peer\" is not a numeric ADDR:PORT";
	} else if (s->leg_name[0] == '\0')
		return "\"leg_name\" is needed to match the WebSocket";
	if (json_object_object_get_ex(o, "caller", &caller)) {
		copy_id(s->caller_name, jstr(caller, "name"));
		copy_id(s->caller_number, jstr(caller, "number"));
	}
	if (json_object_object_get_ex(o, "variables", &vars) &&
	    json_object_is_type(vars, json_type_object))
		s->context = strdup(json_object_to_json_string_ext(vars,
		    JSON_C_TO_STRING_PLAIN));
	return NULL;
}

static void
calls_reattach_expired(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = session_by_id((uint64_t)(uintptr_t)arg);

	(void)fd;
	(void)ev;
	if (s != NULL && s->req == NULL)
		session_end(s, "control request closed");
}

/*
 * The flow-worker closed the request: it stopped waiting (the caller went,
 * the flow moved on) or it died.  Its successor sends the request again
 * for the same leg once it took the call over; until BOT_REATTACH_MS
 * passed, the conversation goes on.
 */
static void
calls_detach(struct session *s)
{
	struct timeval	tv = { BOT_REATTACH_MS / 1000,
			    (BOT_REATTACH_MS % 1000) * 1000 };

	s->req = NULL;
	if (s->req_watch != NULL)
		event_del(s->req_watch);
	if (s->reattach == NULL && (s->reattach = evtimer_new(bot_base,
	    calls_reattach_expired, (void *)(uintptr_t)s->id)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(s->reattach, &tv);
	log_info("session id=%llu leg=%s: control request closed, waiting "
	    "%d ms for it again", (unsigned long long)s->id, s->leg,
	    BOT_REATTACH_MS);
}

static void
calls_closed(struct evhttp_connection *evcon, void *arg)
{
	struct session	*s = session_by_id((uint64_t)(uintptr_t)arg);

	(void)evcon;
	if (s == NULL || s->req == NULL)
		return;
	calls_detach(s);	/* evhttp frees the request with it */
}

/* Our own watch: evhttp does not read while a request awaits its answer. */
static void
calls_watch(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = session_by_id((uint64_t)(uintptr_t)arg);
	char		 c;
	ssize_t		 n;

	(void)ev;
	if (s == NULL)
		return;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(
		    s->req), NULL, NULL);
		calls_detach(s);
	} else if (n > 0)
		event_del(s->req_watch);	/* pipelined bytes: stop */
}

static void
calls_hold(struct session *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent	 *bev;
	void			 *arg = (void *)(uintptr_t)s->id;

	s->req = req;
	if (s->reattach != NULL)
		evtimer_del(s->reattach);
	evhttp_connection_set_closecb(evcon, calls_closed, arg);
	bev = evhttp_connection_get_bufferevent(evcon);
	if (s->req_watch != NULL)
		event_free(s->req_watch);
	s->req_watch = event_new(bot_base, bufferevent_getfd(bev),
	    EV_READ | EV_PERSIST, calls_watch, arg);
	if (s->req_watch == NULL || event_add(s->req_watch, NULL) == -1)
		fatalx("can't watch the control request");
}

/*
 * A request for a leg a session already holds: taken as the same
 * conversation when that session lost its request (the flow-worker was
 * replaced; the new one sends no "peer"), refused (409) while it has one.
 * 0: not such a request.  Takes o when it answered.
 */
static int
calls_reattach(struct evhttp_request *req, struct json_object *o)
{
	struct json_object	*v;
	struct session		*s;

	if (!json_object_object_get_ex(o, "leg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (s = session_by_leg(json_object_get_string(v))) == NULL)
		return 0;
	json_object_put(o);
	if (s->req != NULL) {
		http_json(req, 409, "{\"error\":\"a session holds this leg\"}");
		return 1;
	}
	calls_hold(s, req);
	log_info("session id=%llu leg=%s: control request again, the "
	    "conversation goes on", (unsigned long long)s->id, s->leg);
	return 1;
}

void
calls_post(struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct json_object	*o, *err;
	struct session		*s;
	const char		*why;
	size_t			 len = evbuffer_get_length(in);
	char			*body = malloc(len + 1);

	if (body == NULL)
		fatal("malloc");
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	o = json_tokener_parse(body);
	free(body);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		http_json(req, 400, "{\"error\":\"body is not a JSON object\"}");
		return;
	}
	if (calls_reattach(req, o))
		return;
	s = session_new();
	if ((why = calls_parse(s, o)) != NULL) {
		err = json_object_new_object();
		json_object_object_add(err, "error", json_object_new_string(why));
		http_json(req, 400, json_object_to_json_string_ext(err,
		    JSON_C_TO_STRING_PLAIN));
		json_object_put(err);
	} else if (session_count() >= BOT_SESSIONS_MAX)
		http_json(req, 503, "{\"error\":\"bot busy\"}");
	else {
		json_object_put(o);
		calls_hold(s, req);
		session_start(s);
		return;
	}
	json_object_put(o);
	session_free(s);
}

/* The conversation is over: the flow-worker gets its result. */
void
calls_answer(struct session *s)
{
	struct json_object	*o, *set;
	struct evhttp_request	*req = s->req;
	int			 i;

	if (req == NULL)
		return;
	s->req = NULL;
	if (s->req_watch != NULL)
		event_del(s->req_watch);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    NULL, NULL);
	o = json_object_new_object();
	set = json_object_new_object();
	json_object_object_add(o, "result", json_object_new_string(
	    s->result[0] ? s->result : (s->faulted ? "error" : "hangup")));
	for (i = 0; i < s->nset; i++)
		json_object_object_add(set, s->set_key[i],
		    json_object_new_string(s->set_val[i]));
	json_object_object_add(o, "set", set);
	json_object_object_add(o, "turns", json_object_new_int(s->turns));
	http_json(req, 200, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}
