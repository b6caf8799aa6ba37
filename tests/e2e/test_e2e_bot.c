/*
 * test_e2e_bot.c — a caller talks to the voice bot through mai, on a real
 * Asterisk 22 (tests/e2e/asterisk.sh) with the real mai-bot: the shipped
 * default flow, key 1, the bot's media leg and its
 * control request; the media over chan_websocket (slin16).
 *
 * The caller is the Local channel's other half running the dialplan of
 * tests/e2e/conf/extensions_local.conf ([e2e-bot-caller]): it presses 1,
 * asks "what are your opening hours" (speech made here with espeak-ng)
 * and records what it hears.  The bot's transcript must hold the question's
 * words; the recording, decoded again with pocketsphinx, must hold a word
 * of the bot's answer.  Barge-in: asked during the greeting, the bot stops
 * and answers.  A caller who hangs up mid-answer leaves nothing behind.
 *
 * Every wait is a liveness bound, never a speed check.
 */
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

#define QUESTION	"what are your opening hours"
/* The shipped dialogue's answer to it: "We are open Monday to Friday...". */
#define ANSWER_WORDS	"we | are | open | monday | to | friday | from | " \
			"nine | in | the | morning | five | evening"
/* Liveness bounds (ms): the caller's dialplan takes about 30 s. */
#define CALL_BOUND_MS	90000
#define BOT_READY_MS	30000

static pid_t	bot_pid;
static int	bot_http, bot_rtp;
static char	bot_log[512], ast_root[512];

/*
 * The bot on 127.0.0.1 with the shipped dialogue, its log in env.dir; its
 * media WebSocket on 18091, where asterisk-conf/websocket_client.conf's
 * "mai-bot" entry points (the edge connects per call).
 */
static void
bot_start(void)
{
	char	bin[512], dlg[512], http[64], rtp[64];

	bot_http = h_free_port();
	bot_rtp = h_free_port();
	snprintf(bot_log, sizeof(bot_log), "%s/bot.log", env.dir);
	snprintf(bin, sizeof(bin), "%s/mai-bot", h_build());
	snprintf(dlg, sizeof(dlg), "BOT_DIALOGUE_FILE=%s/bot/dialogue.json",
	    e2e_src());
	snprintf(http, sizeof(http), "BOT_HTTP_LISTEN=127.0.0.1:%d", bot_http);
	snprintf(rtp, sizeof(rtp), "BOT_RTP_LISTEN=127.0.0.1:%d", bot_rtp);
	ck_assert_int_ge(bot_pid = fork(), 0);
	if (bot_pid == 0) {
		if (freopen(bot_log, "w", stdout) == NULL ||
		    dup2(fileno(stdout), 2) == -1)
			_exit(127);
		putenv(dlg);
		putenv(http);
		putenv(rtp);
		putenv("BOT_WS_LISTEN=127.0.0.1:18091");
		putenv("BOT_LOG_LEVEL=debug");
		putenv("BOT_USER=nobody");
		execl(bin, "mai-bot", (char *)NULL);
		_exit(127);
	}
	ck_assert_msg(WAIT_UPTO(BOT_READY_MS, h_http(bot_http, "GET",
	    "/readyz", r) == 200), "bot not ready (log %s)", bot_log);
}

static void
bot_stop(void)
{
	if (bot_pid <= 0)
		return;
	kill(bot_pid, SIGTERM);
	waitpid(bot_pid, NULL, 0);
	bot_pid = 0;
}

static bool
bot_log_has(const char *needle)
{
	char	*s = h_slurp_from(bot_log, 0);
	bool	 ok = strstr(s, needle) != NULL;

	free(s);
	return ok;
}

/* A shell command; its exit status. */
static int
sh(const char *fmt, ...)
{
	char	cmd[2048];
	va_list	ap;
	int	rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * Asterisk with the question as a sound file in its /tmp, the bot, then
 * mai with the bot as BOT_MEDIA_HOST and BOT_CONTROL_URL.
 */
static void
setup(void)
{
	static char	ctl[64];
	const char *const more[] = { "BOT_MEDIA_HOST=mai-bot",
	    "BOT_MEDIA_TRANSPORT=websocket", ctl, "BOT_MEDIA_FORMAT=slin16",
	    NULL };
	size_t		n;

	e2e_setup();
	ck_assert_int_eq(ast(ast_root, sizeof(ast_root), "root"), 0);
	n = strcspn(ast_root, "\n");
	ast_root[n] = '\0';
	/*
	 * 16 kHz (.sln16, raw) as well as 8 kHz: Asterisk plays the file that
	 * needs the least translation, and the bot's recognition (a wideband
	 * model) wants the wideband one.
	 */
	ck_assert_int_eq(sh("rm -f %s/tmp/mai-e2e-* && espeak-ng -v en-us "
	    "-s 150 -w %s/q22.wav '" QUESTION "' && sox %s/q22.wav -r 8000 -c "
	    "1 -b 16 %s/tmp/mai-e2e-question.wav && sox %s/q22.wav -r 16000 "
	    "-c 1 -b 16 -e signed-integer -t raw %s/tmp/mai-e2e-question.sln16"
	    " && chmod 644 %s/tmp/mai-e2e-question.*", ast_root, env.dir,
	    env.dir, ast_root, env.dir, ast_root, ast_root), 0);
	bot_start();
	snprintf(ctl, sizeof(ctl), "BOT_CONTROL_URL=http://127.0.0.1:%d",
	    bot_http);
	e2e_start_ready(NULL, more);
}

static void
teardown(void)
{
	bot_stop();
	e2e_teardown();
}

/*
 * The caller runs EXTEN@e2e-bot-caller; wait until its call is over.  An
 * ARI originate, for its formats: a wideband call (slin16), as a caller
 * on a wideband codec, so that the question reaches the bot at 16 kHz.
 */
static void
call_bot(const char *exten)
{
	char	path[512];

	snprintf(path, sizeof(path), "/ari/channels?endpoint=Local/"
	    E2E_SERVICE_EXTEN "@incoming&extension=%s&context=e2e-bot-caller"
	    "&priority=1&formats=slin16", exten);
	ck_assert_int_eq(h_http_auth(E2E_ARI_PORT, "POST", path, "Basic "
	    E2E_ARI_AUTH, r), 200);
	ck_assert_msg(WAIT_UPTO(CALL_BOUND_MS, bot_log_has("session end")),
	    "no session end (bot log %s, mai log %s)", bot_log, env.log);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, all_gone()),
	    "still there: channels=%d", active_channels());
}

/* What pocketsphinx hears in a recording, among the words of a grammar. */
static char *
recognize(const char *wav, const char *words)
{
	char	out[1024] = "";
	FILE	*fp;
	size_t	 n;

	/* heard16.wav stays in the test's directory (MAI_TEST_KEEP=1). */
	ck_assert_int_eq(sh("sox -t wav %s -r 16000 -c 1 -b 16 %s/heard16.wav && "
	    "printf '#JSGF V1.0;\\ngrammar t;\\npublic <u> = <w>+;\\n<w> = "
	    "%s;\\n' >%s/answer.gram", wav, env.dir, words, env.dir), 0);
	snprintf(out, sizeof(out), "pocketsphinx_continuous -infile "
	    "%s/heard16.wav -jsgf %s/answer.gram -logfn /dev/null 2>/dev/null",
	    env.dir, env.dir);
	ck_assert_ptr_nonnull(fp = popen(out, "r"));
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	pclose(fp);
	return strdup(out);
}

/*
 * The bot's own figures for each answer on the real Asterisk, for the
 * record (docs/bot.md): end of the caller's turn to the bot's first
 * packet, and the part of it the bot spent.  Printed, never asserted.
 */
static void
print_turns(void)
{
	char	*s = h_slurp_from(bot_log, 0), *p = s;
	size_t	 n;

	while ((p = strstr(p, "first audio id=")) != NULL) {
		n = strcspn(p, "\n");
		fprintf(stderr, "e2e-bot: %.*s\n", (int)n, p);
		p += n;
	}
	free(s);
}

START_TEST(caller_asks_and_hears_the_answer)
{
	char	wav[600], *heard;
	long	from = log_size();

	call_bot("ask");
	/* mai took the call to the bot and the bot heard the question. */
	ck_assert(log_count(from, "state=bot event=digits:1") == 1);
	ck_assert_msg(bot_log_has("session start"), "bot log %s", bot_log);
	ck_assert_msg(bot_log_has("opening") || bot_log_has("hours"),
	    "no question words in the transcript (bot log %s)", bot_log);
	/* The dialogue's third rule: opening hours (bot/dialogue.json). */
	ck_assert_msg(bot_log_has("rule=2"), "bot log %s", bot_log);
	ck_assert(!bot_log_has("fault id="));
	print_turns();
	/* What the caller heard after asking: the dialogue's answer. */
	snprintf(wav, sizeof(wav), "%s/tmp/mai-e2e-bot-heard.wav16", ast_root);
	ck_assert_msg(access(wav, R_OK) == 0, "no recording %s", wav);
	heard = recognize(wav, ANSWER_WORDS);
	ck_assert_msg(strstr(heard, "open") != NULL ||
	    strstr(heard, "monday") != NULL || strstr(heard, "friday") != NULL,
	    "heard: \"%s\"", heard);
	free(heard);
}
END_TEST

START_TEST(caller_interrupts_the_greeting)
{
	call_bot("barge");
	ck_assert_msg(bot_log_has("barge-in id="), "no barge-in (bot log %s)",
	    bot_log);
	ck_assert_msg(bot_log_has("opening") || bot_log_has("hours"),
	    "no question words after the barge-in (bot log %s)", bot_log);
}
END_TEST

START_TEST(caller_hangs_up_mid_answer)
{
	long	from = log_size();

	call_bot("leave");
	ck_assert(log_count(from, "state=bot event=digits:1") == 1);
	ck_assert(WAIT_UPTO(H_WAIT_MS, h_http(bot_http, "GET", "/metrics", r) ==
	    200 && strstr(r->body, "bot_sessions_active 0") != NULL));
	ck_assert(ari_empty("/bridges"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e-bot");
	TCase	*tc = tcase_create("asterisk22");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, caller_asks_and_hears_the_answer);
	tcase_add_test(tc, caller_interrupts_the_greeting);
	tcase_add_test(tc, caller_hangs_up_mid_answer);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
