/*
 * heartbeat.c — a hung worker is a dead worker.
 *
 * Every MAI_HEARTBEAT_INTERVAL_MS each running worker gets a PING on its
 * socket and answers PONG from its own event loop, so a loop that is
 * stopped, deadlocked, blocked in a call or starved cannot answer.  A
 * worker that has not answered for MAI_HEARTBEAT_TIMEOUT_MS is hung:
 * proc_kill_hung() drops its flags (/readyz names it at once) and
 * SIGKILLs it, and it restarts without backoff.  Any PONG proves the loop
 * ran and moves the deadline, answered or unasked (the flow-worker sends
 * unasked ones while it holds its socket unread at start: events.c).
 *
 * Progress, where liveness is not enough: a flow-worker whose loop spins
 * while Asterisk answers none of its requests answers every PING.  Its
 * PONG carries the age of its oldest unanswered ARI request; the age of
 * the oldest event no flow-worker acknowledged is the relay queue's head.
 * Either over MAI_PROGRESS_MAX_MS marks it stalled: not ready, but not
 * killed (a restart does not make Asterisk answer).
 */
#include <signal.h>
#include <string.h>

#include "log.h"
#include "supervisor.h"

static void	heartbeat_tick_cb(evutil_socket_t, short, void *);
static void	heartbeat_ping(struct worker *);
static void	heartbeat_deadline_cb(evutil_socket_t, short, void *);

static struct timeval
ms_tv(uint32_t ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

static bool
heartbeat_on(void)
{
	return sup->conf.heartbeat_interval_ms > 0;
}

void
heartbeat_init(void)
{
	int	r;

	sup->ev_heartbeat = event_new(sup->base, -1, EV_PERSIST,
	    heartbeat_tick_cb, NULL);
	if (sup->ev_heartbeat == NULL)
		fatalx("event_new heartbeat");
	for (r = 0; r < MAI_ROLE_COUNT; r++)
		if ((sup->workers[r].ev_deadline = evtimer_new(sup->base,
		    heartbeat_deadline_cb, &sup->workers[r])) == NULL)
			fatalx("evtimer_new heartbeat");
	heartbeat_configure();
}

static void
heartbeat_arm(struct worker *w)
{
	struct timeval	tv = ms_tv(sup->conf.heartbeat_timeout_ms);

	if (heartbeat_on() && w->state == MAI_WSTATE_RUNNING)
		evtimer_add(w->ev_deadline, &tv);
}

/* At start and after a reload: the interval and deadline may differ. */
void
heartbeat_configure(void)
{
	struct timeval	tv = ms_tv(sup->conf.heartbeat_interval_ms);
	int		r;

	event_del(sup->ev_heartbeat);
	for (r = 0; r < MAI_ROLE_COUNT; r++) {
		evtimer_del(sup->workers[r].ev_deadline);
		heartbeat_arm(&sup->workers[r]);
	}
	if (heartbeat_on())
		event_add(sup->ev_heartbeat, &tv);
}

/*
 * It said hello and has its configuration: a fresh process, a fresh
 * deadline, and a first PING at once, so that a successor of a hung
 * worker is vouched for as soon as its loop runs, not one interval later.
 */
void
heartbeat_start(struct worker *w)
{
	/* What load balancers read now comes from this one, which runs. */
	if (w->role == MAI_ROLE_HEALTH)
		w->hung = false;
	w->ping_seq = w->pong_seq = 0;
	w->ari_oldest_ms = 0;
	heartbeat_arm(w);
	if (heartbeat_on())
		heartbeat_ping(w);
}

void
heartbeat_stop(struct worker *w)
{
	evtimer_del(w->ev_deadline);
	w->ari_oldest_ms = 0;
}

void
heartbeat_pong(struct worker *w, uint64_t seq, const struct mai_pong *p)
{
	if (seq > w->ping_seq) {
		proc_distrust(w, "answer to a heartbeat never sent");
		return;
	}
	/* Unasked (0): its socket is held unread; it answers them later. */
	if (seq == 0)
		seq = w->ping_seq;
	if (seq > w->pong_seq)
		w->pong_seq = seq;
	if (w->role == MAI_ROLE_FLOW)
		w->ari_oldest_ms = p->ari_oldest_ms;
	heartbeat_arm(w);
	/* Named hung until a successor's loop answers, not just its hello. */
	if (w->hung) {
		w->hung = false;
		log_info("worker replaced after a hang worker=%s pid=%d",
		    w->name, (int)w->pid);
		readiness_changed();
	}
}

/* Age of the oldest event no flow-worker acknowledged, 0 if none. */
uint64_t
heartbeat_event_age_ms(void)
{
	struct event_item	*it = TAILQ_FIRST(&sup->relay.queue);
	uint64_t		 now = frame_now_ns();

	if (it == NULL || it->ts_ns == 0 || now <= it->ts_ns)
		return 0;
	return (now - it->ts_ns) / 1000000;
}

static void
heartbeat_progress(void)
{
	struct worker	*w = &sup->workers[MAI_ROLE_FLOW];
	uint32_t	 max = sup->conf.progress_max_ms;
	uint64_t	 ev = heartbeat_event_age_ms();
	bool		 stalled;

	stalled = max > 0 && (w->ari_oldest_ms > max || ev > max);
	/* The ages move all the time: they ride the counters' push. */
	if (ev > 0 || w->ari_oldest_ms > 0)
		readiness_counters_changed();
	if (stalled == w->stalled)
		return;
	w->stalled = stalled;
	if (stalled)
		log_warnx("worker makes no progress worker=%s "
		    "ari_oldest_ms=%llu event_oldest_ms=%llu max_ms=%u",
		    w->name, (unsigned long long)w->ari_oldest_ms,
		    (unsigned long long)ev, max);
	else
		log_info("worker makes progress again worker=%s", w->name);
	readiness_changed();
}

static void
heartbeat_ping(struct worker *w)
{
	ssize_t	n;

	if (w->state != MAI_WSTATE_RUNNING || w->fd == -1 || w->untrusted)
		return;
	if (w->pong_seq < w->ping_seq) {
		w->heartbeats_missed++;
		readiness_counters_changed();
		log_debug("heartbeat late worker=%s pid=%d seq=%llu", w->name,
		    (int)w->pid, (unsigned long long)w->ping_seq);
	}
	/* A full socket is a worker that does not read: the deadline says. */
	n = frame_send(w->fd, MAI_MSG_PING, w->ping_seq + 1, NULL, 0);
	if (n >= 0)
		w->ping_seq++;
	else if (n != FRAME_EAGAIN)
		log_debug("heartbeat to worker=%s: %s", w->name,
		    frame_error(n));
}

static void
heartbeat_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	int	r;

	(void)fd;
	(void)ev;
	(void)arg;
	for (r = 0; r < MAI_ROLE_COUNT; r++)
		heartbeat_ping(&sup->workers[r]);
	heartbeat_progress();
}

static void
heartbeat_deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)ev;
	if (w->state != MAI_WSTATE_RUNNING || sup->stopping)
		return;
	log_warnx("worker hung: no heartbeat answer worker=%s pid=%d "
	    "timeout_ms=%u last_answered=%llu last_sent=%llu action=kill",
	    w->name,
	    (int)w->pid, sup->conf.heartbeat_timeout_ms,
	    (unsigned long long)w->pong_seq, (unsigned long long)w->ping_seq);
	proc_kill_hung(w);
}
