/*
 * test_flows_stop_early.c — a playback stopped before Asterisk answered
 * its POST /channels/{id}/play/{playbackId}.  A DELETE /playbacks/{id}
 * sent then would find no playback (404) and the sound would play on;
 * the flow-worker queues it right behind the play (areq_call_behind).
 * The simulator holds the play on cue (hold_play, /_sim/play_release),
 * runs Asterisk-faithful (hold_behind_playback: a variable set waits
 * while a playback runs) and logs the order of its answers
 * (/_sim/requests).  Two ways to stop early: a DTMF that interrupts a
 * gather's prompt, and a DTMF that leaves a state during an async play.
 * Either way: one DELETE, after the play's 201; the flow goes on.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

/*
 * gather (exten 1): its prompt is interrupted by the first digit.
 * async (exten 2): DTMF 5 leaves the state while its sound starts.
 * Both end in b: setvar, play, hang up.
 */
#define STATE_B \
	"\"b\": {\"actions\": [{\"action\": \"setvar\", \"var\": \"Y\", " \
	"\"value\": \"2\"}, {\"action\": \"play\", \"media\": " \
	"\"sound:bye\"}, {\"action\": \"hangup\"}]}"
#define STOP_FLOWS \
	"{\"version\": 1, \"flows\": {" \
	"\"gather\": {\"initial\": \"g\", \"states\": {" \
	"\"g\": {\"actions\": [{\"action\": \"answer\"}, {\"action\": " \
	"\"gather\", \"prompt\": [\"sound:long\"], \"max_digits\": 1, " \
	"\"timeout_ms\": 600000, \"var\": \"D\"}], " \
	"\"on\": {\"digits:5\": \"b\"}, \"timeout_ms\": 600000}, " STATE_B \
	"}}, " \
	"\"async\": {\"initial\": \"a\", \"states\": {" \
	"\"a\": {\"actions\": [{\"action\": \"answer\"}, {\"action\": " \
	"\"play\", \"media\": \"sound:long\", \"async\": true}, " \
	"{\"action\": \"setvar\", \"var\": \"X\", \"value\": \"1\"}], " \
	"\"on\": {\"dtmf:5\": \"b\"}, \"timeout_ms\": 600000}, " STATE_B \
	"}}}, " \
	"\"routes\": [{\"exten\": \"1\", \"flow\": \"gather\"}, " \
	"{\"exten\": \"2\", \"flow\": \"async\"}]}"

static void
start(void)
{
	/* Sounds end only on cue: 10 minutes, then /_sim/playbacks_end. */
	h_flows_start(&env, STOP_FLOWS, "playback_ms=600000&"
	    "hold_behind_playback=1&hold_play=1", NULL);
}

/*
 * The simulator's answers in order: the channel's first play must be
 * answered 201, and its playback stopped by exactly one DELETE, answered
 * 204, after that.
 */
static void
assert_one_stop_after_play(const char *id)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 play[256], del[256], pbid[160];
	const char	*p, *q;
	int		 ndel = 0;

	ck_assert_int_eq(h_http(env.ari_port, "GET", "/_sim/requests", r),
	    200);
	snprintf(play, sizeof(play), "POST /ari/channels/%s/play/", id);
	ck_assert_msg((p = strstr(r->body, play)) != NULL, "no play: %s",
	    r->body);
	snprintf(pbid, sizeof(pbid), "%.*s", (int)strcspn(p + strlen(play),
	    "\""), p + strlen(play));
	ck_assert_msg(strncmp(p - 4, "201 ", 4) == 0, "play: %.60s", p - 4);
	snprintf(del, sizeof(del), "DELETE /ari/playbacks/%s\"", pbid);
	for (q = r->body; (q = strstr(q, del)) != NULL; q++) {
		ndel++;
		ck_assert_msg(q > p, "stop before its play was answered: %s",
		    r->body);
		ck_assert_msg(strncmp(q - 4, "204 ", 4) == 0, "stop: %.60s",
		    q - 4);
	}
	ck_assert_msg(ndel == 1, "%d stops of %s: %s", ndel, pbid, r->body);
	free(r);
}

/*
 * The call's play is held; `digits` comes; the play is let through: the
 * flow must reach b, stop the first sound once (after its POST), play
 * the second and hang up when it ends.
 */
static void
stop_while_play_unanswered(const char *exten, const char *flow,
    const char *event)
{
	char	id[128], cmd[256], needle[256], query[64];

	start();
	snprintf(query, sizeof(query), "exten=%s", exten);
	h_sim_call(&env, query, id, sizeof(id));
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "held_plays") == 1),
	    "held_plays=%ld", h_sim_stat(&env, "held_plays"));
	snprintf(cmd, sizeof(cmd), "dtmf?channel=%s&digits=5", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	snprintf(needle, sizeof(needle), "call id=%s flow=%s state=b "
	    "event=%s", id, flow, event);
	ck_assert(h_wait_log(&env, needle));
	/* The stop waits in the worker, behind the play, with all after it. */
	ck_assert_int_eq(h_sim_stat(&env, "stop_playback"), 0);
	ck_assert_int_eq(h_sim_stat(&env, "play"), 0);

	/* Only now does "Asterisk" see the play: the stop must follow it. */
	ck_assert_int_eq(h_sim_ctl(&env, "media?hold_play=0"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "play_release"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "play") == 2 &&
	    h_sim_stat(&env, "playbacks_active") == 1), "play=%ld "
	    "playbacks_active=%ld", h_sim_stat(&env, "play"),
	    h_sim_stat(&env, "playbacks_active"));
	assert_one_stop_after_play(id);

	/* b's sound ends on cue; the call hangs up. */
	ck_assert_int_eq(h_sim_ctl(&env, "playbacks_end"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 1 &&
	    h_sim_stat(&env, "channels") == 0), "calls_ended=%ld",
	    h_sim_stat(&env, "calls_ended"));
	ck_assert_int_eq(h_sim_stat(&env, "playbacks_active"), 0);
	ck_assert_int_eq(h_sim_stat(&env, "stop_playback"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "held_requests_total"), 0);
	ck_assert(!h_log_has(&env, "event=error"));
	ck_assert(h_wait_metric(&env, "mai_flow_ari_errors_total", 0, 0));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_active", 0, 0));
}

/* The first digit stops the gather's prompt before its play is answered. */
START_TEST(gather_prompt_stopped_before_its_play_was_answered)
{
	stop_while_play_unanswered("1", "gather", "digits:5");
	/* MAI_STATE (g), D, MAI_STATE (b), Y. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 4);
}
END_TEST

/* DTMF leaves the state while its async play is not answered yet. */
START_TEST(async_play_left_before_its_play_was_answered)
{
	stop_while_play_unanswered("2", "async", "dtmf:5");
	/* MAI_STATE (a), MAI_STATE (b), Y; a's setvar never ran. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 3);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flows_stop_early");
	TCase	*tc = tcase_create("stop_early");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, gather_prompt_stopped_before_its_play_was_answered);
	tcase_add_test(tc, async_play_left_before_its_play_was_answered);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
