/*
 * metrics.c — the bot's counters and histograms, Prometheus text.
 *
 * Only the main thread writes them (engine threads report through the
 * loop), so plain integers suffice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bot.h"

/* Bucket bounds in seconds: turn latencies live between 50 ms and 5 s. */
static const double	buckets[] = { 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5,
	0.75, 1, 1.5, 2, 3, 5, 10 };
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct hist {
	const char	*name;
	const char	*help;
	unsigned long	 count[NBUCKETS];
	unsigned long	 n;
	double		 sum;
};

static struct hist	hists[H_COUNT] = {
	[H_TURN] = { "bot_turn_latency_seconds", "End of caller speech (last "
	    "voiced frame) to the first bot audio packet out; includes the "
	    "VAD silence window" },
	[H_TURN_PROC] = { "bot_turn_processing_seconds", "End of turn "
	    "detected by the VAD to the first bot audio packet out" },
	[H_STT] = { "bot_stt_seconds", "End of turn to transcript" },
	[H_LLM] = { "bot_llm_seconds", "Transcript to the first reply text "
	    "(LLM time to first token, or the scripted dialogue)" },
	[H_TTS] = { "bot_tts_seconds", "One sentence: text to PCM" },
	[H_BARGE] = { "bot_barge_in_seconds", "Caller speech start to the "
	    "bot's audio stopped" },
};

static struct {
	long	active;
	long	total;
	long	turns;
	long	refused;
	long	faults[BOT_STAGE_COUNT][BOT_FAULT_COUNT];
	long	barge_ins;
	long	frames_in;
	long	frames_out;
	long	ws_conns;
	long	ws_unmatched;
} m;

static const char *const fault_names[BOT_FAULT_COUNT] = {
	"down", "timeout", "http", "garbage", "cut", "engine"
};
static const char *const stage_names[BOT_STAGE_COUNT] = {
	"stt", "llm", "tts"
};

const char *fault_name(enum bot_fault f) { return fault_names[f]; }
const char *stage_name(enum bot_stage s) { return stage_names[s]; }

void
metrics_init(void)
{
	memset(&m, 0, sizeof(m));
}

void
metrics_session(int delta)
{
	m.active += delta;
	if (delta > 0)
		m.total++;
}

void metrics_turn(void) { m.turns++; }
void metrics_refused(void) { m.refused++; }

void
metrics_fault(enum bot_stage s, enum bot_fault f)
{
	m.faults[s][f]++;
}

long
metrics_faults_total(void)
{
	long	t = 0;
	int	s, f;

	for (s = 0; s < BOT_STAGE_COUNT; s++)
		for (f = 0; f < BOT_FAULT_COUNT; f++)
			t += m.faults[s][f];
	return t;
}

void
metrics_count(const char *what, long n)
{
	if (strcmp(what, "barge_in") == 0)
		m.barge_ins += n;
	else if (strcmp(what, "frames_in") == 0)
		m.frames_in += n;
	else if (strcmp(what, "frames_out") == 0)
		m.frames_out += n;
	else if (strcmp(what, "ws_conns") == 0)
		m.ws_conns += n;
	else if (strcmp(what, "ws_unmatched") == 0)
		m.ws_unmatched += n;
}

void
metrics_observe(enum bot_hist h, double s)
{
	size_t	i;

	for (i = 0; i < NBUCKETS; i++)
		if (s <= buckets[i])
			hists[h].count[i]++;
	hists[h].n++;
	hists[h].sum += s;
}

static void
render_hist(FILE *f, const struct hist *h)
{
	size_t	i;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help,
	    h->name);
	for (i = 0; i < NBUCKETS; i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %lu\n", h->name, buckets[i],
		    h->count[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.6f\n%s_count %lu\n",
	    h->name, h->n, h->name, h->sum, h->name, h->n);
}

static void
render_counter(FILE *f, const char *name, const char *type, const char *help,
    long v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %ld\n", name, help, name,
	    type, name, v);
}

char *
metrics_render(size_t *len)
{
	char	*buf = NULL;
	FILE	*f;
	int	 s, k;

	if ((f = open_memstream(&buf, len)) == NULL)
		fatal("open_memstream");
	render_counter(f, "bot_sessions_active", "gauge", "Calls in progress",
	    m.active);
	render_counter(f, "bot_sessions_total", "counter", "Calls registered",
	    m.total);
	render_counter(f, "bot_turns_total", "counter", "Caller turns "
	    "answered", m.turns);
	render_counter(f, "bot_barge_ins_total", "counter", "Bot speech cut "
	    "by the caller", m.barge_ins);
	render_counter(f, "bot_rtp_refused_total", "counter", "RTP packets "
	    "from an unexpected source, or malformed", m.refused);
	render_counter(f, "bot_frames_in_total", "counter", "Audio frames "
	    "received", m.frames_in);
	render_counter(f, "bot_frames_out_total", "counter", "Audio frames "
	    "sent", m.frames_out);
	render_counter(f, "bot_ws_connections_total", "counter", "Media "
	    "WebSocket connections accepted", m.ws_conns);
	render_counter(f, "bot_ws_unmatched_total", "counter", "Media "
	    "WebSockets closed with no session", m.ws_unmatched);
	fprintf(f, "# HELP bot_faults_total Engine faults by stage and kind\n"
	    "# TYPE bot_faults_total counter\n");
	for (s = 0; s < BOT_STAGE_COUNT; s++)
		for (k = 0; k < BOT_FAULT_COUNT; k++)
			fprintf(f, "bot_faults_total{stage=\"%s\",kind=\"%s\"} "
			    "%ld\n", stage_names[s], fault_names[k],
			    m.faults[s][k]);
	for (s = 0; s < H_COUNT; s++)
		render_hist(f, &hists[s]);
	fprintf(f, "bot_ready %d\n", bot_ready() ? 1 : 0);
	if (fclose(f) != 0)
		fatal("metrics render");
	return buf;
}
