/*
 * reply.c — the bot's words on their way to the caller.
 *
 * Text arrives in pieces (LLM tokens, or the dialogue's answer at once).
 * Control tags are taken out ([[result:NAME]] ends the conversation with
 * NAME once everything is said, [[set:KEY=VALUE]] adds to the answer's
 * "set"); the rest is cut into sentences, and each sentence goes to TTS
 * as soon as it is complete: the first one plays while the LLM is still
 * writing the next.  One TTS request per session at a time keeps them in
 * order; synthesis is many times faster than playback.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bot.h"

#define SENTENCE_SOFT_MAX	160	/* cut at a comma beyond this */
#define TAG_MAX			128	/* "[[...]]" longer is spoken text */

static void
reply_tts_next(struct session *s)
{
	struct speech	*sp;

	while (s->tts == NULL && (sp = TAILQ_FIRST(&s->ttsq)) != NULL) {
		TAILQ_REMOVE(&s->ttsq, sp, entry);
		s->t_tts = bot_now_us();
		s->tts = tts->speak(s, sp->text);
		free(s->tts_text);
		s->tts_text = sp->text;
		free(sp);
		if (s->tts == NULL) {
			turn_fault(s, BOT_STAGE_TTS, BOT_FAULT_ENGINE);
			return;
		}
	}
}

static void
reply_sentence(struct session *s, const char *text, size_t len)
{
	struct speech	*sp;

	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == 0 || s->faulted)
		return;
	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->text = strndup(text, len)) == NULL)
		fatal("calloc");
	TAILQ_INSERT_TAIL(&s->ttsq, sp, entry);
	if (s->state == TURN_THINK)
		s->state = s->ending ? TURN_ENDING : TURN_SPEAK;
	reply_tts_next(s);
}

static void
reply_tag(struct session *s, const char *tag, size_t len)
{
	char	buf[TAG_MAX], *eq;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, tag);
	if (strncmp(buf, "result:", 7) == 0 && buf[7] != '\0') {
		len = strlen(buf + 7);
		if (len >= sizeof(s->result))
			len = sizeof(s->result) - 1;
		memcpy(s->result, buf + 7, len);
		s->result[len] = '\0';
		s->ending = true;
	} else if (strncmp(buf, "set:", 4) == 0 &&
	    (eq = strchr(buf + 4, '=')) != NULL) {
		*eq = '\0';
		session_set(s, buf + 4, eq + 1);
	} else
		log_debug("unknown tag [[%s]] dropped", buf);
}

/* Length of a complete sentence at the start of p, or 0. */
static size_t
reply_cut(const char *p, size_t len, bool final)
{
	size_t	i, comma = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n')
			return i + 1;
		if ((p[i] == '.' || p[i] == '!' || p[i] == '?' || p[i] == ';')
		    && (i + 1 < len ? isspace((unsigned char)p[i + 1]) : final))
			return i + 1;
		if (p[i] == ',')
			comma = i + 1;
		if (i >= SENTENCE_SOFT_MAX && comma > 0)
			return comma;
	}
	return final ? len : 0;
}

/* Take tags out of the pending text, then speak what is complete. */
static void
reply_drain(struct session *s, bool final)
{
	char	*p = s->pending, *open, *close;
	size_t	 n;

	while ((open = memmem(p, s->pending_len, "[[", 2)) != NULL) {
		close = memmem(open, s->pending_len - (size_t)(open - p), "]]",
		    2);
		if (close == NULL && !final &&
		    s->pending_len - (size_t)(open - p) < TAG_MAX)
			break;		/* the tag's end is still to come */
		if (close == NULL) {	/* never closed: not spoken either */
			s->pending_len = (size_t)(open - p);
			break;
		}
		reply_tag(s, open + 2, (size_t)(close - open - 2));
		n = (size_t)(close + 2 - p);
		memmove(open, close + 2, s->pending_len - n);
		s->pending_len -= (size_t)(close + 2 - open);
	}
	open = memmem(p, s->pending_len, "[[", 2);
	while ((n = reply_cut(p, open ? (size_t)(open - p) : s->pending_len,
	    final && open == NULL)) > 0) {
		reply_sentence(s, p, n);
		memmove(p, p + n, s->pending_len - n);
		s->pending_len -= n;
		open = memmem(p, s->pending_len, "[[", 2);
	}
}

void
turn_reply_text(struct session *s, const char *text)
{
	size_t	len = strlen(text);

	if (s->first_text) {
		s->first_text = false;
		metrics_observe(H_LLM, (double)(bot_now_us() - s->t_stage) /
		    1e6);
	}
	if (s->pending_len + len >= sizeof(s->pending)) {
		reply_drain(s, true);	/* overlong: speak what we have */
		if (len >= sizeof(s->pending))
			len = sizeof(s->pending) - 1;
	}
	memcpy(s->pending + s->pending_len, text, len);
	s->pending_len += len;
	reply_drain(s, false);
}

/* No more text this turn; result NULL unless the brain ends the call. */
void
turn_reply_end(struct session *s, const char *result, int fault)
{
	if (fault >= 0) {
		turn_fault(s, BOT_STAGE_LLM, (enum bot_fault)fault);
		return;
	}
	reply_drain(s, true);
	s->pending_len = 0;
	if (result != NULL && *result != '\0') {
		snprintf(s->result, sizeof(s->result), "%s", result);
		s->ending = true;
	}
	s->reply_done = true;
	if (s->ending && s->state == TURN_SPEAK)
		s->state = TURN_ENDING;
	/* nothing to say at all: turn_idle() moves on at the next tick */
}

void
turn_tts_done(struct session *s, int16_t *pcm, size_t n, int fault)
{
	s->tts = NULL;
	if (fault >= 0) {
		free(pcm);
		turn_fault(s, BOT_STAGE_TTS, (enum bot_fault)fault);
		return;
	}
	metrics_observe(H_TTS, (double)(bot_now_us() - s->t_tts) / 1e6);
	if (n > 0) {
		media_queue(s, pcm, n, s->tts_text);
		media_kick(s);
	} else
		free(pcm);
	reply_tts_next(s);
}

void
turn_greet(struct session *s)
{
	const char	*g = dialogue_loaded() && bot_conf.llm_url[0] == '\0' ?
	    dialogue_greeting() : bot_conf.greeting;

	s->state = TURN_THINK;
	s->reply_done = false;
	s->t_turn_end = s->t_last_voice = bot_now_us();
	turn_reply_text(s, g);
	turn_reply_end(s, NULL, -1);
}
