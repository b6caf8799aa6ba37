/*
 * tts_http.c — TTS over HTTP: OpenAI-compatible POST /v1/audio/speech,
 * asking for "wav".  A WAV answer is read at its own rate; an answer
 * typed audio/pcm is OpenAI's raw format (24 kHz, 16-bit little-endian).
 * Either is resampled to the call's rate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "bot.h"

#define TTS_PCM_RATE	24000	/* OpenAI's response_format=pcm */

struct tts_req {
	struct tts_head		 head;
	struct curlev		 cv;
	uint64_t		 sid;
	int			 rate;
	char			*json;
	struct curl_slist	*hdrs;
	struct body		 resp;
};

static void
thttp_load(void)
{
	/* probe.c watches the server; nothing to load */
}

static bool
thttp_ready(void)
{
	return probe_reachable(BOT_STAGE_TTS);
}

static void
thttp_free(struct tts_req *r)
{
	if (r->cv.easy != NULL)
		curl_easy_cleanup(r->cv.easy);
	curl_slist_free_all(r->hdrs);
	free(r->json);
	free(r->resp.buf);
	free(r);
}

static int16_t *
thttp_audio(struct tts_req *r, size_t *n)
{
	char	*ct = NULL;
	int16_t	*pcm, *out;
	int	 rate;
	size_t	 i;

	pcm = wav_parse((uint8_t *)r->resp.buf, r->resp.len, &rate, n);
	curl_easy_getinfo(r->cv.easy, CURLINFO_CONTENT_TYPE, &ct);
	if (pcm == NULL && ct != NULL && strstr(ct, "pcm") != NULL) {
		*n = r->resp.len / 2;
		rate = TTS_PCM_RATE;
		if ((pcm = calloc(*n + 1, sizeof(*pcm))) == NULL)
			fatal("calloc");
		for (i = 0; i < *n; i++)
			pcm[i] = (int16_t)((uint8_t)r->resp.buf[2 * i] |
			    (uint8_t)r->resp.buf[2 * i + 1] << 8);
	}
	if (pcm == NULL)
		return NULL;
	out = resample(pcm, *n, rate, r->rate, n);
	free(pcm);
	return out;
}

static void
thttp_done(struct curlev *cv, int rc, long status)
{
	struct tts_req	*r = (struct tts_req *)((char *)cv -
	    offsetof(struct tts_req, cv));
	struct session	*s = session_by_id(r->sid);
	int		 fault = body_fault(rc, status, &r->resp);
	int16_t		*pcm = NULL;
	size_t		 n = 0;

	if (fault < 0 && (pcm = thttp_audio(r, &n)) == NULL)
		fault = BOT_FAULT_GARBAGE;
	if (fault >= 0)
		log_warnx("tts request failed curl=%d status=%ld fault=%s",
		    rc, status, fault_name((enum bot_fault)fault));
	thttp_free(r);
	if (s != NULL)
		turn_tts_done(s, pcm, n, fault);
	else
		free(pcm);
}

static struct tts_req *
thttp_speak(struct session *s, const char *text)
{
	struct tts_req		*r;
	struct json_object	*o = json_object_new_object();
	char			 url[512], auth[300];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->head.be = &tts_http;
	r->sid = s->id;
	r->rate = s->rate;
	r->cv.done = thttp_done;
	json_object_object_add(o, "model",
	    json_object_new_string(bot_conf.tts_model));
	json_object_object_add(o, "input", json_object_new_string(text));
	json_object_object_add(o, "voice",
	    json_object_new_string(bot_conf.tts_voice));
	json_object_object_add(o, "response_format",
	    json_object_new_string("wav"));
	r->json = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (bot_conf.tts_key[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bot_conf.tts_key);
		r->hdrs = curl_slist_append(r->hdrs, auth);
	}
	snprintf(url, sizeof(url), "%s/v1/audio/speech", bot_conf.tts_url);
	if ((r->cv.easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_setopt(r->cv.easy, CURLOPT_URL, url);
	curl_easy_setopt(r->cv.easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(r->cv.easy, CURLOPT_POSTFIELDS, r->json);
	curl_easy_setopt(r->cv.easy, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(r->cv.easy, CURLOPT_WRITEDATA, &r->resp);
	curl_easy_setopt(r->cv.easy, CURLOPT_TIMEOUT_MS,
	    (long)bot_conf.tts_timeout_ms);
	curlev_add(&r->cv);
	return r;
}

static void
thttp_cancel(struct tts_req *r)
{
	curlev_remove(&r->cv);
	thttp_free(r);
}

const struct tts_backend tts_http = {
	.name = "http",
	.load = thttp_load,
	.ready = thttp_ready,
	.speak = thttp_speak,
	.cancel = thttp_cancel,
};
