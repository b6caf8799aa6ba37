/*
 * test_bot_turn.c — whole turns through the real mai-bot over RTP:
 * speech made with espeak-ng goes in, pocketsphinx's transcript picks a
 * rule of the scripted dialogue, the answer comes back as RTP and is
 * recognised again; the long control request is answered with the
 * dialogue's result after the last word; barge-in stops the bot's audio
 * within a bounded number of frames; silence is not a turn.
 */
#include <check.h>

#include "test_bot_lib.h"

static struct tb_bot	 bot;
static char		 body[8192];

/* The shipped demo's rules with a short greeting, to keep tests fast. */
static const char dialogue[] =
    "{\"greeting\":\"Hello.\",\"fallback\":\"Sorry?\",\"max_turns\":5,"
    "\"rules\":["
    "{\"keywords\":[\"agent\",\"human\",\"operator\"],\"say\":\"One "
    "moment, I am connecting you.\",\"result\":\"transfer\",\"set\":"
    "{\"BOT_REASON\":\"agent\"}},"
    "{\"keywords\":[\"goodbye\",\"bye\"],\"say\":\"Goodbye.\",\"result\":"
    "\"goodbye\"},"
    "{\"keywords\":[\"opening\",\"hours\",\"open\"],\"say\":\"We are open "
    "Monday to Friday.\"}]}";

static const char long_greeting[] =
    "{\"greeting\":\"Hello, this is the mai demo bot. It talks for a long "
    "time so that the caller can interrupt it, and it goes on and on "
    "about nothing in particular.\",\"fallback\":\"Sorry?\","
    "\"rules\":[{\"keywords\":[\"opening\",\"hours\"],\"say\":\"We are "
    "open Monday to Friday.\"}]}";

static void
start_with(const char *dlg, const char *more)
{
	ck_assert_int_gt(tb_start_dialogue(&bot, dlg, more), 0);
}

static void
teardown(void)
{
	int	rc = tb_stop(&bot);

	ck_assert(rc == 0 || rc == -1);		/* -1: it never started */
}

struct quiet {
	long	since_ms;
	int	ms;		/* this long without a bot packet */
	size_t	min;		/* after at least this many */
};

/* True once the bot has talked and then been quiet for q->ms. */
static bool
bot_quiet(struct tb_leg *l, void *arg)
{
	struct quiet	*q = arg;

	if (l->npkts <= q->min)
		return false;
	return h_now_ms() - l->pkts[l->npkts - 1].at_ms >= q->ms &&
	    l->pkts[l->npkts - 1].at_ms >= q->since_ms;
}

/* Register the leg, then play silence until the greeting is over. */
static int
call_and_greet(struct tb_leg *l, const char *name)
{
	char		json[1024];
	struct quiet	q = { h_now_ms(), 300, 10 };
	int		fd;

	tb_leg_json(l, name, json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") >= 1));
	tb_leg_play(l, &bot, NULL, 0, 15000, bot_quiet, &q);
	ck_assert_uint_gt(l->npkts, 10);
	return fd;
}

/* Say text; then silence until the bot answered and went quiet. */
static size_t
say(struct tb_leg *l, const char *text)
{
	size_t		 n, before = l->npkts;
	int16_t		*pcm = tb_speech(text, l->slin16 ? 16000 : 8000, &n);
	struct quiet	 q;
	int		 ms = (int)(n * 1000 / (l->slin16 ? 16000 : 8000));

	ck_assert_ptr_nonnull(pcm);
	tb_leg_play(l, &bot, pcm, n, ms, NULL, NULL);
	free(pcm);
	q.since_ms = h_now_ms();
	q.ms = 400;
	q.min = l->npkts;
	tb_leg_play(l, &bot, NULL, 0, 12000, bot_quiet, &q);
	return before;
}

START_TEST(turn_keyword_answer_recognised)
{
	struct tb_leg	 leg;
	size_t		 from, n;
	int16_t		*pcm;
	char		*heard;
	int		 fd;

	start_with(dialogue, NULL);
	tb_leg_open(&leg, 1);
	fd = call_and_greet(&leg, "turn");
	from = leg.npkts;
	say(&leg, "what are your opening hours");
	ck_assert_msg(tb_log_has(&bot, "opening"), "no transcript with "
	    "\"opening\" in %s", bot.log);
	ck_assert_uint_gt(leg.npkts - from, 25);	/* > 0.5 s of answer */
	ck_assert_int_eq(tb_metric(&bot, "bot_turns_total"), 1);
	ck_assert_int_eq(tb_metric(&bot, "bot_turn_latency_seconds_count"), 1);
	pcm = tb_leg_audio16k(&leg, from, &n);
	heard = tb_recognize(pcm, n, "we | are | open | monday | to | friday");
	ck_assert_msg(strstr(heard, "open") || strstr(heard, "friday") ||
	    strstr(heard, "monday"), "answer heard as \"%s\"", heard);
	free(heard);
	free(pcm);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

/*
 * Asterisk sends nothing while the far side is silent (a Local channel in
 * Wait(); chan_websocket since 22.9): speech, then no frames at all, is a
 * turn that ended.
 */
START_TEST(turn_ends_when_media_stops)
{
	struct tb_leg	 leg;
	size_t		 n;
	int16_t		*pcm;
	int		 fd;

	start_with(dialogue, NULL);
	tb_leg_open(&leg, 1);
	fd = call_and_greet(&leg, "nomedia");
	pcm = tb_speech("what are your opening hours", 16000, &n);
	ck_assert_ptr_nonnull(pcm);
	tb_leg_play(&leg, &bot, pcm, n, (int)(n * 1000 / 16000), NULL, NULL);
	free(pcm);
	/* Nothing is sent from now on; the bot's answer is still read. */
	ck_assert(H_WAIT_FOR((tb_leg_recv(&leg), tb_log_has(&bot,
	    "transcript"))));
	ck_assert_msg(tb_log_has(&bot, "opening"), "no \"opening\" in %s",
	    bot.log);
	ck_assert(H_WAIT_FOR((tb_leg_recv(&leg), tb_metric(&bot,
	    "bot_turns_total") == 1)));
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

/* The dialogue's action ends the call: last words, then the answer. */
START_TEST(transfer_answers_long_request)
{
	struct tb_leg	 leg;
	long		 last;
	int		 fd, st;

	start_with(dialogue, NULL);
	tb_leg_open(&leg, 1);
	fd = call_and_greet(&leg, "xfer");
	ck_assert_int_eq(tb_answer(fd, 10, body, sizeof(body)), -1);
	say(&leg, "operator please, I want to talk to a human agent");
	st = tb_answer(fd, 10000, body, sizeof(body));
	ck_assert_int_eq(st, 200);
	ck_assert_msg(strstr(body, "\"result\":\"transfer\"") != NULL, "%s",
	    body);
	ck_assert_ptr_nonnull(strstr(body, "\"BOT_REASON\":\"agent\""));
	/* the last word was out before the answer */
	last = leg.pkts[leg.npkts - 1].at_ms;
	ck_assert_int_le(last, h_now_ms());
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

struct barge {
	long	speech_ms;	/* when the caller began */
};

START_TEST(barge_in_stops_bot)
{
	struct tb_leg	 leg;
	char		 json[1024];
	size_t		 n, i, after = 0, at_speech;
	int16_t		*pcm;
	long		 t0;
	int		 fd;

	start_with(long_greeting, NULL);
	tb_leg_open(&leg, 1);
	tb_leg_json(&leg, "barge", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	tb_leg_play(&leg, &bot, NULL, 0, 1000, NULL, NULL);
	ck_assert_uint_gt(leg.npkts, 30);	/* the bot is talking */
	pcm = tb_speech("what are your opening hours", 16000, &n);
	at_speech = leg.npkts;
	t0 = h_now_ms();
	tb_leg_play(&leg, &bot, pcm, n, (int)(n / 16), NULL, NULL);
	free(pcm);
	/* the greeting's packets that arrived after the caller began */
	for (i = at_speech; i < leg.npkts; i++) {
		if (i > at_speech && leg.pkts[i].at_ms -
		    leg.pkts[i - 1].at_ms > 200)
			break;
		after++;
	}
	ck_assert_msg(after <= 15, "%zu frames after barge-in", after);
	ck_assert_int_eq(tb_metric(&bot, "bot_barge_ins_total"), 1);
	/* it listens again: the interrupting question is answered */
	{
		struct quiet q = { h_now_ms(), 400, leg.npkts };

		tb_leg_play(&leg, &bot, NULL, 0, 10000, bot_quiet, &q);
	}
	ck_assert_msg(tb_log_has(&bot, "opening"), "no transcript in %s",
	    bot.log);
	ck_assert_int_eq(tb_metric(&bot, "bot_turns_total"), 1);
	(void)t0;
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

/* Silence and faint noise: no turn, no transcript, the bot stays quiet. */
START_TEST(silence_is_not_a_turn)
{
	struct tb_leg	 leg;
	int16_t		*noise;
	size_t		 i, from;
	int		 fd;

	start_with(dialogue, NULL);
	tb_leg_open(&leg, 0);
	fd = call_and_greet(&leg, "quiet");
	from = leg.npkts;
	noise = malloc(8000 * 2 * sizeof(*noise));
	for (i = 0; i < 16000; i++)
		noise[i] = (int16_t)((rand() % 61) - 30);	/* ~ -60 dBFS */
	tb_leg_play(&leg, &bot, noise, 16000, 2000, NULL, NULL);
	free(noise);
	ck_assert_int_eq(tb_metric(&bot, "bot_turns_total"), 0);
	ck_assert(!tb_log_has(&bot, "transcript"));
	ck_assert_uint_eq(leg.npkts, from);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

/* A caller who says nothing: the call ends with "no_input". */
START_TEST(no_input_ends_call)
{
	struct tb_leg	 leg;
	int		 fd;

	start_with(dialogue, "BOT_NO_INPUT_MS=1500");
	tb_leg_open(&leg, 0);
	fd = call_and_greet(&leg, "silent");
	tb_leg_play(&leg, &bot, NULL, 0, 1500, NULL, NULL);
	ck_assert_int_eq(tb_answer(fd, 5000, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"result\":\"no_input\"") != NULL, "%s",
	    body);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bot_turn");
	TCase	*tc = tcase_create("turn");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, turn_keyword_answer_recognised);
	tcase_add_test(tc, turn_ends_when_media_stops);
	tcase_add_test(tc, transfer_answers_long_request);
	tcase_add_test(tc, barge_in_stops_bot);
	tcase_add_test(tc, silence_is_not_a_turn);
	tcase_add_test(tc, no_input_ends_call);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
