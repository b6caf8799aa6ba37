/*
 * wav.c — RIFF/WAVE, 16-bit PCM mono: what the HTTP STT is sent and what
 * an HTTP TTS answers.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bot.h"

static void
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

uint8_t *
wav_make(const int16_t *pcm, size_t n, int rate, size_t *len)
{
	uint8_t	*w;
	size_t	 i, bytes = n * 2;

	if ((w = malloc(44 + bytes)) == NULL)
		fatal("malloc");
	memcpy(w, "RIFF", 4);
	le32(w + 4, (uint32_t)(36 + bytes));
	memcpy(w + 8, "WAVEfmt ", 8);
	le32(w + 16, 16);
	w[20] = 1; w[21] = 0;			/* PCM */
	w[22] = 1; w[23] = 0;			/* mono */
	le32(w + 24, (uint32_t)rate);
	le32(w + 28, (uint32_t)rate * 2);
	w[32] = 2; w[33] = 0;			/* block align */
	w[34] = 16; w[35] = 0;			/* bits */
	memcpy(w + 36, "data", 4);
	le32(w + 40, (uint32_t)bytes);
	for (i = 0; i < n; i++) {
		w[44 + 2 * i] = (uint8_t)pcm[i];
		w[45 + 2 * i] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	*len = 44 + bytes;
	return w;
}

/*
 * 16-bit PCM, mono or the first channel of more.  A "data" size of
 * 0 or 0xffffffff (streamed WAV) means "to the end".  NULL if not WAV.
 */
int16_t *
wav_parse(const uint8_t *w, size_t len, int *rate, size_t *n)
{
	size_t	 off = 12, csize, i, ch = 0, dlen;
	int16_t	*pcm;

	if (len < 12 || memcmp(w, "RIFF", 4) != 0 || memcmp(w + 8, "WAVE", 4))
		return NULL;
	*rate = 0;
	while (off + 8 <= len) {
		csize = rd32(w + off + 4);
		if (memcmp(w + off, "fmt ", 4) == 0 && off + 24 <= len) {
			if (w[off + 8] != 1 || w[off + 22] != 16)
				return NULL;	/* not 16-bit PCM */
			ch = w[off + 10];
			*rate = (int)rd32(w + off + 12);
		} else if (memcmp(w + off, "data", 4) == 0) {
			if (ch == 0 || *rate < 4000 || *rate > 192000)
				return NULL;
			dlen = len - off - 8;
			if (csize != 0 && csize != 0xffffffffu && csize < dlen)
				dlen = csize;
			*n = dlen / (2 * ch);
			if ((pcm = calloc(*n + 1, sizeof(*pcm))) == NULL)
				fatal("calloc");
			for (i = 0; i < *n; i++)
				pcm[i] = (int16_t)(w[off + 8 + i * 2 * ch] |
				    w[off + 9 + i * 2 * ch] << 8);
			return pcm;
		}
		off += 8 + csize + (csize & 1);
	}
	return NULL;
}
