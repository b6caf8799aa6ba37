/*
 * lease.c — tell the peers on this edge that this instance lives, and see
 * which of them are gone.
 *
 * ARI cannot say whether an application still has a WebSocket: GET
 * /applications/{app} answers 200 while the application has channels,
 * with or without one (docs/scaling.md).  So every instance keeps a lease
 * on the edge itself: the global variable MAI_LEASE_<ARI_APP>, set every
 * MAI_LEASE_INTERVAL_MS to "MS:R" — this host's monotonic clock in ms (a
 * new value each time, also across flow-worker restarts on one host) and
 * R = 1 when the instance would adopt calls (ready, adoption on).  Peers
 * never compare clocks: each notes when a value last changed, by its own.
 *
 * The flow-worker renews it from its start, before its takeover is done:
 * a flow-worker restart (the supervisor brings it back after 100 ms)
 * pauses the lease far less than MAI_ADOPT_AFTER_MS.  Only the instance
 * going (its supervisor, its host, its link to the edge) or a flow-worker
 * crash-looping into long backoffs lets it stand still.
 *
 * Each round: renew ours, GET /applications (every application with a
 * WebSocket; those without a lease are not mai and never count), read the
 * lease of each peer listed now or before.  A peer first seen counts as
 * alive from then.  When a
 * peer with a lease is gone and this instance is the adopter — the
 * lowest-named among itself and the live peers that would adopt — adopt.c
 * looks for its calls.  All instances read the same variables, so they
 * agree on the adopter within a round or two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"

#define LEASE_VALUE_MAX		32	/* "MS:R" */
#define LEASE_TIMEOUT_MS	(2 * MAI_LEASE_INTERVAL_MS)
/* A peer gone from the listing with a still lease is forgotten after: */
#define LEASE_FORGET_MS		600000

struct peer {
	TAILQ_ENTRY(peer)	 entry;
	char			 name[sizeof(((struct mai_config *)0)->ari_app)];
	char			 value[LEASE_VALUE_MAX];	/* "" none */
	uint64_t		 changed_ns;	/* our clock */
	uint8_t			 listed;	/* in the last listing */
	uint8_t			 adopts;	/* its R */
};

struct lease {
	struct event		*ev;
	TAILQ_HEAD(, peer)	 peers;
	size_t			 npeers;
	uint8_t			 listing;	/* GET /applications out */
	uint8_t			 failing;	/* renewal failed, said */
};

/* A peer's lease read, named: the peer may be gone when it answers. */
struct lease_read {
	struct flow		*f;
	char			 name[sizeof(((struct peer *)0)->name)];
};

static struct peer *
lease_peer(const struct lease *l, const char *name)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &l->peers, entry)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static int
lease_path(char *path, size_t size, const char *app, const char *value)
{
	char	var[sizeof(LEASE_VAR_PREFIX) + sizeof(((struct peer *)0)->name)];

	snprintf(var, sizeof(var), LEASE_VAR_PREFIX "%s", app);
	snprintf(path, size, "/asterisk/variable");
	return areq_path_add(path, size, "variable", var) == -1 ||
	    (value != NULL && areq_path_add(path, size, "value", value) == -1) ?
	    -1 : 0;
}

static void
lease_renew_cb(const struct ari_result *res, void *arg)
{
	struct flow	*f = arg;

	if (res->fail == ARI_FAIL_CANCELLED || f->lease == NULL)
		return;
	if (res->error != NULL && !f->lease->failing)
		log_warnx("lease %s%s not renewed: %s; peers adopt this "
		    "instance's calls if it stays so", LEASE_VAR_PREFIX,
		    f->conf.ari_app, res->error);
	else if (res->error == NULL && f->lease->failing)
		log_info("lease %s%s renewed again", LEASE_VAR_PREFIX,
		    f->conf.ari_app);
	f->lease->failing = res->error != NULL;
}

/* Ours: "MS:R" (the header says why). */
static void
lease_renew(struct flow *f)
{
	char	path[ARI_REST_URL_MAX], value[LEASE_VALUE_MAX];
	int	adopts = f->conf.adopt_after_ms > 0 && claim_is_ready(f);

	snprintf(value, sizeof(value), "%llu:%d",
	    (unsigned long long)(frame_now_ns() / 1000000), adopts);
	if (lease_path(path, sizeof(path), f->conf.ari_app, value) == -1)
		fatalx("lease: path too long");
	/* ari_rest full (a burst): through the backlog, still renewed. */
	if (ari_rest_call(f->rest, "POST", path, NULL, LEASE_TIMEOUT_MS,
	    lease_renew_cb, f) == -1)
		areq_loose(f, "POST", path);
}

static void
lease_read_cb(const struct ari_result *res, void *arg)
{
	struct lease_read	*r = arg;
	struct json_object	*v;
	struct peer		*p;
	const char		*s;

	if (res->fail != ARI_FAIL_CANCELLED && r->f->lease != NULL &&
	    (p = lease_peer(r->f->lease, r->name)) != NULL &&
	    res->error == NULL &&
	    json_object_object_get_ex(res->body, "value", &v) &&
	    (s = json_object_get_string(v)) != NULL &&
	    strcmp(s, p->value) != 0) {
		snprintf(p->value, sizeof(p->value), "%s", s);
		p->changed_ns = frame_now_ns();
		p->adopts = strlen(s) > 2 && strcmp(s + strlen(s) - 2, ":1") == 0;
	}
	free(r);
}

static void
lease_read(struct flow *f, const struct peer *p)
{
	struct lease_read	*r;
	char			 path[ARI_REST_URL_MAX];

	if (lease_path(path, sizeof(path), p->name, NULL) == -1)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("lease");
	r->f = f;
	memcpy(r->name, p->name, sizeof(r->name));
	if (ari_rest_call(f->rest, "GET", path, NULL, LEASE_TIMEOUT_MS,
	    lease_read_cb, r) == -1)
		free(r);
}

/* One application listed: a peer (new ones count as alive from now). */
static void
lease_listed(struct flow *f, const char *name)
{
	struct lease	*l = f->lease;
	struct peer	*p;

	if (strcmp(name, f->conf.ari_app) == 0 ||
	    strlen(name) >= sizeof(p->name))
		return;
	if ((p = lease_peer(l, name)) == NULL) {
		if (l->npeers >= LEASE_PEERS_MAX)
			return;
		if ((p = calloc(1, sizeof(*p))) == NULL)
			fatal("lease");
		memcpy(p->name, name, strlen(name) + 1);
		p->changed_ns = frame_now_ns();
		TAILQ_INSERT_TAIL(&l->peers, p, entry);
		l->npeers++;
	}
	p->listed = 1;
	lease_read(f, p);
}

/*
 * A peer that left the listing is kept while its lease may still move or
 * its calls wait: with subscribeAll (what mai uses) an application leaves
 * GET /applications with its WebSocket, even while it has channels
 * (probed on 22.10.1), so a lost peer is known only from before.
 */
static int
lease_forget(const struct peer *p)
{
	return !p->listed && (p->value[0] == '\0' || frame_now_ns() -
	    p->changed_ns >= (uint64_t)LEASE_FORGET_MS * 1000000);
}

static void
lease_apps_cb(const struct ari_result *res, void *arg)
{
	struct flow		*f = arg;
	struct lease		*l;
	struct peer		*p, *next;
	struct json_object	*name;
	size_t			 i, n;

	if (res->fail == ARI_FAIL_CANCELLED || (l = f->lease) == NULL)
		return;
	l->listing = 0;
	if (res->error != NULL || !json_object_is_type(res->body,
	    json_type_array))
		return;
	TAILQ_FOREACH(p, &l->peers, entry)
		p->listed = 0;
	n = json_object_array_length(res->body);
	for (i = 0; i < n; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(
		    res->body, i), "name", &name))
			lease_listed(f, json_object_get_string(name));
	for (p = TAILQ_FIRST(&l->peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (lease_forget(p)) {
			TAILQ_REMOVE(&l->peers, p, entry);
			l->npeers--;
			free(p);
		} else if (!p->listed)
			lease_read(f, p);
	}
}

static int
lease_stale(const struct flow *f, const struct peer *p)
{
	return p->value[0] != '\0' && frame_now_ns() - p->changed_ns >=
	    (uint64_t)f->conf.adopt_after_ms * 1000000;
}

/* Is `app` a peer whose lease stood still for MAI_ADOPT_AFTER_MS? */
int
lease_gone(const struct flow *f, const char *app)
{
	const struct peer	*p;

	return f->lease != NULL && f->conf.adopt_after_ms > 0 &&
	    (p = lease_peer(f->lease, app)) != NULL && lease_stale(f, p);
}

/*
 * Some peer gone and this instance the one to adopt: ready, and no live
 * peer that would adopt sorts before it.
 */
static int
lease_adopter(const struct flow *f)
{
	const struct peer	*p;
	int			 gone = 0;

	if (f->conf.adopt_after_ms == 0 || !claim_is_ready(f))
		return 0;
	TAILQ_FOREACH(p, &f->lease->peers, entry) {
		if (lease_stale(f, p))
			gone = 1;
		else if (p->value[0] != '\0' && p->adopts &&
		    strcmp(p->name, f->conf.ari_app) < 0)
			return 0;
	}
	return gone;
}

static void
lease_round_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)ev;
	lease_renew(f);
	if (lease_adopter(f))
		adopt_scan(f);
	if (!f->lease->listing && ari_rest_call(f->rest, "GET",
	    "/applications", NULL, LEASE_TIMEOUT_MS, lease_apps_cb, f) == 0)
		f->lease->listing = 1;
}

void
lease_start(struct flow *f)
{
	struct timeval	tv = { MAI_LEASE_INTERVAL_MS / 1000,
			    (MAI_LEASE_INTERVAL_MS % 1000) * 1000 };

	if ((f->lease = calloc(1, sizeof(*f->lease))) == NULL)
		fatal("lease");
	TAILQ_INIT(&f->lease->peers);
	if ((f->lease->ev = event_new(f->base, -1, EV_PERSIST, lease_round_cb,
	    f)) == NULL)
		fatalx("event_new");
	evtimer_add(f->lease->ev, &tv);
	lease_round_cb(-1, 0, f);
}

void
lease_free(struct flow *f)
{
	struct peer	*p;

	if (f->lease == NULL)
		return;
	event_free(f->lease->ev);
	while ((p = TAILQ_FIRST(&f->lease->peers)) != NULL) {
		TAILQ_REMOVE(&f->lease->peers, p, entry);
		free(p);
	}
	free(f->lease);
	f->lease = NULL;
}
