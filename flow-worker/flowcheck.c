/*
 * flowcheck.c — what makes a parsed flow safe to run, beyond its syntax.
 *
 * Each rule stops a way a caller could be left in silence or spin the
 * worker: an event no action of the state can raise, a state nothing ever
 * leaves, actions after a hangup, and cycles of states in which nothing
 * waits (each would run its actions and move on at once, forever).
 */
#include <string.h>

#include "log.h"
#include "flow.h"

#define DTMF_DIGITS	"0123456789*#ABCD"

/* Event names, and the action a state needs for the event to happen. */
static const struct {
	const char	*name;
	int		 needs;		/* enum act_kind, or -1 */
} flow_events[] = {
	{ "done", -1 }, { "dtmf", -1 }, { "timeout", -1 }, { "error", -1 },
	{ "digits", ACT_GATHER }, { "no_input", ACT_GATHER },
	{ "bot_ended", ACT_BOT }, { "dial_failed", ACT_DIAL },
	{ "dial_ended", ACT_DIAL }, { "webhook_failed", ACT_WEBHOOK },
	{ "bot", ACT_BOT },
};
#define NEVENTS	(sizeof(flow_events) / sizeof(flow_events[0]))

static int
flowcheck_event_idx(const char *ev)
{
	size_t	i, n;

	if (strncmp(ev, "dtmf:", 5) == 0)
		return strlen(ev) == 6 && strchr(DTMF_DIGITS, ev[5]) != NULL &&
		    ev[5] != '\0' ? 1 : -1;
	if (strncmp(ev, "digits:", 7) == 0) {
		n = strlen(ev + 7);
		return n >= 1 && n <= FLOW_DIGITS_MAX &&
		    strspn(ev + 7, DTMF_DIGITS) == n ? 4 : -1;
	}
	if (strncmp(ev, "bot:", 4) == 0) {
		n = strlen(ev + 4);
		return n >= 1 && n <= FLOW_BOT_RESULT_MAX && strspn(ev + 4,
		    "abcdefghijklmnopqrstuvwxyz0123456789_-") == n ?
		    flowcheck_event_idx("bot") : -1;
	}
	for (i = 0; i < NEVENTS; i++)
		if (strcmp(ev, flow_events[i].name) == 0)
			return (int)i;
	return -1;
}

int
flowcheck_event(const char *ev)
{
	return flowcheck_event_idx(ev) != -1;
}

static const struct trans *
flowcheck_on(const struct state *st, const char *ev)
{
	size_t	i;

	for (i = 0; i < st->non; i++)
		if (strcmp(st->on[i].event, ev) == 0)
			return &st->on[i];
	return NULL;
}

static int
flowcheck_has(const struct state *st, enum act_kind k)
{
	size_t	i;

	for (i = 0; i < st->nacts; i++)
		if (st->acts[i].kind == k)
			return 1;
	return 0;
}

/*
 * A state that waits for an event (a playback's end, a recording's, a
 * leg's) and has no timeout_ms gets a default one: an event lost for good
 * must not hold a call forever.  It leads to the state's "timeout" edge,
 * or the flow's fallback.  The limit is FLOW_STATE_LIMIT_MS beyond what
 * the state's own timers may take, FLOW_STATE_LIMIT_LEG_MS with a dial or
 * bot (a conversation).
 */
static unsigned int
flowcheck_limit(const struct state *st)
{
	uint64_t		 ms = FLOW_STATE_LIMIT_MS;
	const struct act	*a;
	size_t			 i;

	for (i = 0; i < st->nacts; i++) {
		a = &st->acts[i];
		if (a->kind == ACT_DIAL || a->kind == ACT_BOT)
			ms += FLOW_STATE_LIMIT_LEG_MS;
		else if (a->kind == ACT_WAIT)
			ms += a->ms;
		else if (a->kind == ACT_RECORD)
			ms += (uint64_t)a->max_duration_s * 1000;
		else if (a->kind == ACT_GATHER)
			ms += a->ms + (uint64_t)a->inter_ms * a->max_digits;
	}
	return ms > FLOW_STATE_TIMEOUT_MAX_MS ? FLOW_STATE_TIMEOUT_MAX_MS :
	    (unsigned int)ms;
}

/* Per state: waits/terminal, nothing after the end, a way out. */
static int
flowcheck_state(struct fparse *p, struct state *st)
{
	size_t	i;
	int	e;

	for (i = 0; i < st->nacts; i++) {
		if (st->terminal) {
			fparse_err(p, "action %zu (%s) comes after the call "
			    "left the flow: it would never run", i + 1,
			    act_name(st->acts[i].kind));
			return -1;
		}
		st->waits |= (uint8_t)act_waits(&st->acts[i]);
		st->terminal |= (uint8_t)act_terminal(&st->acts[i]);
	}
	for (i = 0; i < st->non; i++) {
		e = flowcheck_event_idx(st->on[i].event);
		if (flow_events[e].needs != -1 &&
		    !flowcheck_has(st, (enum act_kind)flow_events[e].needs)) {
			fparse_err(p, "event \"%s\" needs a %s action in the "
			    "state", st->on[i].event,
			    act_name((enum act_kind)flow_events[e].needs));
			return -1;
		}
		if (strcmp(st->on[i].event, "timeout") == 0 &&
		    st->timeout_ms == 0) {
			fparse_err(p, "event \"timeout\" needs \"timeout_ms\" "
			    "on the state");
			return -1;
		}
	}
	if (!st->terminal && st->timeout_ms == 0 &&
	    flowcheck_on(st, "done") == NULL) {
		fparse_err(p, "a call could wait here forever: give the state "
		    "\"on\": {\"done\": ...}, a \"timeout_ms\", or end it with "
		    "hangup or continue");
		return -1;
	}
	if (st->waits && st->timeout_ms == 0)
		st->timeout_ms = flowcheck_limit(st);
	return 0;
}

/* Where a state that does not wait goes at once: done, error, fallback. */
static size_t
flowcheck_edges(const struct flowdef *fd, const struct state *st, int *to,
    size_t max)
{
	static const char *const evs[] = { "done", "error" };
	const struct trans	*t;
	size_t			 i, j, n = 0;

	if (st->waits || st->terminal)
		return 0;
	for (i = 0; i < 2; i++) {
		if ((t = flowcheck_on(st, evs[i])) != NULL) {
			for (j = 0; j < t->nbr && n < max; j++)
				to[n++] = t->br[j].to;
		} else if (i == 1 && fd->fallback != -1 && n < max)
			to[n++] = fd->fallback;
	}
	return n;
}

struct cycle_walk {
	const struct flowdef	*fd;
	uint8_t			 color[FLOW_STATES_MAX];	/* 0 new 1 open 2 done */
	int			 path[FLOW_STATES_MAX];
	size_t			 depth;
	int			 found;		/* index in path where it starts */
};

static int
flowcheck_dfs(struct cycle_walk *w, int s)
{
	int	to[2 * FLOW_STATES_MAX + 1];
	size_t	n, i, k;

	w->color[s] = 1;
	w->path[w->depth++] = s;
	n = flowcheck_edges(w->fd, &w->fd->states[s], to,
	    sizeof(to) / sizeof(to[0]));
	for (i = 0; i < n; i++) {
		if (w->color[to[i]] == 1) {
			for (k = 0; w->path[k] != to[i]; k++)
				;
			w->found = (int)k;
			w->path[w->depth++] = to[i];
			return 1;
		}
		if (w->color[to[i]] == 0 && flowcheck_dfs(w, to[i]))
			return 1;
	}
	w->depth--;
	w->color[s] = 2;
	return 0;
}

static void
flowcheck_cycle_err(struct fparse *p, const struct cycle_walk *w)
{
	char	buf[FLOW_ERR_MAX / 2];
	size_t	i, off = 0;

	buf[0] = '\0';
	for (i = (size_t)w->found; i < w->depth && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i > (size_t)w->found ? " -> " : "",
		    w->fd->states[w->path[i]].name);
	p->state = w->fd->states[w->path[w->found]].name;
	fparse_err(p, "cycle of states without a waiting action (play, "
	    "wait, gather, record, dial, bot, webhook): %s", buf);
}

int
flowcheck_flow(struct fparse *p, struct flowdef *fd)
{
	struct cycle_walk	w;
	size_t			i;

	for (i = 0; i < fd->nstates; i++) {
		p->state = fd->states[i].name;
		if (flowcheck_state(p, &fd->states[i]) == -1)
			return -1;
	}
	p->state = NULL;
	memset(&w, 0, sizeof(w));
	w.fd = fd;
	for (i = 0; i < fd->nstates; i++) {
		if (w.color[i] != 0)
			continue;
		w.depth = 0;
		if (flowcheck_dfs(&w, (int)i)) {
			flowcheck_cycle_err(p, &w);
			return -1;
		}
	}
	return 0;
}
