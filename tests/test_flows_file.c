/*
 * test_flows_file.c — broken flow files are refused with one line that
 * says where and what, by `mai-flow-worker --check` and by the running
 * flow-worker; a broken file at start leaves the worker up with no flows
 * (calls continue in the dialplan), and a broken reload keeps the flows
 * that run.
 */
#include <sys/stat.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

#define GOOD_FLOW \
	"{\"version\": 1, \"flows\": {\"m\": {\"initial\": \"a\", \"states\": " \
	"{\"a\": {\"actions\": [{\"action\": \"answer\"}, {\"action\": " \
	"\"play\", \"media\": \"sound:hello-world\"}, {\"action\": " \
	"\"hangup\"}]}}}}, \"routes\": [{\"default\": true, \"flow\": \"m\"}]}"

/* Each broken file, and words its error line must hold. */
static const struct {
	const char	*name;
	const char	*text;
	const char	*want;
} bad[] = {
	{ "syntax", "{\"version\": 1,\n  \"flows\": {\"m\": {\"initial\": "
	    "\"a\",\n  \"states\": {\"a\": {\"actions\": [] ,}}}}}\n",
	    "JSON syntax error at line 3 column" },
	{ "unknown_action", "{\"version\": 1, \"flows\": {\"m\": {\"initial\": "
	    "\"a\", \"states\": {\"a\": {\"actions\": [{\"action\": \"plya\"}],"
	    " \"on\": {\"done\": \"a\"}}}}}}",
	    "flow \"m\" state \"a\": unknown action \"plya\"" },
	{ "missing_state", "{\"version\": 1, \"flows\": {\"m\": {\"initial\": "
	    "\"a\", \"states\": {\"a\": {\"actions\": [{\"action\": "
	    "\"answer\"}], \"on\": {\"done\": \"nowhere\"}}}}}}",
	    "flow \"m\" state \"a\": transition \"done\" goes to a missing "
	    "state \"nowhere\"" },
	{ "cycle", "{\"version\": 1, \"flows\": {\"m\": {\"initial\": \"a\", "
	    "\"states\": {\"a\": {\"actions\": [{\"action\": \"answer\"}], "
	    "\"on\": {\"done\": \"b\"}}, \"b\": {\"actions\": [{\"action\": "
	    "\"setvar\", \"var\": \"X\", \"value\": \"1\"}], \"on\": {\"done\": "
	    "\"a\"}}}}}}",
	    "cycle of states without a waiting action" },
	{ "no_initial", "{\"version\": 1, \"flows\": {\"m\": {\"states\": "
	    "{\"a\": {\"actions\": [{\"action\": \"hangup\"}]}}}}}",
	    "flow \"m\": missing initial state" },
	{ "unknown_event", "{\"version\": 1, \"flows\": {\"m\": {\"initial\": "
	    "\"a\", \"states\": {\"a\": {\"actions\": [{\"action\": \"play\", "
	    "\"media\": \"sound:x\"}], \"on\": {\"done\": \"a\", \"pressed\": "
	    "\"a\"}}}}}}",
	    "unknown event \"pressed\"" },
};
#define NBAD	(int)(sizeof(bad) / sizeof(bad[0]))

/* `mai-flow-worker --check FILE`: exit code, and its output in out. */
static int
check_file(const char *path, char *out, size_t size)
{
	char	cmd[512];
	FILE	*p;
	size_t	n;
	int	st;

	snprintf(cmd, sizeof(cmd), "'%s/mai-flow-worker' --check '%s' 2>&1",
	    h_build(), path);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(check_refuses_each_broken_file)
{
	char	path[256], out[2048];

	snprintf(path, sizeof(path), "%s/%s.json", env.dir, bad[_i].name);
	h_write_file(path, bad[_i].text);
	ck_assert_int_eq(check_file(path, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, bad[_i].want) != NULL, "%s: %s",
	    bad[_i].name, out);
	ck_assert_msg(strncmp(out, path, strlen(path)) == 0,
	    "the line does not start with the file: %s", out);
	ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1,
	    "not one line: %s", out);
}
END_TEST

START_TEST(check_accepts_the_shipped_flows)
{
	char	path[256], out[2048];

	snprintf(path, sizeof(path), "%s/flows.json", h_build());
	ck_assert_int_eq(check_file(path, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, ": ok: flows=1 states=7 routes=1 "
	    "default=main") != NULL, "%s", out);
}
END_TEST

static void
start_with(const char *text)
{
	char	 path[256], flows[300];
	const char *extra[] = { flows, "LOG_LEVEL=debug", NULL };

	snprintf(path, sizeof(path), "%s/flows.json", env.dir);
	h_write_file(path, text);
	snprintf(flows, sizeof(flows), "FLOWS_FILE=%s", path);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", 0, NULL));
}

/* A broken file at start: logged, the worker stays up without flows. */
START_TEST(broken_file_at_start_is_logged_and_survived)
{
	char	want[512];
	pid_t	pid;

	start_with(bad[_i].text);
	snprintf(want, sizeof(want), "call flows not loaded: %s/flows.json: ",
	    env.dir);
	ck_assert_msg(h_wait_log(&env, want), "no line: %s", want);
	ck_assert_msg(h_log_has(&env, bad[_i].want), "%s", bad[_i].want);
	ck_assert(h_log_has(&env, "calls continue in the dialplan"));
	/* Still the same process, and it goes on handling events. */
	pid = h_worker_pid(&env, "flow-worker");
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(h_wait_metric(&env, "mai_events_acked_total", 1, 1));
	ck_assert(h_proc_alive(pid));
	ck_assert_int_eq(h_worker_pid(&env, "flow-worker"), pid);
	ck_assert_int_eq(h_metric(&env,
	    "mai_worker_restarts_total{worker=\"flow-worker\"}"), 0);
}
END_TEST

/* With no flows, a call is sent on in the dialplan, not left silent. */
START_TEST(no_flows_call_continues_in_dialplan)
{
	start_with(bad[0].text);
	ck_assert(h_wait_log(&env, "call flows not loaded"));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(h_sim_ctl(&env, "call?exten=123"), 200);
	ck_assert(h_wait_log(&env, "no call flows loaded: it continues in "
	    "the dialplan"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "continue") == 1));
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 0);
}
END_TEST

/* HUP with a broken file keeps the flows; a fixed file is taken. */
START_TEST(broken_reload_keeps_previous_flows)
{
	char	path[256], want[512];

	start_with(GOOD_FLOW);
	ck_assert(h_wait_log(&env, "call flows loaded"));
	ck_assert(h_wait_ready(&env, 200));
	snprintf(path, sizeof(path), "%s/flows.json", env.dir);
	h_write_file(path, bad[1].text);
	ck_assert_int_eq(kill(env.sup_pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "call flows not reloaded: %s: flow \"m\" "
	    "state \"a\": unknown action \"plya\"", path);
	ck_assert_msg(h_wait_log(&env, want), "%s", want);
	ck_assert(h_log_has(&env, "the previous flows stay"));
	/* HUP also restarted the ws-worker: calls need its WebSocket back. */
	ck_assert(h_wait_log(&env, "reload done"));
	ck_assert(h_wait_ready(&env, 200));
	/* The old flow still answers calls. */
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=20"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "call?exten=123"), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 1));
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 1);
	h_write_file(path, GOOD_FLOW);
	ck_assert_int_eq(kill(env.sup_pid, SIGHUP), 0);
	ck_assert(h_wait_log(&env, "call flows reloaded"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flows_file");
	TCase	*check = tcase_create("check");
	TCase	*run = tcase_create("running");

	tcase_add_checked_fixture(check, setup, teardown);
	tcase_set_timeout(check, 30);
	tcase_add_loop_test(check, check_refuses_each_broken_file, 0, NBAD);
	tcase_add_test(check, check_accepts_the_shipped_flows);
	suite_add_tcase(s, check);
	tcase_add_checked_fixture(run, setup, teardown);
	tcase_set_timeout(run, 60);
	tcase_add_loop_test(run, broken_file_at_start_is_logged_and_survived,
	    0, NBAD);
	tcase_add_test(run, no_flows_call_continues_in_dialplan);
	tcase_add_test(run, broken_reload_keeps_previous_flows);
	suite_add_tcase(s, run);
	return h_run_suite(s);
}
