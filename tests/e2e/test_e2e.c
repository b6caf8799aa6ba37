/*
 * test_e2e.c — the real mai-supervisor and its workers against a real
 * Asterisk 22 (Debian sid, tests/e2e/asterisk.sh): readiness without a test
 * call, rejected credentials, a call reaching the flow-worker exactly as
 * Asterisk sent it, and the edge going away (stopped or frozen) and back.
 *
 * Asterisk's port 8088 is fixed by asterisk-conf/http.conf, so the tests
 * run one after another in one tcase; each starts what it needs, and
 * setup and teardown stop Asterisk so that nothing outlives a test.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "e2e.h"

/* Short keep-alive settings, so that a dead edge shows within seconds. */
#define PING_INTERVAL_MS	1000
#define PING_TIMEOUT_MS		1000
#define PROBE_INTERVAL_MS	500
#define PROBE_TIMEOUT_MS	500
/* Room for scheduling on a loaded machine and the 20 ms poll loop. */
#define WAIT_SLACK_MS		3000
/* README's promise: a dead edge shows within one ping interval plus its
 * timeout (WebSocket) or one probe interval plus its timeout (HTTP). */
#define KEEPALIVE_BOUND_MS	(PING_INTERVAL_MS + PING_TIMEOUT_MS + \
				 PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS + \
				 WAIT_SLACK_MS)
/* Liveness bound for getting ready again: the ws-worker's reconnect
 * backoff caps at 30 s +20 % jitter, then Asterisk boot and one probe. */
#define RECONNECT_BOUND_MS	45000
#define CAPTURE_LOG		"e2e-ari-capture.log"

#define READY_OK "{\"status\":\"ok\",\"edge_http_reachable\":true," \
	"\"ari_auth\":true,\"ws_connected\":true,\"events_received\":true"

/* "NAME=1000" from a number macro (v is expanded before # applies). */
#define STR(x)		#x
#define ENV_MS(name, v)	name "=" STR(v)

/* The supervisor against Asterisk on 8088; password_env overrides. */
static void
sup_start(const char *password_env)
{
	const char *extra[] = { "ARI_PORT=8088", "ARI_USER=mai",
	    "LOG_LEVEL=debug",
	    ENV_MS("ARI_PING_INTERVAL_MS", PING_INTERVAL_MS),
	    ENV_MS("ARI_PING_TIMEOUT_MS", PING_TIMEOUT_MS),
	    ENV_MS("ARI_PROBE_INTERVAL_MS", PROBE_INTERVAL_MS),
	    ENV_MS("ARI_PROBE_TIMEOUT_MS", PROBE_TIMEOUT_MS),
	    password_env != NULL ? password_env : "ARI_PASSWORD=mvoice8908!#",
	    NULL };

	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_worker(&env, "health-worker", 0, NULL));
}

/* Poll a path until it answers want and its body holds needle. */
static bool
wait_http(const char *path, int want, const char *needle, long bound_ms)
{
	long	end = h_now_ms() + bound_ms;

	for (;;) {
		if (h_http(env.http_port, "GET", path, r) == want &&
		    (needle == NULL || strstr(r->body, needle) != NULL))
			return true;
		if (h_now_ms() >= end)
			return false;
		h_sleep_ms(20);
	}
}

static void
start_ready(void)
{
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	sup_start(NULL);
	ck_assert_msg(wait_http("/readyz", 200, NULL, RECONNECT_BOUND_MS),
	    "%s", r->body);
}

static void
list_add(char *list, size_t size, const char *type, size_t len)
{
	size_t	used = strlen(list);

	snprintf(list + used, size - used, "%s%.*s", used ? "," : "",
	    (int)len, type);
}

/* Types Asterisk says it sent to mai ("ari set debug mai on" output). */
static void
types_sent(const char *capture, char *list, size_t size)
{
	const char	*hdr = "<--- Sending ARI event to", *key = "\n  \"type\": \"";
	char		*buf = h_slurp_from(capture, 0), *p = buf, *t;

	list[0] = '\0';
	while ((p = strstr(p, hdr)) != NULL && (t = strstr(p, key)) != NULL) {
		t += strlen(key);
		list_add(list, size, t, strcspn(t, "\""));
		p = t;
	}
	free(buf);
}

/* Types the flow-worker logged, from byte offset `from` of our log. */
static void
types_handled(long from, char *list, size_t size)
{
	char	*buf = h_slurp_from(env.log, from), *line, *save = NULL, *t;

	list[0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "proc=flow-worker") != NULL &&
		    strstr(line, " event seq=") != NULL &&
		    (t = strstr(line, " type=")) != NULL)
			list_add(list, size, t + 6, strcspn(t + 6, " "));
	free(buf);
}

/* Did the flow-worker handle an event of this type (after byte `from`)? */
static bool
handled(long from, const char *type)
{
	static char	 list[16384];
	char		*tok, *save = NULL;

	types_handled(from, list, sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, type) == 0)
			return true;
	return false;
}

/* Asterisk's own record of what it sends to mai, from now on. */
static void
capture_start(char *path, size_t size)
{
	char	out[512], root[256];

	ck_assert_int_eq(ast(root, sizeof(root), "root"), 0);
	root[strcspn(root, "\n")] = '\0';
	snprintf(path, size, "%s/var/log/asterisk/%s", root, CAPTURE_LOG);
	unlink(path);
	ck_assert_int_eq(ast(NULL, 0, "cli 'logger add channel %s verbose'",
	    CAPTURE_LOG), 0);
	ck_assert_int_eq(ast(out, sizeof(out), "cli 'ari set debug mai on'"),
	    0);
	ck_assert_msg(strstr(out, "enabled") != NULL, "%s", out);
}

/* Degraded while Asterisk is down; ok once it runs, without any call. */
START_TEST(readyz_degraded_then_ok_without_call)
{
	sup_start(NULL);
	ck_assert_msg(wait_http("/readyz", 503,
	    "\"edge_http_reachable\":false", H_WAIT_MS), "%s", r->body);
	ck_assert_ptr_nonnull(strstr(r->body, "\"status\":\"degraded\""));
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	ck_assert_msg(wait_http("/readyz", 200, NULL, RECONNECT_BOUND_MS),
	    "%s", r->body);
	ck_assert_msg(strncmp(r->body, READY_OK, strlen(READY_OK)) == 0, "%s",
	    r->body);
	/* The ws-worker's own user event made the round trip. */
	ck_assert(H_WAIT_FOR(handled(0, "ChannelUserevent")));
	ck_assert(!handled(0, "ChannelCreated"));
}
END_TEST

/* A password ari.conf does not know: both answers name ari_auth. */
START_TEST(wrong_password_shows_in_deps_and_readyz)
{
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	sup_start("ARI_PASSWORD=wrong-e2e-pw");
	ck_assert(h_wait_log(&env, "do not match ari.conf"));
	ck_assert_msg(wait_http("/healthz/deps", 503, "\"ari_auth\":false",
	    H_WAIT_MS), "%s", r->body);
	ck_assert_ptr_nonnull(strstr(r->body, "\"edge_http_reachable\":true"));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 503);
	ck_assert_ptr_nonnull(strstr(r->body, "\"ari_auth\":false"));
	ck_assert_ptr_nonnull(strstr(r->body, "\"ws_connected\":false"));
	ck_assert(!h_log_has(&env, "wrong-e2e-pw"));
}
END_TEST

/* The raw StasisStart as Asterisk sent it: our app, our number. */
static void
check_raw_stasis_start(const char *capture)
{
	char	*raw = h_slurp_from(capture, 0), *ev, *end;

	ev = strstr(raw, "\"type\": \"StasisStart\"");
	ck_assert_msg(ev != NULL, "no StasisStart in %s", capture);
	if ((end = strstr(ev, "<--- Sending ARI event to")) != NULL)
		*end = '\0';
	ck_assert_ptr_nonnull(strstr(ev, "\"application\": \"mai\""));
	ck_assert_ptr_nonnull(strstr(ev, "\"context\": \"incoming\""));
	ck_assert_ptr_nonnull(strstr(ev, "\"exten\": \"" E2E_SERVICE_EXTEN "\""));
	free(raw);
}

/*
 * One call: StasisStart reaches the flow-worker, and the flow-worker saw
 * exactly the events Asterisk says it sent to mai, in the same order.  The
 * flow-worker logs only seq and type, so fields are checked on Asterisk's
 * side only.
 */
START_TEST(call_reaches_flow_worker_as_asterisk_sent_it)
{
	static char	sent[16384], got[16384];
	char		capture[512];
	const char	*allowed;
	long		from;
	bool		same;

	start_ready();
	capture_start(capture, sizeof(capture));
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel originate Local/"
	    E2E_SERVICE_EXTEN "@incoming application Echo'"), 0);
	ck_assert(H_WAIT_FOR(handled(from, "StasisStart")));
	/* Hang up so the call's events come to an end. */
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel request hangup all'"), 0);
	same = H_WAIT_FOR((types_sent(capture, sent, sizeof(sent)),
	    types_handled(from, got, sizeof(got)),
	    strstr(sent, "StasisEnd") != NULL && strcmp(sent, got) == 0));
	ck_assert_msg(same, "Asterisk sent: %s\nflow-worker got: %s", sent,
	    got);
	ck_assert_ptr_nonnull(strstr(sent, "StasisStart"));
	/*
	 * The event filter is Asterisk's (ws-worker/evfilter.c): what no
	 * worker acts on was never written to the socket.
	 */
	ck_assert_msg(strstr(sent, "ChannelVarset") == NULL &&
	    strstr(sent, "ChannelStateChange") == NULL &&
	    strstr(sent, "ChannelDialplan") == NULL, "%s", sent);
	ck_assert_int_eq(ari_get("/applications/mai", r), 200);
	allowed = strstr(r->body, "\"events_allowed\"");
	ck_assert_msg(allowed != NULL && strstr(allowed, "StasisStart") != NULL,
	    "%s", r->body);
	ck_assert_int_eq(h_metric(&env, "mai_ws_event_filter"), 1);
	check_raw_stasis_start(capture);
	unlink(capture);
}
END_TEST

/*
 * Another client takes ARI_APP: its ApplicationReplaced reaches mai
 * through the event filter (Asterisk sends it through the application's
 * filter), /readyz says so, and once the other client leaves mai takes
 * the application back.
 */
START_TEST(application_replaced_seen_through_the_filter)
{
	char	buf[512];
	ssize_t	n;
	int	fd;

	start_ready();
	ck_assert_int_ge(fd = h_connect(E2E_ARI_PORT), 0);
	dprintf(fd, "GET /ari/events?app=mai HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Basic " E2E_ARI_AUTH "\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Key: bWFpLWUyZS1yZXBsYWNlZA==\r\n\r\n");
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_msg(strncmp(buf, "HTTP/1.1 101", 12) == 0, "%s", buf);
	ck_assert_msg(wait_http("/readyz", 503, "\"app_replaced\":true",
	    H_WAIT_MS), "%s", r->body);
	ck_assert(h_log_has(&env, "ApplicationReplaced"));
	close(fd);
	ck_assert_msg(wait_http("/readyz", 200, NULL, RECONNECT_BOUND_MS),
	    "%s", r->body);
	ck_assert(h_log_has(&env, "nobody holds it"));
}
END_TEST

/* Asterisk stopped: degraded within the keep-alive bound; back when up. */
START_TEST(stopped_edge_turns_degraded_then_ok_again)
{
	start_ready();
	ck_assert_int_eq(ast(NULL, 0, "stop"), 0);
	ck_assert_msg(wait_http("/readyz", 503, "\"ws_connected\":false",
	    KEEPALIVE_BOUND_MS), "%s", r->body);
	ck_assert_msg(wait_http("/healthz/deps", 503,
	    "\"edge_http_reachable\":false", KEEPALIVE_BOUND_MS), "%s",
	    r->body);
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	ck_assert_msg(wait_http("/readyz", 200, NULL, RECONNECT_BOUND_MS),
	    "%s", r->body);
}
END_TEST

/*
 * Asterisk frozen (SIGSTOP): its sockets stay open but nothing answers, so
 * only the ws-worker's ping can tell the WebSocket is dead.
 */
START_TEST(frozen_edge_caught_by_ping_then_ok_after_thaw)
{
	char	out[64];
	pid_t	pid;

	start_ready();
	ck_assert_int_eq(ast(out, sizeof(out), "pid"), 0);
	ck_assert_int_gt((pid = atoi(out)), 1);
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	ck_assert_msg(wait_http("/readyz", 503, "\"ws_connected\":false",
	    KEEPALIVE_BOUND_MS), "%s", r->body);
	ck_assert(h_log_has(&env, "ARI WebSocket dead:"));
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_msg(wait_http("/readyz", 200, NULL, RECONNECT_BOUND_MS),
	    "%s", r->body);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e");
	TCase	*tc = tcase_create("asterisk22");

	/* One tcase, in order: they share Asterisk's fixed port 8088. */
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, readyz_degraded_then_ok_without_call);
	tcase_add_test(tc, wrong_password_shows_in_deps_and_readyz);
	tcase_add_test(tc, call_reaches_flow_worker_as_asterisk_sent_it);
	tcase_add_test(tc, application_replaced_seen_through_the_filter);
	tcase_add_test(tc, stopped_edge_turns_degraded_then_ok_again);
	tcase_add_test(tc, frozen_edge_caught_by_ping_then_ok_after_thaw);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
