/*
 * Timers for simulated media, answers and DTMF.  A binary heap holds
 * every armed sim_timer; one lws_sul is kept scheduled for the earliest,
 * so the lws loop never blocks and 100000 timers cost O(log n) each
 * (lws 4.1 keeps its sul list sorted by linear insertion).
 */

#include <stdlib.h>
#include <time.h>

#include "sim.h"

static struct sim_timer		**heap;	/* SIM_TIMERS_MAX slots */
static size_t			  nheap;
static lws_sorted_usec_list_t	  sul;
static uint64_t			  sul_due;	/* 0: not scheduled */

uint64_t
sim_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int
sim_timer_init(void)
{
	heap = calloc(SIM_TIMERS_MAX, sizeof(heap[0]));
	return heap == NULL ? -1 : 0;
}

void
sim_timer_free(void)
{
	free(heap);
	heap = NULL;
	nheap = 0;
}

static void
heap_set(size_t i, struct sim_timer *t)
{
	heap[i] = t;
	t->slot = i + 1;
}

static void
sift_up(size_t i)
{
	struct sim_timer	*t = heap[i];

	while (i > 0 && heap[(i - 1) / 2]->due > t->due) {
		heap_set(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, t);
}

static void
sift_down(size_t i)
{
	struct sim_timer	*t = heap[i];
	size_t			 c;

	while ((c = 2 * i + 1) < nheap) {
		if (c + 1 < nheap && heap[c + 1]->due < heap[c]->due)
			c++;
		if (heap[c]->due >= t->due)
			break;
		heap_set(i, heap[c]);
		i = c;
	}
	heap_set(i, t);
}

static void on_sul(lws_sorted_usec_list_t *);

/* Keep the one lws_sul on the earliest timer. */
static void
resched(void)
{
	uint64_t	now;

	if (nheap == 0) {
		if (sul_due != 0)
			lws_sul_cancel(&sul);
		sul_due = 0;
		return;
	}
	if (heap[0]->due == sul_due)
		return;
	sul_due = heap[0]->due;
	now = sim_now_us();
	lws_sul_schedule(sim.ctx, 0, &sul, on_sul,
	    (lws_usec_t)(sul_due > now ? sul_due - now : 0));
}

static void
heap_remove(size_t i)
{
	struct sim_timer	*t = heap[i];

	t->slot = 0;
	if (--nheap == i)
		return;
	heap_set(i, heap[nheap]);
	if (i > 0 && heap[(i - 1) / 2]->due > heap[i]->due)
		sift_up(i);
	else
		sift_down(i);
}

void
sim_timer_cancel(struct sim_timer *t)
{
	if (t->slot == 0)
		return;
	heap_remove(t->slot - 1);
	resched();
}

/* (Re)arm t to call fn after delay_us; armed objects are bounded. */
void
sim_timer_arm(struct sim_timer *t, uint64_t delay_us,
    void (*fn)(struct sim_timer *))
{
	if (t->slot != 0)
		heap_remove(t->slot - 1);
	if (nheap == SIM_TIMERS_MAX)	/* cannot happen: see the bound */
		return;
	t->due = sim_now_us() + delay_us;
	t->fn = fn;
	heap[nheap++] = t;
	sift_up(nheap - 1);
	resched();
}

/* Run everything due; callbacks may arm or cancel timers. */
static void
on_sul(lws_sorted_usec_list_t *s)
{
	struct sim_timer	*t;
	uint64_t		 now = sim_now_us();

	(void)s;
	sul_due = 0;
	while (nheap > 0 && heap[0]->due <= now) {
		t = heap[0];
		heap_remove(0);
		t->fn(t);
	}
	resched();
}
