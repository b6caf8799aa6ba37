/*
 * test_e2e_flows.c — call flows end to end: the real mai-supervisor (and
 * its flow-worker) against a real Asterisk 22 (tests/e2e/asterisk.sh).
 * The shipped default flow runs to its end by itself; a flow-worker killed
 * with 20 calls in progress leaves none behind; a caller hanging up during
 * a playback leaves no channel or bridge.
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

#define ARI_PORT		8088
/* Basic base64("mai:mvoice8908!#"), asterisk-conf/ari.conf's user. */
#define ARI_AUTH		"bWFpOm12b2ljZTg5MDghIw=="
#define SERVICE_EXTEN		"43720270346"
#define ORIGINATE		"cli 'channel originate Local/" SERVICE_EXTEN \
				"@incoming application Echo'"
/* Liveness bounds (ms).  The ws-worker's reconnect backoff caps at 30 s
 * +20 %; the default flow ends a silent call after about 10 s. */
#define READY_BOUND_MS		45000
#define CALL_END_BOUND_MS	40000
/* After the flow-worker is killed every call is over within this. */
#define CRASH_BOUND_MS		30000
#define CRASH_CALLS		20
#define LONG_FLOW		"tests/e2e/flows-long.json"

static struct h_env	 env;
static struct h_resp	*r;

static void
setup(void)
{
	r = malloc(sizeof(*r));
	h_init(&env);
	env.ari_port = ARI_PORT;
	ck_assert_int_eq(ast(NULL, 0, "stop"), 0);
}

static void
teardown(void)
{
	h_cleanup(&env);
	(void)ast(NULL, 0, "stop");
	free(r);
}

/* Asterisk, then the supervisor on it (flows: NULL for the default). */
static void
start_ready(const char *flows)
{
	char		 flows_env[600];
	const char	*extra[] = { "ARI_PORT=8088", "ARI_USER=mai",
	    "ARI_PASSWORD=mvoice8908!#", "LOG_LEVEL=debug", flows_env, NULL };
	long		 end = h_now_ms() + READY_BOUND_MS;

	if (flows != NULL)
		snprintf(flows_env, sizeof(flows_env), "FLOWS_FILE=%s/%s",
		    e2e_src(), flows);
	else
		snprintf(flows_env, sizeof(flows_env), "FLOWS_FILE=");
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	while (h_http(env.http_port, "GET", "/readyz", r) != 200 &&
	    h_now_ms() < end)
		h_sleep_ms(50);
	ck_assert_msg(r->status == 200, "readyz: %d %s", r->status, r->body);
}

/* GET /ari/PATH on Asterisk with mai's credentials; the status or -1. */
static int
ari_get(const char *path, struct h_resp *resp)
{
	char	full[512];

	snprintf(full, sizeof(full), "/ari%s", path);
	return h_http_auth(ARI_PORT, "GET", full, "Basic " ARI_AUTH, resp);
}

/* Does GET /ari/PATH answer 200 with an empty JSON list? */
static bool
ari_empty(const char *path)
{
	char	*p, *q;

	if (ari_get(path, r) != 200)
		return false;
	for (p = q = r->body; *p != '\0'; p++)
		if (!isspace((unsigned char)*p))
			*q++ = *p;
	*q = '\0';
	return strcmp(r->body, "[]") == 0;
}

/* Asterisk's "N active channels" ('core show channels count'), or -1. */
static int
active_channels(void)
{
	char		 out[512];
	const char	*p;

	if (ast(out, sizeof(out), "cli 'core show channels count'") != 0 ||
	    (p = strstr(out, " active channel")) == NULL)
		return -1;
	while (p > out && isdigit((unsigned char)p[-1]))
		p--;
	return isdigit((unsigned char)*p) ? atoi(p) : -1;
}

/* Poll cond (every 200 ms: each asterisk -rx is a process) up to bound. */
#define WAIT_UPTO(bound, cond) ({				\
	long __end = h_now_ms() + (bound);			\
	bool __ok;						\
	while (!(__ok = (cond)) && h_now_ms() < __end)		\
		h_sleep_ms(200);				\
	__ok; })

/* Nothing of any call left in Asterisk. */
static bool
all_gone(void)
{
	return active_channels() == 0 && ari_empty("/channels") &&
	    ari_empty("/bridges");
}

static long
log_size(void)
{
	struct stat	sb;

	return stat(env.log, &sb) == 0 ? (long)sb.st_size : 0;
}

/* Lines of our log after byte `from` holding needle. */
static int
log_count(long from, const char *needle)
{
	char	*buf = h_slurp_from(env.log, from), *p = buf;
	int	 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
	}
	free(buf);
	return n;
}

/* The number after the first `key` in our log after byte `from`, or -1. */
static int
log_number(long from, const char *key)
{
	char	*buf = h_slurp_from(env.log, from), *p;
	int	 n = -1;

	if ((p = strstr(buf, key)) != NULL &&
	    isdigit((unsigned char)p[strlen(key)]))
		n = atoi(p + strlen(key));
	free(buf);
	return n;
}

/*
 * Do the needles appear in this order in our log after byte `from`?
 * On failure, *missing names the first one not found.
 */
static bool
log_in_order(long from, const char *const *needles, const char **missing)
{
	char	*buf = h_slurp_from(env.log, from), *p = buf;
	size_t	 i;

	*missing = NULL;
	for (i = 0; needles[i] != NULL; i++) {
		if ((p = strstr(p, needles[i])) == NULL) {
			*missing = needles[i];
			break;
		}
		p += strlen(needles[i]);
	}
	free(buf);
	return *missing == NULL;
}

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
	const char	*missing;
	long		 from;

	start_ready(NULL);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call started id=") == 1));
	ck_assert_int_eq(log_count(from, "exten=" SERVICE_EXTEN), 1);
	ck_assert_int_gt(active_channels(), 0);
	ck_assert_msg(WAIT_UPTO(CALL_END_BOUND_MS, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_in_order(from, walk,
	    &missing)), "flow-worker never logged \"%s\" (log %s)", missing,
	    env.log);
	ck_assert_int_eq(log_count(from, "call started id="), 1);
	ck_assert_int_eq(log_count(from, "call ended id="), 1);
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
	long	from, killed;
	int	i, up, resumed;
	char	ended[64];

	start_ready(LONG_FLOW);
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
	ck_assert_int_eq(kill(old, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", old, &nw));
	ck_assert_int_ne(nw, old);
	ck_assert_msg(WAIT_UPTO(CRASH_BOUND_MS, all_gone()),
	    "still there %d s after the kill: channels=%d (before: %d); "
	    "last ARI answer: %s", CRASH_BOUND_MS / 1000, active_channels(),
	    up, r->body);
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
	    "type=PlaybackStarted",
	    "type=ChannelHangupRequest",
	    "call ended id=", NULL };
	const char	*missing;
	long		 from;

	start_ready(LONG_FLOW);
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, ORIGINATE), 0);
	ck_assert(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "type=PlaybackStarted") == 1));
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

int
main(void)
{
	Suite	*s = suite_create("e2e-flows");
	TCase	*tc = tcase_create("asterisk22");

	/* One tcase, in order: they share Asterisk's fixed port 8088. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, default_flow_ends_by_itself);
	tcase_add_test(tc, flow_worker_killed_with_calls_leaves_none_behind);
	tcase_add_test(tc, caller_hangup_during_playback_leaves_nothing);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
