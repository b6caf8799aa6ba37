/*
 * test_flows_legs.c — a flow-worker killed (-9) while a call holds a
 * dialled or bot leg: the next one takes the leg over instead of dialling
 * again.  The real supervisor and workers against the ARI simulator,
 * judged by the simulator's request counts (no second originate or
 * externalMedia, no second bridge), by its channels and bridges (the same
 * leg and bridge ids before and after) and by what is left at the end
 * (nothing).  Also: a leg that rings, or that answered, ended, or lost
 * its caller while no flow-worker ran (the worker is stopped, then
 * killed; /_sim/answer picks up a ringing leg), and a leg MAI_STATE
 * does not name.
 */
#include <sys/stat.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Basic base64("mai:mvoice8908!#"): the simulator's ARI user. */
#define SIM_AUTH	"Basic bWFpOm12b2ljZTg5MDghIw=="

static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

/* dial_ended and bot_ended go on to "bye"; a failed dial to "nobody". */
#define LEGS_FLOW(ACT, ON) \
	"{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"talk\", " \
	"\"states\": {\"talk\": {\"actions\": [{\"action\": \"answer\"}, " \
	ACT "], \"on\": {\"done\": \"bye\", " ON "}}, \"bye\": {\"actions\": [{\"action\": " \
	"\"hangup\"}]}, \"nobody\": {\"actions\": [{\"action\": \"hangup\", " \
	"\"cause\": 17}]}}}}, \"routes\": [{\"default\": true, \"flow\": " \
	"\"main\"}]}"
#define DIAL_FLOW	LEGS_FLOW("{\"action\": \"dial\", \"endpoint\": " \
			    "\"Local/agent@e2e\", \"timeout_ms\": 30000}", \
			    "\"dial_ended\": \"bye\", \"dial_failed\": \"nobody\"")
#define BOT_FLOW	LEGS_FLOW("{\"action\": \"bot\"}", \
			    "\"bot_ended\": \"bye\"")

/*
 * Some tests stop the flow-worker on purpose and kill it themselves once
 * the simulator changed things: no heartbeat kill (test_heartbeat.c) in
 * between, unless a test needs other settings.
 */
static void
start(const char *flow_text, const char *more)
{
	h_flows_start(&env, flow_text, "playback_ms=30&answer_delay_ms=30&"
	    "recording_ms=100&continue_ms=10", more != NULL ? more :
	    "MAI_HEARTBEAT_INTERVAL_MS=0");
	ck_assert(h_wait_log(&env, "call flows loaded"));
}

/* GET an ARI path of the simulator, as the flow-worker would. */
static void
ari(const char *path, struct h_resp *r)
{
	ck_assert_int_eq(h_http_auth(env.ari_port, "GET", path, SIM_AUTH, r),
	    200);
}

/* The first id in body that starts with prefix (e.g. "mai-d"), or "". */
static void
find_id(const char *body, const char *prefix, char *id, size_t size)
{
	char		 needle[32];
	const char	*p;

	snprintf(needle, sizeof(needle), "\"%s", prefix);
	if ((p = strstr(body, needle)) == NULL) {
		id[0] = '\0';
		return;
	}
	p++;
	snprintf(id, size, "%.*s", (int)strcspn(p, "\""), p);
}

static void
sim_hangup(const char *id)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "hangup?channel=%s", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
}

/* The one bridge there is: its id, and it holds both channels. */
static void
one_bridge(const char *a, const char *b, char *id, size_t size)
{
	struct h_resp	*r = malloc(sizeof(*r));

	ck_assert_int_eq(h_sim_stat(&env, "bridges"), 1);
	ari("/ari/bridges", r);
	find_id(r->body, "mai-b", id, size);
	ck_assert_msg(id[0] != '\0', "%s", r->body);
	ck_assert_msg(strstr(r->body, a) != NULL && strstr(r->body, b) !=
	    NULL, "bridge without %s or %s: %s", a, b, r->body);
	free(r);
}

static pid_t
kill_flow_worker(int sig)
{
	pid_t	flow = h_worker_pid(&env, "flow-worker");

	ck_assert_int_gt(flow, 0);
	ck_assert_int_eq(kill(flow, sig), 0);
	return flow;
}

static void
wait_new_flow_worker(pid_t old)
{
	pid_t	now;

	ck_assert(h_wait_worker(&env, "flow-worker", old, &now));
}

/*
 * A caller bridged with a dialled Local leg (caller, ;1, ;2).  Waits for
 * MAI_STATE to name the bridge: state entry, ringing, bridged.
 */
static void
dial_bridged(char *id, char *leg, char *bridge, size_t size)
{
	struct h_resp	*r = malloc(sizeof(*r));

	start(DIAL_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, size);
	ck_assert(h_wait_log(&env, "dialled leg answered"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "variable_set") == 3));
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 3);
	ari("/ari/channels", r);
	find_id(r->body, "mai-d", leg, size);
	ck_assert_msg(leg[0] != '\0', "%s", r->body);
	free(r);
	one_bridge(id, leg, bridge, size);
}

START_TEST(dial_leg_is_adopted_then_its_hangup_goes_on)
{
	char	id[128], leg[192], bridge[192], after[192];
	pid_t	flow;

	dial_bridged(id, leg, bridge, sizeof(id));
	flow = kill_flow_worker(SIGKILL);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=1, old legs "
	    "hung up=0, old bridges destroyed=0"));
	ck_assert(h_log_has(&env, "why=adopt step=1"));
	/* Same leg (and its ;2 half), same bridge, nothing dialled again. */
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 3);
	one_bridge(id, leg, after, sizeof(after));
	ck_assert_str_eq(after, bridge);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_create"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_add"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 1);
	/* The agent hangs up: dial_ended, as without the crash. */
	sim_hangup(leg);
	ck_assert(h_wait_log(&env, "flow=main state=bye event=dial_ended"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
}
END_TEST

START_TEST(bot_leg_is_adopted_then_its_end_goes_on)
{
	char	id[128], leg[192], bridge[192], after[192];
	struct h_resp	*r = malloc(sizeof(*r));
	pid_t	flow;

	start(BOT_FLOW, "BOT_MEDIA_HOST=127.0.0.1:40000");
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	/* State entry, then the bridged record. */
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "variable_set") == 2));
	ari("/ari/channels", r);
	find_id(r->body, "mai-e", leg, sizeof(leg));
	ck_assert_msg(leg[0] != '\0', "%s", r->body);
	one_bridge(id, leg, bridge, sizeof(bridge));
	flow = kill_flow_worker(SIGKILL);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=1"));
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 2);
	one_bridge(id, leg, after, sizeof(after));
	ck_assert_str_eq(after, bridge);
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_create"), 1);
	/* The bot hangs up its leg: bot_ended. */
	sim_hangup(leg);
	ck_assert(h_wait_log(&env, "flow=main state=bye event=bot_ended"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 1);
	free(r);
}
END_TEST

/* A dial that rings until /_sim/answer; its leg's id into leg. */
static void
dial_ringing(char *id, char *leg, size_t size)
{
	struct h_resp	*r = malloc(sizeof(*r));

	start(DIAL_FLOW, NULL);
	ck_assert_int_eq(h_sim_ctl(&env, "media?answer_delay_ms=600000"),
	    200);
	h_sim_call(&env, "exten=1", id, size);
	/* State entry, then the ringing leg on MAI_STATE. */
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "variable_set") == 2));
	ari("/ari/channels", r);
	find_id(r->body, "mai-d", leg, size);
	ck_assert_msg(leg[0] != '\0', "%s", r->body);
	free(r);
}

static void
sim_answer(const char *leg)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "answer?channel=%s", leg);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
}

/* Killed while the leg rings: the new worker waits for that leg. */
START_TEST(ringing_leg_is_adopted_and_bridged_on_answer)
{
	char	id[128], leg[192], bridge[192];
	pid_t	flow;

	dial_ringing(id, leg, sizeof(leg));
	flow = kill_flow_worker(SIGKILL);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=1"));
	ck_assert(h_log_has(&env, "bridge=(after the answer)"));
	ck_assert_int_eq(h_sim_stat(&env, "bridges"), 0);
	sim_answer(leg);
	ck_assert(h_wait_log(&env, "dialled leg answered"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	one_bridge(id, leg, bridge, sizeof(bridge));
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
	sim_hangup(id);
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
}
END_TEST

/*
 * The leg answers while the worker is stopped, then it is killed: the
 * new one bridges the answered leg itself, and the StasisStart replayed
 * to it changes nothing (no second bridge).
 */
START_TEST(leg_answered_while_no_worker_ran_is_bridged_once)
{
	char	id[128], leg[192], bridge[192], needle[256];
	pid_t	flow;

	dial_ringing(id, leg, sizeof(leg));
	flow = kill_flow_worker(SIGSTOP);
	sim_answer(leg);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "channels_in_stasis") == 2));
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=1"));
	ck_assert(h_log_has(&env, "bridge=(new)"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	/* The leg's StasisStart, held for the dead worker, reached this one. */
	snprintf(needle, sizeof(needle), "leg=%s is up already", leg);
	ck_assert_msg(h_wait_log(&env, needle), "no \"%s\"", needle);
	one_bridge(id, leg, bridge, sizeof(bridge));
	ck_assert_int_eq(h_sim_stat(&env, "bridge_create"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_add"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
	ck_assert(!h_log_has(&env, "dialled leg answered"));
	sim_hangup(leg);
	ck_assert(h_wait_log(&env, "flow=main state=bye event=dial_ended"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/*
 * The agent hangs up while the worker is stopped, then it is killed: the
 * new one finds the bridge without the leg: dial_ended, bridge destroyed.
 */
START_TEST(leg_gone_while_no_worker_ran_ends_the_dial)
{
	char	id[128], leg[192], bridge[192];
	pid_t	flow;

	dial_bridged(id, leg, bridge, sizeof(id));
	flow = kill_flow_worker(SIGSTOP);
	sim_hangup(leg);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "channels") == 1));
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "its leg ended while no flow-worker ran: "
	    "dial_ended"));
	ck_assert(h_wait_log(&env, "flow=main state=bye event=dial_ended"));
	h_sim_assert_gone(&env, 1);
	ck_assert(h_log_has(&env, "legs adopted=0, old legs hung up=0, old "
	    "bridges destroyed=1"));
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
}
END_TEST

/*
 * The caller hangs up while the worker is stopped: the agent is left
 * alone in the bridge.  The new worker hangs the leg up (its ;2 half goes
 * with it) and destroys the bridge.
 */
START_TEST(leg_without_its_caller_is_hung_up)
{
	char	id[128], leg[192], bridge[192];
	pid_t	flow;

	dial_bridged(id, leg, bridge, sizeof(id));
	flow = kill_flow_worker(SIGSTOP);
	sim_hangup(id);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 1));
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 2);
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: calls in Stasis to resume=0, "
	    "legs without their caller hung up=1"));
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=0, old legs "
	    "hung up=1, old bridges destroyed=1"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
}
END_TEST

/*
 * A leg the record does not name (as if the worker died between creating
 * it and recording it: MAI_STATE is set back by hand while the worker is
 * stopped): hung up with its bridge, and the state runs again.
 */
START_TEST(unrecorded_leg_is_hung_up_and_the_state_runs_again)
{
	char	id[128], leg[192], bridge[192], path[512], now[192], nb[192];
	struct h_resp	*r = malloc(sizeof(*r));
	pid_t	flow;

	dial_bridged(id, leg, bridge, sizeof(id));
	flow = kill_flow_worker(SIGSTOP);
	snprintf(path, sizeof(path), "/ari/channels/%s/variable?variable="
	    "MAI_STATE&value=main/talk/00000000", id);
	ck_assert_int_eq(h_http_auth(env.ari_port, "POST", path, SIM_AUTH, r),
	    204);
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	wait_new_flow_worker(flow);
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=0, old legs "
	    "hung up=1, old bridges destroyed=1"));
	ck_assert(h_log_has(&env, "flow=main state=talk why=resume"));
	/* Dialled anew: a second leg, bridged in a second bridge. */
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "originate") == 2 &&
	    h_sim_stat(&env, "bridge_add") == 2));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "channels") == 3 &&
	    h_sim_stat(&env, "bridges") == 1));
	ari("/ari/channels", r);
	find_id(r->body, "mai-d", now, sizeof(now));
	ck_assert_str_ne(now, leg);
	one_bridge(id, now, nb, sizeof(nb));
	ck_assert_str_ne(nb, bridge);
	sim_hangup(id);
	h_sim_assert_gone(&env, 1);
	free(r);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flows_legs");
	TCase	*tc = tcase_create("adopt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, dial_leg_is_adopted_then_its_hangup_goes_on);
	tcase_add_test(tc, bot_leg_is_adopted_then_its_end_goes_on);
	tcase_add_test(tc, ringing_leg_is_adopted_and_bridged_on_answer);
	tcase_add_test(tc, leg_answered_while_no_worker_ran_is_bridged_once);
	tcase_add_test(tc, leg_gone_while_no_worker_ran_ends_the_dial);
	tcase_add_test(tc, leg_without_its_caller_is_hung_up);
	tcase_add_test(tc, unrecorded_leg_is_hung_up_and_the_state_runs_again);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
