/*
 * latency.c — the flow-worker's latency histograms, and their log line.
 *
 * Two figures, both in struct mai_latency with fixed bucket bounds
 * (MAI_LATENCY_BOUNDS_US) so the supervisor and the health-worker can
 * add and render them without knowing what they measure:
 *   relay:  the ws-worker read the event -> this process received it;
 *   answer: this process received a call's StasisStart -> curl began to
 *           write the call's first ARI request (normally the answer).
 * The start of the second travels with the call (struct call.stasis_ns,
 * set where the StasisStart is taken) and the request (areq.c).
 *
 * And one line per call once its first request (normally the answer) is
 * answered ("call first request answered"): the StasisStart's way from Asterisk to the answer, stage by
 * stage, so a burst's latency can be taken apart (bench/burst.sh joins it
 * with Asterisk's CEL).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

static const uint64_t bounds_us[] = MAI_LATENCY_BOUNDS_US;
#define NBOUNDS	(sizeof(bounds_us) / sizeof(bounds_us[0]))
_Static_assert(NBOUNDS == MAI_LATENCY_BUCKETS - 1,
    "one bucket per bound, plus +Inf");

/* One histogram sample of d_ns. */
static void
latency_add(struct mai_latency *l, uint64_t d_ns)
{
	uint64_t	us = d_ns / 1000;
	size_t		i;

	for (i = 0; i < NBOUNDS && us > bounds_us[i]; i++)
		;
	l->bucket[i]++;
	l->count++;
	l->sum_ns += d_ns;
	if (d_ns > l->max_ns)
		l->max_ns = d_ns;
}

/* An event the ws-worker read at read_ns (0: not stamped) came at now_ns. */
void
latency_relay(struct flow *f, uint64_t read_ns, uint64_t now_ns)
{
	if (read_ns == 0 || read_ns > now_ns)
		return;
	latency_add(&f->lat[MAI_LAT_RELAY], now_ns - read_ns);
}

/*
 * A call whose StasisStart came at stasis_ns had its first request
 * written at sent_ns; 0: it never went out, and counts until now (it
 * failed then): a late answer is no better than a slow one.
 */
void
latency_answer(struct flow *f, uint64_t stasis_ns, uint64_t sent_ns)
{
	uint64_t	end = sent_ns != 0 ? sent_ns : frame_now_ns();

	if (stasis_ns == 0 || end < stasis_ns)
		return;
	latency_add(&f->lat[MAI_LAT_ANSWER], end - stasis_ns);
}

/* The bucket bound that q percent of the samples do not exceed. */
static void
latency_bound(const struct mai_latency *l, unsigned int q, char *buf,
    size_t size)
{
	uint64_t	need = (l->count * q + 99) / 100, sum = 0;
	size_t		i;

	for (i = 0; i < NBOUNDS; i++) {
		sum += l->bucket[i];
		if (sum >= need) {
			snprintf(buf, size, "%lluus",
			    (unsigned long long)bounds_us[i]);
			return;
		}
	}
	snprintf(buf, size, "+Inf");
}

/*
 * One line on the answer latency.  force: at exit; else only when there
 * are new samples.
 */
void
latency_log(struct flow *f, int force)
{
	const struct mai_latency	*l = &f->lat[MAI_LAT_ANSWER];
	char				 p50[32], p99[32];

	if (l->count == 0 || (!force && l->count == f->answer_lat_logged))
		return;
	f->answer_lat_logged = l->count;
	latency_bound(l, 50, p50, sizeof(p50));
	latency_bound(l, 99, p99, sizeof(p99));
	log_info("answer latency p50<=%s p99<=%s max=%lluus n=%llu "
	    "mean=%lluus (StasisStart read -> answer request written)", p50,
	    p99, (unsigned long long)(l->max_ns / 1000),
	    (unsigned long long)l->count,
	    (unsigned long long)(l->sum_ns / l->count / 1000));
}

/* Both histograms to the supervisor, when either has new samples. */
void
latency_report(struct flow *f)
{
	uint64_t	n = f->lat[MAI_LAT_RELAY].count +
			    f->lat[MAI_LAT_ANSWER].count;

	if (n != f->lat_reported && frame_send(MAI_IPC_FD, MAI_MSG_LATENCY,
	    0, f->lat, sizeof(f->lat)) >= 0)
		f->lat_reported = n;
}

/*
 * An ARI "timestamp" ("2025-06-01T10:11:12.345+0000": milliseconds and a
 * zone, Asterisk's ast_json_timeval) in wall-clock microseconds; 0 if it
 * is not one.
 */
static int64_t
latency_ari_time(const char *ts)
{
	struct tm	tm;
	int		ms, zh, zm;
	char		sign;
	time_t		t;

	memset(&tm, 0, sizeof(tm));
	if (ts == NULL || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%2d%2d",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &ms, &sign, &zh, &zm) != 10 ||
	    (sign != '+' && sign != '-'))
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return 0;
	t -= (sign == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
	return (int64_t)t * 1000000 + ms * 1000;
}

/* The StasisStart ev of call c, received at rx_ns: where it has been. */
void
latency_trace_start(struct call *c, struct json_object *ev, uint64_t rx_ns)
{
	struct json_object	*ts;

	c->trace.ast_us = json_object_object_get_ex(ev, "timestamp", &ts) ?
	    latency_ari_time(json_object_get_string(ts)) : 0;
	c->trace.read_ns = c->f->ev_read_ns;
	c->trace.rx_ns = rx_ns;
}

/* CLOCK_MONOTONIC ns as wall-clock microseconds (0 stays 0). */
static int64_t
latency_wall_us(uint64_t mono_ns)
{
	struct timespec	rt, mt;
	int64_t		off_ns;

	if (mono_ns == 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	off_ns = ((int64_t)rt.tv_sec - mt.tv_sec) * 1000000000 +
	    (rt.tv_nsec - mt.tv_nsec);
	return ((int64_t)mono_ns + off_ns) / 1000;
}

/*
 * c's first request (its answer) was answered: one line with each stage,
 * in microseconds: Asterisk made the StasisStart -> the ws-worker read it
 * (Asterisk's stamp has milliseconds only), -> this process had it (the
 * supervisor's relay), -> the request began to go out (the flow and the
 * pool), -> Asterisk answered it.  rx_at: when this process had it, wall
 * clock, to join with Asterisk's CEL.
 */
void
latency_trace_answered(const struct call *c, const struct ari_result *res)
{
	const struct call_trace	*t = &c->trace;
	int64_t			 rx = latency_wall_us(t->rx_ns);
	int64_t			 rd = latency_wall_us(t->read_ns);
	int64_t			 sent = latency_wall_us(res->sent_ns);
	int64_t			 done = latency_wall_us(frame_now_ns());
	const char		*what = res->path != NULL ?
				    strrchr(res->path, '/') : NULL;

	log_info("call first request answered id=%s req=%.*s status=%ld "
	    "rx_at_us=%lld event_to_read_us=%lld relay_us=%lld "
	    "to_send_us=%lld served_us=%lld", c->id,
	    what != NULL ? (int)strcspn(what + 1, "?") : 1,
	    what != NULL ? what + 1 : "-", res->status, (long long)rx,
	    t->ast_us != 0 && rd != 0 ? (long long)(rd - t->ast_us) : -1LL,
	    rd != 0 ? (long long)(rx - rd) : -1LL,
	    sent != 0 ? (long long)(sent - rx) : -1LL,
	    sent != 0 ? (long long)(done - sent) : -1LL);
}
