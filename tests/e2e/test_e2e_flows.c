/*
 * test_e2e_flows.c — call flows end to end: the real mai-supervisor (and
 * its flow-worker) against a real Asterisk 22 (tests/e2e/asterisk.sh).
 * The shipped default flow runs to its end by itself; a flow-worker killed
 * with 20 calls in progress leaves none behind; a caller hanging up during
 * a playback leaves no channel or bridge; a setvar behind an async play
 * does not fail the call; an answer and a record behind one wait for the
 * sound to end and do not fail either.
 *
 * Asterisk's port 8088 is fixed by asterisk-conf/http.conf, so the tests
 * run one after another in one tcase; setup and teardown stop Asterisk.
 * Every wait is a liveness bound, never a speed check.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "e2e.h"

#define ORIGINATE		"cli 'channel originate Local/" E2E_SERVICE_EXTEN \
				"@incoming application Echo'"
/* Liveness bounds (ms): the default flow ends a silent call after about
 * 10 s. */
#define CALL_END_BOUND_MS	40000
/*
 * After the flow-worker is killed every call is over within this, counted
 * from the kill: the product's requirement (each call finishes its flow
 * or is ended through the fallback within 10 s; none stays in Stasis).
 */
#define CRASH_BOUND_MS		10000
#define CRASH_CALLS		20
#define LONG_FLOW		"tests/e2e/flows-long.json"
#define SETVAR_FLOW		"tests/e2e/flows-setvar.json"
#define RECORD_FLOW		"tests/e2e/flows-record.json"

/*
 * The shipped default flow (flows/default.json): answer, greeting, menu;
 * no digits, so the menu's no_input hangs up.  The call ends by itself.
 */
START_TEST(default_flow_ends_by_itself)
{
	const char *const walk[] = {
	    "call started id=",
	    "flow=main state=greeting event=",
	    "flow=main state=menu event=done",
	    "flow=main state=hangup event=no_input",
	    "call ended id=", NULL };
	long	from;

	e2e_start_ready(NULL, NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call started id=") == 1));
	ck_assert_int_eq(log_count(from, "exten=" E2E_SERVICE_EXTEN), 1);
	ck_assert_int_gt(active_channels(), 0);
	e2e_call_over(from, CALL_END_BOUND_MS, walk);
}
END_TEST

/*
 * 20 calls in a ~6 s playback; the flow-worker is killed (-9).  The new
 * one resumes them (reconcile), and every call ends: nothing stays in
 * Stasis, no channel, no bridge.
 */
START_TEST(flow_worker_killed_with_calls_leaves_none_behind)
{
	pid_t	old, nw;
	long	from, killed, t_kill, t_ready, t_gone;
	int	i, up, resumed;
	char	ended[64];

	e2e_start_ready(LONG_FLOW, NULL);
	ck_assert_int_gt((old = h_worker_pid(&env, "flow-worker")), 0);
	from = log_size();
	for (i = 0; i < CRASH_CALLS; i++)
		ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "flow=long state=talk why=start") == CRASH_CALLS),
	    "calls started: %d", log_count(from, "call started id="));
	/* Two channels (the Local pair) per call, while they play. */
	ck_assert_int_ge((up = active_channels()), 2);
	ck_assert_int_lt(log_count(from, "call ended id="), CRASH_CALLS);
	killed = log_size();
	t_kill = h_now_ms();
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", old, &nw));
	ck_assert_int_ne(nw, old);
	t_ready = h_now_ms() - t_kill;
	ck_assert_msg(WAIT_UPTO(CRASH_BOUND_MS - (h_now_ms() - t_kill),
	    all_gone()), "still there %d s after the kill: channels=%d "
	    "(before: %d); last ARI answer: %s", CRASH_BOUND_MS / 1000,
	    active_channels(), up, r->body);
	t_gone = h_now_ms() - t_kill;
	fprintf(stderr, "crash: %d calls; after kill -9: new flow-worker "
	    "ready %ld ms, every call gone %ld ms (bound %d ms)\n",
	    CRASH_CALLS, t_ready, t_gone, CRASH_BOUND_MS);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(killed,
	    "reconcile: calls in Stasis to resume=") == 1),
	    "no reconcile after the kill (log %s)", env.log);
	resumed = log_number(killed, "reconcile: calls in Stasis to resume=");
	ck_assert_int_gt(resumed, 0);
	ck_assert_int_le(resumed, CRASH_CALLS);
	ck_assert_int_eq(log_count(killed, "why=resume"), resumed);
	ck_assert_int_eq(log_count(killed, "cannot resume"), 0);
	/* The new flow-worker saw each call it resumed to its end. */
	snprintf(ended, sizeof(ended), "pid=%d call ended id=", (int)nw);
	ck_assert_int_eq(log_count(killed, ended), resumed);
}
END_TEST

/* The caller hangs up during the playback: nothing of the call stays. */
START_TEST(caller_hangup_during_playback_leaves_nothing)
{
	const char *const walk[] = {
	    "flow=long state=talk event=start",
	    "object=mai-p",
	    "type=ChannelHangupRequest",
	    "call ended id=", NULL };
	const char	*missing;
	long		 from;

	e2e_start_ready(LONG_FLOW, NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, playback_live(from)),
	    "Asterisk plays nothing of ours: %d %s", r->status, r->body);
	ck_assert_int_eq(log_count(from, "call ended id="), 0);
	ck_assert_int_eq(log_count(from, "state=bye"), 0);
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel request hangup all'"), 0);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_in_order(from, walk,
	    &missing)), "flow-worker never logged \"%s\" (log %s)", missing,
	    env.log);
	/* It ended in the playback state, not through the flow's hangup. */
	ck_assert_int_eq(log_count(from, "state=bye"), 0);
	ck_assert_int_eq(log_count(from, "call ended id="), 1);
	/* "call started ... state=talk why=start", "call ended ... state=talk
	 * why=...": the call ended where it played. */
	ck_assert_int_eq(log_count(from, "flow=long state=talk why=start"), 1);
	ck_assert_int_eq(log_count(from, "flow=long state=talk why="), 2);
	/* Asterisk ended the playback and took the channel out of Stasis. */
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "type=PlaybackFinished") == 1 &&
	    log_count(from, "type=StasisEnd") == 1));
}
END_TEST

/*
 * A setvar while an async play goes on: Asterisk 22 answers it only when
 * the sound ends, after the ARI request bound (5 s), so the flow-worker
 * holds it until then.  The call is not failed for that: the flow goes on
 * (7 s wait, stop, next state) and the channel has the variable once the
 * sound stopped.
 */
START_TEST(setvar_behind_async_play_does_not_fail_the_call)
{
	char	id[128], path[256];
	long	from;

	e2e_start_ready(SETVAR_FLOW, NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call started id=") == 1));
	ck_assert(log_token(from, "call started id=", id, sizeof(id)));
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "flow=held state=after event=done") == 1), "the flow did not go "
	    "on after the setvar (log %s)", env.log);
	snprintf(path, sizeof(path), "/channels/%s/variable?variable=E2E", id);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, ari_get(path, r) == 200 &&
	    strstr(r->body, "\"held\"") != NULL), "E2E not set: %d %s",
	    r->status, r->body);
	ck_assert_int_eq(log_count(from, "call ended id="), 0);
	/* It waited in the flow-worker, not on an ARI connection. */
	ck_assert_int_eq(log_count(from, "held behind its playback: POST"), 1);
	ck_assert_int_eq(log_count(from, "ARI request failed"), 0);
	ck_assert_int_eq(log_count(from, "level=warn proc=flow-worker"), 0);
	ck_assert_int_eq(h_metric(&env, "mai_flow_ari_errors_total"), 0);
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel request hangup all'"), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, all_gone()));
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "flow=held state=after why=") == 1));
}
END_TEST

/*
 * An async play longer than the ARI request bound (5 s), then answer and
 * record: Asterisk would hold both behind the sound; the flow-worker
 * holds them itself until PlaybackFinished, so neither times out, the
 * recording starts after the sound and the call ends by its flow.
 */
START_TEST(answer_and_record_behind_async_play_wait_for_the_sound)
{
	const char *const walk[] = {
	    "call started id=",
	    "held behind its playback: POST",
	    "type=PlaybackFinished",
	    "type=RecordingFinished",
	    "flow=rec state=bye event=done",
	    "call ended id=", NULL };
	const char	*missing;
	long		 from;

	e2e_start_ready(RECORD_FLOW, NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call started id=") == 1));
	/* Asterisk records only once the sound it was held behind ended. */
	ck_assert_msg(WAIT_UPTO(CALL_END_BOUND_MS, recording_live(from)),
	    "Asterisk never recorded: %d %s", r->status, r->body);
	ck_assert_int_eq(log_count(from, "type=PlaybackFinished"), 1);
	ck_assert_msg(WAIT_UPTO(CALL_END_BOUND_MS, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_in_order(from, walk,
	    &missing)), "flow-worker never logged \"%s\" (log %s)", missing,
	    env.log);
	ck_assert_int_eq(log_count(from, "event=error"), 0);
	ck_assert_int_eq(log_count(from, "ARI request failed"), 0);
	ck_assert_int_eq(log_count(from, "level=warn proc=flow-worker"), 0);
	ck_assert_int_eq(h_metric(&env, "mai_flow_ari_errors_total"), 0);
	ck_assert_int_eq(log_count(from, "call ended id="), 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e-flows");
	TCase	*tc = tcase_create("asterisk22");

	/* One tcase, in order: they share Asterisk's fixed port 8088. */
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, default_flow_ends_by_itself);
	tcase_add_test(tc, flow_worker_killed_with_calls_leaves_none_behind);
	tcase_add_test(tc, caller_hangup_during_playback_leaves_nothing);
	tcase_add_test(tc, setvar_behind_async_play_does_not_fail_the_call);
	tcase_add_test(tc,
	    answer_and_record_behind_async_play_wait_for_the_sound);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
