/*
 * stt_http.c — STT over HTTP: OpenAI-compatible POST
 * /v1/audio/transcriptions (whisper.cpp's server, faster-whisper
 * servers, hosted ones), multipart with the utterance as a 16 kHz WAV.
 *
 * Whole-utterance servers cannot be fed while the caller speaks: the
 * audio is kept (bounded by BOT_UTTERANCE_MAX_MS) and sent at the end of
 * the turn.  The answer is JSON {"text": "..."}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "bot.h"

struct stt_stream {
	struct curlev		 cv;
	uint64_t		 sid;
	int16_t			*pcm;
	size_t			 n, cap;
	uint8_t			*wav;
	curl_mime		*mime;
	struct curl_slist	*hdrs;
	struct body		 resp;
	bool			 running;
};

static void
shttp_load(void)
{
	/* probe.c watches the server; nothing to load */
}

static bool
shttp_ready(void)
{
	return probe_reachable(BOT_STAGE_STT);
}

static struct stt_stream *
shttp_open(struct session *s)
{
	struct stt_stream	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("calloc");
	st->sid = s->id;
	return st;
}

static void
shttp_feed(struct stt_stream *st, const int16_t *pcm, size_t n)
{
	size_t	max = (size_t)bot_conf.utterance_max_ms * (BOT_STT_RATE / 1000);

	if (st->n + n > max)
		return;
	if (st->n + n > st->cap) {
		st->cap = (st->n + n) * 2;
		if ((st->pcm = realloc(st->pcm, st->cap * sizeof(*pcm))) ==
		    NULL)
			fatal("realloc");
	}
	memcpy(st->pcm + st->n, pcm, n * sizeof(*pcm));
	st->n += n;
}

static void
shttp_free(struct stt_stream *st)
{
	if (st->cv.easy != NULL)
		curl_easy_cleanup(st->cv.easy);
	curl_mime_free(st->mime);
	curl_slist_free_all(st->hdrs);
	free(st->pcm);
	free(st->wav);
	free(st->resp.buf);
	free(st);
}

static void
shttp_done(struct curlev *cv, int rc, long status)
{
	struct stt_stream	*st = (struct stt_stream *)cv;
	struct session		*s = session_by_id(st->sid);
	struct json_object	*o = NULL, *t;
	int			 fault = body_fault(rc, status, &st->resp);
	char			*text = NULL;

	if (fault < 0 && ((o = json_tokener_parse(st->resp.buf)) == NULL ||
	    !json_object_object_get_ex(o, "text", &t) ||
	    !json_object_is_type(t, json_type_string)))
		fault = BOT_FAULT_GARBAGE;
	else if (fault < 0)
		text = strdup(json_object_get_string(t));
	json_object_put(o);
	if (fault >= 0)
		log_warnx("stt request failed curl=%d status=%ld fault=%s",
		    rc, status, fault_name((enum bot_fault)fault));
	st->running = false;
	shttp_free(st);
	if (s != NULL)
		turn_transcript(s, text, fault);
	free(text);
}

static void
shttp_finish(struct stt_stream *st)
{
	curl_mimepart	*part;
	char		 url[512], auth[300];
	size_t		 len;

	st->wav = wav_make(st->pcm, st->n, BOT_STT_RATE, &len);
	if ((st->cv.easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	st->cv.done = shttp_done;
	st->mime = curl_mime_init(st->cv.easy);
	part = curl_mime_addpart(st->mime);
	curl_mime_name(part, "file");
	curl_mime_filename(part, "utterance.wav");
	curl_mime_type(part, "audio/wav");
	curl_mime_data(part, (const char *)st->wav, len);
	part = curl_mime_addpart(st->mime);
	curl_mime_name(part, "model");
	curl_mime_data(part, bot_conf.stt_model, CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(st->mime);
	curl_mime_name(part, "response_format");
	curl_mime_data(part, "json", CURL_ZERO_TERMINATED);
	snprintf(url, sizeof(url), "%s/v1/audio/transcriptions",
	    bot_conf.stt_url);
	if (bot_conf.stt_key[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    bot_conf.stt_key);
		st->hdrs = curl_slist_append(NULL, auth);
		curl_easy_setopt(st->cv.easy, CURLOPT_HTTPHEADER, st->hdrs);
	}
	curl_easy_setopt(st->cv.easy, CURLOPT_URL, url);
	curl_easy_setopt(st->cv.easy, CURLOPT_MIMEPOST, st->mime);
	curl_easy_setopt(st->cv.easy, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(st->cv.easy, CURLOPT_WRITEDATA, &st->resp);
	curl_easy_setopt(st->cv.easy, CURLOPT_TIMEOUT_MS,
	    (long)bot_conf.stt_timeout_ms);
	st->running = true;
	curlev_add(&st->cv);
}

static void
shttp_close(struct stt_stream *st)
{
	if (st->running)
		curlev_remove(&st->cv);
	shttp_free(st);
}

const struct stt_backend stt_http = {
	.name = "http",
	.load = shttp_load,
	.ready = shttp_ready,
	.open = shttp_open,
	.feed = shttp_feed,
	.finish = shttp_finish,
	.close = shttp_close,
};
