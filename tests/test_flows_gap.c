/*
 * test_flows_gap.c — what happens to a call while no WebSocket is up is
 * found after the gap, and the call ends as its flow says.
 *
 * The gap is opened on cue: the simulator refuses new connections
 * (/_sim/refuse), then the WebSocket goes (/_sim/drop, or the ws-worker
 * killed with -9).  In the gap the simulator sends its events to nobody,
 * as Asterisk does: a playback ends, a recording ends on '#', a dialled
 * or bot leg hangs up, the caller hangs up.  Then connections are taken
 * again; the flow-worker checks its calls (resync.c) and each goes on.
 */
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

/* One state "talk" doing ACT; ON maps its outcomes; "bye" hangs up. */
#define GAP_FLOW(ACT, ON) \
	"{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"talk\", " \
	"\"states\": {\"talk\": {\"actions\": [{\"action\": \"answer\"}, " \
	ACT "], \"on\": {" ON "}}, \"bye\": {\"actions\": [{\"action\": " \
	"\"hangup\"}]}, \"other\": {\"actions\": [{\"action\": \"hangup\", " \
	"\"cause\": 17}]}}}}, \"routes\": [{\"default\": true, \"flow\": " \
	"\"main\"}]}"
#define PLAY_FLOW	GAP_FLOW("{\"action\": \"play\", \"media\": " \
			    "\"sound:hello-world\"}", "\"done\": \"bye\"")
#define GATHER_FLOW	GAP_FLOW("{\"action\": \"gather\", \"prompt\": " \
			    "\"sound:menu\", \"timeout_ms\": 200}", \
			    "\"no_input\": \"bye\", \"digits\": \"other\", " \
			    "\"done\": \"other\"")
#define RECORD_FLOW	GAP_FLOW("{\"action\": \"record\", \"name\": " \
			    "\"msg-${CHANNEL_ID}\", \"max_duration_s\": 0}", \
			    "\"done\": \"bye\"")
#define DIAL_FLOW	GAP_FLOW("{\"action\": \"dial\", \"endpoint\": " \
			    "\"Local/agent@e2e\", \"timeout_ms\": 30000}", \
			    "\"dial_ended\": \"bye\", \"dial_failed\": \"other\", " \
			    "\"done\": \"other\"")
#define BOT_FLOW	GAP_FLOW("{\"action\": \"bot\"}", \
			    "\"bot_ended\": \"bye\", \"done\": \"other\"")

/* Media end only on cue: long sounds and recordings. */
static void
start(const char *flow_text, const char *more)
{
	h_flows_start(&env, flow_text, "playback_ms=600000&answer_delay_ms=30"
	    "&recording_ms=600000&continue_ms=10", more);
	ck_assert(h_wait_log(&env, "call flows loaded"));
}

static void
ctl(const char *fmt, const char *arg)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
}

/* No WebSocket from now until gap_close(): by drop, or a ws-worker killed. */
static pid_t
gap_open(bool kill_ws)
{
	pid_t	ws = h_worker_pid(&env, "ws-worker");

	ck_assert_int_gt(ws, 0);
	ctl("refuse?on=1%s", "");
	if (kill_ws)
		ck_assert_int_eq(kill(ws, SIGKILL), 0);
	else
		ctl("drop%s", "");
	ck_assert(h_wait_log(&env, "WebSocket gap began: events"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "ws_connected") == 0));
	return ws;
}

static void
gap_close(void)
{
	ctl("refuse?on=0%s", "");
	ck_assert(h_wait_log(&env, "WebSocket gap ended gap_ms="));
	ck_assert(h_wait_log(&env, "WebSocket gap: every call checked"));
}

/* The first id in the simulator's GET path that starts with prefix. */
static void
sim_find(const char *path, const char *prefix, char *id, size_t size)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 needle[32];
	const char	*p;

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(h_http_auth(env.ari_port, "GET", path, SIM_AUTH, r),
	    200);
	snprintf(needle, sizeof(needle), "\"%s", prefix);
	id[0] = '\0';
	if ((p = strstr(r->body, needle)) != NULL)
		snprintf(id, size, "%.*s", (int)strcspn(p + 1, "\""), p + 1);
	free(r);
}

/* The sound ends while the ws-worker is dead: the flow goes on to bye. */
START_TEST(playback_ended_in_gap_goes_on)
{
	char	id[128];

	start(PLAY_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "variable_set") == 1));
	gap_open(true);
	ctl("playbacks_end%s", "");
	ck_assert_int_eq(h_sim_stat(&env, "playbacks_active"), 0);
	ck_assert(!h_log_has(&env, "state=bye"));
	gap_close();
	ck_assert(h_wait_log(&env, "flow=main state=bye event=done"));
	ck_assert(h_log_has(&env, "ended during a WebSocket gap"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* The caller hangs up in the gap: the call ends, nothing is left. */
START_TEST(caller_gone_in_gap_ends_the_call)
{
	char	id[128];

	start(PLAY_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	gap_open(false);
	ctl("hangup?channel=%s", id);
	gap_close();
	ck_assert(h_wait_log(&env, "why=gone during a WebSocket gap"));
	h_sim_assert_gone(&env, 1);
	ck_assert(!h_log_has(&env, "state=bye"));
}
END_TEST

/* The prompt ends in the gap: no input follows, as the flow says. */
START_TEST(gather_prompt_ended_in_gap_gives_no_input)
{
	char	id[128];

	start(GATHER_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	gap_open(false);
	ctl("playbacks_end%s", "");
	gap_close();
	ck_assert(h_wait_log(&env, "flow=main state=bye event=no_input"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* The recording ends on '#' in the gap: done, bye. */
START_TEST(recording_ended_in_gap_goes_on)
{
	char	id[128];

	start(RECORD_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "recordings_active") == 1));
	gap_open(false);
	ctl("dtmf?channel=%s&digits=%%23", id);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "recordings_active") == 0));
	gap_close();
	ck_assert(h_wait_log(&env, "flow=main state=bye event=done"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* The agent hangs up in the gap: dial_ended, bye; the bridge goes. */
START_TEST(dialled_leg_gone_in_gap_gives_dial_ended)
{
	char	id[128], leg[192];

	start(DIAL_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	sim_find("/ari/channels", "mai-d", leg, sizeof(leg));
	ck_assert(leg[0] != '\0');
	gap_open(false);
	ctl("hangup?channel=%s", leg);
	gap_close();
	ck_assert(h_wait_log(&env, "flow=main state=bye event=dial_ended"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* The bot leg goes in the gap (ws-worker killed): bot_ended, bye. */
START_TEST(bot_leg_gone_in_gap_gives_bot_ended)
{
	char	id[128], leg[192];

	start(BOT_FLOW, "BOT_MEDIA_HOST=127.0.0.1:40000");
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	sim_find("/ari/channels", "mai-e", leg, sizeof(leg));
	ck_assert(leg[0] != '\0');
	gap_open(true);
	ctl("hangup?channel=%s", leg);
	gap_close();
	ck_assert(h_wait_log(&env, "flow=main state=bye event=bot_ended"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/*
 * An event lost for good: the waiting state's limit (here set on the
 * state) leads to the flow's fallback.
 */
START_TEST(state_limit_leads_to_fallback)
{
	char	id[128];

	start("{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"talk\", "
	    "\"fallback\": \"other\", \"states\": {\"talk\": {\"timeout_ms\": "
	    "300, \"actions\": [{\"action\": \"answer\"}, {\"action\": \"play\", "
	    "\"media\": \"sound:x\"}], \"on\": {\"done\": \"other\"}}, "
	    "\"other\": {\"actions\": [{\"action\": \"hangup\"}]}}}}, "
	    "\"routes\": [{\"default\": true, \"flow\": \"main\"}]}", NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(h_wait_log(&env, "state=talk: timeout: fallback state"));
	ck_assert(h_wait_log(&env, "flow=main state=other event=timeout"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* A call whose StasisStart was lost in the gap is found and runs. */
START_TEST(call_started_unseen_is_taken_up)
{
	char	id[128];

	start(PLAY_FLOW, NULL);
	/* The simulator refuses calls while no socket holds the app. */
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	ctl("hangup?channel=%s", id);
	h_sim_assert_gone(&env, 1);
	ctl("reset_calls%s", "");
	/* Held: a phantom keeps the app, so the call lands unseen. */
	ctl("replaced?app=%s", "mai");
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(h_wait_log(&env, "ApplicationReplaced"));
	ctl("release?app=%s", "mai");
	ck_assert(h_wait_log(&env, "WebSocket gap ended gap_ms="));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	ctl("playbacks_end%s", "");
	ck_assert(h_wait_log(&env, "flow=main state=bye event=done"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/*
 * The caller hangs up and Asterisk is still tearing the channel down
 * (listed, in Stasis) when a gap's listing comes: the call ended once,
 * on its ChannelHangupRequest, and is not taken up again.
 */
START_TEST(call_hanging_up_not_taken_up_by_the_listing)
{
	char	id[128], ended[200];

	start(PLAY_FLOW, NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == 1));
	ctl("hangup?channel=%s&linger_ms=8000", id);
	snprintf(ended, sizeof(ended), "call ended id=%s", id);
	ck_assert(h_wait_log(&env, ended));
	gap_open(false);
	gap_close();
	ck_assert(h_wait_log(&env, "is hanging up: not taken up"));
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 1);
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_log_pos(&env, ended, h_log_pos(&env, ended, 0) +
	    1), -1);
	ck_assert(!h_log_has(&env, "why=resume"));
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("flows_gap");
	TCase	*tc = tcase_create("gap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, playback_ended_in_gap_goes_on);
	tcase_add_test(tc, caller_gone_in_gap_ends_the_call);
	tcase_add_test(tc, gather_prompt_ended_in_gap_gives_no_input);
	tcase_add_test(tc, recording_ended_in_gap_goes_on);
	tcase_add_test(tc, dialled_leg_gone_in_gap_gives_dial_ended);
	tcase_add_test(tc, bot_leg_gone_in_gap_gives_bot_ended);
	tcase_add_test(tc, state_limit_leads_to_fallback);
	tcase_add_test(tc, call_started_unseen_is_taken_up);
	tcase_add_test(tc, call_hanging_up_not_taken_up_by_the_listing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(suite());
}
