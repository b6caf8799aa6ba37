/*
 * curl_loop.h — libcurl's multi interface on a libevent loop, shared by
 * the ARI REST transport (ari_curl.c) and the bot's HTTP engines
 * (bot/curlev.c).
 */
#ifndef MAI_CURL_LOOP_H
#define MAI_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

struct curl_loop {
	struct event_base	*base;
	CURLM			*multi;		/* the owner's */
	struct event		*timer;		/* curl's own timeout */
	void			(*after)(void *); /* after each socket
						   action: collect what
						   finished */
	void			*arg;
};

int	curl_loop_init(struct curl_loop *, struct event_base *, CURLM *,
	    void (*)(void *), void *);
void	curl_loop_free(struct curl_loop *);

#endif /* MAI_CURL_LOOP_H */
