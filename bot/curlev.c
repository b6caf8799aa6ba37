/*
 * curlev.c — the bot's HTTP engines on its event loop.
 *
 * common/curl_loop.c puts the multi handle on the libevent loop, as for
 * mai's ARI requests: no thread blocks on an HTTP engine, an LLM stream,
 * an STT or a TTS request is just more sockets in the loop.  After each
 * socket action, finished transfers are handed to their owner's done()
 * with the curl code and HTTP status.  (ari_curl.c's transport is not
 * used here: the bot needs each chunk as it comes, for SSE, and to drop
 * a transfer without a callback, for barge-in.)
 */

#include <curl/curl.h>

#include "curl_loop.h"
#include "log.h"
#include "bot.h"

static CURLM		*multi;
static struct curl_loop	 loop;

static void
curlev_check(void *arg)
{
	CURLMsg		*msg;
	int		 left;
	struct curlev	*c;
	long		 status;
	CURL		*easy;
	CURLcode	 rc;

	(void)arg;
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

void
curlev_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (multi = curl_multi_init()) == NULL ||
	    curl_loop_init(&loop, bot_base, multi, curlev_check, NULL) == -1)
		fatalx("libcurl can't start");
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
	curl_loop_free(&loop);
	multi = NULL;
	curl_global_cleanup();
}
