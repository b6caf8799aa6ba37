/*
 * test_bot_api.c — the real mai-bot's HTTP side and RTP framing: health,
 * readiness, metrics, the control API's refusals (400, 409), the long
 * request, the client closing it, configuration errors (exit 78), and
 * the greeting's RTP packets (seq, timestamp, PT, sizes, SSRC, marker).
 */
#include <check.h>

#include "test_bot_lib.h"

static struct tb_bot	 bot;
static struct h_resp	*r;
static char		 body[8192];

static void
setup(void)
{
	r = malloc(sizeof(*r));
}

static void
teardown(void)
{
	if (bot.pid > 0)
		ck_assert_int_eq(tb_stop(&bot), 0);
	free(r);
}

START_TEST(endpoints_answer)
{
	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/healthz", r), 200);
	ck_assert_str_eq(r->body, "{\"status\":\"ok\"}");
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/readyz", r), 200);
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/nope", r), 404);
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/v1/calls", r), 405);
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/metrics", r), 200);
	ck_assert_ptr_nonnull(strstr(r->ctype, "text/plain"));
	ck_assert_ptr_nonnull(strstr(r->body, "\nbot_sessions_active 0\n"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "# TYPE bot_turn_latency_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r->body,
	    "bot_faults_total{stage=\"llm\",kind=\"timeout\"} 0"));
	ck_assert_ptr_nonnull(strstr(r->body, "\nbot_rtp_refused_total 0\n"));
}
END_TEST

START_TEST(bad_requests_refused)
{
	struct tb_leg	leg;
	char		json[1024];
	int		fd;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	ck_assert_int_eq(tb_post_now(&bot, "{nope", body, sizeof(body)), 400);
	ck_assert_ptr_nonnull(strstr(body, "JSON"));
	ck_assert_int_eq(tb_post_now(&bot, "[1,2]", body, sizeof(body)), 400);
	ck_assert_int_eq(tb_post_now(&bot, "{\"call\":\"c\"}", body,
	    sizeof(body)), 400);
	ck_assert_ptr_nonnull(strstr(body, "leg"));
	ck_assert_int_eq(tb_post_now(&bot, "{\"leg\":\"l\",\"transport\":"
	    "\"tcp\",\"peer\":\"127.0.0.1:4000\"}", body, sizeof(body)), 400);
	ck_assert_ptr_nonnull(strstr(body, "transport"));
	ck_assert_int_eq(tb_post_now(&bot, "{\"leg\":\"l\",\"format\":"
	    "\"g722\",\"peer\":\"127.0.0.1:4000\"}", body, sizeof(body)), 400);
	ck_assert_ptr_nonnull(strstr(body, "format"));
	ck_assert_int_eq(tb_post_now(&bot, "{\"leg\":\"l\",\"transport\":"
	    "\"udp\",\"peer\":\"nowhere\"}", body, sizeof(body)), 400);
	tb_leg_open(&leg, 0);
	tb_leg_json(&leg, "dup", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	ck_assert_int_eq(tb_post_now(&bot, json, body, sizeof(body)), 409);
	ck_assert_int_eq(tb_metric(&bot, "bot_sessions_active"), 1);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

/*
 * A flow-worker replaced mid-conversation: its request closes, its
 * successor sends one again for the same leg (without "peer"), and the
 * conversation goes on; a second request while one is held is refused.
 */
START_TEST(control_request_again_goes_on)
{
	struct tb_leg	leg;
	char		json[1024], body[512];
	int		fd, fd2;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	tb_leg_open(&leg, 0);
	tb_leg_json(&leg, "again", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	close(fd);
	ck_assert(H_WAIT_FOR(tb_log_has(&bot, "control request closed, waiting")));
	fd = tb_post(&bot, "{\"call\":\"c-again\",\"leg\":\"again\","
	    "\"transport\":\"udp\",\"peer\":\"\"}");
	ck_assert(H_WAIT_FOR(tb_log_has(&bot, "control request again")));
	ck_assert_int_eq(tb_metric(&bot, "bot_sessions_active"), 1);
	ck_assert_int_eq(tb_metric(&bot, "bot_sessions_total"), 1);
	fd2 = tb_post(&bot, json);
	ck_assert_int_eq(tb_answer(fd2, 5000, body, sizeof(body)), 409);
	close(fd2);
	/* Nobody asks again: the session ends after the wait. */
	close(fd);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	ck_assert(tb_log_has(&bot, "why=\"control request closed\""));
	tb_leg_close(&leg);
}
END_TEST

/* The flow-worker closing the request ends the session (after the wait). */
START_TEST(client_close_ends_session)
{
	struct tb_leg	leg;
	char		json[1024];
	int		fd;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	tb_leg_open(&leg, 0);
	tb_leg_json(&leg, "closing", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	tb_leg_play(&leg, &bot, NULL, 0, 400, NULL, NULL);
	close(fd);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	ck_assert(tb_log_has(&bot, "why=\"control request closed\""));
	/* and the same leg may come again */
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	close(fd);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	tb_leg_close(&leg);
}
END_TEST

static bool
got_packets(struct tb_leg *l, void *arg)
{
	return l->npkts >= (size_t)(intptr_t)arg;
}

static void
check_framing(struct tb_leg *l, size_t n)
{
	size_t	i, fs = l->slin16 ? 320 : 160;

	ck_assert_uint_ge(l->npkts, n);
	ck_assert_int_eq(l->pkts[0].marker, 1);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(l->pkts[i].pt, l->slin16 ? 118 : 0);
		ck_assert_uint_eq(l->pkts[i].len, l->slin16 ? 640 : 160);
		ck_assert_uint_eq(l->pkts[i].ssrc, l->pkts[0].ssrc);
		if (i == 0)
			continue;
		ck_assert_int_eq(l->pkts[i].marker, 0);
		ck_assert_uint_eq((uint16_t)(l->pkts[i].seq -
		    l->pkts[i - 1].seq), 1);
		ck_assert_uint_eq(l->pkts[i].ts - l->pkts[i - 1].ts, fs);
	}
}

/* The greeting: paced 20 ms RTP frames, well-formed, in the format. */
START_TEST(greeting_rtp_framing)
{
	struct tb_leg	leg;
	char		json[1024];
	int		fd, fmt;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	for (fmt = 0; fmt < 2; fmt++) {
		tb_leg_open(&leg, fmt);
		tb_leg_json(&leg, fmt ? "g16" : "g8", json, sizeof(json));
		fd = tb_post(&bot, json);
		/* RTP before the session is known is refused: wait */
		ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") ==
		    1));
		tb_leg_play(&leg, &bot, NULL, 0, 5000, got_packets,
		    (void *)(intptr_t)100);
		check_framing(&leg, 100);
		/* paced: 100 frames take about 2 s, never a burst */
		ck_assert_int_ge(leg.pkts[99].at_ms - leg.pkts[0].at_ms, 1500);
		close(fd);
		tb_leg_close(&leg);
		ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") ==
		    0));
	}
	ck_assert_int_eq(tb_metric(&bot, "bot_rtp_refused_total"), 0);
}
END_TEST

/* RTP from a source no session expects: dropped, counted, no answer. */
START_TEST(unexpected_source_refused)
{
	struct tb_leg	leg, stranger;
	char		json[1024];
	int		fd;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	tb_leg_open(&leg, 0);
	tb_leg_open(&stranger, 0);
	tb_leg_json(&leg, "known", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	tb_leg_play(&stranger, &bot, NULL, 0, 200, NULL, NULL);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_rtp_refused_total") == 10));
	ck_assert_uint_eq(stranger.npkts, 0);
	close(fd);
	tb_leg_close(&leg);
	tb_leg_close(&stranger);
}
END_TEST

/* Asterisk bound to 0.0.0.0: the peer matches by port only. */
START_TEST(wildcard_peer_matches_port)
{
	struct tb_leg	leg;
	char		json[1024];
	int		fd;

	ck_assert_int_gt(tb_start(&bot, NULL), 0);
	tb_leg_open(&leg, 0);
	snprintf(json, sizeof(json), "{\"leg\":\"w\",\"transport\":\"udp\","
	    "\"format\":\"ulaw\",\"peer\":\"0.0.0.0:%d\"}", leg.port);
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	tb_leg_play(&leg, &bot, NULL, 0, 3000, got_packets,
	    (void *)(intptr_t)20);
	check_framing(&leg, 20);
	ck_assert_int_eq(tb_metric(&bot, "bot_rtp_refused_total"), 0);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

START_TEST(bad_config_exits_78)
{
	static const char *const cases[][2] = {
		{ "BOT_VAD_SILENCE_MS=abc", "BOT_VAD_SILENCE_MS" },
		{ "BOT_STT=vosk", "BOT_STT" },
		{ "BOT_HTTP_LISTEN=nohost", "BOT_HTTP_LISTEN" },
		{ "BOT_LLM_API_KEY_FILE=/nonexistent/key", "BOT_LLM_API_KEY_FILE" },
		{ "BOT_DIALOGUE_FILE=/nonexistent.json", "BOT_DIALOGUE_FILE" },
	};
	const char	*extra[2] = { NULL, NULL };
	size_t		 i;
	int		 st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		extra[0] = cases[i][0];
		ck_assert_int_gt(tb_start_env(&bot, extra, 0), 0);
		ck_assert_int_eq(waitpid(bot.pid, &st, 0), bot.pid);
		bot.pid = 0;
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 78,
		    "%s: status %d", cases[i][0], st);
		ck_assert_msg(tb_log_has(&bot, cases[i][1]), "%s", cases[i][0]);
	}
}
END_TEST

/* A key from a file is used but never written to the log. */
START_TEST(secret_not_logged)
{
	char		 path[64], kv[96];
	const char	*extra[4];
	FILE		*f;

	snprintf(path, sizeof(path), "/tmp/mai-bot-key-%d", getpid());
	f = fopen(path, "w");
	fputs("sk-very-secret-42\n", f);
	fclose(f);
	snprintf(kv, sizeof(kv), "BOT_LLM_API_KEY_FILE=%s", path);
	extra[0] = kv;
	extra[1] = "BOT_LLM_URL=http://127.0.0.1:9";
	extra[2] = "BOT_LOG_LEVEL=debug";
	extra[3] = NULL;
	ck_assert_int_gt(tb_start_env(&bot, extra, 0), 0);
	ck_assert(H_WAIT_FOR(h_http(bot.http_port, "GET", "/healthz", r) ==
	    200));
	ck_assert_int_eq(h_http(bot.http_port, "GET", "/readyz", r), 503);
	ck_assert(!tb_log_has(&bot, "sk-very-secret"));
	unlink(path);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bot_api");
	TCase	*tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, endpoints_answer);
	tcase_add_test(tc, bad_requests_refused);
	tcase_add_test(tc, client_close_ends_session);
	tcase_add_test(tc, control_request_again_goes_on);
	tcase_add_test(tc, greeting_rtp_framing);
	tcase_add_test(tc, unexpected_source_refused);
	tcase_add_test(tc, wildcard_peer_matches_port);
	tcase_add_test(tc, bad_config_exits_78);
	tcase_add_test(tc, secret_not_logged);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
