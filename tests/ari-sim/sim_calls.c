/*
 * Call simulation control under /_sim/: incoming calls (one or a batch),
 * DTMF from the caller, the caller hanging up, media durations, reset;
 * and the call figures of /_sim/stats, among them the time from a
 * StasisStart leaving the simulator to that channel's answer request.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CALLS	(sim.calls)

#define CALL_EXTEN_DEF		"43720270346"	/* the fixtures' number */
#define CALL_CALLER_DEF		"1001"
#define CALL_CONTEXT_DEF	"incoming"
#define MEDIA_MS_MAX		3600000LL	/* one hour */
#define DTMF_GAP_DEF_MS		100
#define DTMF_DURATION_DEF_MS	100

static const char *rest_names[SIM_REST_KINDS] = {
	"answer", "play", "stop_playback", "record", "variable_set",
	"variable_get", "hangup", "continue", "originate", "external_media",
	"bridge_create", "bridge_add", "bridge_destroy", "other"
};

int
sim_calls_init(void)
{
	TAILQ_INIT(&CALLS.chan_list);
	TAILQ_INIT(&CALLS.bridge_list);
	CALLS.media.playback_ms = 200;
	CALLS.media.recording_ms = 500;
	CALLS.media.answer_delay_ms = 100;
	CALLS.media.continue_ms = 50;
	CALLS.rtp_port = 10000;
	if (sim_tab_init(&CALLS.chans, SIM_MAX_CHANNELS) == -1 ||
	    sim_tab_init(&CALLS.bridges, SIM_MAX_BRIDGES) == -1 ||
	    sim_tab_init(&CALLS.playbacks, SIM_MAX_PLAYBACKS) == -1 ||
	    sim_tab_init(&CALLS.recordings, SIM_MAX_RECORDINGS) == -1 ||
	    (CALLS.lat = calloc(SIM_LAT_SAMPLES_MAX,
	    sizeof(CALLS.lat[0]))) == NULL)
		return -1;
	return sim_timer_init();
}

/* Forget every channel and bridge, no events: reset and shutdown. */
static void
calls_forget(size_t *nchans, size_t *nbridges)
{
	sim_timer_cancel(&CALLS.pace.timer);
	CALLS.pace.total = CALLS.pace.started = 0;
	*nchans = CALLS.nchans;
	*nbridges = CALLS.nbridges;
	while (!TAILQ_EMPTY(&CALLS.chan_list))
		sim_chan_forget(TAILQ_FIRST(&CALLS.chan_list));
	while (!TAILQ_EMPTY(&CALLS.bridge_list))
		sim_bridge_forget(TAILQ_FIRST(&CALLS.bridge_list));
}

void
sim_calls_free(void)
{
	size_t	n, m;

	calls_forget(&n, &m);
	sim_tab_free(&CALLS.chans);
	sim_tab_free(&CALLS.bridges);
	sim_tab_free(&CALLS.playbacks);
	sim_tab_free(&CALLS.recordings);
	free(CALLS.lat);
	sb_free(&CALLS.ev);
	sim_timer_free();
}

void
sim_rest_count(enum sim_rest_kind k)
{
	CALLS.rest[k]++;
}

/* First answer request of a channel whose StasisStart went out. */
void
sim_calls_answer_seen(struct sim_chan *c)
{
	uint64_t	d;

	if (c->stasis_written == 0 || c->latency_taken)
		return;
	c->latency_taken = 1;
	if (CALLS.nlat == SIM_LAT_SAMPLES_MAX) {
		CALLS.lat_dropped++;
		return;
	}
	d = sim_now_us() - c->stasis_written;
	CALLS.lat[CALLS.nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Parameters of an incoming call; NULL when fine, else what is wrong. */
static const char *
call_params(const struct sim_req *r, const char **v)
{
	static const struct {
		const char	*name;
		const char	*def;
		size_t		 max;
	} p[] = {
		{ "exten", CALL_EXTEN_DEF, SIM_DP_LEN },
		{ "caller", CALL_CALLER_DEF, SIM_CID_LEN },
		{ "caller_name", "", SIM_CID_LEN },
		{ "app", "mai", SIM_APP_LEN },
		{ "context", CALL_CONTEXT_DEF, SIM_DP_LEN },
		{ "args", "", SIM_ARGS_LEN },
	};
	size_t	i;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if ((v[i] = sim_arg(r, p[i].name)) == NULL)
			v[i] = p[i].def;
		if (strlen(v[i]) >= p[i].max)
			return "a parameter is too long";
	}
	if (sim_app_find(v[3]) == NULL)
		return "no WebSocket holds app: Stasis() would fail the call";
	return NULL;
}

/* An inbound PJSIP call reaching Stasis(app): state Ring, StasisStart. */
static struct sim_chan *
call_start(const char **v)
{
	struct sim_chan	*c;

	if ((c = sim_chan_new(NULL, "PJSIP", "sim")) == NULL)
		return NULL;
	c->state = SIM_CS_RING;
	c->is_call = 1;
	snprintf(c->exten, sizeof(c->exten), "%s", v[0]);
	snprintf(c->cid_num, sizeof(c->cid_num), "%s", v[1]);
	snprintf(c->cid_name, sizeof(c->cid_name), "%s", v[2]);
	snprintf(c->app, sizeof(c->app), "%s", v[3]);
	snprintf(c->context, sizeof(c->context), "%s", v[4]);
	snprintf(c->args, sizeof(c->args), "%s", v[5]);
	CALLS.calls_started++;
	sim_chan_stasis_start(c);
	return c;
}

int
sim_ctl_call(struct lws *wsi, struct sim_req *r)
{
	const char	*v[6], *err;
	struct sim_chan	*c;

	if ((err = call_params(r, v)) != NULL)
		return sim_ctl_fail(wsi, 400, err);
	if ((c = call_start(v)) == NULL)
		return sim_ctl_fail(wsi, 400, "channel bound reached");
	sim_log("control call channel=%s exten=%s", c->id, c->exten);
	return sim_ctl_ok(wsi, ",\"channel\":\"%s\"", c->id);
}

/*
 * The calls of the pace that are due by now, started together; then the
 * timer for the next one.  Due: the k-th call (from 0) at t0 + k/rate s.
 */
static void
pace_tick(struct sim_timer *t)
{
	struct sim_pace	*p = &CALLS.pace;
	const char	*v[6];
	uint64_t	 el = sim_now_us() - p->t0, next, now;
	long long	 due;
	int		 i;

	(void)t;
	for (i = 0; i < 6; i++)
		v[i] = p->v[i];
	due = (long long)(el * (uint64_t)p->rate / 1000000u) + 1;
	if (due > p->total)
		due = p->total;
	for (; p->started < due; p->started++)
		if (call_start(v) == NULL) {
			sim_log("paced calls: channel bound reached");
			p->total = p->started;
			return;
		}
	if (p->started == p->total)
		return;
	next = p->t0 + (uint64_t)p->started * 1000000u / (uint64_t)p->rate;
	now = sim_now_us();
	sim_timer_arm(&p->timer, next > now ? next - now : 0, pace_tick);
}

/* n calls, rate per second, one after the other (from the loop). */
static int
pace_start(struct lws *wsi, const char **v, long long n, long long rate)
{
	struct sim_pace	*p = &CALLS.pace;
	int		 i;

	if (p->started < p->total)
		return sim_ctl_fail(wsi, 400, "paced calls still running");
	for (i = 0; i < 6; i++)
		snprintf(p->v[i], sizeof(p->v[i]), "%s", v[i]);
	p->rate = rate;
	p->total = n;
	p->started = 0;
	p->t0 = sim_now_us();
	sim_timer_arm(&p->timer, 0, pace_tick);
	sim_log("control calls n=%lld rate=%lld", n, rate);
	return sim_ctl_ok(wsi, ",\"queued\":%lld,\"rate\":%lld", n, rate);
}

/*
 * N calls at once: their StasisStarts leave as fast as the socket takes.
 * With rate=R, R per second instead, from a timer.
 */
int
sim_ctl_calls(struct lws *wsi, struct sim_req *r)
{
	char		 first[SIM_ID_LEN] = "";
	const char	*v[6], *err;
	struct sim_chan	*c = NULL;
	long long	 n, i, rate;

	if (sim_arg_num(r, "n", 1, 1, SIM_MAX_CHANNELS, &n) == -1)
		return sim_ctl_fail(wsi, 400, "n must be 1..100000");
	if (sim_arg_num(r, "rate", 0, 0, 1000000, &rate) == -1)
		return sim_ctl_fail(wsi, 400, "rate must be 0..1000000");
	if ((err = call_params(r, v)) != NULL)
		return sim_ctl_fail(wsi, 400, err);
	if ((size_t)n > SIM_MAX_CHANNELS - CALLS.nchans)
		return sim_ctl_fail(wsi, 400, "channel bound reached");
	if (rate > 0)
		return pace_start(wsi, v, n, rate);
	for (i = 0; i < n; i++) {
		if ((c = call_start(v)) == NULL)
			break;
		if (i == 0)
			snprintf(first, sizeof(first), "%s", c->id);
	}
	sim_log("control calls n=%lld started=%lld", n, i);
	return sim_ctl_ok(wsi, ",\"started\":%lld,\"first\":\"%s\","
	    "\"last\":\"%s\"", i, first, c != NULL ? c->id : "");
}

static void
dtmf_tick(struct sim_timer *t)
{
	struct sim_chan	*c = (struct sim_chan *)((char *)t -
	    offsetof(struct sim_chan, dtmf_timer));
	char		 digit = c->dtmf[0];

	if (digit == '\0')
		return;
	memmove(c->dtmf, c->dtmf + 1, strlen(c->dtmf));
	if (c->dtmf[0] != '\0')
		sim_timer_arm(&c->dtmf_timer,
		    (uint64_t)c->dtmf_gap_ms * 1000, dtmf_tick);
	sim_chan_dtmf_event(c, digit, c->dtmf_duration_ms);
	sim_media_dtmf(c, digit);
}

/* Digits the caller presses, one ChannelDtmfReceived each. */
int
sim_ctl_dtmf(struct lws *wsi, struct sim_req *r)
{
	const char	*id = sim_arg(r, "channel"), *d = sim_arg(r, "digits");
	struct sim_chan	*c;
	long long	 gap, dur;
	size_t		 have;

	if (id == NULL || (c = sim_chan_find(id)) == NULL)
		return sim_ctl_fail(wsi, 400, "no such channel");
	if (d == NULL || d[0] == '\0' ||
	    d[strspn(d, "0123456789ABCDabcd*#")] != '\0')
		return sim_ctl_fail(wsi, 400, "digits must be 0-9 A-D * #");
	if (sim_arg_num(r, "gap_ms", DTMF_GAP_DEF_MS, 0, 60000, &gap) == -1 ||
	    sim_arg_num(r, "duration_ms", DTMF_DURATION_DEF_MS, 0, 60000,
	    &dur) == -1)
		return sim_ctl_fail(wsi, 400, "gap_ms, duration_ms: 0..60000");
	have = strlen(c->dtmf);
	if (have + strlen(d) > SIM_DTMF_MAX)
		return sim_ctl_fail(wsi, 400, "more than 64 digits waiting");
	memcpy(c->dtmf + have, d, strlen(d) + 1);
	c->dtmf_gap_ms = (int)gap;
	c->dtmf_duration_ms = (int)dur;
	if (have == 0)
		sim_timer_arm(&c->dtmf_timer, 0, dtmf_tick);
	return sim_ctl_ok(wsi, ",\"queued\":%zu", strlen(c->dtmf));
}

/* Every caller of /_sim/call(s) hangs up; returns how many. */
static size_t
hangup_all_calls(int cause)
{
	struct sim_chan	*c, *next;
	size_t		 n = 0;

	for (c = TAILQ_FIRST(&CALLS.chan_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all);	/* only c is freed */
		if (c->is_call) {
			sim_chan_hangup(c, cause, SIM_HANGUP_REQUEST);
			n++;
		}
	}
	return n;
}

/* The caller hangs up: a hard hangup request, then the channel ends. */
int
sim_ctl_hangup(struct lws *wsi, struct sim_req *r)
{
	const char	*id = sim_arg(r, "channel");
	struct sim_chan	*c = NULL;
	long long	 cause, all, linger;

	if (sim_arg_num(r, "all", 0, 0, 1, &all) == -1)
		return sim_ctl_fail(wsi, 400, "all must be 0 or 1");
	if (!all && (id == NULL || (c = sim_chan_find(id)) == NULL))
		return sim_ctl_fail(wsi, 400, "no such channel");
	if (sim_arg_num(r, "cause", 16, 0, 127, &cause) == -1)
		return sim_ctl_fail(wsi, 400, "cause must be 0..127");
	if (sim_arg_num(r, "linger_ms", 0, 0, MEDIA_MS_MAX, &linger) == -1 ||
	    (all && linger > 0))
		return sim_ctl_fail(wsi, 400, "linger_ms is 0..3600000, for "
		    "one channel");
	if (all)
		return sim_ctl_ok(wsi, ",\"hungup\":%zu",
		    hangup_all_calls((int)cause));
	if (linger > 0) {
		/* Asterisk tearing a channel down: still listed, in Stasis. */
		sim_chan_hangup_request(c, (int)cause, 0);
		c->next = SIM_NEXT_HANGUP;
		c->fail_cause = (int)cause;
		sim_timer_arm(&c->life, (uint64_t)linger * 1000, sim_chan_life);
	} else
		sim_chan_hangup(c, (int)cause, SIM_HANGUP_REQUEST);
	return sim_ctl_ok(wsi, ",\"hungup\":1");
}

int
sim_ctl_media(struct lws *wsi, struct sim_req *r)
{
	struct sim_media_conf	m = CALLS.media;

	if (sim_arg_num(r, "playback_ms", m.playback_ms, 0, MEDIA_MS_MAX,
	    &m.playback_ms) == -1 || sim_arg_num(r, "recording_ms",
	    m.recording_ms, 0, MEDIA_MS_MAX, &m.recording_ms) == -1 ||
	    sim_arg_num(r, "answer_delay_ms", m.answer_delay_ms, 0,
	    MEDIA_MS_MAX, &m.answer_delay_ms) == -1 ||
	    sim_arg_num(r, "continue_ms", m.continue_ms, 0, MEDIA_MS_MAX,
	    &m.continue_ms) == -1 || sim_arg_num(r, "xmedia_stasis_ms",
	    m.xmedia_stasis_ms, 0, MEDIA_MS_MAX, &m.xmedia_stasis_ms) == -1)
		return sim_ctl_fail(wsi, 400, "durations are 0..3600000 ms");
	if (sim_arg_num(r, "hold_behind_playback", m.hold_behind_playback, 0,
	    1, &m.hold_behind_playback) == -1 || sim_arg_num(r, "hold_play",
	    m.hold_play, 0, 1, &m.hold_play) == -1)
		return sim_ctl_fail(wsi, 400, "hold_behind_playback and "
		    "hold_play are 0 or 1");
	CALLS.media = m;
	return sim_ctl_ok(wsi, ",\"playback_ms\":%lld,\"recording_ms\":%lld,"
	    "\"answer_delay_ms\":%lld,\"continue_ms\":%lld,"
	    "\"xmedia_stasis_ms\":%lld,\"hold_behind_playback\":%lld,"
	    "\"hold_play\":%lld", m.playback_ms, m.recording_ms,
	    m.answer_delay_ms, m.continue_ms, m.xmedia_stasis_ms,
	    m.hold_behind_playback, m.hold_play);
}

/* Plays held by hold_play reach "Asterisk" now, on cue. */
int
sim_ctl_play_release(struct lws *wsi, struct sim_req *r)
{
	size_t	n;

	(void)r;
	n = sim_hold_release_plays();
	sim_log("control play_release released=%zu", n);
	return sim_ctl_ok(wsi, ",\"released\":%zu", n);
}

/* Every running playback ends now: sounds of unknown length end on cue. */
int
sim_ctl_playbacks_end(struct lws *wsi, struct sim_req *r)
{
	size_t	n;

	(void)r;
	n = sim_media_end_playbacks();
	sim_log("control playbacks_end ended=%zu", n);
	return sim_ctl_ok(wsi, ",\"ended\":%zu", n);
}

int
sim_ctl_reset_calls(struct lws *wsi, struct sim_req *r)
{
	size_t	nchans, nbridges;

	(void)r;
	calls_forget(&nchans, &nbridges);
	CALLS.calls_started = CALLS.calls_ended = 0;
	memset(CALLS.rest, 0, sizeof(CALLS.rest));
	CALLS.nlat = 0;
	CALLS.lat_dropped = 0;
	sim_hold_reset();
	sim_reqlog_reset();
	sim_log("control reset_calls channels=%zu bridges=%zu", nchans,
	    nbridges);
	return sim_ctl_ok(wsi, ",\"channels\":%zu,\"bridges\":%zu", nchans,
	    nbridges);
}

static int
lat_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of the answer latency samples. */
static void
stats_latency(struct sim_buf *b)
{
	uint32_t	*s;
	size_t		 n = CALLS.nlat, i;
	static const int pct[] = { 50, 90, 99 };

	sb_printf(b, ",\"answer_latency_us\":{\"count\":%zu,\"dropped\":%llu",
	    n, (unsigned long long)CALLS.lat_dropped);
	if (n > 0 && (s = malloc(n * sizeof(*s))) != NULL) {
		memcpy(s, CALLS.lat, n * sizeof(*s));
		qsort(s, n, sizeof(*s), lat_cmp);
		for (i = 0; i < 3; i++)
			sb_printf(b, ",\"p%d\":%u", pct[i],
			    s[(n * (size_t)pct[i] + 99) / 100 - 1]);
		sb_printf(b, ",\"max\":%u", s[n - 1]);
		free(s);
	}
	sb_printf(b, "}");
}

/* The call part of /_sim/stats. */
void
sim_calls_stats(struct sim_buf *b)
{
	struct sim_chan	*c;
	size_t		 stasis = 0;
	int		 i;

	TAILQ_FOREACH(c, &CALLS.chan_list, all)
		stasis += c->in_stasis;
	sb_printf(b, ",\"channels\":%zu,\"channels_in_stasis\":%zu,"
	    "\"bridges\":%zu,\"playbacks_active\":%zu,"
	    "\"recordings_active\":%zu,\"calls_started\":%llu,"
	    "\"calls_ended\":%llu,\"rest_requests\":{", CALLS.nchans, stasis,
	    CALLS.nbridges, CALLS.nplaybacks, CALLS.nrecordings,
	    (unsigned long long)CALLS.calls_started,
	    (unsigned long long)CALLS.calls_ended);
	for (i = 0; i < SIM_REST_KINDS; i++)
		sb_printf(b, "%s\"%s\":%llu", i ? "," : "", rest_names[i],
		    (unsigned long long)CALLS.rest[i]);
	sb_printf(b, "}");
	sim_hold_stats(b);
	stats_latency(b);
	sb_printf(b, ",\"media\":{\"playback_ms\":%lld,\"recording_ms\":%lld,"
	    "\"answer_delay_ms\":%lld,\"continue_ms\":%lld,"
	    "\"xmedia_stasis_ms\":%lld,\"hold_behind_playback\":%lld,"
	    "\"hold_play\":%lld}", CALLS.media.playback_ms,
	    CALLS.media.recording_ms, CALLS.media.answer_delay_ms,
	    CALLS.media.continue_ms, CALLS.media.xmedia_stasis_ms,
	    CALLS.media.hold_behind_playback, CALLS.media.hold_play);
}

/* channel_ids and bridge_ids of GET /applications/{name}. */
void
sim_calls_app_ids(struct sim_buf *b, const char *app)
{
	struct sim_chan		*c;
	struct sim_bridge	*br;
	const char		*sep = "";

	sb_printf(b, "\"channel_ids\": [");
	TAILQ_FOREACH(c, &CALLS.chan_list, all)
		if (c->subscribed && strcmp(c->app, app) == 0) {
			sb_printf(b, "%s", sep);
			sb_str(b, c->id);
			sep = ", ";
		}
	sb_printf(b, "],\n  \"bridge_ids\": [");
	sep = "";
	TAILQ_FOREACH(br, &CALLS.bridge_list, all)
		TAILQ_FOREACH(c, &br->chans, member)
			if (c->subscribed && strcmp(c->app, app) == 0) {
				sb_printf(b, "%s", sep);
				sb_str(b, br->id);
				sep = ", ";
				break;
			}
	sb_printf(b, "]");
}
