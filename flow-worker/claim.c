/*
 * claim.c — calls offered by StasisBroadcast(): claim them, spread them.
 *
 * With several mai instances on one edge, each with its own ARI_APP
 * (ARI_APP=mai-%h), the dialplan's StasisBroadcast(TIMEOUT,^mai-) sends a
 * CallBroadcast to every instance; the first POST /events/claim wins (204)
 * and gets the StasisStart, every later one gets 409 (docs/scaling.md has
 * what Asterisk 22.10.1 was seen doing).  Here:
 * - claim only while the instance is ready (the supervisor's READY frame),
 *   flows are loaded and the restart takeover is done;
 * - wait (calls in progress + claims waiting) x CLAIM_DELAY_PER_CALL_US, so the least
 *   loaded instance usually wins;
 * - a claimed call writes MAI_APP (its owner) on its channel: nothing else
 *   in ARI says which application won, and reconcile.c needs to know
 *   after a restart (claim_owns()).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/* One claim waiting for its delay, or in flight. */
struct claim {
	TAILQ_ENTRY(claim)	 entry;
	struct flow		*f;
	struct event		*ev;
	char			 id[FLOW_CHAN_ID_MAX];
};
TAILQ_HEAD(claim_list, claim);

struct claims {
	struct claim_list	 list;
	size_t			 n;
	uint8_t			 ready;		/* the supervisor's verdict */
};

static struct claims *
claims_of(struct flow *f)
{
	if (f->claims == NULL) {
		if ((f->claims = calloc(1, sizeof(*f->claims))) == NULL)
			fatal("claims");
		TAILQ_INIT(&f->claims->list);
	}
	return f->claims;
}

/* READY from the supervisor: /readyz's verdict for this instance. */
void
claim_ready(struct flow *f, const struct mai_ready *r)
{
	struct claims	*cl = claims_of(f);

	if (cl->ready != (r->ready != 0))
		log_info("broadcast calls: %s", r->ready ? "claiming (ready)" :
		    "not claiming (not ready)");
	cl->ready = r->ready != 0;
}

static void
claim_free(struct claim *c)
{
	struct claims	*cl = c->f->claims;

	TAILQ_REMOVE(&cl->list, c, entry);
	cl->n--;
	event_free(c->ev);
	free(c);
}

static void
claim_send_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct claim	*c = arg;
	struct flow	*f = c->f;
	char		 path[ARI_REST_URL_MAX];

	(void)fd;
	(void)ev;
	/*
	 * 204: the StasisStart follows and starts the call; 409 or 404:
	 * another instance has it, or it is gone.  Nothing waits for the
	 * answer, so it goes like cleanup does (through the backlog when
	 * ari_rest is full: a burst of broadcasts must not lose claims).
	 */
	if (!f->claims->ready)
		log_debug("claim id=%s dropped: not ready", c->id);
	else if (ari_rest_path(path, sizeof(path), "/events/claim?channelId="
	    "%s", c->id) == -1 || areq_path_add(path, sizeof(path),
	    "application", f->conf.ari_app) == -1)
		log_warnx("claim id=%s: path too long", c->id);
	else {
		log_debug("claiming id=%s", c->id);
		areq_loose(f, "POST", path);
	}
	claim_free(c);
}

/*
 * ms to wait before claiming: more calls here, later (docs/scaling.md).
 * Claims still waiting count as calls: in a burst every broadcast comes
 * before any StasisStart, and without them all would go at once.
 */
static unsigned int
claim_delay_ms(const struct flow *f)
{
	uint64_t	us = (uint64_t)(f->ncalls + f->claims->n) *
			    CLAIM_DELAY_PER_CALL_US;

	return us / 1000 > CLAIM_DELAY_MAX_MS ? CLAIM_DELAY_MAX_MS :
	    (unsigned int)(us / 1000);
}

/*
 * A CallBroadcast read at rx_ns.  One older than CLAIM_MAX_AGE_MS is a
 * replay to a new flow-worker: the broadcast is long decided.
 */
void
claim_broadcast(struct flow *f, const char *id, uint64_t rx_ns)
{
	struct claims	*cl = claims_of(f);
	struct claim	*c;
	unsigned int	 ms = claim_delay_ms(f);
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if (!cl->ready || f->fs == NULL || f->reconcile != NULL ||
	    f->ncalls >= FLOW_CALLS_MAX || cl->n >= CLAIM_PENDING_MAX ||
	    frame_now_ns() - rx_ns > (uint64_t)CLAIM_MAX_AGE_MS * 1000000 ||
	    strlen(id) >= sizeof(c->id)) {
		log_debug("broadcast id=%s not claimed ready=%d calls=%zu "
		    "pending=%zu", id, cl->ready, f->ncalls, cl->n);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("claim");
	c->f = f;
	strcpy(c->id, id);
	if ((c->ev = evtimer_new(f->base, claim_send_cb, c)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&cl->list, c, entry);
	cl->n++;
	evtimer_add(c->ev, &tv);
}

/*
 * A new call from StasisBroadcast: say on its channel that it is ours
 * (in the call's ARI order; the flow sees it as ${MAI_APP} too).
 */
void
claim_started(struct call *c)
{
	if (var_set_channel(c, CLAIM_OWNER_VAR, c->f->conf.ari_app) == -1)
		log_warnx("call id=%s: %s not set", c->id, CLAIM_OWNER_VAR);
}

/*
 * reconcile.c: is a channel that shows StasisBroadcast in its dialplan
 * ours?  Only its MAI_APP says (asterisk-conf/ari.conf lists it in
 * channelvars, so GET /channels carries it).
 */
int
claim_owns(const struct flow *f, struct json_object *ch)
{
	struct json_object	*vars, *v;

	return json_object_object_get_ex(ch, "channelvars", &vars) &&
	    json_object_object_get_ex(vars, CLAIM_OWNER_VAR, &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), f->conf.ari_app) == 0;
}

/*
 * Would this instance take a call now: ready, flows loaded, its restart
 * takeover done (lease.c says so to the peers, adopt.c asks).
 */
int
claim_is_ready(const struct flow *f)
{
	return f->claims != NULL && f->claims->ready && f->fs != NULL &&
	    f->reconcile == NULL;
}

void
claim_free_all(struct flow *f)
{
	if (f->claims == NULL)
		return;
	while (!TAILQ_EMPTY(&f->claims->list))
		claim_free(TAILQ_FIRST(&f->claims->list));
	free(f->claims);
	f->claims = NULL;
}
