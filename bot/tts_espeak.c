/*
 * tts_espeak.c — the embedded TTS: espeak-ng, a formant synthesizer
 * (English, German and more from espeak-ng-data), on the engine threads.
 *
 * espeak-ng keeps one global synthesizer, so synthesis is serialised by
 * a mutex; a sentence takes a few milliseconds, far less than it lasts.
 * Its 22,050 Hz output is resampled (speexdsp) to the call's rate on the
 * same engine thread.  It is also the voice of the apology when another
 * TTS backend fails.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <espeak-ng/speak_lib.h>

#include "log.h"
#include "bot.h"

#define ESPEAK_BUF_MS		200	/* espeak's callback granularity */
#define ESPEAK_SAMPLES_MAX	(22050 * 60)	/* a minute per sentence */

struct tts_req {
	struct tts_head	 head;
	struct job	 job;
	uint64_t	 sid;
	int		 rate;
	char		*text;
	int16_t		*pcm;		/* at espeak's rate, then the call's */
	size_t		 n, cap;
	bool		 cancelled;	/* read on the main thread only */
	bool		 failed;
};

static pthread_mutex_t	espeak_mu = PTHREAD_MUTEX_INITIALIZER;
static int		espeak_rate_hz;

static int
espeak_collect(short *wav, int n, espeak_EVENT *ev)
{
	struct tts_req	*r = ev->user_data;

	if (wav == NULL || n <= 0)
		return 0;
	if (r->n + (size_t)n > ESPEAK_SAMPLES_MAX)
		return 1;	/* stop: overlong */
	if (r->n + (size_t)n > r->cap) {
		r->cap = (r->n + (size_t)n) * 2;
		if ((r->pcm = realloc(r->pcm, r->cap * sizeof(*r->pcm))) ==
		    NULL)
			fatal("realloc");
	}
	memcpy(r->pcm + r->n, wav, (size_t)n * sizeof(short));
	r->n += (size_t)n;
	return 0;
}

static void
espeak_load(void)
{
	if (espeak_rate_hz > 0)
		return;
	espeak_rate_hz = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS,
	    ESPEAK_BUF_MS, NULL, 0);
	if (espeak_rate_hz <= 0)
		fatalx("espeak-ng can't start (espeak-ng-data missing?)");
	if (espeak_SetVoiceByName(bot_conf.espeak_voice) != EE_OK)
		fatalx("espeak-ng has no voice BOT_ESPEAK_VOICE=%s",
		    bot_conf.espeak_voice);
	espeak_SetParameter(espeakRATE, bot_conf.espeak_rate, 0);
	espeak_SetSynthCallback(espeak_collect);
	log_info("espeak-ng loaded voice=%s rate=%d hz=%d",
	    bot_conf.espeak_voice, bot_conf.espeak_rate, espeak_rate_hz);
}

static bool
espeak_ready(void)
{
	return espeak_rate_hz > 0;
}

static void
espeak_run(struct job *j)
{
	struct tts_req	*r = (struct tts_req *)((char *)j -
	    offsetof(struct tts_req, job));
	int16_t		*out;
	size_t		 outn;

	pthread_mutex_lock(&espeak_mu);
	if (espeak_Synth(r->text, strlen(r->text) + 1, 0, POS_CHARACTER, 0,
	    espeakCHARS_UTF8, NULL, r) != EE_OK)
		r->failed = true;
	pthread_mutex_unlock(&espeak_mu);
	if (r->failed || r->n == 0)
		return;
	out = resample(r->pcm, r->n, espeak_rate_hz, r->rate, &outn);
	free(r->pcm);
	r->pcm = out;
	r->n = outn;
}

static void
espeak_done(struct job *j)
{
	struct tts_req	*r = (struct tts_req *)((char *)j -
	    offsetof(struct tts_req, job));
	struct session	*s = r->cancelled ? NULL : session_by_id(r->sid);
	int16_t		*pcm = r->pcm;

	free(r->text);
	if (s == NULL || r->failed) {
		free(pcm);
		pcm = NULL;
	}
	if (s != NULL)
		turn_tts_done(s, pcm, r->failed ? 0 : r->n,
		    r->failed ? BOT_FAULT_ENGINE : -1);
	free(r);
}

static struct tts_req *
espeak_speak(struct session *s, const char *text)
{
	struct tts_req	*r;

	if (espeak_rate_hz <= 0 || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->head.be = &tts_espeak;
	r->sid = s->id;
	r->rate = s->rate;
	if ((r->text = strdup(text)) == NULL)
		fatal("strdup");
	r->job.run = espeak_run;
	r->job.done = espeak_done;
	engine_submit(&r->job);
	return r;
}

static void
espeak_cancel(struct tts_req *r)
{
	r->cancelled = true;	/* espeak_done() frees it */
}

void
tts_cancel_any(struct tts_req *r)
{
	((struct tts_head *)r)->be->cancel(r);
}

const struct tts_backend tts_espeak = {
	.name = "espeak-ng",
	.load = espeak_load,
	.ready = espeak_ready,
	.speak = espeak_speak,
	.cancel = espeak_cancel,
};
