/*
 * calls.c — calls in progress, in a hash table keyed by the caller's
 * channel id, and the ids of what mai creates for them.
 *
 * Everything mai creates in Asterisk for a call (playbacks, bridges,
 * outbound and external media channels) gets an id we choose,
 * "mai-<kind><seq>-<caller channel id>": events about it can be routed
 * before the REST answer arrives, and a flow-worker that starts after a
 * crash can tell its predecessor's legs from callers without any table.
 *
 * An ended call leaves the table at once but is freed from the loop
 * (ev_reap), so code that ended it may still look at it on its way out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/* FNV-1a: channel ids are short and not chosen by an attacker. */
uint32_t
call_id_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static uint32_t
calls_hash(const char *s)
{
	return call_id_hash(s) & (FLOW_CALL_BUCKETS - 1);
}
_Static_assert((FLOW_CALL_BUCKETS & (FLOW_CALL_BUCKETS - 1)) == 0,
    "bucket count is a power of two");

static void
calls_gauge(struct flow *f)
{
	f->counters.v[MAI_CNT_FLOW_CALLS_ACTIVE] = f->ncalls;
}

static void
call_free(struct call *c)
{
	if (c->ev_act != NULL)
		event_free(c->ev_act);
	if (c->ev_state != NULL)
		event_free(c->ev_state);
	flowset_unref(c->fs);
	free(c->vars);
	free(c);
}

static void
calls_reap_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;
	struct call	*c;

	(void)fd;
	(void)ev;
	while ((c = TAILQ_FIRST(&f->dead)) != NULL) {
		TAILQ_REMOVE(&f->dead, c, dead);
		call_free(c);
	}
}

void
calls_init(struct flow *f)
{
	size_t	i;

	for (i = 0; i < FLOW_CALL_BUCKETS; i++)
		LIST_INIT(&f->calls[i]);
	TAILQ_INIT(&f->dead);
	if ((f->ev_reap = event_new(f->base, -1, 0, calls_reap_cb, f)) ==
	    NULL)
		fatalx("event_new");
}

struct call *
call_find(struct flow *f, const char *id)
{
	struct call	*c;

	LIST_FOREACH(c, &f->calls[calls_hash(id)], hash)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* NULL when the id does not fit or FLOW_CALLS_MAX calls run already. */
struct call *
call_new(struct flow *f, const char *id)
{
	struct call	*c;

	if (strlen(id) >= FLOW_CHAN_ID_MAX || f->ncalls >= FLOW_CALLS_MAX)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("call");
	c->f = f;
	c->state = -1;
	c->phase = CALL_RUNNING;
	/* Ids of a restarted worker must not collide with its predecessor's. */
	c->idseq = arc4random();
	TAILQ_INIT(&c->reqs);
	snprintf(c->id, sizeof(c->id), "%s", id);
	if ((c->ev_act = evtimer_new(f->base, action_timer, c)) == NULL ||
	    (c->ev_state = evtimer_new(f->base, engine_state_timer, c)) ==
	    NULL)
		fatalx("evtimer_new");
	LIST_INSERT_HEAD(&f->calls[calls_hash(id)], c, hash);
	f->ncalls++;
	calls_gauge(f);
	return c;
}

/*
 * The call is over for us: the caller hung up, left Stasis or is gone.
 * What it created in Asterisk goes (legs hung up, bridges destroyed;
 * playbacks and recordings end with the channel), timers stop, requests
 * still queued are dropped and those in flight forget it.
 */
void
call_end(struct call *c, const char *why)
{
	struct flow	*f = c->f;

	if (c->phase == CALL_DEAD)
		return;
	log_info("call ended id=%s flow=%s state=%s why=%s", c->id,
	    c->flow != NULL ? c->flow->name : "-", c->flow != NULL &&
	    c->state >= 0 ? c->flow->states[c->state].name : "-", why);
	if (c->phase == CALL_RESUMING)
		reconcile_forget(c);
	legs_release(c, 1);
	evtimer_del(c->ev_act);
	evtimer_del(c->ev_state);
	areq_detach_all(c);
	c->phase = CALL_DEAD;
	LIST_REMOVE(c, hash);
	f->ncalls--;
	if (c->fs != NULL)
		f->counters.v[MAI_CNT_FLOW_CALLS_ENDED]++;
	calls_gauge(f);
	TAILQ_INSERT_TAIL(&f->dead, c, dead);
	event_active(f->ev_reap, 0, 0);
}

/* At exit: memory only.  Calls stay in Asterisk for the next worker. */
void
calls_free_all(struct flow *f)
{
	struct call	*c;
	size_t		 i;

	for (i = 0; i < FLOW_CALL_BUCKETS; i++)
		while ((c = LIST_FIRST(&f->calls[i])) != NULL) {
			LIST_REMOVE(c, hash);
			areq_detach_all(c);
			call_free(c);
		}
	calls_reap_cb(-1, 0, f);
	f->ncalls = 0;
	if (f->ev_reap != NULL)
		event_free(f->ev_reap);
}

/*
 * A new id for something the call creates.  Logged (debug): what a call
 * made in Asterisk can then be looked for after it ended.
 */
void
call_obj_id(struct call *c, char kind, char *dst, size_t size)
{
	snprintf(dst, size, FLOW_ID_PREFIX "%c%08x-%s", kind, c->idseq++,
	    c->id);
	log_debug("call id=%s object=%s", c->id, dst);
}

/* The caller an id of ours belongs to, if that call is still here. */
struct call *
call_of_obj(struct flow *f, const char *id)
{
	size_t	n = strlen(FLOW_ID_PREFIX);

	if (strncmp(id, FLOW_ID_PREFIX, n) != 0 || strlen(id) < n + 11 ||
	    id[n + 9] != '-')
		return NULL;
	return call_find(f, id + n + 10);
}
