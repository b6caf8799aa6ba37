/*
 * probe.c — are the HTTP engines reachable?  /readyz says 200 only if
 * every configured one answered its last probe.
 *
 * Every PROBE_INTERVAL_MS each configured base URL gets GET /v1/models;
 * any HTTP answer counts (a server that answers 404 there still serves
 * the endpoints we use), no answer within PROBE_TIMEOUT_MS does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "bot.h"

#define PROBE_INTERVAL_MS	5000
#define PROBE_TIMEOUT_MS	2000

struct probe {
	struct curlev	 cv;
	const char	*base;
	bool		 reachable;
	bool		 busy;
};

static struct probe	 probes[BOT_STAGE_COUNT];
static struct event	*probe_timer;

static size_t
probe_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
probe_done(struct curlev *cv, int rc, long status)
{
	struct probe	*p = (struct probe *)cv;
	bool		 was = p->reachable;

	p->busy = false;
	p->reachable = status > 0;
	if (was != p->reachable)
		log_info("engine %s reachable=%d curl=%d", p->base,
		    p->reachable, rc);
}

static void
probe_run(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv = { PROBE_INTERVAL_MS / 1000, 0 };
	char		 url[512];
	int		 i;

	(void)fd;
	(void)ev;
	(void)arg;
	for (i = 0; i < BOT_STAGE_COUNT; i++) {
		struct probe *p = &probes[i];

		if (p->base == NULL || p->busy)
			continue;
		snprintf(url, sizeof(url), "%.*s/v1/models",
		    (int)strcspn(p->base + 8, "/") + 8, p->base);
		curl_easy_setopt(p->cv.easy, CURLOPT_URL, url);
		p->busy = true;
		curlev_add(&p->cv);
	}
	evtimer_add(probe_timer, &tv);
}

static void
probe_add(enum bot_stage st, const char *base)
{
	struct probe	*p = &probes[st];

	p->base = base;
	p->cv.done = probe_done;
	if ((p->cv.easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_setopt(p->cv.easy, CURLOPT_TIMEOUT_MS,
	    (long)PROBE_TIMEOUT_MS);
	curl_easy_setopt(p->cv.easy, CURLOPT_WRITEFUNCTION, probe_discard);
}

void
probe_init(void)
{
	if (strcmp(bot_conf.stt_backend, "http") == 0)
		probe_add(BOT_STAGE_STT, bot_conf.stt_url);
	if (bot_conf.llm_url[0] != '\0')
		probe_add(BOT_STAGE_LLM, bot_conf.llm_url);
	if (strcmp(bot_conf.tts_backend, "http") == 0)
		probe_add(BOT_STAGE_TTS, bot_conf.tts_url);
	probe_timer = evtimer_new(bot_base, probe_run, NULL);
	probe_run(-1, 0, NULL);
}

bool
probe_reachable(enum bot_stage st)
{
	return probes[st].base == NULL || probes[st].reachable;
}

bool
llm_ready(void)
{
	return probe_reachable(BOT_STAGE_LLM);
}

void
probe_shutdown(void)
{
	int	i;

	for (i = 0; i < BOT_STAGE_COUNT; i++)
		if (probes[i].cv.easy != NULL) {
			if (probes[i].busy)
				curlev_remove(&probes[i].cv);
			curl_easy_cleanup(probes[i].cv.easy);
		}
	if (probe_timer != NULL)
		event_free(probe_timer);
}
