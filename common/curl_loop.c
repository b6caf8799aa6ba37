/*
 * curl_loop.c — libcurl's multi interface driven by a libevent loop.
 *
 * curl never blocks: it says which sockets to watch (loop_socket_cb) and
 * when to call back (loop_timer_cb); libevent does the waiting and hands
 * readiness back through curl_multi_socket_action().  After every such
 * action the owner's after() collects what finished: its callbacks run
 * from the loop, never from inside curl.  A socket's event lives in
 * curl's own per-socket pointer (curl_multi_assign) and is freed when
 * curl stops watching it, also from curl_multi_cleanup().
 */
#include <stdlib.h>

#include "curl_loop.h"
#include "log.h"

/* libevent -> curl: a watched socket is ready. */
static void
loop_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop	*l = arg;
	int			 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(l->multi, fd, flags, &running);
	l->after(l->arg);
}

/* libevent -> curl: curl's timeout expired. */
static void
loop_timeout_event(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop	*l = arg;
	int			 running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	l->after(l->arg);
}

/* curl -> libevent: watch this socket for these directions, or stop. */
static int
loop_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct curl_loop	*l = userp;
	struct event		*ev = socketp;
	short			 kind = EV_PERSIST;

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
		if ((ev = event_new(l->base, s, kind, loop_socket_event,
		    l)) == NULL) {
			log_warnx("curl: no memory for a socket event");
			return -1;
		}
		curl_multi_assign(l->multi, s, ev);
	} else {
		event_del(ev);
		event_assign(ev, l->base, s, kind, loop_socket_event, l);
	}
	if (event_add(ev, NULL) == -1) {
		log_warnx("curl: cannot watch socket fd=%d", (int)s);
		return -1;
	}
	return 0;
}

/* curl -> libevent: call me back in timeout_ms, or never (-1). */
static int
loop_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop	*l = userp;
	struct timeval		 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(l->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(l->timer, &tv) == -1 ? -1 : 0;
}

/* Put multi on base; after(arg) runs after each action.  -1: no memory. */
int
curl_loop_init(struct curl_loop *l, struct event_base *base, CURLM *multi,
    void (*after)(void *), void *arg)
{
	l->base = base;
	l->multi = multi;
	l->after = after;
	l->arg = arg;
	if ((l->timer = evtimer_new(base, loop_timeout_event, l)) == NULL ||
	    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
	    loop_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, l) != CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, loop_timer_cb) !=
	    CURLM_OK ||
	    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, l) != CURLM_OK)
		return -1;
	return 0;
}

/* After curl_multi_cleanup(), which freed the socket events. */
void
curl_loop_free(struct curl_loop *l)
{
	if (l->timer != NULL)
		event_free(l->timer);
	l->timer = NULL;
}
