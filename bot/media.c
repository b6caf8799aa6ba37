/*
 * media.c — audio in and out of a session, whatever the transport.
 *
 * In: ulaw (8 kHz) or slin16 is decoded, brought to 16 kHz (the STT
 * model's rate) and cut into 20 ms frames for the VAD and STT.
 * Out: the bot's speech waits in the session's queue at the call's rate;
 * one timer (MEDIA_TICK_MS) sends every talking session's frames when
 * they are due, measured from the start of the burst on the monotonic
 * clock, so a late tick does not stretch the audio and RTP timestamps
 * stay true.  Barge-in is media_flush(): the queue is dropped at once.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <speex/speex_resampler.h>

#include "log.h"
#include "bot.h"

/* Finer than a frame, so a frame is never sent more than 10 ms late. */
#define MEDIA_TICK_MS		10
#define RESAMPLE_QUALITY	4	/* speexdsp's VoIP default */

static struct event	*media_tick;

/* G.711 µ-law (ITU-T G.711), the classic bias-and-segment form. */
int16_t
ulaw_decode(uint8_t u)
{
	int	t;

	u = (uint8_t)~u;
	t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

uint8_t
ulaw_encode(int16_t pcm)
{
	int	mask, seg, v = pcm;
	static const int seg_end[8] = { 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff,
		0x1fff, 0x3fff, 0x7fff };

	v >>= 2;	/* 14-bit magnitude as in G.711 */
	if (v < 0) {
		v = -v;
		mask = 0x7f;
	} else
		mask = 0xff;
	if (v > 8159)
		v = 8159;
	v += 0x84 >> 2;
	for (seg = 0; seg < 8 && v > seg_end[seg]; seg++)
		;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	return (uint8_t)(((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask);
}

/* Whole-buffer resampling; safe on any thread (its own state). */
int16_t *
resample(const int16_t *in, size_t n, int from, int to, size_t *outn)
{
	SpeexResamplerState	*st;
	spx_uint32_t		 ilen = (spx_uint32_t)n, olen;
	int16_t			*out;
	int			 err;

	olen = (spx_uint32_t)((uint64_t)n * (uint64_t)to / (uint64_t)from + 64);
	if ((out = calloc(olen, sizeof(*out))) == NULL)
		fatal("calloc");
	if (from == to) {
		memcpy(out, in, n * sizeof(*in));
		*outn = n;
		return out;
	}
	if ((st = speex_resampler_init(1, (spx_uint32_t)from, (spx_uint32_t)to,
	    RESAMPLE_QUALITY, &err)) == NULL)
		fatalx("speex_resampler_init: %d", err);
	speex_resampler_skip_zeros(st);
	speex_resampler_process_int(st, 0, in, &ilen, out, &olen);
	speex_resampler_destroy(st);
	*outn = olen;
	return out;
}

void
media_session_init(struct session *s)
{
	int	err;

	if (s->rate != BOT_STT_RATE && (s->upsampler = speex_resampler_init(1,
	    (spx_uint32_t)s->rate, BOT_STT_RATE, RESAMPLE_QUALITY, &err)) ==
	    NULL)
		fatalx("speex_resampler_init: %d", err);
	s->ssrc = arc4random();
	s->seq = (uint16_t)arc4random();
	s->ts = s->ts_base = arc4random();
	s->pt = s->format == BOT_FMT_ULAW ? 0 : (uint8_t)bot_conf.slin16_pt;
	s->t_start = bot_now_us();
}

void
media_session_free(struct session *s)
{
	if (s->upsampler != NULL)
		speex_resampler_destroy(s->upsampler);
	s->upsampler = NULL;
}

static void
media_frame16(struct session *s, const int16_t *pcm, size_t n)
{
	size_t	take;

	while (n > 0) {
		take = BOT_FRAME_MAX - s->inlen;
		if (take > n)
			take = n;
		memcpy(s->inbuf + s->inlen, pcm, take * sizeof(*pcm));
		s->inlen += take;
		pcm += take;
		n -= take;
		if (s->inlen == BOT_FRAME_MAX) {
			s->inlen = 0;
			turn_audio_in(s, s->inbuf, BOT_FRAME_MAX);
		}
	}
}

/* A payload as it came: ulaw, or slin16 big- (RTP) or little-endian. */
void
media_in(struct session *s, const uint8_t *p, size_t len, int le)
{
	int16_t		pcm[1024], up[2048];
	spx_uint32_t	ilen, olen;
	size_t		i, n;

	s->frames_in++;
	metrics_count("frames_in", 1);
	s->t_last_input = bot_now_us();
	while (len > 0) {
		if (s->format == BOT_FMT_ULAW) {
			n = len > 1024 ? 1024 : len;
			for (i = 0; i < n; i++)
				pcm[i] = ulaw_decode(p[i]);
			p += n;
			len -= n;
			ilen = (spx_uint32_t)n;
			olen = sizeof(up) / sizeof(up[0]);
			speex_resampler_process_int(s->upsampler, 0, pcm, &ilen,
			    up, &olen);
			media_frame16(s, up, olen);
			continue;
		}
		n = len / 2 > 1024 ? 1024 : len / 2;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			pcm[i] = le ? (int16_t)(p[2 * i] | p[2 * i + 1] << 8) :
			    (int16_t)(p[2 * i] << 8 | p[2 * i + 1]);
		p += 2 * n;
		len -= 2 * n;
		media_frame16(s, pcm, n);
	}
}

/*
 * RTP time runs on through silence (RFC 3550 5.1): a burst starts at the
 * wall-clock time since the session began, never before the last frame.
 */
static void
media_burst_ts(struct session *s, uint64_t now)
{
	uint32_t	want = s->ts_base + (uint32_t)((now - s->t_start) *
	    (uint64_t)s->rate / 1000000u);

	if ((int32_t)(want - s->ts) > 0)
		s->ts = want;
}

/* Queue speech; takes pcm and a copy of text.  Starts a burst if idle. */
void
media_queue(struct session *s, int16_t *pcm, size_t n, const char *text)
{
	struct speech	*sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		fatal("calloc");
	sp->pcm = pcm;
	sp->n = n;
	sp->text = strdup(text != NULL ? text : "");
	TAILQ_INSERT_TAIL(&s->outq, sp, entry);
	if (!s->talking) {
		uint64_t now = bot_now_us();

		s->talking = true;
		s->marker = true;
		s->out_start_us = now;
		s->out_sent = 0;
		media_burst_ts(s, now);
	}
}

size_t
media_queued(const struct session *s)
{
	const struct speech	*sp;
	size_t			 n = 0;

	TAILQ_FOREACH(sp, &s->outq, entry)
		n += sp->n - sp->pos;
	return n;
}

/* Barge-in: what was queued is never sent. */
void
media_flush(struct session *s)
{
	struct speech	*sp;

	while ((sp = TAILQ_FIRST(&s->outq)) != NULL) {
		TAILQ_REMOVE(&s->outq, sp, entry);
		free(sp->pcm);
		free(sp->text);
		free(sp);
	}
	s->talking = false;
	if (s->ws != NULL)
		ws_send_text(s->ws, "FLUSH_MEDIA");
}

/* Words of a sentence the caller actually heard go to the history. */
static void
media_heard(struct session *s, const struct speech *sp, size_t played)
{
	size_t	len = strlen(sp->text), keep = len, words = 0, want, i;
	char	*n;

	if (len == 0)
		return;
	if (played < sp->n) {	/* cut: keep the share of words played */
		for (i = 0; i < len; i++)
			if (sp->text[i] == ' ')
				words++;
		want = (words + 1) * played / sp->n;
		for (i = 0, words = 0; i < len && words < want; i++)
			if (sp->text[i] == ' ' && ++words == want)
				keep = i;
		if (want == 0)
			return;
	}
	if ((n = realloc(s->spoken, (s->spoken ? strlen(s->spoken) : 0) +
	    keep + 2)) == NULL)
		fatal("realloc");
	if (s->spoken == NULL)
		n[0] = '\0';
	else
		strcat(n, " ");
	strncat(n, sp->text, keep);
	s->spoken = n;
}

void
media_flush_heard(struct session *s)
{
	struct speech	*sp = TAILQ_FIRST(&s->outq);

	if (sp != NULL && sp->pos > 0)
		media_heard(s, sp, sp->pos);
	media_flush(s);
}

static void
media_send_frame(struct session *s, const int16_t *pcm, size_t n)
{
	uint8_t	buf[BOT_FRAME_MAX * 2];
	size_t	i, len;
	bool	le = s->transport == BOT_TR_WS;	/* Asterisk's native slin */

	if (s->format == BOT_FMT_ULAW) {
		for (i = 0; i < n; i++)
			buf[i] = ulaw_encode(pcm[i]);
		len = n;
	} else {
		for (i = 0; i < n; i++) {
			uint16_t v = (uint16_t)pcm[i];
			buf[2 * i] = le ? (uint8_t)v : (uint8_t)(v >> 8);
			buf[2 * i + 1] = le ? (uint8_t)(v >> 8) : (uint8_t)v;
		}
		len = 2 * n;
	}
	if (s->transport == BOT_TR_UDP)
		rtp_send(s, buf, len);
	else if (s->ws != NULL)
		ws_send_audio(s->ws, buf, len);
	s->frames_out++;
	metrics_count("frames_out", 1);
	if (s->await_first_audio)
		turn_first_audio(s);
}

/* One frame out of the queue (padded with silence at the very end). */
static void
media_pump_one(struct session *s)
{
	int16_t		 frame[BOT_FRAME_MAX];
	size_t		 want = (size_t)s->rate / (1000 / BOT_FRAME_MS), got = 0;
	size_t		 take;
	struct speech	*sp;

	while (got < want && (sp = TAILQ_FIRST(&s->outq)) != NULL) {
		take = sp->n - sp->pos;
		if (take > want - got)
			take = want - got;
		memcpy(frame + got, sp->pcm + sp->pos, take * sizeof(int16_t));
		got += take;
		sp->pos += take;
		if (sp->pos == sp->n) {
			media_heard(s, sp, sp->n);
			TAILQ_REMOVE(&s->outq, sp, entry);
			free(sp->pcm);
			free(sp->text);
			free(sp);
		}
	}
	memset(frame + got, 0, (want - got) * sizeof(int16_t));
	media_send_frame(s, frame, want);
	s->marker = false;
	s->ts += (uint32_t)want;
	s->seq++;
	s->out_sent++;
}

static void
media_pump(struct session *s, uint64_t now)
{
	uint64_t	due = (now - s->out_start_us) / (BOT_FRAME_MS * 1000u) + 1;
	int		n = 0;

	if ((s->transport == BOT_TR_UDP && !s->peer_known) ||
	    (s->transport == BOT_TR_WS && s->ws == NULL)) {
		s->out_start_us = now;	/* no one to send to yet: wait */
		return;
	}
	while (s->out_sent < due && n++ < BOT_PACE_CATCHUP &&
	    !TAILQ_EMPTY(&s->outq))
		media_pump_one(s);
	if (s->out_sent < due && n >= BOT_PACE_CATCHUP)
		s->out_start_us = now - (s->out_sent - 1) *
		    (BOT_FRAME_MS * 1000u);	/* too late: restart the clock */
}

static void
media_on_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s, *next;
	uint64_t	 now = bot_now_us();

	(void)fd;
	(void)ev;
	(void)arg;
	/* turn_out_empty() may end the session: keep the next one first. */
	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->talking) {
			media_pump(s, now);
			if (TAILQ_EMPTY(&s->outq)) {
				s->talking = false;
				turn_out_empty(s);
			}
		} else
			turn_idle(s, now);
	}
}

/* The first frame of a burst goes out now, not on the next tick. */
void
media_kick(struct session *s)
{
	if (s->talking && s->out_sent == 0)
		media_pump(s, bot_now_us());
}

void
media_init(void)
{
	struct timeval	tv = { 0, MEDIA_TICK_MS * 1000 };

	media_tick = event_new(bot_base, -1, EV_PERSIST, media_on_tick, NULL);
	if (media_tick == NULL || event_add(media_tick, &tv) == -1)
		fatalx("can't start the media clock");
}

void
media_shutdown(void)
{
	if (media_tick != NULL)
		event_free(media_tick);
	media_tick = NULL;
}
