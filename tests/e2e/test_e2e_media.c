/*
 * test_e2e_media.c — the webhook and bot actions end to end: the real
 * mai-supervisor against a real Asterisk 22 (tests/e2e/asterisk.sh), a
 * small HTTP server and an RTP peer in this process, each a thread on
 * 127.0.0.1.
 *
 * Webhook: the flow posts the call's context to our server, which answers
 * with the next state and a variable; the variable is on the Asterisk
 * channel.  A server that answers too late, with 500, with a body that is
 * not JSON or names no state sends the flow to webhook_failed.
 *
 * Bot: Asterisk's external media channel sends the caller's audio to our
 * RTP peer and plays back what the peer sends.  With Echo as the caller
 * the peer's tone comes back to it; with Milliwatt the caller's tone
 * reaches it.  Hanging the bot leg up runs the flow's bot_ended; the
 * caller hanging up leaves no bot leg and no bridge.
 *
 * Every wait is a liveness bound, never a speed check.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"
#include "e2e.h"
#include "hookserver.h"
#include "rtppeer.h"

#define FLOWS_TEMPLATE		"tests/e2e/flows-media.json"
#define HOOK_EXTEN		"7001"
#define BOT_EXTEN		"7101"
#define ORIGINATE(exten, app)	"cli 'channel originate Local/" exten \
				"@incoming application " app "'"
/* Liveness bounds (ms).  The hook flow's "gold" state waits 10 s. */
#define CALL_END_BOUND_MS	40000
#define AUDIO_BOUND_MS		20000

static char		flows_env[600], bot_env[64];

/* ---- Asterisk, the supervisor, the call ---- */

/*
 * The flow file with our HTTP server's port in its webhook URLs, then
 * Asterisk and the supervisor (BOT_MEDIA_HOST from bot, if given).
 */
static void
media_start(int hook_port, const char *bot)
{
	const char *const more[] = { flows_env, bot, NULL };
	const char	*mark = "@HOOK_PORT@";
	char		 path[512], *tpl, *p, *at;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", e2e_src(), FLOWS_TEMPLATE);
	tpl = h_slurp_from(path, 0);
	ck_assert_ptr_nonnull(strstr(tpl, mark));
	snprintf(path, sizeof(path), "%s/flows-media.json", env.dir);
	ck_assert_ptr_nonnull((fp = fopen(path, "w")));
	for (p = tpl; (at = strstr(p, mark)) != NULL; p = at + strlen(mark))
		fprintf(fp, "%.*s%d", (int)(at - p), p, hook_port);
	fputs(p, fp);
	ck_assert_int_eq(fclose(fp), 0);
	free(tpl);
	snprintf(flows_env, sizeof(flows_env), "FLOWS_FILE=%s", path);
	e2e_start_ready(NULL, more);
}

/* The channel whose name starts with prefix (and ends with suffix). */
static bool
find_channel(const char *prefix, const char *suffix, char *id, char *name,
    size_t size)
{
	struct json_object	*a, *ch, *v;
	const char		*s;
	size_t			 i;
	bool			 found = false;

	if (ari_get("/channels", r) != 200 ||
	    (a = json_tokener_parse(r->body)) == NULL)
		return false;
	for (i = 0; i < json_object_array_length(a) && !found; i++) {
		ch = json_object_array_get_idx(a, i);
		if (!json_object_object_get_ex(ch, "name", &v) ||
		    strncmp((s = json_object_get_string(v)), prefix,
		    strlen(prefix)) != 0 || (suffix != NULL && (strlen(s) <
		    strlen(suffix) || strcmp(s + strlen(s) - strlen(suffix),
		    suffix) != 0)))
			continue;
		snprintf(name, size, "%s", s);
		json_object_object_get_ex(ch, "id", &v);
		snprintf(id, size, "%s", json_object_get_string(v));
		found = true;
	}
	json_object_put(a);
	return found;
}

/* A bridge with n channels in it. */
static bool
bridge_with(size_t n)
{
	struct json_object	*a, *chans;
	size_t			 i;
	bool			 found = false;

	if (ari_get("/bridges", r) != 200 ||
	    (a = json_tokener_parse(r->body)) == NULL)
		return false;
	for (i = 0; i < json_object_array_length(a); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(a, i),
		    "channels", &chans) &&
		    json_object_array_length(chans) == n)
			found = true;
	json_object_put(a);
	return found;
}

/* Channel variable name of channel id, into out; ARI's status. */
static int
chan_var(const char *id, const char *name, char *out, size_t size)
{
	struct json_object	*o, *v;
	char			 path[256];
	int			 st;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/channels/%s/variable?variable=%s", id,
	    name);
	if ((st = ari_get(path, r)) == 200 &&
	    (o = json_tokener_parse(r->body)) != NULL) {
		if (json_object_object_get_ex(o, "value", &v))
			snprintf(out, size, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	return st;
}

/* obj's member at a "/"-separated path, as a string ("" if none). */
static const char *
jstr(struct json_object *obj, const char *path)
{
	struct json_object	*v = obj;
	char			 key[64];
	const char		*p = path;
	size_t			 n;

	while (*p != '\0' && v != NULL) {
		n = strcspn(p, "/");
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		if (!json_object_object_get_ex(v, key, &v))
			return "";
		p += n + (p[n] == '/');
	}
	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : "";
}

static void
assert_walk(long from, const char *const *walk)
{
	const char	*missing;

	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_in_order(from, walk,
	    &missing)), "flow-worker never logged \"%s\" (log %s)", missing,
	    env.log);
}

static void
assert_all_gone(void)
{
	ck_assert_msg(WAIT_UPTO(CALL_END_BOUND_MS, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
}

/* ---- webhook ---- */

/*
 * A call to HOOK_EXTEN from "Tester <4711>" (an ARI originate: the CLI's
 * has no caller id); the Local ;1 half runs [e2e] echo.
 */
static void
hook_originate(void)
{
	ck_assert_int_eq(h_http_auth(E2E_ARI_PORT, "POST", "/ari/channels?"
	    "endpoint=Local%2F" HOOK_EXTEN "%40incoming&context=e2e&"
	    "extension=echo&priority=1&callerId=Tester%20%3C4711%3E",
	    "Basic " E2E_ARI_AUTH, r), 200);
}

/* The request the server got is the call's context, as docs/flows.md. */
static void
assert_hook_request(const char *id)
{
	struct json_object	*o, *ch, *vars;
	char			 path[256], caller[64];

	/* The caller as Asterisk has it on the channel. */
	snprintf(path, sizeof(path), "/channels/%s", id);
	ck_assert_int_eq(ari_get(path, r), 200);
	ck_assert_ptr_nonnull((ch = json_tokener_parse(r->body)));
	snprintf(caller, sizeof(caller), "%s", jstr(ch, "caller/number"));
	json_object_put(ch);

	pthread_mutex_lock(&hook.mu);
	ck_assert_int_eq(hook.nreq, 1);
	ck_assert_str_eq(hook.method, "POST");
	ck_assert_str_eq(hook.target, "/hook/" HOOK_EXTEN);
	ck_assert_msg(strncasecmp(hook.ctype, "application/json", 16) == 0,
	    "Content-Type: %s", hook.ctype);
	o = json_tokener_parse(hook.body);
	ck_assert_msg(json_object_is_type(o, json_type_object), "body: %s",
	    hook.body);
	ck_assert_str_eq(jstr(o, "channel_id"), id);
	ck_assert_str_eq(caller, "4711");
	ck_assert_str_eq(jstr(o, "caller/number"), "4711");
	ck_assert_str_eq(jstr(o, "caller/name"), "Tester");
	ck_assert_str_eq(jstr(o, "exten"), HOOK_EXTEN);
	ck_assert_str_eq(jstr(o, "flow"), "hook");
	ck_assert_str_eq(jstr(o, "state"), "ask");
	ck_assert_msg(json_object_object_get_ex(o, "variables", &vars) &&
	    json_object_object_length(vars) == 1, "body: %s", hook.body);
	ck_assert_str_eq(jstr(o, "variables/ORDER"), "42");
	ck_assert_str_eq(jstr(o, "event/name"), "start");
	ck_assert_msg(json_object_object_get_ex(o, "event", &ch) &&
	    json_object_object_get_ex(ch, "value", NULL), "body: %s",
	    hook.body);
	json_object_put(o);
	pthread_mutex_unlock(&hook.mu);
}

/*
 * answer, setvar ORDER=42, webhook: the server answers {"next": "gold",
 * "set": {"CODE": "7", "TIER": 3}}.  One POST with the call's context;
 * the flow goes to gold (not to "plain", the done transition); CODE and
 * TIER are channel variables in Asterisk; gold's timeout ends the call.
 */
START_TEST(webhook_answer_picks_state_and_sets_variables)
{
	const char *const walk[] = {
	    "call started id=",
	    "flow=hook state=ask event=start",
	    "flow=hook state=gold event=webhook",
	    "flow=hook state=bye event=timeout",
	    "call ended id=", NULL };
	char	id[128], v[128];
	long	from;

	hook_start(HOOK_GOLD);
	media_start(hook.port, NULL);
	from = log_size();
	hook_originate();
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "flow=hook state=gold event=webhook") == 1),
	    "no webhook branch (log %s)", env.log);
	ck_assert(log_token(from, "call started id=", id, sizeof(id)));
	ck_assert_str_ne(id, "");
	/* gold waits 10 s: the call is still up. */
	ck_assert_int_eq(chan_var(id, "CODE", v, sizeof(v)), 200);
	ck_assert_str_eq(v, "7");
	ck_assert_int_eq(chan_var(id, "TIER", v, sizeof(v)), 200);
	ck_assert_str_eq(v, "3");
	ck_assert_int_eq(chan_var(id, "ORDER", v, sizeof(v)), 200);
	ck_assert_str_eq(v, "42");
	assert_hook_request(id);
	assert_all_gone();
	assert_walk(from, walk);
	ck_assert_int_eq(log_count(from, "exten=" HOOK_EXTEN " caller=4711 "),
	    1);
	ck_assert_int_eq(log_count(from, "state=plain"), 0);
	ck_assert_int_eq(log_count(from, "webhook failed"), 0);
	ck_assert_int_eq(log_count(from, "call ended id="), 1);
	ck_assert_int_eq(hook_nreq(), 1);
	ck_assert_int_eq(h_metric(&env, "mai_flow_webhook_errors_total"), 0);
	hook_stop();
}
END_TEST

/*
 * No usable answer: none within timeout_ms (2 s), a 500 (whose body names
 * a state), a body that is not JSON, a "next" that names no state.  Each
 * call is posted once, goes to webhook_failed, and ends.
 */
START_TEST(webhook_without_usable_answer_takes_webhook_failed)
{
	/* url: the reason follows "POST URL: " (the HTTP client's words). */
	static const struct { enum hook_mode mode; int url; const char *why; }
	    c[] = {
	    { HOOK_SLOW, 1, "timeout after 2000 ms" },
	    { HOOK_500, 1, "500" },
	    { HOOK_GARBAGE, 1, "200 but the body is not JSON" },
	    { HOOK_NOSTATE, 0, "\"next\" names no state of this flow" },
	};
	const char *const walk[] = {
	    "flow=hook state=ask event=start",
	    "webhook failed: ",
	    "flow=hook state=hook_failed event=webhook_failed",
	    "call ended id=", NULL };
	char		 line[256];
	long		 from;
	size_t		 i;

	hook_start(HOOK_SLOW);
	media_start(hook.port, NULL);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		hook.mode = c[i].mode;
		from = log_size();
		ck_assert_int_eq(ast(NULL, 0, ORIGINATE(HOOK_EXTEN, "Echo")),
		    0);
		assert_all_gone();
		assert_walk(from, walk);
		if (c[i].url)
			snprintf(line, sizeof(line), "webhook failed: POST "
			    "http://127.0.0.1:%d/hook/" HOOK_EXTEN ": %s\n",
			    hook.port, c[i].why);
		else
			snprintf(line, sizeof(line), "webhook failed: %s\n",
			    c[i].why);
		ck_assert_msg(log_count(from, line) == 1, "mode %zu: no \"%s\" "
		    "(log %s)", i, line, env.log);
		ck_assert_int_eq(log_count(from, "state=gold"), 0);
		ck_assert_int_eq(log_count(from, "state=plain"), 0);
		ck_assert_int_eq(hook_nreq(), (int)i + 1);
	}
	ck_assert(h_wait_metric(&env, "mai_flow_webhook_errors_total",
	    (long)i, 0));
	hook_stop();
}
END_TEST

/* ---- bot ---- */

/* Start the bot flow's call; the bot leg's id and Asterisk's RTP port. */
static void
bot_call(const char *caller_app, char *leg, size_t size, int *ast_port)
{
	char	name[256], v[64];

	peer_start();
	snprintf(bot_env, sizeof(bot_env), "BOT_MEDIA_HOST=127.0.0.1:%d",
	    peer.port);
	media_start(1, bot_env);
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel originate Local/"
	    BOT_EXTEN "@incoming application %s'", caller_app), 0);
	/* The caller and the bot leg in mai's bridge. */
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, bridge_with(2)),
	    "no bridge with two channels (log %s): %s", env.log, r->body);
	ck_assert(find_channel("UnicastRTP/", NULL, leg, name, size));
	ck_assert_int_eq(chan_var(leg, "UNICASTRTP_LOCAL_PORT", v,
	    sizeof(v)), 200);
	ck_assert_int_gt((*ast_port = atoi(v)), 0);
}

/* What came from Asterisk was RTP/µ-law, all from its RTP port. */
static void
assert_rx_sane(int ast_port)
{
	pthread_mutex_lock(&peer.mu);
	ck_assert_int_gt(peer.rx_pkts, 0);
	ck_assert_int_eq(peer.rx_bad, 0);
	ck_assert_int_eq(peer.rx_port, ast_port);
	ck_assert_int_eq(peer.rx_other_port, 0);
	pthread_mutex_unlock(&peer.mu);
}

static void
peer_report(const char *what)
{
	pthread_mutex_lock(&peer.mu);
	fprintf(stderr, "e2e-media: %s: from Asterisk %ld RTP packets, %ld "
	    "payload bytes, %ld loud, %ld our tone, %ld bad; to Asterisk %ld "
	    "packets, %ld payload bytes\n", what, peer.rx_pkts, peer.rx_bytes,
	    peer.rx_loud, peer.rx_ours, peer.rx_bad, peer.tx_pkts,
	    peer.tx_bytes);
	pthread_mutex_unlock(&peer.mu);
}

/*
 * The caller echoes what it hears.  Our peer sends a 400 Hz tone to the
 * port Asterisk names (UNICASTRTP_LOCAL_PORT); it comes back as loud
 * µ-law RTP at 400 Hz, from that port, none of it loud before we sent.  Hanging up the bot leg
 * over ARI is the flow's bot_ended: "after" plays a beep, hangs up.
 */
START_TEST(bot_audio_both_ways_then_bot_leg_hangs_up)
{
	const char *const walk[] = {
	    "call started id=",
	    "flow=bot state=talk event=start",
	    "flow=bot state=after event=bot_ended",
	    "call ended id=", NULL };
	char	leg[256], path[320];
	long	from;
	int	port;

	bot_call("Echo", leg, sizeof(leg), &port);
	from = log_size();
	ck_assert_int_eq(peer_get(&peer.rx_loud), 0);
	memset(&peer.to, 0, sizeof(peer.to));
	peer.to.sin_family = AF_INET;
	peer.to.sin_port = htons(port);
	peer.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	peer.sending = 1;
	ck_assert_msg(WAIT_UPTO(AUDIO_BOUND_MS,
	    peer_get(&peer.rx_ours) >= LOUD_PKTS &&
	    peer_get(&peer.tx_pkts) >= LOUD_PKTS), "rx our tone %ld, tx %ld",
	    peer_get(&peer.rx_ours), peer_get(&peer.tx_pkts));
	peer_report("echo");
	ck_assert_int_eq(peer_get(&peer.rx_loud_unsent), 0);
	assert_rx_sane(port);
	ck_assert_int_ge(peer_get(&peer.rx_bytes), LOUD_PKTS * RTP_SAMPLES);
	ck_assert_int_ge(peer_get(&peer.tx_bytes), LOUD_PKTS * RTP_SAMPLES);
	ck_assert_int_eq(log_count(from, "state=after"), 0);

	snprintf(path, sizeof(path), "/ari/channels/%s", leg);
	ck_assert_int_eq(h_http_auth(E2E_ARI_PORT, "DELETE", path,
	    "Basic " E2E_ARI_AUTH, r), 204);
	assert_all_gone();
	assert_walk(0, walk);
	ck_assert_int_eq(log_count(0, "call ended id="), 1);
	ck_assert_int_eq(log_count(0, "flow=bot state=failed"), 0);
	peer_stop();
	peer_report("echo, whole call");
}
END_TEST

/*
 * The caller plays a tone (Milliwatt, 1004 Hz) and our peer sends
 * nothing: that tone, not ours, reaches the peer.  Then the caller hangs up during the bot: no
 * bot leg, no bridge stays, and the flow never ran bot_ended.
 */
START_TEST(caller_hangup_during_bot_leaves_nothing)
{
	char	leg[256], caller[256], id[256];
	long	from;
	int	port;

	bot_call("Milliwatt", leg, sizeof(leg), &port);
	ck_assert_msg(WAIT_UPTO(AUDIO_BOUND_MS,
	    peer_get(&peer.rx_loud) >= LOUD_PKTS), "rx loud %ld (log %s)",
	    peer_get(&peer.rx_loud), env.log);
	peer_report("milliwatt");
	ck_assert_int_eq(peer_get(&peer.tx_pkts), 0);
	ck_assert_int_eq(peer_get(&peer.rx_ours), 0);
	assert_rx_sane(port);
	ck_assert(find_channel("Local/" BOT_EXTEN "@incoming", ";1", id,
	    caller, sizeof(caller)));
	from = log_size();
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel request hangup %s'",
	    caller), 0);
	assert_all_gone();
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_count(from,
	    "call ended id=") == 1), "no call end (log %s)", env.log);
	ck_assert_int_eq(log_count(0, "flow=bot state=talk why="), 2);
	ck_assert_int_eq(log_count(0, "state=after"), 0);
	ck_assert_int_eq(log_count(0, "event=bot_ended"), 0);
	peer_stop();
	peer_report("milliwatt, whole call");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e-media");
	TCase	*tc = tcase_create("asterisk22");

	/* One tcase, in order: they share Asterisk's fixed port 8088. */
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, webhook_answer_picks_state_and_sets_variables);
	tcase_add_test(tc, webhook_without_usable_answer_takes_webhook_failed);
	tcase_add_test(tc, bot_audio_both_ways_then_bot_leg_hangs_up);
	tcase_add_test(tc, caller_hangup_during_bot_leaves_nothing);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
