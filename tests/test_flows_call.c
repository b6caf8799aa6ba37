/*
 * test_flows_call.c — calls walk their flows: the real supervisor and
 * workers against the ARI simulator's calls (/_sim/call, /_sim/dtmf,
 * /_sim/hangup), judged by the REST requests the simulator saw and by
 * what is left in it afterwards (nothing: no channel, no bridge).
 * Covers the shipped default flow (no input, 2, 1 with and without a bot
 * address), a caller hanging up during the bot, a transfer (dial) and a
 * busy one, a webhook that picks the next state, a flow-worker killed in
 * the middle of a call (and with calls beyond 1 MiB of GET /channels),
 * and many calls at once.  A worker killed while a call holds a leg:
 * test_flows_legs.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	env;
static pid_t		hook_pid;

static void setup(void) { h_init(&env); }

static void
teardown(void)
{
	if (hook_pid > 0) {
		kill(hook_pid, SIGKILL);
		waitpid(hook_pid, NULL, 0);
		hook_pid = 0;
	}
	h_cleanup(&env);
}

/* Supervisor with the default flows or these, and one more setting. */
static void
start(const char *flow_text, const char *more)
{
	h_flows_start(&env, flow_text, "playback_ms=30&answer_delay_ms=30&"
	    "recording_ms=100&continue_ms=10", more);
}

static bool
wait_state(const char *id, const char *state)
{
	char	needle[256];

	snprintf(needle, sizeof(needle), "call id=%s flow=main state=%s ", id,
	    state);
	return h_wait_log(&env, needle);
}

static void
dtmf(const char *id, const char *digits)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "dtmf?channel=%s&digits=%s", id, digits);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
}

/* The call is over and left nothing behind in "Asterisk". */
/* Plain call, no DTMF: greeting, menu, no input, hang up. */
START_TEST(default_flow_without_input_hangs_up)
{
	char	id[128], needle[256];

	start(NULL, NULL);
	h_sim_call(&env, "exten=43720270346", id, sizeof(id));
	ck_assert(wait_state(id, "hangup"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "play"), 2);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 1);
	/* MAI_STATE on entering greeting, menu and hangup. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 3);
	ck_assert(h_log_has(&env, "state=hangup event=no_input"));
	/*
	 * The event filter (ws-worker/evfilter.c) kept back what no worker
	 * acts on (ChannelStateChange, PlaybackStarted, ChannelVarset), and
	 * the call still walked its flow on what came through.
	 */
	ck_assert_int_gt(h_sim_stat(&env, "events_filtered"), 0);
	/* Its StasisStart's way to the answer, one line (latency.c). */
	snprintf(needle, sizeof(needle), "call first request answered id=%s "
	    "req=answer status=204 rx_at_us=", id);
	ck_assert_msg(h_log_has(&env, needle), "%s", needle);
}
END_TEST

START_TEST(default_flow_2_says_goodbye)
{
	char	id[128];

	start(NULL, NULL);
	h_sim_call(&env, "exten=43720270346", id, sizeof(id));
	ck_assert(wait_state(id, "menu"));
	dtmf(id, "2");
	ck_assert(wait_state(id, "goodbye"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "play"), 3);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 1);
	ck_assert(h_log_has(&env, "state=goodbye event=digits:2"));
}
END_TEST

/* 1 without BOT_MEDIA_HOST: "not available", the menu again. */
START_TEST(default_flow_1_without_bot_is_unavailable)
{
	char	id[128];

	start(NULL, NULL);
	h_sim_call(&env, "exten=555", id, sizeof(id));
	ck_assert(wait_state(id, "menu"));
	dtmf(id, "1");
	ck_assert(wait_state(id, "unavailable"));
	ck_assert(h_wait_log(&env, "state=menu event=done"));
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 0);
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* 1 with a bot address: externalMedia bridged; caller hangs up. */
START_TEST(default_flow_1_bot_cleaned_up_on_hangup)
{
	char	id[128], cmd[256];

	start(NULL, "BOT_MEDIA_HOST=127.0.0.1:40000");
	h_sim_call(&env, "exten=43720270346", id, sizeof(id));
	ck_assert(wait_state(id, "menu"));
	dtmf(id, "1");
	ck_assert(wait_state(id, "bot"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 2);
	ck_assert_int_eq(h_sim_stat(&env, "bridges"), 1);
	snprintf(cmd, sizeof(cmd), "hangup?channel=%s", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	h_sim_assert_gone(&env, 1);
	ck_assert(h_log_has(&env, "why=ChannelHangupRequest"));
}
END_TEST

/* Caller id and a bot leg ("mai-e...") both in a bridge of the sim's. */
static bool
bot_bridged(const char *id)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 quoted[160];
	bool		 ok;

	snprintf(quoted, sizeof(quoted), "\"%s\"", id);
	ok = h_http_auth(env.ari_port, "GET", "/ari/bridges",
	    "Basic bWFpOm12b2ljZTg5MDghIw==", r) == 200 &&
	    strstr(r->body, quoted) != NULL &&
	    strstr(r->body, "\"mai-e") != NULL;
	free(r);
	return ok;
}

/*
 * Asterisk answers the externalMedia POST before the leg is in Stasis, and
 * refuses to bridge it until then (422).  With its StasisStart 300 ms
 * after the answer, caller and bot leg still end up in the bridge, and
 * the call stays with the bot instead of going to "unavailable".
 */
START_TEST(bot_bridged_only_once_leg_in_stasis)
{
	char	id[128], cmd[256];

	start(NULL, "BOT_MEDIA_HOST=127.0.0.1:40000");
	ck_assert_int_eq(h_sim_ctl(&env, "media?xmedia_stasis_ms=300"), 200);
	h_sim_call(&env, "exten=43720270346", id, sizeof(id));
	ck_assert(wait_state(id, "menu"));
	dtmf(id, "1");
	ck_assert(wait_state(id, "bot"));
	ck_assert(H_WAIT_FOR(bot_bridged(id)));
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_add"), 1);
	ck_assert(!h_log_has(&env, "Channel not in Stasis"));
	ck_assert(!h_log_has(&env, "state=unavailable"));
	snprintf(cmd, sizeof(cmd), "hangup?channel=%s", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	h_sim_assert_gone(&env, 1);
}
END_TEST

#define DIAL_FLOW \
	"{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"transfer\", " \
	"\"states\": {\"transfer\": {\"actions\": [{\"action\": \"answer\"}, " \
	"{\"action\": \"dial\", \"endpoint\": \"PJSIP/${AGENT}\", " \
	"\"timeout_ms\": 5000}], \"on\": {\"dial_failed\": \"nobody\", " \
	"\"dial_ended\": \"bye\", \"done\": \"bye\"}}, \"nobody\": " \
	"{\"actions\": [{\"action\": \"hangup\", \"cause\": 17}]}, \"bye\": " \
	"{\"actions\": [{\"action\": \"hangup\"}]}}}}, \"routes\": " \
	"[{\"default\": true, \"flow\": \"main\"}]}"

/* An endpoint that is no endpoint: "dial_failed", no bridge. */
START_TEST(dial_bad_endpoint_fails)
{
	char	id[128];

	start(DIAL_FLOW, NULL);
	/* AGENT is not set: ${AGENT} expands to "", "PJSIP/" is refused. */
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(wait_state(id, "nobody"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "originate"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_create"), 0);
}
END_TEST

/* A transfer: the agent answers, both are bridged; the caller leaves. */
START_TEST(dial_bridges_and_cleans_up)
{
	char	id[128], cmd[256];

	start("{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"t\", "
	    "\"states\": {\"t\": {\"actions\": [{\"action\": \"dial\", "
	    "\"endpoint\": \"PJSIP/agent\"}], \"on\": {\"done\": \"t2\"}}, "
	    "\"t2\": {\"actions\": [{\"action\": \"hangup\"}]}}}}, "
	    "\"routes\": [{\"default\": true, \"flow\": \"main\"}]}", NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(h_wait_log(&env, "dialled leg answered"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 2);
	snprintf(cmd, sizeof(cmd), "hangup?channel=%s", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	h_sim_assert_gone(&env, 1);
}
END_TEST

START_TEST(dial_busy_fails_over)
{
	char	id[128];

	start("{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"t\", "
	    "\"states\": {\"t\": {\"actions\": [{\"action\": \"dial\", "
	    "\"endpoint\": \"PJSIP/busy\"}], \"on\": {\"dial_failed\": "
	    "\"nobody\", \"done\": \"nobody\"}}, \"nobody\": {\"actions\": "
	    "[{\"action\": \"play\", \"media\": \"sound:vm-nobodyavail\"}, "
	    "{\"action\": \"hangup\"}]}}}}, \"routes\": [{\"default\": true, "
	    "\"flow\": \"main\"}]}", NULL);
	h_sim_call(&env, "exten=1", id, sizeof(id));
	ck_assert(wait_state(id, "nobody"));
	ck_assert(h_log_has(&env, "state=nobody event=dial_failed"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "bridge_create"), 0);
}
END_TEST

/* One HTTP exchange: the request body to `saved`, `answer` back. */
static pid_t
hook_serve(int port, const char *answer, const char *saved)
{
	char			buf[16384];
	int			lfd, fd;
	ssize_t			n, len = 0;
	pid_t			pid;
	FILE			*fp;

	ck_assert_int_ge(lfd = h_listen(SOCK_STREAM, &port), 0);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	fd = accept(lfd, NULL, NULL);
	/* Headers and a small body arrive together on loopback. */
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(fd, buf + len,
	    sizeof(buf) - 1 - (size_t)len)) > 0) {
		len += n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL && buf[len - 1] == '}')
			break;
	}
	if ((fp = fopen(saved, "w")) != NULL) {
		fputs(buf, fp);
		fclose(fp);
	}
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", strlen(answer), answer);
	(void)!write(fd, buf, (size_t)n);
	close(fd);
	_exit(0);
}

START_TEST(webhook_answer_picks_the_state)
{
	char	flow[2048], saved[256], id[128], *body;
	FILE	*fp;
	long	sz;
	int	port = h_free_port();

	snprintf(saved, sizeof(saved), "%s/hook.txt", env.dir);
	/* A name that is no plain variable (a dialplan function) is ignored. */
	hook_pid = hook_serve(port, "{\"next\": \"b\", \"set\": {\"CHOICE\": "
	    "\"gold\", \"SHELL(id)\": \"x\"}}", saved);
	snprintf(flow, sizeof(flow), "{\"version\": 1, \"flows\": {\"main\": "
	    "{\"initial\": \"a\", \"states\": {\"a\": {\"actions\": "
	    "[{\"action\": \"setvar\", \"var\": \"LANG\", \"value\": \"de\"}, "
	    "{\"action\": \"webhook\", \"url\": \"http://localhost:%d/hook\"}],"
	    " \"on\": {\"webhook_failed\": \"c\", \"done\": \"c\"}}, \"b\": "
	    "{\"actions\": [{\"action\": \"hangup\", \"cause\": 16}]}, \"c\": "
	    "{\"actions\": [{\"action\": \"hangup\", \"cause\": 41}]}}}}, "
	    "\"routes\": [{\"default\": true, \"flow\": \"main\"}]}", port);
	start(flow, NULL);
	h_sim_call(&env, "exten=777&caller=4711", id, sizeof(id));
	ck_assert(wait_state(id, "b"));
	ck_assert(h_log_has(&env, "state=b event=webhook"));
	h_sim_assert_gone(&env, 1);
	/* LANG, CHOICE and MAI_STATE twice. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 4);
	ck_assert_ptr_nonnull(fp = fopen(saved, "r"));
	fseek(fp, 0, SEEK_END);
	sz = ftell(fp);
	rewind(fp);
	body = calloc(1, (size_t)sz + 1);
	ck_assert_int_eq(fread(body, 1, (size_t)sz, fp), sz);
	fclose(fp);
	ck_assert_msg(strstr(body, "POST /hook ") == body, "%s", body);
	ck_assert_msg(strstr(body, "\"channel_id\":\"") != NULL &&
	    strstr(body, id) != NULL, "%s", body);
	ck_assert_msg(strstr(body, "\"caller\":{\"number\":\"4711\"") != NULL,
	    "%s", body);
	ck_assert_msg(strstr(body, "\"exten\":\"777\"") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "\"variables\":{\"LANG\":\"de\"}") != NULL,
	    "%s", body);
	ck_assert_msg(strstr(body, "\"event\":{\"name\":\"start\"") != NULL,
	    "%s", body);
	ck_assert_ptr_null(strstr(body, "mvoice8908"));
	ck_assert_ptr_null(strcasestr(body, "Authorization"));
	free(body);
}
END_TEST

/*
 * kill -9 the flow-worker while a call plays its greeting: the next one
 * finds the call in Stasis, reads MAI_STATE and runs that state again; a
 * replayed StasisStart does not start it a second time.
 */
START_TEST(restart_resumes_the_call)
{
	char	id[128], needle[256];
	pid_t	flow, now;
	int	pos;

	start(NULL, NULL);
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=600000"), 200);
	h_sim_call(&env, "exten=43720270346", id, sizeof(id));
	ck_assert(wait_state(id, "greeting"));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "play") == 1));
	flow = h_worker_pid(&env, "flow-worker");
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=30"), 200);
	ck_assert(h_wait_worker(&env, "flow-worker", flow, &now));
	ck_assert(h_wait_log(&env, "reconcile: calls in Stasis to resume=1"));
	snprintf(needle, sizeof(needle), "call started id=%s exten=43720270346 "
	    "caller=1001 flow=main state=greeting why=resume", id);
	ck_assert_msg(h_wait_log(&env, needle), "%s", needle);
	ck_assert(wait_state(id, "menu"));
	dtmf(id, "2");
	h_sim_assert_gone(&env, 1);
	/* Started once; the replayed StasisStart found it running. */
	snprintf(needle, sizeof(needle), "call started id=%s exten=43720270346 "
	    "caller=1001 flow=main state=greeting why=start", id);
	ck_assert_int_ge(pos = h_log_pos(&env, needle, 0), 0);
	ck_assert_int_eq(h_log_pos(&env, needle, pos + 1), -1);
	ck_assert_int_eq(h_sim_stat(&env, "answer"), 2);
	ck_assert(h_wait_metric(&env, "mai_worker_restarts_total{worker="
	    "\"flow-worker\"}", 1, 0));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_resumed_total", 1, 0));
}
END_TEST

/* Bytes of the body of GET /ari/channels, as a successor reads it. */
static size_t
channels_bytes(void)
{
	static const char	req[] = "GET /ari/channels HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Basic "
	    "bWFpOm12b2ljZTg5MDghIw==\r\nConnection: close\r\n\r\n";
	char			buf[65536], *sep;
	size_t			total = 0, head = 0;
	ssize_t			n;
	int			fd;

	ck_assert_int_ge(fd = h_connect(env.ari_port), 0);
	ck_assert_int_eq(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		if (total == 0) {
			buf[n] = '\0';
			ck_assert_ptr_nonnull(strstr(buf, " 200 "));
			ck_assert_ptr_nonnull(sep = strstr(buf, "\r\n\r\n"));
			head = (size_t)(sep + 4 - buf);
		}
		total += (size_t)n;
	}
	close(fd);
	return total - head;
}

/*
 * More calls than GET /channels carries in 1 MiB (ari_rest's default
 * bound): long caller names and Stasis args make each channel ~580
 * bytes.  A flow-worker killed -9 while they all play: its successor
 * must still resume every one of them.
 */
START_TEST(restart_resumes_beyond_1mib)
{
	const long	n = 2000;
	char		cmd[1024], name[80], arg[251];
	pid_t		flow, now;

	start(NULL, "LOG_LEVEL=info");
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=600000"), 200);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	snprintf(cmd, sizeof(cmd), "calls?n=%ld&exten=43720270346&"
	    "caller_name=%s&args=%s", n, name, arg);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == n),
	    "playbacks_active=%ld", h_sim_stat(&env, "playbacks_active"));
	ck_assert_uint_gt(channels_bytes(), 1024 * 1024);
	flow = h_worker_pid(&env, "flow-worker");
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", flow, &now));
	ck_assert(h_wait_log(&env,
	    "reconcile: calls in Stasis to resume=2000,"));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_resumed_total", n, 0));
	/* Each one's greeting stopped and played again. */
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "play") == 2 * n),
	    "play=%ld", h_sim_stat(&env, "play"));
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "playbacks_active") == n),
	    "playbacks_active=%ld", h_sim_stat(&env, "playbacks_active"));
	ck_assert_int_eq(h_sim_ctl(&env, "hangup?all=1"), 200);
	h_sim_assert_gone(&env, n);
}
END_TEST

#define MISC_FLOW \
	"{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"s1\", " \
	"\"states\": {" \
	"\"s1\": {\"actions\": [{\"action\": \"answer\"}, {\"action\": " \
	"\"play\", \"media\": \"tone:ring\", \"async\": true}, " \
	"{\"action\": \"wait\", \"ms\": 100}, {\"action\": \"stop\"}], " \
	"\"on\": {\"done\": \"s2\"}}, " \
	"\"s2\": {\"actions\": [{\"action\": \"play\", \"media\": " \
	"\"sound:long\"}], \"on\": {\"dtmf:5\": \"s3\", \"done\": " \
	"\"s3\"}}, " \
	"\"s3\": {\"actions\": [{\"action\": \"record\", \"name\": " \
	"\"msg-${EXTEN}\", \"max_duration_s\": 1}], \"on\": {\"done\": " \
	"\"s4\"}}, " \
	"\"s4\": {\"actions\": [{\"action\": \"setvar\", \"var\": \"X\", " \
	"\"value\": \"${RECORDING}\"}, {\"action\": \"continue\", " \
	"\"context\": \"next\", \"exten\": \"s\", \"priority\": 1}]}}}}, " \
	"\"routes\": [{\"default\": true, \"flow\": \"main\"}]}"

/* async play and stop, wait, DTMF out of a play, record, setvar, continue. */
START_TEST(actions_play_stop_record_continue)
{
	char	id[128];

	start(MISC_FLOW, NULL);
	ck_assert_int_eq(h_sim_ctl(&env, "media?playback_ms=600000"), 200);
	h_sim_call(&env, "exten=321", id, sizeof(id));
	ck_assert(wait_state(id, "s2"));
	ck_assert_int_eq(h_sim_stat(&env, "stop_playback"), 1);
	dtmf(id, "5");
	ck_assert(wait_state(id, "s3"));
	ck_assert(h_log_has(&env, "state=s3 event=dtmf:5"));
	ck_assert(wait_state(id, "s4"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "play"), 2);
	ck_assert_int_eq(h_sim_stat(&env, "stop_playback"), 2);
	ck_assert_int_eq(h_sim_stat(&env, "record"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "continue"), 1);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), 0);
	/* MAI_STATE four times, RECORDING and X. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 6);
	ck_assert(h_log_has(&env, "why=StasisEnd"));
}
END_TEST

START_TEST(many_calls_at_once)
{
	const long	n = 500;

	start("{\"version\": 1, \"flows\": {\"short\": {\"initial\": \"g\", "
	    "\"states\": {\"g\": {\"actions\": [{\"answer\": {}}, {\"play\": "
	    "{\"media\": [\"sound:hello-world\"]}}, {\"hangup\": {}}]}}}}, "
	    "\"routes\": [{\"default\": true, \"flow\": \"short\"}]}",
	    "LOG_LEVEL=info");
	ck_assert_int_eq(h_sim_ctl(&env, "calls?n=500&exten=1"), 200);
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(&env, "calls_ended") == n),
	    "calls_ended=%ld", h_sim_stat(&env, "calls_ended"));
	ck_assert_int_eq(h_sim_stat(&env, "answer"), n);
	ck_assert_int_eq(h_sim_stat(&env, "play"), n);
	ck_assert_int_eq(h_sim_stat(&env, "hangup"), n);
	ck_assert_int_eq(h_sim_stat(&env, "channels"), 0);
	ck_assert(h_wait_metric(&env, "mai_flow_calls_started_total", n, 0));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_ended_total", n, 0));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_active", 0, 0));
	/* Every answer's latency measured once it was written. */
	ck_assert(h_wait_metric(&env, "mai_flow_answer_latency_seconds_count",
	    n, 0));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flows_call");
	TCase	*tc = tcase_create("default");
	TCase	*more = tcase_create("actions");
	TCase	*crash = tcase_create("restart");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, default_flow_without_input_hangs_up);
	tcase_add_test(tc, default_flow_2_says_goodbye);
	tcase_add_test(tc, default_flow_1_without_bot_is_unavailable);
	tcase_add_test(tc, default_flow_1_bot_cleaned_up_on_hangup);
	tcase_add_test(tc, bot_bridged_only_once_leg_in_stasis);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(more, setup, teardown);
	tcase_set_timeout(more, 90);
	tcase_add_test(more, dial_bad_endpoint_fails);
	tcase_add_test(more, dial_bridges_and_cleans_up);
	tcase_add_test(more, dial_busy_fails_over);
	tcase_add_test(more, webhook_answer_picks_the_state);
	tcase_add_test(more, actions_play_stop_record_continue);
	tcase_add_test(more, many_calls_at_once);
	suite_add_tcase(s, more);
	tcase_add_checked_fixture(crash, setup, teardown);
	tcase_set_timeout(crash, 90);
	tcase_add_test(crash, restart_resumes_the_call);
	tcase_add_test(crash, restart_resumes_beyond_1mib);
	suite_add_tcase(s, crash);
	return h_run_suite(s);
}
