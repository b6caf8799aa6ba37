/*
 * test_bot_engines.c — the real mai-bot against local fake engine
 * servers (OpenAI-compatible STT, LLM with SSE streaming, TTS), and
 * their faults: down, slow, HTTP 500, garbage, a stream cut midway.  A
 * fault must give the caller the spoken apology, end the call with
 * result "error", and be counted in /metrics by stage and kind.
 */
#include <pthread.h>

#include <check.h>

#include "test_bot_lib.h"

enum mode { M_OK = 0, M_500, M_GARBAGE, M_SLOW, M_CUT, M_DOWN };

struct fake {
	int		 fd;
	int		 port;
	enum mode	 mode;
	pthread_t	 th;
	char		 last[8192];	/* the last request's body */
	int		 hits;
};

static struct fake	 f_llm, f_stt, f_tts;
static struct tb_bot	 bot;
static char		 body[8192];

static void
fake_write(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/* An LLM answer in chunks split mid-word, mid-JSON, mid-line. */
static void
fake_llm(struct fake *f, int fd)
{
	static const char *const words[] = { "We are open ", "Monday to ",
		"Friday. ", "Goodbye", ". [[set:BOT_X=", "1]][[result:good",
		"bye]]" };
	char	ev[512];
	size_t	i, k, len;
	int	n = f->mode == M_CUT ? 3 : 7;

	fake_write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Connection: close\r\n\r\n: hello\n\n");
	for (i = 0; i < (size_t)n; i++) {
		snprintf(ev, sizeof(ev), "data: {\"choices\":[{\"delta\":"
		    "{\"content\":\"%s\"}}]}\n\n", words[i]);
		len = strlen(ev);
		for (k = 0; k < len; k += 7) {	/* 7-byte pieces */
			(void)!write(fd, ev + k, len - k < 7 ? len - k : 7);
			h_sleep_ms(1);
		}
	}
	if (f->mode != M_CUT)
		fake_write(fd, "data: [DONE]\n\n");
}

static void
fake_tts(int fd)
{
	int16_t		pcm[12000];	/* 0.5 s of 440 Hz at 24 kHz */
	char		hdr[256];
	uint32_t	v;
	uint8_t		w[44];
	size_t		i;

	for (i = 0; i < 12000; i++)
		pcm[i] = (int16_t)(8000 * __builtin_sin(i * 2 * 3.14159 * 440 /
		    24000));
	memcpy(w, "RIFF", 4);
	v = 36 + sizeof(pcm); memcpy(w + 4, &v, 4);
	memcpy(w + 8, "WAVEfmt ", 8);
	v = 16; memcpy(w + 16, &v, 4);
	w[20] = 1; w[21] = 0; w[22] = 1; w[23] = 0;
	v = 24000; memcpy(w + 24, &v, 4);
	v = 48000; memcpy(w + 28, &v, 4);
	w[32] = 2; w[33] = 0; w[34] = 16; w[35] = 0;
	memcpy(w + 36, "data", 4);
	v = sizeof(pcm); memcpy(w + 40, &v, 4);
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: audio/wav"
	    "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    sizeof(w) + sizeof(pcm));
	fake_write(fd, hdr);
	(void)!write(fd, w, sizeof(w));
	(void)!write(fd, pcm, sizeof(pcm));
}

static void
fake_answer(struct fake *f, int fd, const char *path)
{
	static const char stt_ok[] = "{\"text\":\"what are your hours\"}";
	char	hdr[256];

	if (strstr(path, "/v1/models") != NULL) {
		fake_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		    "Connection: close\r\n\r\n{}");
		return;
	}
	f->hits++;
	if (f->mode == M_SLOW)
		h_sleep_ms(3000);
	if (f->mode == M_500) {
		fake_write(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n"
		    "Connection: close\r\n\r\noops");
	} else if (f->mode == M_GARBAGE) {
		fake_write(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
		    "Content-Length: 13\r\nConnection: close\r\n\r\n<html>?</html");
	} else if (f == &f_llm)
		fake_llm(f, fd);
	else if (f == &f_tts)
		fake_tts(fd);
	else if (f->mode == M_CUT)
		fake_write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
		    "Connection: close\r\n\r\n{\"text\":\"wh");
	else {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n", strlen(stt_ok));
		fake_write(fd, hdr);
		fake_write(fd, stt_ok);
	}
}

/* Read one request (headers and Content-Length body), answer, close. */
static void *
fake_serve(void *arg)
{
	struct fake	*f = arg;
	static char	 req[1 << 20];
	size_t		 len;
	ssize_t		 n;
	char		*sep, *cl, path[256];
	int		 c;

	while ((c = accept(f->fd, NULL, NULL)) != -1) {
		len = 0;
		while ((n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if ((sep = strstr(req, "\r\n\r\n")) == NULL)
				continue;
			cl = strcasestr(req, "Content-Length:");
			if (cl == NULL || len >= (size_t)(sep + 4 - req) +
			    (size_t)atoi(cl + 15))
				break;
		}
		sscanf(req, "%*s %255s", path);
		if ((sep = strstr(req, "\r\n\r\n")) != NULL)
			snprintf(f->last, sizeof(f->last), "%s", sep + 4);
		fake_answer(f, c, path);
		close(c);
	}
	return NULL;
}

static void
fake_start(struct fake *f, enum mode m)
{
	memset(f, 0, sizeof(*f));
	f->mode = m;
	f->fd = h_listen(SOCK_STREAM, &f->port);
	pthread_create(&f->th, NULL, fake_serve, f);
}

/* The engine goes away: nothing listens on its port any more. */
static void
fake_down(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->th, NULL);
}

static void
start_bot(bool stt_http, bool tts_http, const char *more)
{
	static char	 llm[64], stt[64], tts[64];
	const char	*extra[16];
	int		 n = 0;

	snprintf(llm, sizeof(llm), "BOT_LLM_URL=http://127.0.0.1:%d",
	    f_llm.port);
	snprintf(stt, sizeof(stt), "BOT_STT_URL=http://127.0.0.1:%d",
	    f_stt.port);
	snprintf(tts, sizeof(tts), "BOT_TTS_URL=http://127.0.0.1:%d",
	    f_tts.port);
	extra[n++] = llm;
	extra[n++] = "BOT_LLM_IDLE_MS=800";
	extra[n++] = "BOT_STT_TIMEOUT_MS=800";
	extra[n++] = "BOT_TTS_TIMEOUT_MS=800";
	extra[n++] = "BOT_GREETING=Hi.";
	extra[n++] = "BOT_VAD_SILENCE_MS=250";
	extra[n++] = "BOT_APOLOGY=Sorry, goodbye.";
	if (stt_http) {
		extra[n++] = stt;
		extra[n++] = "BOT_STT=http";
	}
	if (tts_http) {
		extra[n++] = tts;
		extra[n++] = "BOT_TTS=http";
	}
	if (more != NULL)
		extra[n++] = more;
	extra[n] = NULL;
	ck_assert_int_gt(tb_start(&bot, extra), 0);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);	/* a fake writing to a gone client */
}

static void
teardown(void)
{
	if (bot.pid > 0)
		ck_assert_int_eq(tb_stop(&bot), 0);
}

struct quiet {
	long	since_ms;
	size_t	min;
};

static bool
bot_quiet(struct tb_leg *l, void *arg)
{
	struct quiet	*q = arg;

	return l->npkts > q->min && h_now_ms() -
	    l->pkts[l->npkts - 1].at_ms >= 400;
}

/* Greeting, then a spoken question; returns the packets before it. */
static int
converse(struct tb_leg *l, size_t *from)
{
	char		 json[1024];
	struct quiet	 q = { 0, 5 };
	int16_t		*pcm;
	size_t		 n = 0;
	int		 fd;

	tb_leg_open(l, 1);
	tb_leg_json(l, "eng", json, sizeof(json));
	fd = tb_post(&bot, json);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 1));
	tb_leg_play(l, &bot, NULL, 0, 5000, bot_quiet, &q);
	*from = l->npkts;
	pcm = tb_speech("opening hours", 16000, &n);
	tb_leg_play(l, &bot, pcm, n, (int)(n / 16), NULL, NULL);
	free(pcm);
	q.min = l->npkts;
	tb_leg_play(l, &bot, NULL, 0, 8000, bot_quiet, &q);
	return fd;
}

static long
metrics_faults(void)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		*p;
	long		 t = 0;

	h_http(bot.http_port, "GET", "/metrics", r);
	for (p = r->body; (p = strstr(p, "\nbot_faults_total{")) != NULL; p++)
		t += strtol(strchr(p, '}') + 2, NULL, 10);
	free(r);
	return t;
}

/* STT, LLM (streamed) and TTS all over HTTP: the LLM ends the call. */
START_TEST(http_engines_conversation)
{
	struct tb_leg	leg;
	size_t		from;
	int		fd;

	fake_start(&f_llm, M_OK);
	fake_start(&f_stt, M_OK);
	fake_start(&f_tts, M_OK);
	start_bot(true, true, NULL);
	fd = converse(&leg, &from);
	ck_assert_int_eq(tb_answer(fd, 8000, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"result\":\"goodbye\""), "%s", body);
	ck_assert_ptr_nonnull(strstr(body, "\"BOT_X\":\"1\""));
	/* the LLM saw the prompt and the transcript */
	ck_assert_ptr_nonnull(strstr(f_llm.last, "\"stream\":true"));
	ck_assert_ptr_nonnull(strstr(f_llm.last, "what are your hours"));
	ck_assert_ptr_nonnull(strstr(f_llm.last, "\"role\":\"system\""));
	/* sentences spoken: greeting + 3 sentences from the fake TTS */
	ck_assert_int_ge(f_tts.hits, 3);
	ck_assert_uint_ge(leg.npkts - from, 2 * 20);
	ck_assert_int_eq(tb_metric(&bot, "bot_llm_seconds_count"), 1);
	ck_assert_int_eq(metrics_faults(), 0);
	close(fd);
	tb_leg_close(&leg);
}
END_TEST


struct fault_case {
	const char	*stage;
	enum mode	 mode;
	const char	*kind;
};

static const struct fault_case cases[] = {
	{ "llm", M_500, "http" }, { "llm", M_GARBAGE, "garbage" },
	{ "llm", M_SLOW, "timeout" }, { "llm", M_CUT, "cut" },
	{ "llm", M_DOWN, "down" },
	{ "stt", M_500, "http" }, { "stt", M_GARBAGE, "garbage" },
	{ "stt", M_SLOW, "timeout" }, { "stt", M_CUT, "cut" },
	{ "stt", M_DOWN, "down" },
	{ "tts", M_500, "http" }, { "tts", M_GARBAGE, "garbage" },
	{ "tts", M_SLOW, "timeout" }, { "tts", M_DOWN, "down" },
};

/* Each fault: apology heard, result "error", counted once. */
START_TEST(engine_fault)
{
	const struct fault_case	*c = &cases[_i];
	struct fake		*f = !strcmp(c->stage, "llm") ? &f_llm :
	    !strcmp(c->stage, "stt") ? &f_stt : &f_tts;
	struct tb_leg		 leg;
	struct quiet		 q = { 0, 5 };
	char			 sample[128], json[1024];
	size_t			 from = 0;
	int			 fd;

	fake_start(&f_llm, M_OK);
	fake_start(&f_stt, M_OK);
	fake_start(&f_tts, M_OK);
	f->mode = c->mode == M_DOWN ? M_OK : c->mode;
	start_bot(f == &f_stt, f == &f_tts, NULL);
	if (c->mode == M_DOWN)
		fake_down(f);
	if (f == &f_tts) {	/* the greeting itself fails */
		tb_leg_open(&leg, 1);
		tb_leg_json(&leg, "eng", json, sizeof(json));
		fd = tb_post(&bot, json);
		tb_leg_play(&leg, &bot, NULL, 0, 8000, bot_quiet, &q);
	} else
		fd = converse(&leg, &from);
	ck_assert_int_eq(tb_answer(fd, 8000, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"result\":\"error\"") != NULL, "%s %s: %s",
	    c->stage, c->kind, body);
	snprintf(sample, sizeof(sample),
	    "bot_faults_total{stage=\"%s\",kind=\"%s\"}", c->stage, c->kind);
	ck_assert_msg(tb_metric(&bot, sample) == 1, "%s is %ld", sample,
	    tb_metric(&bot, sample));
	ck_assert_int_eq(metrics_faults(), 1);
	/* the apology was heard: "Sorry, goodbye." is about a second */
	ck_assert_msg(leg.npkts - from > 25, "%s %s: %zu packets", c->stage,
	    c->kind, leg.npkts - from);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	close(fd);
	tb_leg_close(&leg);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bot_engines");
	TCase	*tc = tcase_create("engines");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, http_engines_conversation);
	tcase_add_loop_test(tc, engine_fault, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
