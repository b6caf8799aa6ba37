/*
 * test_ari_link.c — the ARI link under faults a real Asterisk cannot make
 * on demand, through the ARI simulator: the real supervisor, ws-worker and
 * health-worker must show each fault in /readyz and /metrics, reconnect,
 * and never crash.
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
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	ck_assert(h_wait_ready(&env, 200));
}

static void
teardown(void)
{
	h_cleanup(&env);
	free(r);
}

static bool
readyz_has(const char *needle)
{
	return h_http(env.http_port, "GET", "/readyz", r) > 0 &&
	    strstr(r->body, needle) != NULL;
}

START_TEST(handshake_401_reported_then_recovers)
{
	ck_assert_int_eq(h_sim_ctl(&env, "auth?ok=0"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_log(&env, "ARI rejected the WebSocket handshake "
	    "status=401"));
	ck_assert(H_WAIT_FOR(readyz_has("\"ari_auth\":false") &&
	    strstr(r->body, "\"ws_connected\":false")));
	ck_assert_int_eq(r->status, 503);
	ck_assert_int_eq(h_sim_ctl(&env, "auth?ok=1"), 200);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(!h_log_has(&env, "mvoice8908"));
}
END_TEST

/* Ready within 10 s: a safety bound, not a speed claim. */
static bool
ready_within_10s(void)
{
	long	end = h_now_ms() + 10000;

	while (h_now_ms() < end) {
		if (h_http(env.http_port, "GET", "/readyz", r) > 0 &&
		    r->status == 200)
			return true;
		h_sleep_ms(50);
	}
	return false;
}

/* The other client leaves: the application is taken back, ready again. */
START_TEST(application_taken_back_when_free)
{
	long	conns;

	ck_assert_int_eq(h_sim_ctl(&env, "replaced?app=mai"), 200);
	ck_assert(H_WAIT_FOR(readyz_has("\"app_replaced\":true")));
	ck_assert(h_wait_log(&env, "application check app=mai status=200"));
	conns = h_sim_stat(&env, "ws_connections_total");
	ck_assert_int_eq(h_sim_ctl(&env, "release?app=mai"), 200);
	ck_assert(ready_within_10s());
	ck_assert(h_log_has(&env, "status=404: nobody holds it"));
	ck_assert_int_eq(h_sim_stat(&env, "ws_connections_total"), conns + 1);
	ck_assert(readyz_has("\"app_replaced\":false"));
}
END_TEST

/* Replaced, then Asterisk restarts (nobody holds the app): ready again. */
START_TEST(application_taken_back_after_asterisk_restart)
{
	ck_assert_int_eq(h_sim_ctl(&env, "replaced?app=mai"), 200);
	ck_assert(H_WAIT_FOR(readyz_has("\"app_replaced\":true")));
	h_sim_stop(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert(ready_within_10s());
	ck_assert(readyz_has("\"app_replaced\":false"));
}
END_TEST

/* GET /ari/applications/mai, as the simulator answers it, into r. */
static int
app_get(void)
{
	return h_http_auth(env.ari_port, "GET", "/ari/applications/mai",
	    "Basic bWFpOm12b2ljZTg5MDghIw==", r);
}

static bool
app_filtered(void)
{
	return app_get() == 200 &&
	    strstr(r->body, "{\"type\":\"StasisStart\"}") != NULL &&
	    strstr(r->body, "{\"type\":\"ChannelUserevent\"}") != NULL &&
	    strstr(r->body, "{\"type\":\"ApplicationReplaced\"}") != NULL &&
	    strstr(r->body, "ChannelVarset") == NULL;
}

/*
 * The ws-worker asks for only the events the workers act on, on every
 * connect: a new socket's application starts unfiltered.  The delivery
 * check (a ChannelUserevent) still comes through: ready.
 */
START_TEST(event_filter_set_on_each_connect)
{
	ck_assert(h_wait_log(&env, "ARI event filter set: 11 event types"));
	ck_assert(app_filtered());
	ck_assert(h_wait_metric(&env, "mai_ws_event_filter", 1, 0));
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_metric(&env, "mai_ws_reconnects_total", 1, 1));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(H_WAIT_FOR(app_filtered()));
}
END_TEST

/*
 * An Asterisk without eventFilter (404), or one that fails it (500): said
 * once per connect with the status, ready anyway, every event.
 */
static const char *const refusals[][2] = {
	{ "nofilter?on=1", "ARI event filter refused status=404: this Asterisk" },
	{ "nofilter?on=1&status=500", "ARI event filter refused status=500;" },
};

START_TEST(event_filter_refused_still_ready)
{
	ck_assert_int_eq(h_sim_ctl(&env, refusals[_i][0]), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_log(&env, refusals[_i][1]));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(h_wait_metric(&env, "mai_ws_event_filter", 0, 0));
	ck_assert_int_eq(app_get(), 200);
	ck_assert(strstr(r->body, "\"events_allowed\": []") != NULL);
}
END_TEST

START_TEST(tcp_drop_reconnects)
{
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_log(&env, "flag=ws_connected value=false"));
	ck_assert(h_wait_metric(&env, "mai_ws_reconnects_total", 1, 1));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert_int_ge(h_sim_stat(&env, "ws_connections_total"), 2);
}
END_TEST

/* No pong: dead within ping interval + timeout, then a fresh link. */
START_TEST(half_open_detected)
{
	ck_assert_int_eq(h_sim_ctl(&env, "halfopen?on=1"), 200);
	ck_assert(h_wait_log(&env, "ARI WebSocket dead"));
	ck_assert(h_wait_ready(&env, 503));
	ck_assert(readyz_has("\"ws_connected\":false") ||
	    readyz_has("\"events_received\":false"));
	ck_assert_int_eq(h_sim_ctl(&env, "halfopen?on=0"), 200);
	ck_assert(h_wait_ready(&env, 200));
}
END_TEST

START_TEST(malformed_events_counted_not_fatal)
{
	pid_t	ws = h_worker_pid(&env, "ws-worker");
	long	before = h_sim_stat(&env, "events_sent");

	ck_assert_int_eq(h_sim_ctl(&env, "malformed?n=5"), 200);
	ck_assert(h_wait_metric(&env, "mai_ws_malformed_total", 5, 0));
	ck_assert_int_eq(h_sim_ctl(&env, "burst?n=10"), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "burst_pending") == 0));
	ck_assert(h_wait_metric(&env, "mai_events_acked_total",
	    h_sim_stat(&env, "events_sent") - 5, 0));
	ck_assert_int_gt(h_sim_stat(&env, "events_sent"), before);
	ck_assert_int_eq(h_worker_pid(&env, "ws-worker"), ws);
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 200);
}
END_TEST

START_TEST(oversized_event_refused_whole)
{
	pid_t	ws = h_worker_pid(&env, "ws-worker");

	ck_assert_int_eq(h_sim_ctl(&env, "oversized?bytes=300000"), 200);
	ck_assert(h_wait_metric(&env, "mai_ws_frames_refused_total", 1, 0));
	ck_assert(h_wait_log(&env, "ARI message refused"));
	ck_assert_int_eq(h_sim_ctl(&env, "burst?n=3"), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "burst_pending") == 0));
	/* Everything else still flows; the big one never reached the relay. */
	ck_assert(h_wait_metric(&env, "mai_events_relayed_total",
	    h_sim_stat(&env, "events_sent") - 1, 0));
	ck_assert_int_eq(h_worker_pid(&env, "ws-worker"), ws);
	ck_assert_int_eq(h_metric(&env,
	    "mai_worker_frames_refused_total{worker=\"ws-worker\"}"), 0);
}
END_TEST

START_TEST(burst_all_relayed)
{
	/* Within the default queue bound (10000), so nothing may drop. */
	ck_assert_int_eq(h_sim_ctl(&env, "burst?n=8000&size=1024"), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "burst_pending") == 0));
	ck_assert(h_wait_metric(&env, "mai_events_acked_total",
	    h_sim_stat(&env, "events_sent"), 0));
	ck_assert_int_eq(h_metric(&env, "mai_events_dropped_total"), 0);
	ck_assert_int_eq(h_metric(&env, "mai_ws_relay_dropped_total"), 0);
}
END_TEST

/* Another client took ARI_APP: visible, no reconnect fight, recoverable. */
START_TEST(application_replaced_is_visible)
{
	const char	*rs[] = { "ctl", "restart", "ws-worker", NULL };
	char		 out[4096];
	long		 conns;

	ck_assert_int_eq(h_sim_ctl(&env, "replaced?app=mai"), 200);
	ck_assert(h_wait_log(&env, "ApplicationReplaced"));
	ck_assert(H_WAIT_FOR(readyz_has("\"app_replaced\":true")));
	ck_assert_int_eq(r->status, 503);
	ck_assert(h_wait_metric(&env, "mai_ready{check=\"app_replaced\"}", 1, 0));
	/* Even when the link drops, it does not fight for the app. */
	conns = h_sim_stat(&env, "ws_connections_total");
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_log(&env, "not reconnecting while ARI_APP=mai "
	    "belongs to another client"));
	ck_assert(h_wait_log(&env, "application check app=mai status=200"));
	ck_assert_int_eq(h_sim_stat(&env, "ws_connections_total"), conns);
	ck_assert_int_eq(h_sup_run(&env, rs, NULL, out, sizeof(out)), 0);
	ck_assert(h_wait_ready(&env, 200));
}
END_TEST

START_TEST(not_booted_then_booted)
{
	ck_assert_int_eq(h_sim_ctl(&env, "notbooted?on=1"), 200);
	ck_assert_int_eq(h_sim_ctl(&env, "drop"), 200);
	ck_assert(h_wait_ready(&env, 503));
	ck_assert(h_wait_log(&env, "not booted"));
	ck_assert_int_eq(h_sim_ctl(&env, "notbooted?on=0"), 200);
	ck_assert(h_wait_ready(&env, 200));
}
END_TEST

/* Any password works: api_key is percent-encoded, Basic auth is raw. */
static const char *const passwords[] = {
	"mvoice8908!#", "a&b=c", "100%sure", "plus+sign", "x:y:z", "at@host",
	"with space", "slash/and?q", "umlaut-\xc3\xbc-\xe2\x82\xac",
};

/*
 * ARI_EVENT_FILTER=0: every event.  The ws-worker still sends the
 * request, with {}: an application Asterisk kept (it had channels)
 * would keep the filter an earlier run set.
 */
START_TEST(event_filter_off)
{
	const char *extra[] = { "ARI_EVENT_FILTER=0", NULL };

	r = malloc(sizeof(*r));
	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(h_log_has(&env, "ARI event filter cleared"));
	ck_assert_int_eq(app_get(), 200);
	ck_assert(strstr(r->body, "\"events_allowed\": []") != NULL);
	ck_assert(!h_log_has(&env, "ARI event filter set"));
	ck_assert_int_eq(h_metric(&env, "mai_ws_event_filter"), 0);
}
END_TEST

START_TEST(password_characters)
{
	char	 pw[300];
	const char *extra[] = { pw, NULL };

	r = malloc(sizeof(*r));
	h_init(&env);
	snprintf(pw, sizeof(pw), "ARI_PASSWORD=%s", passwords[_i]);
	ck_assert_int_gt(h_sim_start_as(&env, "mai", passwords[_i]), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert_msg(h_wait_ready(&env, 200), "password '%s'", passwords[_i]);
	ck_assert_int_eq(h_sim_stat(&env, "ws_auth_failures"), 0);
	ck_assert(!h_log_has(&env, passwords[_i]));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ari-link");
	TCase	*tc = tcase_create("faults");
	TCase	*pw = tcase_create("passwords");
	TCase	*off = tcase_create("filter-off");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, handshake_401_reported_then_recovers);
	tcase_add_test(tc, tcp_drop_reconnects);
	tcase_add_test(tc, event_filter_set_on_each_connect);
	tcase_add_loop_test(tc, event_filter_refused_still_ready, 0,
	    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, half_open_detected);
	tcase_add_test(tc, malformed_events_counted_not_fatal);
	tcase_add_test(tc, oversized_event_refused_whole);
	tcase_add_test(tc, burst_all_relayed);
	tcase_add_test(tc, application_replaced_is_visible);
	tcase_add_test(tc, application_taken_back_when_free);
	tcase_add_test(tc, application_taken_back_after_asterisk_restart);
	tcase_add_test(tc, not_booted_then_booted);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(pw, NULL, teardown);
	tcase_set_timeout(pw, 60);
	tcase_add_loop_test(pw, password_characters, 0,
	    (int)(sizeof(passwords) / sizeof(passwords[0])));
	suite_add_tcase(s, pw);
	tcase_add_checked_fixture(off, NULL, teardown);
	tcase_set_timeout(off, 60);
	tcase_add_test(off, event_filter_off);
	suite_add_tcase(s, off);
	return h_run_suite(s);
}
