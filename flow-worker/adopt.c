/*
 * adopt.c — move the calls of a lost instance here and resume them.
 *
 * lease.c says when a peer is gone and this instance is the one to adopt.
 * Then (docs/scaling.md has what Asterisk 22.10.1 was seen doing):
 * 1. GET /channels: the callers in StasisBroadcast whose MAI_APP names the
 *    gone peer (channelvars carry it), not already moving here.
 * 2. For each: stop the playbacks of the state its MAI_STATE records and
 *    destroy the bridge it records — a move waits for the channel's
 *    current control command, so a long prompt would hold it up, and a
 *    variable set would even block the request behind it — then POST
 *    /channels/{id}/move?app=ARI_APP&appArgs=mai-adopt.  Its legs
 *    ("mai-...-CALLER") are hung up: the state runs again (below).
 * 3. The StasisStart with mai-adopt: the call is resumed from MAI_STATE
 *    like a call a dead flow-worker left (resume.c), MAI_APP rewritten
 *    first (in the call's ARI order, the playback stopped: no wait).
 *
 * Only the adopter moves: a move always wins over an earlier one (a later
 * mover takes the channel, the earlier owner gets StasisEnd), so two
 * movers would not make two owners, but would make the call start twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

/* Moves that wait for their StasisStart, at most ADOPT_MOVES_MAX. */
struct adopt_move {
	TAILQ_ENTRY(adopt_move)	 entry;
	uint64_t		 since_ns;
	char			 id[FLOW_CHAN_ID_MAX];
};

struct adopt {
	TAILQ_HEAD(, adopt_move) moves;
	size_t			 nmoves;
	uint64_t		 scanned_ns;	/* last listing asked */
	uint8_t			 scanning;	/* GET /channels out */
};

static struct adopt *
adopt_of(struct flow *f)
{
	if (f->adopt == NULL) {
		if ((f->adopt = calloc(1, sizeof(*f->adopt))) == NULL)
			fatal("adopt");
		TAILQ_INIT(&f->adopt->moves);
	}
	return f->adopt;
}

static struct adopt_move *
adopt_move_find(struct adopt *a, const char *id)
{
	struct adopt_move	*m;

	TAILQ_FOREACH(m, &a->moves, entry)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

static void
adopt_move_free(struct adopt *a, struct adopt_move *m)
{
	TAILQ_REMOVE(&a->moves, m, entry);
	a->nmoves--;
	free(m);
}

/* A channel's variable as GET /channels and events carry it, or "". */
static const char *
adopt_chanvar(struct json_object *ch, const char *name)
{
	struct json_object	*vars, *v;

	if (json_object_object_get_ex(ch, "channelvars", &vars) &&
	    json_object_object_get_ex(vars, name, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

static const char *
adopt_str(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, k1, &v) ||
	    (k2 != NULL && !json_object_object_get_ex(v, k2, &v)) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
adopt_delete(struct flow *f, const char *kind, const char *tag,
    const char *id)
{
	char	path[ARI_REST_URL_MAX];

	if (ari_rest_path(path, sizeof(path), "/%s/" FLOW_ID_PREFIX "%s-%s",
	    kind, tag, id) != -1)
		areq_loose(f, "DELETE", path);
}

/*
 * What MAI_STATE ("FLOW/STATE/SEQ[/STEP/LEG[/BRIDGE]]") says the lost
 * owner had running: the state's playbacks (ids SEQ, SEQ+1, ...) and the
 * bridge.  A state these flows do not have: nothing known to stop.
 */
static void
adopt_stop(struct flow *f, const char *id, const char *where)
{
	char			 buf[FLOW_RECORD_MAX], *p = buf, *fld[6];
	char			 tag[FLOW_OBJ_TAG_LEN + 1];
	const struct state	*st;
	size_t			 i, n = 0, ids = 0;
	int			 fl, s;

	if (strlen(where) >= sizeof(buf))
		return;
	memcpy(buf, where, strlen(where) + 1);
	while (n < 6 && (fld[n] = strsep(&p, "/")) != NULL)
		n++;
	if (n == 6 && strlen(fld[5]) == FLOW_OBJ_TAG_LEN)
		adopt_delete(f, "bridges", fld[5], id);
	if (n < 3 || f->fs == NULL || (fl = flowset_flow(f->fs, fld[0])) == -1 ||
	    (s = flowdef_state(&f->fs->flows[fl], fld[1])) == -1)
		return;
	st = &f->fs->flows[fl].states[s];
	for (i = 0; i < st->nacts; i++)
		ids += act_ids(&st->acts[i]);
	for (i = 0; i < ids; i++) {
		snprintf(tag, sizeof(tag), "p%08x", (unsigned int)
		    (strtoul(fld[2], NULL, 16) + i));
		adopt_delete(f, "playbacks", tag, id);
	}
}

/* A caller of a gone peer: moved here (1), or not one (0). */
static int
adopt_caller(struct flow *f, struct json_object *ch)
{
	struct adopt		*a = f->adopt;
	struct adopt_move	*m;
	const char		*id = adopt_str(ch, "id", NULL);
	const char		*app = adopt_str(ch, "dialplan", "app_name");
	const char		*owner = adopt_chanvar(ch, CLAIM_OWNER_VAR);
	char			 path[ARI_REST_URL_MAX];

	if (id == NULL || app == NULL || strncmp(id, FLOW_ID_PREFIX,
	    strlen(FLOW_ID_PREFIX)) == 0 || strlen(id) >= sizeof(m->id) ||
	    strcmp(app, "StasisBroadcast") != 0 || owner[0] == '\0' ||
	    strcmp(owner, f->conf.ari_app) == 0 || !lease_gone(f, owner) ||
	    call_find(f, id) != NULL || adopt_move_find(a, id) != NULL ||
	    a->nmoves >= ADOPT_MOVES_MAX)
		return 0;
	if (ari_rest_path(path, sizeof(path), "/channels/%s/move", id) == -1 ||
	    areq_path_add(path, sizeof(path), "app", f->conf.ari_app) == -1 ||
	    areq_path_add(path, sizeof(path), "appArgs", ADOPT_APP_ARGS) == -1)
		return 0;
	adopt_stop(f, id, adopt_chanvar(ch, FLOW_STATE_VAR));
	areq_loose(f, "POST", path);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("adopt");
	memcpy(m->id, id, strlen(id) + 1);
	m->since_ns = frame_now_ns();
	TAILQ_INSERT_TAIL(&a->moves, m, entry);
	a->nmoves++;
	log_info("adopting call id=%s from=%s state=%s", id, owner,
	    adopt_chanvar(ch, FLOW_STATE_VAR));
	return 1;
}

/* A leg ("mai-" TAG "-" CALLER) of a caller moving here: hung up (1). */
static int
adopt_leg(struct flow *f, struct json_object *ch)
{
	const char	*id = adopt_str(ch, "id", NULL);
	size_t		 pre = strlen(FLOW_ID_PREFIX) + FLOW_OBJ_TAG_LEN + 1;
	char		 path[ARI_REST_URL_MAX];

	/* A Local ;2 half goes with its ;1. */
	if (id == NULL || strncmp(id, FLOW_ID_PREFIX, strlen(FLOW_ID_PREFIX))
	    != 0 || strlen(id) <= pre || id[strlen(FLOW_ID_PREFIX)] == 'o' ||
	    adopt_move_find(f->adopt, id + pre) == NULL ||
	    ari_rest_path(path, sizeof(path), "/channels/%s", id) == -1)
		return 0;
	areq_loose(f, "DELETE", path);
	return 1;
}

static void
adopt_list_cb(const struct ari_result *res, void *arg)
{
	struct flow	*f = arg;
	size_t		 i, n, moved = 0, legs = 0;

	if (res->fail == ARI_FAIL_CANCELLED || f->adopt == NULL)
		return;
	f->adopt->scanning = 0;
	if (res->error != NULL || !json_object_is_type(res->body,
	    json_type_array)) {
		log_warnx("adopt: cannot list channels: %s", res->error != NULL ?
		    res->error : "not a list");
		return;
	}
	/* Ready may have gone while the list came. */
	if (!claim_is_ready(f))
		return;
	n = json_object_array_length(res->body);
	for (i = 0; i < n; i++)
		moved += (size_t)adopt_caller(f,
		    json_object_array_get_idx(res->body, i));
	for (i = 0; moved > 0 && i < n; i++)
		legs += (size_t)adopt_leg(f, json_object_array_get_idx(
		    res->body, i));
	if (moved > 0)
		log_info("adopt: calls of lost instances moving here=%zu, "
		    "their legs hung up=%zu", moved, legs);
}

/*
 * lease.c: a peer is gone and this instance adopts.  One listing at a
 * time, at most one every ADOPT_RESCAN_MS (a gone peer stays listed while
 * it has channels, also ones that are not adoptable); a move not seen to arrive within ADOPT_MOVE_WAIT_MS is tried
 * again (a move waits behind a playback we could not name).
 */
void
adopt_scan(struct flow *f)
{
	struct adopt		*a = adopt_of(f);
	struct adopt_move	*m, *next;
	struct ari_call_opts	 opts = {
		.timeout_ms = FLOW_RECONCILE_HOLD_MS,
		.body_max = FLOW_RECONCILE_BODY_MAX,
	};

	for (m = TAILQ_FIRST(&a->moves); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (frame_now_ns() - m->since_ns >=
		    (uint64_t)ADOPT_MOVE_WAIT_MS * 1000000)
			adopt_move_free(a, m);
	}
	if (a->scanning || (a->scanned_ns != 0 && frame_now_ns() -
	    a->scanned_ns < (uint64_t)ADOPT_RESCAN_MS * 1000000) ||
	    ari_rest_call_opts(f->rest, "GET", "/channels",
	    NULL, &opts, adopt_list_cb, f) == -1)
		return;
	a->scanning = 1;
	a->scanned_ns = frame_now_ns();
}

/*
 * ariev.c: a StasisStart with appArgs mai-adopt (ch: the channel, with
 * its channelvars).  Resumed like a call a dead flow-worker left: its
 * owner is rewritten first, then its state runs again (resume.c).
 */
void
adopt_started(struct flow *f, const char *id, struct json_object *ch)
{
	struct adopt_move	*m;
	struct call		*c;
	char			 path[ARI_REST_URL_MAX];
	const char		*where = adopt_chanvar(ch, FLOW_STATE_VAR);
	unsigned long long	 ms = 0;

	if ((m = adopt_move_find(adopt_of(f), id)) != NULL) {
		ms = (frame_now_ns() - m->since_ns) / 1000000;
		adopt_move_free(f->adopt, m);
	}
	if ((c = call_new(f, id)) == NULL) {
		log_warnx("call id=%s: adopted but too many calls or id too "
		    "long: it continues in the dialplan", id);
		if (ari_rest_path(path, sizeof(path), "/channels/%s/continue",
		    id) != -1)
			areq_loose(f, "POST", path);
		return;
	}
	log_info("call adopted id=%s from=%s state=%s move_ms=%llu", id,
	    adopt_chanvar(ch, CLAIM_OWNER_VAR), where, ms);
	c->phase = CALL_RESUMING;
	ariev_fill_call(c, ch);
	claim_started(c);
	resume_state(c, where[0] != '\0' ? where : NULL);
}

void
adopt_free(struct flow *f)
{
	if (f->adopt == NULL)
		return;
	while (!TAILQ_EMPTY(&f->adopt->moves))
		adopt_move_free(f->adopt, TAILQ_FIRST(&f->adopt->moves));
	free(f->adopt);
	f->adopt = NULL;
}
