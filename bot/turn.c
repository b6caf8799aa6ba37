/*
 * turn.c — the conversation's clock: listen, hear, think, speak, and the
 * caller cutting in.
 *
 * Every 20 ms frame of caller audio passes here.  The VAD opens an
 * utterance (STT is fed from the pre-roll, so the first syllable is not
 * lost) and closes it after the silence window; the transcript goes to
 * the brain (LLM or scripted dialogue, reply.c takes its text).  While
 * the bot talks, sustained caller speech above a raised threshold is a
 * barge-in: the queued audio is dropped in the same frame, every engine
 * request of the turn is cancelled, and the bot listens again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bot.h"

#define US(ms)	((uint64_t)(ms) * 1000u)

static void
history_add(struct session *s, const char *role, const char *text)
{
	int	i;

	if (text == NULL || *text == '\0')
		return;
	if (s->nhistory == BOT_HISTORY_MAX) {	/* forget the oldest */
		free(s->history[0].role);
		free(s->history[0].content);
		for (i = 1; i < s->nhistory; i++)
			s->history[i - 1] = s->history[i];
		s->nhistory--;
	}
	s->history[s->nhistory].role = strdup(role);
	s->history[s->nhistory++].content = strdup(text);
}

/* What the caller heard of the bot this turn enters the history. */
static void
turn_commit_spoken(struct session *s)
{
	history_add(s, "assistant", s->spoken);
	free(s->spoken);
	s->spoken = NULL;
}

static void
turn_listen(struct session *s)
{
	turn_commit_spoken(s);
	s->state = TURN_LISTEN;
	s->vad.in_speech = false;
	s->vad.voiced_run = 0;
	s->t_last_input = bot_now_us();
}

static void
preroll_push(struct session *s, const int16_t *pcm, size_t n)
{
	size_t	cap = sizeof(s->preroll) / sizeof(s->preroll[0]), i;

	for (i = 0; i < n; i++) {
		s->preroll[s->preroll_pos++] = pcm[i];
		if (s->preroll_pos == cap) {
			s->preroll_pos = 0;
			s->preroll_full = true;
		}
	}
}

/* Open the STT stream and give it the audio just before the VAD fired. */
static void
turn_hear(struct session *s)
{
	size_t	cap = sizeof(s->preroll) / sizeof(s->preroll[0]);

	s->state = TURN_HEAR;
	s->t_stage = bot_now_us();
	if ((s->stt = stt->open(s)) == NULL) {
		turn_fault(s, BOT_STAGE_STT, BOT_FAULT_ENGINE);
		return;
	}
	if (s->preroll_full)
		stt->feed(s->stt, s->preroll + s->preroll_pos,
		    cap - s->preroll_pos);
	stt->feed(s->stt, s->preroll, s->preroll_pos);
	s->preroll_pos = 0;
	s->preroll_full = false;
}

static void
turn_heard(struct session *s, uint64_t now)
{
	s->t_turn_end = now;
	s->state = TURN_THINK;
	s->await_first_audio = false;
	stt->finish(s->stt);	/* -> turn_transcript() */
}

/* Stop the reply in progress: its audio, its text, its engine calls. */
static void
turn_stop_reply(struct session *s)
{
	struct speech	*sp;

	media_flush_heard(s);
	if (s->llm != NULL)
		llm_cancel(s->llm);
	if (s->tts != NULL)
		tts_cancel_any(s->tts);
	s->llm = NULL;
	s->tts = NULL;
	while ((sp = TAILQ_FIRST(&s->ttsq)) != NULL) {
		TAILQ_REMOVE(&s->ttsq, sp, entry);
		free(sp->text);
		free(sp);
	}
	s->pending_len = 0;
	s->await_first_audio = false;
}

static void
turn_barge_in(struct session *s, uint64_t now)
{
	uint64_t	began = now - US(s->vad.voiced_run * BOT_FRAME_MS);

	turn_stop_reply(s);
	metrics_count("barge_in", 1);
	metrics_observe(H_BARGE, (double)(now - began) / 1e6);
	log_debug("barge-in id=%llu after_ms=%llu", (unsigned long long)s->id,
	    (unsigned long long)((now - began) / 1000u));
	turn_commit_spoken(s);
	s->vad.in_speech = true;
	s->vad.silent_run = 0;
	turn_hear(s);
}

void
turn_audio_in(struct session *s, const int16_t *pcm, size_t n)
{
	uint64_t	now = bot_now_us();
	bool		busy = s->state == TURN_THINK || s->state == TURN_SPEAK;
	int		margin = bot_conf.vad_margin_db;
	enum vad_event	ev;
	bool		voiced;

	/* Echo guard: while the bot talks, only louder speech counts. */
	if (busy && s->talking)
		margin += bot_conf.barge_in_margin_db;
	ev = vad_frame(&s->vad, pcm, n, margin, &voiced);
	if (voiced)
		s->t_last_voice = now;
	switch (s->state) {
	case TURN_LISTEN:
		preroll_push(s, pcm, n);
		if (ev == VAD_START)
			turn_hear(s);
		break;
	case TURN_HEAR:
		stt->feed(s->stt, pcm, n);
		if (ev == VAD_END || now - s->t_stage >=
		    US(bot_conf.utterance_max_ms))
			turn_heard(s, now);
		break;
	case TURN_THINK:
	case TURN_SPEAK:
		preroll_push(s, pcm, n);
		if (s->vad.voiced_run * BOT_FRAME_MS >= bot_conf.barge_in_ms)
			turn_barge_in(s, now);
		break;
	case TURN_ENDING:
		break;
	}
}

void
turn_transcript(struct session *s, const char *text, int fault)
{
	uint64_t	now = bot_now_us();

	s->stt = NULL;	/* the backend frees its stream */
	if (fault >= 0) {
		turn_fault(s, BOT_STAGE_STT, (enum bot_fault)fault);
		return;
	}
	metrics_observe(H_STT, (double)(now - s->t_turn_end) / 1e6);
	log_debug("transcript id=%llu stt_ms=%llu text=\"%s\"",
	    (unsigned long long)s->id,
	    (unsigned long long)((now - s->t_turn_end) / 1000u), text);
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		turn_listen(s);		/* noise: not a turn */
		return;
	}
	s->turns++;
	metrics_turn();
	history_add(s, "user", text);
	s->state = TURN_THINK;
	s->t_stage = now;
	s->reply_done = false;
	s->await_first_audio = true;
	s->first_text = true;
	if (bot_conf.llm_url[0] != '\0') {
		if ((s->llm = llm_start(s)) == NULL)
			turn_fault(s, BOT_STAGE_LLM, BOT_FAULT_DOWN);
	} else
		dialogue_reply(s, text);
}

void
turn_first_audio(struct session *s)
{
	uint64_t	now = bot_now_us();

	s->await_first_audio = false;
	metrics_observe(H_TURN, (double)(now - s->t_last_voice) / 1e6);
	metrics_observe(H_TURN_PROC, (double)(now - s->t_turn_end) / 1e6);
	log_debug("first audio id=%llu turn_ms=%llu processing_ms=%llu",
	    (unsigned long long)s->id,
	    (unsigned long long)((now - s->t_last_voice) / 1000u),
	    (unsigned long long)((now - s->t_turn_end) / 1000u));
}

/* The output queue ran dry: between sentences, or the reply is done. */
void
turn_out_empty(struct session *s)
{
	if (s->tts != NULL || !TAILQ_EMPTY(&s->ttsq) || !s->reply_done)
		return;		/* more is coming */
	if (s->ending) {
		session_end(s, s->faulted ? "fault" : "conversation ended");
		return;
	}
	if (s->turns >= bot_conf.max_turns) {
		snprintf(s->result, sizeof(s->result), "max_turns");
		session_end(s, "max turns");
		return;
	}
	turn_listen(s);
}

/*
 * Called every tick while the bot is silent.  Asterisk sends no frames
 * while the far side has nothing to send (a Local channel in Wait(),
 * chan_websocket since 22.9 fills no silence), so no media for the silence
 * window in the middle of a turn ends it as silence would.
 */
void
turn_idle(struct session *s, uint64_t now)
{
	if (s->state == TURN_LISTEN &&
	    now - s->t_last_input >= US(bot_conf.no_input_ms)) {
		snprintf(s->result, sizeof(s->result), "no_input");
		session_end(s, "no input");
	} else if (s->state == TURN_HEAR &&
	    now - s->t_last_input >= US(bot_conf.vad_silence_ms))
		turn_heard(s, now);
	else if (s->state == TURN_THINK && s->reply_done && s->tts == NULL &&
	    TAILQ_EMPTY(&s->ttsq))
		turn_out_empty(s);	/* a reply with nothing to say */
}

/*
 * An engine failed.  The caller hears the apology (espeak-ng, local, the
 * last resort whatever BOT_TTS is), then the call ends with "error".
 */
void
turn_fault(struct session *s, enum bot_stage stage, enum bot_fault kind)
{
	metrics_fault(stage, kind);
	log_warnx("fault id=%llu call=%s stage=%s kind=%s",
	    (unsigned long long)s->id, s->call, stage_name(stage),
	    fault_name(kind));
	if (s->faulted) {
		session_end(s, "fault during the apology");
		return;
	}
	s->faulted = true;
	if (s->stt != NULL)
		stt->close(s->stt);
	s->stt = NULL;
	turn_stop_reply(s);
	snprintf(s->result, sizeof(s->result), "error");
	s->ending = true;
	s->reply_done = true;
	s->state = TURN_ENDING;
	if ((s->tts = tts_espeak.speak(s, bot_conf.apology)) == NULL)
		session_end(s, "fault, no apology");
	else {
		free(s->tts_text);
		s->tts_text = strdup(bot_conf.apology);
	}
}
