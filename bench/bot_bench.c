/*
 * bot_bench.c — mai-bot's turn latency, barge-in delay and how many
 * calls it carries, measured on the caller's side over real RTP.
 *
 * Usage: bot_bench CALLS TURNS [barge]
 * Starts the real bot (MAI_BUILD), opens CALLS slin16 legs at once and
 * has each say a question TURNS times (espeak-ng speech, then silence
 * until the bot's answer is over).  Prints, over all turns:
 *   caller   end of caller speech -> first answer packet (with VAD window)
 *   bot      the bot's own figure: end of turn detected -> first packet
 *   cpu      the bot's CPU time / wall time (one core = 100 %)
 *   stt      end of turn -> transcript (if STT keeps up, near 0)
 * With "barge": each turn the caller cuts into the answer after 0.5 s;
 * prints the delay from the first caller frame to the bot's last packet.
 */
#include <check.h>
#include <err.h>
#include <math.h>

#include "../tests/test_bot_lib.h"

#define CALLS_MAX	64
#define SAMPLES_MAX	4096

struct call {
	struct tb_leg	 leg;
	int		 fd;
	size_t		 pos;		/* speech sample sent */
	int		 state;		/* 0 wait quiet, 1 speak, 2 await */
	long		 t_end;		/* last speech frame sent */
	long		 t_barge;
	size_t		 pkts_seen;
	int		 turns;
};

static double	lat[SAMPLES_MAX], barge[SAMPLES_MAX];
static int	nlat, nbarge;

static int
cmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
pct(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	if (n == 0) {
		printf("%-8s n=0\n", what);
		return;
	}
	printf("%-8s n=%d p50=%.0f ms p99=%.0f ms max=%.0f ms\n", what, n,
	    v[n / 2], v[(int)ceil(n * 0.99) - 1], v[n - 1]);
}

static long
cpu_ticks(pid_t pid)
{
	char	path[64], buf[1024], *p;
	long	ut = 0, st = 0;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%ld %ld", &ut, &st);
	fclose(f);
	return ut + st;
}

/* One 20 ms step of one call's script. */
static void
step(struct call *c, struct tb_bot *b, const int16_t *q, size_t qn,
    bool do_barge, int turns)
{
	struct tb_leg	*l = &c->leg;
	long		 now = h_now_ms();
	bool		 quiet = l->npkts == 0 ||
	    now - l->pkts[l->npkts - 1].at_ms > 300;

	tb_leg_recv(l);
	if (c->state == 0 && quiet && c->turns < turns && l->npkts > 5) {
		c->state = 1;
		c->pos = 0;
	}
	if (c->state == 1) {
		tb_leg_send(l, b, q + c->pos);
		c->pos += 320;
		if (c->pos + 320 > qn) {
			c->state = 2;
			c->t_end = now;
			c->pkts_seen = l->npkts;
		}
		return;
	}
	if (c->state != 4)
		tb_leg_send(l, b, NULL);
	if (c->state == 2 && l->npkts > c->pkts_seen) {
		if (nlat < SAMPLES_MAX)
			lat[nlat++] = (double)(l->pkts[c->pkts_seen].at_ms -
			    c->t_end);
		c->turns++;
		c->state = do_barge && c->turns < turns ? 3 : 0;
		c->t_barge = now + 500;
	}
	if (c->state == 3 && now >= c->t_barge) {
		c->pos = 0;		/* cut in: ask again */
		c->t_barge = now;
		c->state = 4;
	}
	if (c->state == 4) {	/* speaking over the bot */
		tb_leg_send(l, b, q + c->pos);
		c->pos += 320;
		if (now - l->pkts[l->npkts - 1].at_ms > 200 ||
		    c->pos + 320 > qn) {
			if (nbarge < SAMPLES_MAX)
				barge[nbarge++] = (double)
				    (l->pkts[l->npkts - 1].at_ms - c->t_barge);
			c->state = 1;
		}
	}
}

static void
bot_figures(struct tb_bot *b)
{
	char	*log = tb_log(b), *p = log;
	double	 proc[SAMPLES_MAX], stt[SAMPLES_MAX];
	int	 np = 0, ns = 0;

	while ((p = strstr(p, "processing_ms=")) != NULL && np < SAMPLES_MAX)
		proc[np++] = atof(p += 14);
	for (p = log; (p = strstr(p, "stt_ms=")) != NULL && ns < SAMPLES_MAX;)
		stt[ns++] = atof(p += 7);
	pct("bot", proc, np);
	pct("stt", stt, ns);
	free(log);
}

int
main(int argc, char *argv[])
{
	static struct call	 calls[CALLS_MAX];
	struct tb_bot		 bot;
	extern char		**environ;
	const char		*extra[TB_EXTRA_MAX + 1];
	int			 ne = 0;
	int			 ncalls = argc > 1 ? atoi(argv[1]) : 1, i;
	int			 turns = argc > 2 ? atoi(argv[2]) : 10, done;
	bool			 do_barge = argc > 3;
	char			 json[1024], name[32];
	int16_t			*q;
	size_t			 qn;
	long			 t0, c0, start, k;

	if (ncalls > CALLS_MAX)
		ncalls = CALLS_MAX;
	/* BOT_* of the environment first (they win), then the bench's own */
	for (i = 0; environ[i] != NULL && ne < TB_EXTRA_MAX - 5; i++)
		if (strncmp(environ[i], "BOT_", 4) == 0)
			extra[ne++] = environ[i];
	extra[ne++] = "BOT_LOG_LEVEL=debug";
	extra[ne++] = "BOT_ENGINE_THREADS=1";
	extra[ne++] = "BOT_STT_DECODERS=64";
	extra[ne++] = "BOT_NO_INPUT_MS=600000";
	extra[ne++] = "BOT_MAX_TURNS=1000";
	extra[ne] = NULL;
	if (tb_start(&bot, extra) <= 0)
		errx(1, "bot did not start");
	q = tb_speech("what are your opening hours", 16000, &qn);
	/* the end of speech is the last loud sample, not espeak's padding */
	while (qn > 0 && abs(q[qn - 1]) < 300)
		qn--;
	for (i = 0; i < ncalls; i++) {
		tb_leg_open(&calls[i].leg, 1);
		snprintf(name, sizeof(name), "bench-%d", i);
		tb_leg_json(&calls[i].leg, name, json, sizeof(json));
		calls[i].fd = tb_post(&bot, json);
	}
	h_sleep_ms(300);
	t0 = h_now_ms();
	c0 = cpu_ticks(bot.pid);
	for (start = h_now_ms(), k = 0;; k++) {
		while (h_now_ms() < start + k * 20)
			h_sleep_ms(1);
		for (i = 0, done = 0; i < ncalls; i++) {
			step(&calls[i], &bot, q, qn, do_barge, turns);
			done += calls[i].turns >= turns && calls[i].state == 0;
		}
		if (done == ncalls || h_now_ms() - t0 > 600000)
			break;
	}
	printf("calls=%d turns=%d barge=%d vad_silence_ms=%s\n", ncalls, turns,
	    do_barge, getenv("BOT_VAD_SILENCE_MS") ? getenv(
	    "BOT_VAD_SILENCE_MS") : "400 (default)");
	pct("caller", lat, nlat);
	bot_figures(&bot);
	if (do_barge)
		pct("barge-in", barge, nbarge);
	printf("cpu      %.0f %% of one core over %.1f s (%d calls)\n",
	    100.0 * (double)(cpu_ticks(bot.pid) - c0) /
	    (double)sysconf(_SC_CLK_TCK) / ((double)(h_now_ms() - t0) / 1e3),
	    (double)(h_now_ms() - t0) / 1e3, ncalls);
	for (i = 0; i < ncalls; i++) {
		close(calls[i].fd);
		tb_leg_close(&calls[i].leg);
	}
	free(q);
	kill(bot.pid, SIGTERM);
	waitpid(bot.pid, NULL, 0);
	if (getenv("MAI_TEST_KEEP") == NULL) {
		snprintf(json, sizeof(json), "rm -rf '%s'", bot.dir);
		(void)!system(json);
	}
	return 0;
}
