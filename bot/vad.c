/*
 * vad.c — voice activity detection by energy over an adaptive floor.
 *
 * Debian bookworm packages no WebRTC VAD (libfvad) and Silero needs model
 * weights, so this is the documented classic: a 20 ms frame is voiced
 * when its energy stands BOT_VAD_MARGIN_DB above the tracked noise floor
 * and above BOT_VAD_FLOOR_DB absolute.  The floor follows quiet frames
 * quickly downwards and slowly upwards, never during speech.  A turn
 * starts after BOT_VAD_MIN_SPEECH_MS of voiced frames and ends after
 * BOT_VAD_SILENCE_MS of unvoiced ones.  Phone audio is band-limited and
 * compressed, so energy is a fair cue; what it cannot tell (a cough, a
 * door) the STT turns into an empty transcript, which the turn ignores.
 */
#include <math.h>

#include "bot.h"

#define VAD_FLOOR_START_DB	-65.0f
#define VAD_SILENT_DB		-96.0f	/* digital silence, 16-bit */
#define VAD_FALL		0.3f	/* floor follows quiet fast... */
#define VAD_RISE		0.02f	/* ...and rising noise slowly */

void
vad_reset(struct vad *v)
{
	v->floor_db = VAD_FLOOR_START_DB;
	v->voiced_run = v->silent_run = 0;
	v->in_speech = false;
}

float
vad_energy_db(const int16_t *pcm, size_t n)
{
	double	sum = 0;
	size_t	i;
	float	db;

	for (i = 0; i < n; i++)
		sum += (double)pcm[i] * pcm[i];
	if (n == 0 || sum == 0)
		return VAD_SILENT_DB;
	db = (float)(10.0 * log10(sum / (double)n / (32768.0 * 32768.0)));
	return db < VAD_SILENT_DB ? VAD_SILENT_DB : db;
}

enum vad_event
vad_frame(struct vad *v, const int16_t *pcm, size_t n, int margin_db,
    bool *voicedp)
{
	float	e = vad_energy_db(pcm, n), thr;
	bool	voiced;

	thr = v->floor_db + (float)margin_db;
	if (thr < (float)bot_conf.vad_floor_db)
		thr = (float)bot_conf.vad_floor_db;
	voiced = e > thr;
	if (!voiced)
		v->floor_db += (e - v->floor_db) *
		    (e < v->floor_db ? VAD_FALL : VAD_RISE);
	*voicedp = voiced;
	if (!v->in_speech) {
		v->voiced_run = voiced ? v->voiced_run + 1 : 0;
		if (v->voiced_run * BOT_FRAME_MS >= bot_conf.vad_min_speech_ms) {
			v->in_speech = true;
			v->silent_run = 0;
			return VAD_START;
		}
		return VAD_NONE;
	}
	v->silent_run = voiced ? 0 : v->silent_run + 1;
	v->voiced_run = voiced ? v->voiced_run + 1 : 0;
	if (v->silent_run * BOT_FRAME_MS >= bot_conf.vad_silence_ms) {
		v->in_speech = false;
		v->voiced_run = 0;
		return VAD_END;
	}
	return VAD_NONE;
}
