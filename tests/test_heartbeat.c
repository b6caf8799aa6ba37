/*
 * test_heartbeat.c — a hung worker is a dead worker.  The real
 * supervisor and workers against the ARI simulator; each worker in turn
 * is stopped (kill -STOP: what a deadlock or a starved process looks like
 * from outside).  /readyz turns 503 naming it, a new worker (another pid)
 * takes over and /readyz is 200 again; the stopped process was SIGKILLed,
 * so kill -CONT finds nothing.  Calls placed while the flow-worker hangs
 * are answered by its successor.  A stopped health-worker: a connection
 * it had accepted is closed without an answer, never answered 200 stale.
 * A flow-worker whose ARI requests are all stuck answers its heartbeats
 * but is not ready (progress bound).  Timing is never asserted; every
 * wait has the harness's generous safety bound.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

/* answer, play, hang up: a call that ends by itself when it is served. */
#define SHORT_FLOW \
	"{\"version\": 1, \"flows\": {\"short\": {\"initial\": \"g\", " \
	"\"states\": {\"g\": {\"actions\": [{\"action\": \"answer\"}, " \
	"{\"action\": \"play\", \"media\": \"sound:hi\"}, {\"action\": " \
	"\"hangup\"}]}}}}, \"routes\": [{\"default\": true, \"flow\": " \
	"\"short\"}]}"

/* Debug: the health-worker logs each /readyz answer it renders. */
static void
start_plain(void)
{
	const char *const extra[] = { "LOG_LEVEL=debug", NULL };

	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_ready(&env, 200));
}

/*
 * /readyz answered 503 listing name under "hung".  The successor of a
 * hung worker is often vouched for milliseconds after the kill, too soon
 * for polling to be sure to see it; so the health-worker's record of
 * every answer it rendered (its debug line per snapshot) is read, and a
 * poll of /readyz itself is tried as well.
 */
static bool
readyz_names_hung(const char *name)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 needle[64], *log, *line, *end;
	bool		 ok = false;

	snprintf(needle, sizeof(needle), "\"hung\":[\"%s\"]", name);
	if (h_http(env.http_port, "GET", "/readyz", r) == 503 &&
	    strstr(r->body, needle) != NULL)
		ok = true;
	free(r);
	log = h_slurp_from(env.log, 0);
	for (line = log; !ok && line != NULL && *line != '\0'; line = end) {
		if ((end = strchr(line, '\n')) != NULL)
			*end++ = '\0';
		ok = strstr(line, "proc=health-worker") != NULL &&
		    strstr(line, "readyz=503 body=") != NULL &&
		    strstr(line, needle) != NULL;
	}
	free(log);
	return ok;
}

static long
hung_kills(const char *name)
{
	char	sample[128];

	snprintf(sample, sizeof(sample), "mai_worker_hung_kills_total{worker="
	    "\"%s\"}", name);
	return h_metric(&env, sample);
}

/* The old process is gone: CONT reaches nobody, the new one stays. */
static void
assert_cont_changes_nothing(const char *name, pid_t old, pid_t now)
{
	ck_assert(H_WAIT_FOR(!h_proc_alive(old)));
	ck_assert(kill(old, SIGCONT) == -1 && errno == ESRCH);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(h_worker_pid(&env, name), now);
	ck_assert_int_eq(hung_kills(name), 1);
}

/* Stop name; 503 naming it; a new pid takes over; 200 again. */
static void
hang_and_replace(const char *name)
{
	pid_t	old = h_worker_pid(&env, name), now = 0;

	ck_assert_int_gt(old, 0);
	ck_assert_int_eq(kill(old, SIGSTOP), 0);
	ck_assert_msg(H_WAIT_FOR(readyz_names_hung(name)),
	    "/readyz never named %s hung", name);
	ck_assert(h_wait_worker(&env, name, old, &now));
	ck_assert(h_wait_log(&env, "worker hung: no heartbeat answer"));
	ck_assert(h_wait_ready(&env, 200));
	assert_cont_changes_nothing(name, old, now);
}

START_TEST(hung_ws_worker_is_replaced)
{
	start_plain();
	hang_and_replace("ws-worker");
}
END_TEST

START_TEST(hung_flow_worker_is_replaced_and_answers_the_calls)
{
	char	id[128];
	pid_t	old, now = 0;
	int	i;

	h_flows_start(&env, SHORT_FLOW, "playback_ms=30", NULL);
	old = h_worker_pid(&env, "flow-worker");
	ck_assert_int_eq(kill(old, SIGSTOP), 0);
	/* Calls arrive while it hangs: their events wait in the supervisor. */
	for (i = 0; i < 3; i++)
		h_sim_call(&env, "exten=9", id, sizeof(id));
	ck_assert_msg(H_WAIT_FOR(readyz_names_hung("flow-worker")),
	    "/readyz never named the flow-worker hung");
	ck_assert(h_wait_worker(&env, "flow-worker", old, &now));
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 3),
	    "calls_ended=%ld", h_sim_stat(&env, "calls_ended"));
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 3);
	ck_assert(h_wait_ready(&env, 200));
	assert_cont_changes_nothing("flow-worker", old, now);
}
END_TEST

/* One request on a keep-alive connection: its status, or -1. */
static int
keepalive_request(int fd)
{
	static const char	req[] = "GET /healthz HTTP/1.1\r\n"
				    "Host: 127.0.0.1\r\n\r\n";
	char			buf[1024];
	ssize_t			n;

	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		return -1;
	if ((n = read(fd, buf, sizeof(buf) - 1)) < 12)
		return -1;
	buf[n] = '\0';
	return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
}

/*
 * The health-worker hangs: the supervisor replaces it.  A connection the
 * stopped process had accepted gets no answer and is closed when it is
 * killed; new connections wait in the backlog for its successor, whose
 * /metrics shows the kill (the old one could not know of it).
 */
START_TEST(hung_health_worker_is_replaced_without_stale_answers)
{
	struct timeval	 tv = { H_WAIT_MS / 1000, 0 };
	pid_t		 old, now = 0;
	int		 fd;

	start_plain();
	old = h_worker_pid(&env, "health-worker");
	ck_assert_int_ge(fd = h_connect(env.http_port), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(keepalive_request(fd), 200);
	ck_assert_int_eq(kill(old, SIGSTOP), 0);
	ck_assert_int_eq(keepalive_request(fd), -1);
	close(fd);
	ck_assert(h_wait_worker(&env, "health-worker", old, &now));
	ck_assert(h_wait_metric(&env,
	    "mai_worker_hung_kills_total{worker=\"health-worker\"}", 1, 0));
	ck_assert(h_wait_log(&env, "worker hung: no heartbeat answer "
	    "worker=health-worker"));
	assert_cont_changes_nothing("health-worker", old, now);
}
END_TEST

/*
 * Every play is parked by the simulator: the flow-worker's loop runs and
 * answers its heartbeats, but its oldest ARI request ages past
 * MAI_PROGRESS_MAX_MS: not ready, named, not killed.  Released, it is
 * ready again.
 */
START_TEST(stuck_ari_requests_make_flow_worker_not_ready)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 id[128];

	h_flows_start(&env, SHORT_FLOW, "playback_ms=30&hold_play=1",
	    "MAI_PROGRESS_MAX_MS=500");
	h_sim_call(&env, "exten=9", id, sizeof(id));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "held_plays") == 1));
	ck_assert_msg(H_WAIT_FOR(h_http(env.http_port, "GET", "/readyz", r) ==
	    503 && strstr(r->body, "\"stalled\":[\"flow-worker\"]") != NULL),
	    "/readyz: %s", r->body);
	ck_assert(strstr(r->body, "\"hung\":[]") != NULL);
	ck_assert_int_eq(h_http(env.http_port, "GET", "/metrics", r), 200);
	ck_assert(strstr(r->body, "\nmai_flow_ari_oldest_request_age_seconds "
	    "0.000000000\n") == NULL);
	ck_assert(h_log_has(&env, "worker makes no progress "
	    "worker=flow-worker"));
	ck_assert_int_eq(h_sim_ctl(&env, "play_release"), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == 1));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(hung_kills("flow-worker"), 0);
	free(r);
}
END_TEST

/* Bad heartbeat settings stop start-up with exit 78, naming the variable. */
START_TEST(bad_heartbeat_settings_refused)
{
	static const char *const bad[][3] = {
		{ "MAI_HEARTBEAT_INTERVAL_MS=500", "MAI_HEARTBEAT_TIMEOUT_MS=900",
		    "MAI_HEARTBEAT_TIMEOUT_MS=900" },
		{ "MAI_HEARTBEAT_INTERVAL_MS=10", NULL,
		    "MAI_HEARTBEAT_INTERVAL_MS=10" },
		{ "MAI_HEARTBEAT_INTERVAL_MS=abc", NULL,
		    "MAI_HEARTBEAT_INTERVAL_MS=abc" },
		{ "MAI_PROGRESS_MAX_MS=100", NULL, "MAI_PROGRESS_MAX_MS=100" },
	};
	const char *const	 args[] = { "-t", NULL };
	char			 out[4096];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const extra[] = { bad[i][0], bad[i][1], NULL };

		ck_assert_int_eq(h_sup_run(&env, args, extra, out,
		    sizeof(out)), 78);
		ck_assert_msg(strstr(out, bad[i][2]) != NULL, "%s", out);
	}
	{
		const char *const extra[] = { "MAI_HEARTBEAT_INTERVAL_MS=0",
		    "MAI_PROGRESS_MAX_MS=0", NULL };

		ck_assert_int_eq(h_sup_run(&env, args, extra, out,
		    sizeof(out)), 0);
		ck_assert(strstr(out, "MAI_HEARTBEAT_INTERVAL_MS=0\n") != NULL);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("heartbeat");
	TCase	*tc = tcase_create("hang");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hung_ws_worker_is_replaced);
	tcase_add_test(tc, hung_flow_worker_is_replaced_and_answers_the_calls);
	tcase_add_test(tc, hung_health_worker_is_replaced_without_stale_answers);
	tcase_add_test(tc, stuck_ari_requests_make_flow_worker_not_ready);
	tcase_add_test(tc, bad_heartbeat_settings_refused);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
