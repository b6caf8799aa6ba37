/*
 * test_flows_held.c — requests Asterisk queues behind an async play wait
 * in the flow-worker, not on an ARI connection.  The simulator runs in
 * its Asterisk-faithful mode (hold_behind_playback: answer and variable
 * sets on a channel with a running playback are answered only when the
 * playback ends) with sounds that end only on cue (/_sim/playbacks_end).
 * 40 calls play such a sound async, then want setvar, record or answer;
 * another call with a short flow meanwhile must not be stalled behind
 * them, and the 40 must complete, without error, once their sounds end.
 * Callers who hang up meanwhile take their held requests with them.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NHALF	20	/* calls of each long flow */

static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

/*
 * rec: answer, async play, setvar, record (held: starts after the sound).
 * early: async play before the answer (held), then setvar.
 * short: answer, play, hang up.
 */
#define HELD_FLOWS \
	"{\"version\": 1, \"flows\": {" \
	"\"rec\": {\"initial\": \"a\", \"states\": {" \
	"\"a\": {\"actions\": [{\"action\": \"answer\"}, {\"action\": " \
	"\"play\", \"media\": \"sound:long\", \"async\": true}, " \
	"{\"action\": \"setvar\", \"var\": \"X\", \"value\": \"1\"}, " \
	"{\"action\": \"record\", \"max_duration_s\": 1}], " \
	"\"on\": {\"done\": \"b\"}}, " \
	"\"b\": {\"actions\": [{\"action\": \"hangup\"}]}}}, " \
	"\"early\": {\"initial\": \"a\", \"states\": {" \
	"\"a\": {\"actions\": [{\"action\": \"play\", \"media\": " \
	"\"sound:long\", \"async\": true}, {\"action\": \"answer\"}, " \
	"{\"action\": \"setvar\", \"var\": \"Y\", \"value\": \"2\"}], " \
	"\"on\": {\"done\": \"b\"}}, " \
	"\"b\": {\"actions\": [{\"action\": \"hangup\"}]}}}, " \
	"\"short\": {\"initial\": \"g\", \"states\": {\"g\": {\"actions\": " \
	"[{\"action\": \"answer\"}, {\"action\": \"play\", \"media\": " \
	"\"sound:hi\"}, {\"action\": \"hangup\"}]}}}}, " \
	"\"routes\": [{\"exten\": \"1\", \"flow\": \"rec\"}, " \
	"{\"exten\": \"2\", \"flow\": \"early\"}, " \
	"{\"default\": true, \"flow\": \"short\"}]}"

static void
start(void)
{
	/* Sounds end only on cue: 10 minutes, then /_sim/playbacks_end. */
	h_flows_start(&env, HELD_FLOWS, "playback_ms=600000&recording_ms=100&"
	    "hold_behind_playback=1", NULL);
}

START_TEST(held_requests_wait_in_the_worker)
{
	start();
	ck_assert_int_eq(h_sim_ctl(&env, "calls?n=20&exten=1"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "calls?n=20&exten=2"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") ==
	    2 * NHALF), "playbacks_active=%ld",
	    h_sim_stat(&env, "playbacks_active"));
	/* Every long call got to a request it holds (answer or record). */
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "answer") == NHALF &&
	    h_log_has(&env, "held behind its playback: POST")),
	    "answer=%ld", h_sim_stat(&env, "answer"));

	/* The short call goes through while all 40 sounds still play. */
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=30"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "call?exten=9"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 1),
	    "calls_ended=%ld", h_sim_stat(&env, "calls_ended"));
	ck_assert_int_eq(h_sim_stat(&env, "playbacks_active"), 2 * NHALF);
	ck_assert_int_eq(h_sim_stat(&env, "answer"), NHALF + 1);
	/* Nothing was sent that Asterisk would have held... */
	ck_assert_int_eq(h_sim_stat(&env, "held_requests_total"), 0);
	/* ...and no recording was asked for while its sound played. */
	ck_assert_int_eq(h_sim_stat(&env, "record"), 0);

	/* The 40 sounds end: the held requests go, the calls finish. */
	ck_assert_int_eq(h_sim_ctl(&env, "playbacks_end"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") ==
	    2 * NHALF + 1), "calls_ended=%ld",
	    h_sim_stat(&env, "calls_ended"));
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 2 * NHALF + 1);
	ck_assert_int_eq(h_sim_stat(&env, "record"), NHALF);
	/*
	 * rec: MAI_STATE twice, X, RECORDING; early: MAI_STATE twice, Y;
	 * short: MAI_STATE.
	 */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"),
	    NHALF * 4 + NHALF * 3 + 1);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 2 * NHALF + 1);
	ck_assert_int_eq(h_sim_stat(&env, "held_requests_total"), 0);
	ck_assert(!h_log_has(&env, "event=error"));
	ck_assert(h_wait_metric(&env, "mai_flow_ari_errors_total", 0, 0));
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "channels") == 0),
	    "channels=%ld", h_sim_stat(&env, "channels"));
}
END_TEST

/* Callers who hang up while their answer is held: it is dropped unsent. */
START_TEST(held_requests_dropped_when_the_caller_leaves)
{
	start();
	ck_assert_int_eq(h_sim_ctl(&env, "calls?n=20&exten=2"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") ==
	    NHALF), "playbacks_active=%ld",
	    h_sim_stat(&env, "playbacks_active"));
	ck_assert(h_wait_log(&env, "held behind its playback: POST"));
	ck_assert_int_eq(h_sim_ctl(&env, "hangup?all=1"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == NHALF &&
	    h_sim_stat(&env, "channels") == 0), "calls_ended=%ld",
	    h_sim_stat(&env, "calls_ended"));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_active", 0, 0));
	/* Not one of the held answers went out after its caller left. */
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 0);
	ck_assert_int_eq(h_sim_stat(&env, "held_requests_total"), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flows_held");
	TCase	*tc = tcase_create("held");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, held_requests_wait_in_the_worker);
	tcase_add_test(tc, held_requests_dropped_when_the_caller_leaves);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
