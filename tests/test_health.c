/*
 * test_health.c — the HTTP endpoints of the real health-worker, reached
 * through the supervisor's listen socket, against the ARI simulator.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	 env;
static struct h_resp	*r;

static void
setup(void)
{
	r = malloc(sizeof(*r));
	h_init(&env);
}

static void
teardown(void)
{
	h_cleanup(&env);
	free(r);
}

static void
start(const char *const *extra)
{
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_worker(&env, "health-worker", 0, NULL));
}

#define READY_OK "{\"status\":\"ok\",\"edge_http_reachable\":true," \
	"\"ari_auth\":true,\"ws_connected\":true"

/* Degraded without Asterisk; ok once it answers, with no test call. */
START_TEST(readyz_degraded_then_ok_without_call)
{
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	ck_assert(h_wait_worker(&env, "health-worker", 0, NULL));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 503);
	ck_assert_ptr_nonnull(strstr(r->body, "\"status\":\"degraded\""));
	ck_assert_ptr_nonnull(strstr(r->body, "\"edge_http_reachable\":false"));
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 200);
	ck_assert_msg(strncmp(r->body, READY_OK, strlen(READY_OK)) == 0, "%s",
	    r->body);
	ck_assert_str_eq(r->ctype, "application/json");
	ck_assert_int_ge(h_sim_stat(&env, "user_events"), 1);
}
END_TEST

START_TEST(every_endpoint_code_and_body)
{
	start(NULL);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/healthz", r), 200);
	ck_assert_str_eq(r->body, "{\"status\":\"ok\"}");
	ck_assert_str_eq(r->ctype, "application/json");
	ck_assert_int_eq(h_http(env.http_port, "GET", "/healthz/deps", r), 200);
	ck_assert_str_eq(r->body, "{\"status\":\"ok\",\"edge_http_reachable\":"
	    "true,\"ari_auth\":true}");
	ck_assert_int_eq(h_http(env.http_port, "HEAD", "/readyz", r), 200);
	ck_assert_int_eq((int)r->len, 0);
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz?x=1", r), 200);
	ck_assert_int_eq(h_http(env.http_port, "POST", "/readyz", r), 405);
	ck_assert_str_eq(r->ctype, "application/json");
	ck_assert_int_eq(h_http(env.http_port, "DELETE", "/healthz", r), 405);
	ck_assert_int_eq(h_http(env.http_port, "GET", "/nope", r), 404);
	ck_assert_str_eq(r->ctype, "application/json");
	ck_assert_ptr_nonnull(strstr(r->body, "\"status\""));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/metrics", r), 200);
	ck_assert_ptr_nonnull(strstr(r->ctype, "text/plain"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "mai_worker_restarts_total{worker=\"ws-worker\"} 0"));
	ck_assert_ptr_nonnull(strstr(r->body, "mai_events_relayed_total "));
	ck_assert_ptr_nonnull(strstr(r->body, "mai_events_dropped_total 0"));
	ck_assert_ptr_nonnull(strstr(r->body, "mai_readyz_ok 1"));
	ck_assert_ptr_nonnull(strstr(r->body, "\nmai_flow_calls_active 0\n"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "# TYPE mai_event_relay_latency_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "# TYPE mai_flow_answer_latency_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "\nmai_flow_answer_latency_seconds_max 0.000000000\n"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "mai_http_requests_total{path=\"/readyz\",code=\"200\"}"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "mai_http_requests_total{path=\"/readyz\",code=\"405\"} 1"));
}
END_TEST

/* Auth refused by ARI: both dependency answers say so, with a reason. */
START_TEST(rejected_credentials_show_in_deps_and_readyz)
{
	start(NULL);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_eq(h_sim_ctl(&env, "auth?ok=0"), 200);
	ck_assert(H_WAIT_FOR(h_http(env.http_port, "GET", "/healthz/deps", r)
	    == 503));
	ck_assert_str_eq(r->body, "{\"status\":\"degraded\","
	    "\"edge_http_reachable\":true,\"ari_auth\":false}");
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 503);
	ck_assert_ptr_nonnull(strstr(r->body, "\"ari_auth\":false"));
	ck_assert(h_wait_log(&env, "do not match ari.conf"));
	ck_assert_int_eq(h_sim_ctl(&env, "auth?ok=1"), 200);
	ck_assert(h_wait_ready(&env, 200));
}
END_TEST

START_TEST(wrong_password_never_ready)
{
	const char *extra[] = { "ARI_PASSWORD=wrong-password", NULL };

	start(extra);
	ck_assert(h_wait_log(&env, "do not match ari.conf"));
	ck_assert(H_WAIT_FOR(h_http(env.http_port, "GET", "/healthz/deps", r)
	    == 503 && strstr(r->body, "\"edge_http_reachable\":true")));
	ck_assert_ptr_nonnull(strstr(r->body, "\"ari_auth\":false"));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 503);
	ck_assert_ptr_nonnull(strstr(r->body, "\"ws_connected\":false"));
	ck_assert(!h_log_has(&env, "wrong-password"));
}
END_TEST

START_TEST(edge_gone_turns_degraded)
{
	start(NULL);
	ck_assert(h_wait_ready(&env, 200));
	h_sim_stop(&env);
	ck_assert(h_wait_ready(&env, 503));
	ck_assert(H_WAIT_FOR(h_http(env.http_port, "GET", "/healthz/deps", r)
	    == 503 && strstr(r->body, "\"edge_http_reachable\":false")));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/healthz", r), 200);
}
END_TEST

/* Operators restart the health-worker with TERM: no probe may fail. */
START_TEST(health_restart_loses_no_request)
{
	pid_t	old, now;
	int	round, i, bad = 0, done = 0;

	start(NULL);
	ck_assert(h_wait_ready(&env, 200));
	for (round = 0; round < 3; round++) {
		old = h_worker_pid(&env, "health-worker");
		ck_assert_int_eq(kill(old, SIGTERM), 0);
		for (i = 0; i < 300; i++, done++)
			if (h_http(env.http_port, "GET", "/readyz", r) != 200)
				bad++;
		ck_assert(h_wait_worker(&env, "health-worker", old, &now));
	}
	ck_assert_msg(bad == 0, "%d of %d requests failed", bad, done);
	ck_assert(h_log_has(&env, "worker draining, starting its successor"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("health");
	TCase	*tc = tcase_create("endpoints");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, readyz_degraded_then_ok_without_call);
	tcase_add_test(tc, every_endpoint_code_and_body);
	tcase_add_test(tc, rejected_credentials_show_in_deps_and_readyz);
	tcase_add_test(tc, wrong_password_never_ready);
	tcase_add_test(tc, edge_gone_turns_degraded);
	tcase_add_test(tc, health_restart_loses_no_request);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
