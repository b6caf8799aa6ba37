/*
 * llm.c — the LLM: OpenAI-compatible POST /v1/chat/completions with
 * "stream": true (llama.cpp's server, Ollama, vLLM, hosted ones).
 *
 * The SSE stream is parsed as it arrives (sse.c); each delta's text goes
 * to reply.c, which speaks the first sentence while the rest is still
 * being written.  libcurl forbids starting or stopping transfers inside
 * its callbacks, so text is handed over from a libevent event made
 * active by the write callback.  Faults: no connection (down), nothing
 * for BOT_LLM_IDLE_MS or the whole answer over BOT_LLM_TIMEOUT_MS
 * (timeout), a status other than 200 (http), a stream that is not SSE
 * with chat chunks or carries an "error" (garbage), a stream that ends
 * without "data: [DONE]" (cut).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "log.h"
#include "bot.h"

#define LLM_ERRBODY_MAX	512	/* a non-200 body, kept for the log */
#define LLM_CONNECT_MS	3000

struct llm_req {
	struct curlev		 cv;
	uint64_t		 sid;
	struct curl_slist	*hdrs;
	char			*body;
	struct sse		 sse;
	char			 text[BOT_TEXT_MAX];	/* not yet handed on */
	size_t			 tlen;
	bool			 done_seen;	/* data: [DONE] */
	bool			 checked;	/* content type seen */
	int			 fault;		/* -1 or enum bot_fault */
	struct event		*deliver;
	struct event		*idle;
	bool			 finished;	/* transfer over: deliver ends */
};

static void
llm_free(struct llm_req *r)
{
	if (r->cv.easy != NULL)
		curl_easy_cleanup(r->cv.easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	sse_free(&r->sse);
	if (r->deliver != NULL)
		event_free(r->deliver);
	if (r->idle != NULL)
		event_free(r->idle);
	free(r);
}

static char *
llm_body(struct session *s)
{
	struct json_object	*o = json_object_new_object();
	struct json_object	*msgs = json_object_new_array(), *m;
	char			*sys, *out;
	int			 i;

	if (asprintf(&sys, "%s%s%s", bot_conf.llm_prompt, s->context ?
	    "\nCall context (JSON): " : "", s->context ? s->context : "") ==
	    -1)
		fatal("asprintf");
	m = json_object_new_object();
	json_object_object_add(m, "role", json_object_new_string("system"));
	json_object_object_add(m, "content", json_object_new_string(sys));
	json_object_array_add(msgs, m);
	free(sys);
	for (i = 0; i < s->nhistory; i++) {
		m = json_object_new_object();
		json_object_object_add(m, "role",
		    json_object_new_string(s->history[i].role));
		json_object_object_add(m, "content",
		    json_object_new_string(s->history[i].content));
		json_object_array_add(msgs, m);
	}
	json_object_object_add(o, "model",
	    json_object_new_string(bot_conf.llm_model));
	json_object_object_add(o, "stream", json_object_new_boolean(1));
	json_object_object_add(o, "messages", msgs);
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* One SSE event: a chat chunk, [DONE], or an error. */
static int
llm_event(void *arg, const char *data, size_t len)
{
	struct llm_req		*r = arg;
	struct json_object	*o, *ch, *c0, *delta, *content;
	const char		*t;
	size_t			 n;

	(void)len;
	if (strcmp(data, "[DONE]") == 0) {
		r->done_seen = true;
		return 0;
	}
	if ((o = json_tokener_parse(data)) == NULL ||
	    json_object_object_get_ex(o, "error", NULL) ||
	    !json_object_object_get_ex(o, "choices", &ch) ||
	    !json_object_is_type(ch, json_type_array)) {
		json_object_put(o);
		r->fault = BOT_FAULT_GARBAGE;
		return 1;
	}
	if ((c0 = json_object_array_get_idx(ch, 0)) != NULL &&
	    json_object_object_get_ex(c0, "delta", &delta) &&
	    json_object_object_get_ex(delta, "content", &content) &&
	    (t = json_object_get_string(content)) != NULL &&
	    json_object_is_type(content, json_type_string)) {
		n = strlen(t);
		if (r->tlen + n >= sizeof(r->text))
			n = sizeof(r->text) - 1 - r->tlen;
		memcpy(r->text + r->tlen, t, n);
		r->tlen += n;
		event_active(r->deliver, EV_TIMEOUT, 0);
	}
	json_object_put(o);
	return 0;
}

static size_t
llm_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct llm_req	*r = arg;
	long		 status = 0;
	struct timeval	 tv = { bot_conf.llm_idle_ms / 1000,
	    (bot_conf.llm_idle_ms % 1000) * 1000 };

	evtimer_add(r->idle, &tv);
	curl_easy_getinfo(r->cv.easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		r->fault = BOT_FAULT_HTTP;
		return 0;	/* stop: done() sees the status */
	}
	if (!r->checked) {
		char *ct = NULL;

		r->checked = true;
		curl_easy_getinfo(r->cv.easy, CURLINFO_CONTENT_TYPE, &ct);
		if (ct == NULL || strstr(ct, "event-stream") == NULL) {
			r->fault = BOT_FAULT_GARBAGE;	/* not SSE */
			return 0;
		}
	}
	if (sse_feed(&r->sse, p, size * nmemb, llm_event, r) != 0) {
		if (r->fault < 0)
			r->fault = BOT_FAULT_GARBAGE;
		return 0;
	}
	return size * nmemb;
}

/* Main loop, outside curl: hand text on; after the transfer, the end. */
static void
llm_deliver(evutil_socket_t fd, short ev, void *arg)
{
	struct llm_req	*r = arg;
	struct session	*s = session_by_id(r->sid);
	int		 fault = r->fault;

	(void)fd;
	(void)ev;
	if (s == NULL || s->llm != r)
		return;
	if (r->tlen > 0 && fault < 0) {
		r->text[r->tlen] = '\0';
		r->tlen = 0;
		turn_reply_text(s, r->text);
	}
	if (!r->finished)
		return;
	s->llm = NULL;
	llm_free(r);
	turn_reply_end(s, NULL, fault);
}

static void
llm_done(struct curlev *cv, int rc, long status)
{
	struct llm_req	*r = (struct llm_req *)cv;

	evtimer_del(r->idle);
	r->finished = true;
	if (r->fault == BOT_FAULT_HTTP || (rc == CURLE_OK && status != 200))
		r->fault = BOT_FAULT_HTTP;
	else if (r->fault >= 0)
		;	/* decided while reading */
	else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		r->fault = BOT_FAULT_DOWN;
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		r->fault = BOT_FAULT_TIMEOUT;
	else if (rc != CURLE_OK || !r->done_seen)
		r->fault = BOT_FAULT_CUT;
	if (r->fault >= 0)
		log_warnx("llm request failed curl=%d status=%ld fault=%s", rc,
		    status, fault_name((enum bot_fault)r->fault));
	event_active(r->deliver, EV_TIMEOUT, 0);
}

static void
llm_idle(evutil_socket_t fd, short ev, void *arg)
{
	struct llm_req	*r = arg;

	(void)fd;
	(void)ev;
	curlev_remove(&r->cv);
	r->fault = BOT_FAULT_TIMEOUT;
	r->finished = true;
	log_warnx("llm stream silent for %d ms", bot_conf.llm_idle_ms);
	event_active(r->deliver, EV_TIMEOUT, 0);
}

struct llm_req *
llm_start(struct session *s)
{
	struct llm_req	*r;
	char		 url[512], auth[300];
	struct timeval	 tv = { bot_conf.llm_idle_ms / 1000,
	    (bot_conf.llm_idle_ms % 1000) * 1000 };

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->sid = s->id;
	r->fault = -1;
	r->cv.done = llm_done;
	r->body = llm_body(s);
	r->deliver = event_new(bot_base, -1, 0, llm_deliver, r);
	r->idle = evtimer_new(bot_base, llm_idle, r);
	snprintf(url, sizeof(url), "%s%s", bot_conf.llm_url,
	    strstr(bot_conf.llm_url, "/chat/completions") ? "" :
	    "/v1/chat/completions");
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Accept: text/event-stream");
	if (bot_conf.llm_key[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bot_conf.llm_key);
		r->hdrs = curl_slist_append(r->hdrs, auth);
	}
	if ((r->cv.easy = curl_easy_init()) == NULL || r->deliver == NULL ||
	    r->idle == NULL)
		fatalx("can't make an LLM request");
	curl_easy_setopt(r->cv.easy, CURLOPT_URL, url);
	curl_easy_setopt(r->cv.easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->cv.easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->cv.easy, CURLOPT_WRITEFUNCTION, llm_write);
	curl_easy_setopt(r->cv.easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->cv.easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(bot_conf.llm_timeout_ms < LLM_CONNECT_MS ?
	    bot_conf.llm_timeout_ms : LLM_CONNECT_MS));
	curl_easy_setopt(r->cv.easy, CURLOPT_TIMEOUT_MS,
	    (long)bot_conf.llm_timeout_ms);
	curlev_add(&r->cv);
	evtimer_add(r->idle, &tv);
	return r;
}

/* Cancel from the main loop (never from a curl callback). */
void
llm_cancel(struct llm_req *r)
{
	if (!r->finished)
		curlev_remove(&r->cv);
	llm_free(r);
}
