/*
 * curlev.c — libcurl's multi interface driven by the libevent loop.
 *
 * curl tells which sockets to watch and when to wake it (the socket and
 * timer callbacks); the loop calls curl_multi_socket_action() when they
 * fire.  No thread blocks on an HTTP engine: an LLM stream, an STT or a
 * TTS request is just more sockets in the loop.  Finished transfers are
 * handed to their owner's done() with the curl code and HTTP status.
 */
#include <stdlib.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "bot.h"

static CURLM		*multi;
static struct event	*curl_timer;

struct sockwatch {
	struct event	*ev;
};

static void
curlev_check(void)
{
	CURLMsg		*msg;
	int		 left;
	struct curlev	*c;
	long		 status;
	CURL		*easy;
	CURLcode	 rc;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		status = 0;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
		curl_multi_remove_handle(multi, easy);
		c->done(c, (int)rc, status);
	}
}

static void
curlev_on_socket(evutil_socket_t fd, short ev, void *arg)
{
	int	running, what = 0;

	(void)arg;
	if (ev & EV_READ)
		what |= CURL_CSELECT_IN;
	if (ev & EV_WRITE)
		what |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, what, &running);
	curlev_check();
}

static void
curlev_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	int	running;

	(void)fd;
	(void)ev;
	(void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_check();
}

static int
curlev_socket_cb(CURL *e, curl_socket_t s, int what, void *uarg, void *sarg)
{
	struct sockwatch	*w = sarg;
	short			 kind;

	(void)e;
	(void)uarg;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			fatal("calloc");
		curl_multi_assign(multi, s, w);
	} else
		event_free(w->ev);
	w->ev = event_new(bot_base, s, kind, curlev_on_socket, NULL);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1)
		fatalx("can't watch a curl socket");
	return 0;
}

static int
curlev_timer_cb(CURLM *m, long ms, void *arg)
{
	struct timeval	tv;

	(void)m;
	(void)arg;
	if (ms < 0) {
		evtimer_del(curl_timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(curl_timer, &tv);
	return 0;
}

void
curlev_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (multi = curl_multi_init()) == NULL)
		fatalx("libcurl can't start");
	curl_timer = evtimer_new(bot_base, curlev_on_timer, NULL);
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, curlev_timer_cb);
}

void
curlev_add(struct curlev *c)
{
	curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	if (curl_multi_add_handle(multi, c->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
}

/* Stop a transfer; its done() is not called. */
void
curlev_remove(struct curlev *c)
{
	curl_multi_remove_handle(multi, c->easy);
}

void
curlev_shutdown(void)
{
	if (multi != NULL)
		curl_multi_cleanup(multi);
	if (curl_timer != NULL)
		event_free(curl_timer);
	multi = NULL;
	curl_global_cleanup();
}
