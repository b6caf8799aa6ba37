/*
 * test_e2e_legs.c — a transfer survives a flow-worker crash, on a real
 * Asterisk 22 (tests/e2e/asterisk.sh).  The caller is bridged with a
 * dialled human (Local/echo@e2e answers and echoes); the flow-worker is
 * killed (-9).  The new one takes the leg over: afterwards, and after it
 * handled every event the supervisor replayed to it, the same leg channel
 * and the same bridge hold both parties, and nobody was dialled again.
 * Then the caller hangs up and nothing is left.
 *
 * Every wait is a liveness bound, never a speed check.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "e2e.h"

#define LEGS_FLOW	"tests/e2e/flows-legs.json"
/* The caller: Echo on one half, Stasis(mai) (any route) on the other. */
#define ORIGINATE	"cli 'channel originate Local/" E2E_SERVICE_EXTEN \
			"@incoming application Echo'"
#define ID_MAX		160

/* The quoted string after the first `key` in body (e.g. "\"mai-b"). */
static bool
quoted_after(const char *body, const char *key, char *out, size_t size)
{
	const char	*p;

	if ((p = strstr(body, key)) == NULL)
		return false;
	p++;
	snprintf(out, size, "%.*s", (int)strcspn(p, "\""), p);
	return true;
}

static int
count_of(const char *body, const char *needle)
{
	const char	*p = body;
	int		 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/*
 * The one bridge of ours, with its leg ("mai-d...") and the caller (the
 * other member).  False unless exactly that is there.
 */
static bool
the_bridge(char *bridge, char *leg, char *caller)
{
	const char	*p, *q;

	if (ari_get("/bridges", r) != 200 || count_of(r->body, "\"mai-b") !=
	    1 || !quoted_after(r->body, "\"mai-b", bridge, ID_MAX) ||
	    (p = strstr(r->body, "\"channels\"")) == NULL ||
	    (p = strchr(p, '[')) == NULL || (q = strchr(p, ']')) == NULL)
		return false;
	leg[0] = caller[0] = '\0';
	while ((p = strchr(p, '"')) != NULL && p < q) {
		p++;
		snprintf(strncmp(p, "mai-d", 5) == 0 ? leg : caller, ID_MAX,
		    "%.*s", (int)strcspn(p, "\""), p);
		p += strcspn(p, "\"") + 1;
	}
	return leg[0] != '\0' && caller[0] != '\0';
}

/* MAI_STATE on the caller names the bridge: a successor will find it. */
static bool
bridge_recorded(const char *caller, const char *bridge)
{
	char	path[256], tag[16];

	snprintf(path, sizeof(path), "/channels/%s/variable?variable="
	    "MAI_STATE", caller);
	snprintf(tag, sizeof(tag), "/%.9s\"", bridge + 4);
	return ari_get(path, r) == 200 && strstr(r->body, tag) != NULL;
}

START_TEST(dial_leg_survives_a_flow_worker_crash)
{
	char	bridge[ID_MAX], leg[ID_MAX], caller[ID_MAX];
	char	b2[ID_MAX], l2[ID_MAX], c2[ID_MAX], path[256];
	pid_t	old, nw;
	long	from, killed;

	e2e_start_ready(LEGS_FLOW, NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "dialled leg answered") == 1), "no answer (log %s)", env.log);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, the_bridge(bridge, leg, caller)),
	    "no bridge with caller and leg: %s", r->body);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, bridge_recorded(caller, bridge)),
	    "MAI_STATE without the bridge: %s", r->body);

	ck_assert_int_gt((old = h_worker_pid(&env, "flow-worker")), 0);
	killed = log_size();
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", old, &nw));
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(killed,
	    "reconcile: done, legs adopted=1, old legs hung up=0, old bridges "
	    "destroyed=0") == 1), "not adopted (log %s)", env.log);
	ck_assert_int_eq(log_count(killed, "why=adopt step=1"), 1);
	/* Every event the supervisor held for the dead worker is handled. */
	ck_assert(h_wait_metric(&env, "mai_events_queued", 0, 0));

	ck_assert_msg(the_bridge(b2, l2, c2), "bridge after the crash: %s",
	    r->body);
	ck_assert_str_eq(b2, bridge);
	ck_assert_str_eq(l2, leg);
	ck_assert_str_eq(c2, caller);
	ck_assert_int_eq(ari_get("/channels", r), 200);
	ck_assert_int_eq(count_of(r->body, "\"mai-d"), 1);
	ck_assert_msg(strstr(r->body, leg) != NULL, "%s", r->body);
	/* Dialled once, answered once, never dialled again. */
	ck_assert_int_eq(log_count(from, "dialled leg answered"), 1);
	ck_assert_int_eq(log_count(killed, "why=resume"), 0);

	/* The caller hangs up: the new worker ends the call, leg and bridge. */
	snprintf(path, sizeof(path), "/ari/channels/%s", caller);
	ck_assert_int_eq(h_http_auth(E2E_ARI_PORT, "DELETE", path, "Basic "
	    E2E_ARI_AUTH, r), 204);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
	snprintf(path, sizeof(path), "pid=%d call ended id=%s", (int)nw,
	    caller);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(killed, path) == 1),
	    "no \"%s\" (log %s)", path, env.log);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e-legs");
	TCase	*tc = tcase_create("asterisk22");

	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, dial_leg_survives_a_flow_worker_crash);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
