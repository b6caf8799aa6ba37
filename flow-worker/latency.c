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
 */
#include <stdio.h>

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
