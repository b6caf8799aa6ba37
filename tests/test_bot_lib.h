/*
 * test_bot_lib.h — what the mai-bot suites share: start the real bot,
 * play Asterisk's side of an externalMedia leg over real RTP, hold the
 * flow-worker's long control request, make speech with espeak-ng and
 * listen to the bot's answer with pocketsphinx.
 *
 * Included by each test_bot_*.c (static helpers, some unused per suite).
 */
#ifndef MAI_TEST_BOT_LIB_H
#define MAI_TEST_BOT_LIB_H

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <speex/speex_resampler.h>

#include "harness.h"

#define TB_UNUSED	__attribute__((unused))
#define TB_PKTS_MAX	4096	/* bot packets kept per capture (80 s) */
#define TB_EXTRA_MAX	16

struct tb_bot {
	char	dir[128];
	char	log[192];
	int	http_port;
	int	rtp_port;
	int	ws_port;
	pid_t	pid;
	char	dlg[64];	/* its dialogue file (tb_start_dialogue) */
};

struct tb_pkt {
	uint8_t		pt;
	int		marker;
	uint16_t	seq;
	uint32_t	ts, ssrc;
	size_t		len;
	long		at_ms;		/* arrival, test clock */
	int16_t		pcm[320];	/* decoded payload */
	size_t		n;
};

/* Asterisk's side of one RTP leg. */
struct tb_leg {
	int		fd;
	int		port;
	int		slin16;		/* else ulaw */
	uint16_t	seq;
	uint32_t	ts;
	struct tb_pkt	*pkts;
	size_t		npkts;
	long		first_out_ms;	/* first bot packet after a mark */
};

static TB_UNUSED const char *
tb_src(void)
{
	const char	*s = getenv("MAI_SRC");

	return s != NULL ? s : "..";
}

static TB_UNUSED pid_t
tb_start_env(struct tb_bot *b, const char *const *extra, int wait_ready)
{
	char		*envp[64], buf[40][300];
	struct h_resp	*r;
	char		 path[256];
	int		 n = 0, i, fd;
	pid_t		 pid;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/mai-bot-test-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		abort();
	snprintf(b->log, sizeof(b->log), "%s/bot.log", b->dir);
	b->http_port = h_free_port();
	b->ws_port = h_free_port();
	b->rtp_port = h_free_port();
	/* the first of two equal names wins in getenv(): extras first */
	for (i = 0; extra != NULL && extra[i] != NULL && i < TB_EXTRA_MAX; i++)
		envp[n++] = (char *)extra[i];
	snprintf(buf[n], 300, "BOT_HTTP_LISTEN=127.0.0.1:%d", b->http_port);
	envp[n] = buf[n]; n++;
	snprintf(buf[n], 300, "BOT_RTP_LISTEN=127.0.0.1:%d", b->rtp_port);
	envp[n] = buf[n]; n++;
	snprintf(buf[n], 300, "BOT_WS_LISTEN=127.0.0.1:%d", b->ws_port);
	envp[n] = buf[n]; n++;
	snprintf(buf[n], 300, "BOT_DIALOGUE_FILE=%s/bot/dialogue.json",
	    tb_src());
	envp[n] = buf[n]; n++;
	envp[n++] = "BOT_LOG_LEVEL=debug";
	envp[n++] = "BOT_ENGINE_THREADS=2";
	envp[n++] = "BOT_STT_DECODERS=4";
	envp[n++] = "PATH=/usr/bin:/bin";
	envp[n] = NULL;
	snprintf(path, sizeof(path), "%s/mai-bot", h_build());
	if ((fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		abort();
	if ((pid = fork()) == 0) {
		char *argv[] = { "mai-bot", NULL };

		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execve(path, argv, envp);
		_exit(127);
	}
	close(fd);
	b->pid = pid;
	if (!wait_ready)
		return pid;
	r = malloc(sizeof(*r));
	if (!H_WAIT_FOR(h_http(b->http_port, "GET", "/readyz", r) == 200))
		pid = -1;
	free(r);
	return pid;
}

static TB_UNUSED pid_t
tb_start(struct tb_bot *b, const char *const *extra)
{
	return tb_start_env(b, extra, 1);
}

/* The bot with dialogue text dlg (a file of its own) and one more setting. */
static TB_UNUSED pid_t
tb_start_dialogue(struct tb_bot *b, const char *dlg, const char *more)
{
	char		 kv[96], path[sizeof(b->dlg)];
	const char	*extra[3] = { kv, more, NULL };
	pid_t		 pid;

	snprintf(path, sizeof(path), "/tmp/mai-bot-dlg-%d.json", getpid());
	h_write_file(path, dlg);
	snprintf(kv, sizeof(kv), "BOT_DIALOGUE_FILE=%s", path);
	pid = tb_start(b, extra);	/* it clears *b first */
	memcpy(b->dlg, path, sizeof(path));
	return pid;
}

static TB_UNUSED char *
tb_log(struct tb_bot *b)
{
	return h_slurp_from(b->log, 0);
}

static TB_UNUSED bool
tb_log_has(struct tb_bot *b, const char *needle)
{
	char	*s = tb_log(b);
	bool	 ok = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return ok;
}

/* Stop the bot: TERM, then its exit status (0 expected). */
static TB_UNUSED int
tb_stop(struct tb_bot *b)
{
	int	st = -1, i;
	char	cmd[256];

	if (b->dlg[0] != '\0') {
		unlink(b->dlg);
		b->dlg[0] = '\0';
	}
	if (b->pid <= 0)
		return -1;
	kill(b->pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(b->pid, &st, WNOHANG) == b->pid)
			break;
		h_sleep_ms(20);
	}
	if (i == 500) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &st, 0);
	}
	b->pid = 0;
	ck_assert_msg(!tb_log_has(b, "Sanitizer") &&
	    !tb_log_has(b, "runtime error:"), "sanitizer report in %s", b->log);
	if (getenv("MAI_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
		(void)!system(cmd);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static TB_UNUSED long
tb_metric(struct tb_bot *b, const char *sample)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 key[256], *p;
	long		 v = -1;

	snprintf(key, sizeof(key), "\n%s ", sample);
	if (h_http(b->http_port, "GET", "/metrics", r) == 200 &&
	    (p = strstr(r->body, key)) != NULL)
		v = strtol(p + strlen(key), NULL, 10);
	free(r);
	return v;
}

/* ---- the control request ---- */

/* Send POST /v1/calls; the connection stays open for the answer. */
static TB_UNUSED int
tb_post(struct tb_bot *b, const char *json)
{
	char	req[4096];
	int	fd, n;

	if ((fd = h_connect(b->http_port)) == -1)
		return -1;
	n = snprintf(req, sizeof(req), "POST /v1/calls HTTP/1.1\r\nHost: bot"
	    "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n"
	    "%s", strlen(json), json);
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The answer, waiting up to ms: status, body in buf; -1 if none yet. */
static TB_UNUSED int
tb_answer(int fd, int ms, char *body, size_t size)
{
	static char	buf[8192];
	size_t		len = 0;
	struct pollfd	pfd = { fd, POLLIN, 0 };
	long		end = h_now_ms() + ms;
	char		*sep, *cl;
	ssize_t		n;

	body[0] = '\0';
	while (h_now_ms() < end && len < sizeof(buf) - 1) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if ((sep = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "Content-Length:")) != NULL &&
		    len >= (size_t)(sep + 4 - buf) + (size_t)atoi(cl + 15))
			break;
	}
	if (len < 12 || (sep = strstr(buf, "\r\n\r\n")) == NULL)
		return -1;
	snprintf(body, size, "%s", sep + 4);
	return atoi(buf + 9);
}

static TB_UNUSED int
tb_post_now(struct tb_bot *b, const char *json, char *body, size_t size)
{
	int	fd = tb_post(b, json), st;

	st = tb_answer(fd, 5000, body, size);
	close(fd);
	return st;
}

/* ---- audio ---- */

static TB_UNUSED int16_t
tb_ulaw_decode(uint8_t u)
{
	int	t;

	u = (uint8_t)~u;
	t = ((u & 0x0f) << 3) + 0x84;
	t <<= (u & 0x70) >> 4;
	return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

static TB_UNUSED uint8_t
tb_ulaw_encode(int16_t pcm)
{
	static const int seg_end[8] = { 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff,
		0x1fff, 0x3fff, 0x7fff };
	int	mask, seg, v = pcm >> 2;

	if (v < 0) {
		v = -v;
		mask = 0x7f;
	} else
		mask = 0xff;
	if (v > 8159)
		v = 8159;
	v += 0x84 >> 2;
	for (seg = 0; seg < 8 && v > seg_end[seg]; seg++)
		;
	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);
	return (uint8_t)(((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask);
}

static TB_UNUSED int16_t *
tb_resample(const int16_t *in, size_t n, int from, int to, size_t *outn)
{
	SpeexResamplerState	*st;
	spx_uint32_t		 il = (spx_uint32_t)n, ol;
	int16_t			*out;
	int			 err;

	ol = (spx_uint32_t)((uint64_t)n * (uint64_t)to / (uint64_t)from + 64);
	out = calloc(ol, sizeof(*out));
	st = speex_resampler_init(1, (spx_uint32_t)from, (spx_uint32_t)to, 4,
	    &err);
	speex_resampler_skip_zeros(st);
	speex_resampler_process_int(st, 0, in, &il, out, &ol);
	speex_resampler_destroy(st);
	*outn = ol;
	return out;
}

/* Speech made by espeak-ng (its CLI), at rate Hz. */
static TB_UNUSED int16_t *
tb_speech(const char *text, int rate, size_t *n)
{
	char		 path[] = "/tmp/mai-bot-speech-XXXXXX", cmd[1024];
	unsigned char	*w;
	int16_t		*pcm, *out;
	size_t		 len, i, cnt;
	FILE		*f;
	int		 fd = mkstemp(path);

	close(fd);
	snprintf(cmd, sizeof(cmd), "espeak-ng -v en-us -s 150 -w %s '%s'",
	    path, text);
	*n = 0;
	if (system(cmd) != 0 || (f = fopen(path, "rb")) == NULL)
		return NULL;
	w = malloc(10 << 20);
	len = fread(w, 1, 10 << 20, f);
	fclose(f);
	unlink(path);
	cnt = (len - 44) / 2;	/* espeak writes a plain 44-byte header */
	pcm = malloc(cnt * 2 + 2);
	for (i = 0; i < cnt; i++)
		pcm[i] = (int16_t)(w[44 + 2 * i] | w[45 + 2 * i] << 8);
	free(w);
	out = tb_resample(pcm, cnt, 22050, rate, n);
	free(pcm);
	return out;
}

static TB_UNUSED void
tb_write_wav(const char *path, const int16_t *pcm, size_t n, int rate)
{
	FILE		*f = fopen(path, "wb");
	uint32_t	 v;
	uint16_t	 s;

	fwrite("RIFF", 1, 4, f);
	v = (uint32_t)(36 + n * 2); fwrite(&v, 4, 1, f);
	fwrite("WAVEfmt ", 1, 8, f);
	v = 16; fwrite(&v, 4, 1, f);
	s = 1; fwrite(&s, 2, 1, f); fwrite(&s, 2, 1, f);
	v = (uint32_t)rate; fwrite(&v, 4, 1, f);
	v = (uint32_t)rate * 2; fwrite(&v, 4, 1, f);
	s = 2; fwrite(&s, 2, 1, f);
	s = 16; fwrite(&s, 2, 1, f);
	fwrite("data", 1, 4, f);
	v = (uint32_t)(n * 2); fwrite(&v, 4, 1, f);
	fwrite(pcm, 2, n, f);
	fclose(f);
}

/*
 * What pocketsphinx hears in 16 kHz audio, with a grammar of the words
 * the test expects (espeak-ng's formant voice is far from the model's
 * training data; an open vocabulary would hear little).
 */
static TB_UNUSED char *
tb_recognize(const int16_t *pcm16k, size_t n, const char *words)
{
	char	 wav[] = "/tmp/mai-bot-rec-XXXXXX", gram[64], cmd[512];
	char	*out = calloc(1, 4096);
	FILE	*f, *p;
	int	 fd = mkstemp(wav);

	close(fd);
	tb_write_wav(wav, pcm16k, n, 16000);
	snprintf(gram, sizeof(gram), "%s.gram", wav);
	f = fopen(gram, "w");
	fprintf(f, "#JSGF V1.0;\ngrammar t;\npublic <u> = <w>+;\n<w> = %s;\n",
	    words);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "pocketsphinx_continuous -infile %s -jsgf "
	    "%s -logfn /dev/null 2>/dev/null", wav, gram);
	if ((p = popen(cmd, "r")) != NULL) {
		(void)!fread(out, 1, 4095, p);
		pclose(p);
	}
	unlink(wav);
	unlink(gram);
	return out;
}

/* ---- Asterisk's RTP side ---- */

static TB_UNUSED void
tb_leg_open(struct tb_leg *l, int slin16)
{
	memset(l, 0, sizeof(*l));
	l->port = 0;
	l->fd = h_listen(SOCK_DGRAM, &l->port);
	l->slin16 = slin16;
	l->seq = 1000;
	l->ts = 5000;
	l->pkts = calloc(TB_PKTS_MAX, sizeof(*l->pkts));
}

static TB_UNUSED void
tb_leg_close(struct tb_leg *l)
{
	close(l->fd);
	free(l->pkts);
}

static TB_UNUSED void
tb_leg_json(struct tb_leg *l, const char *leg, char *out, size_t size)
{
	snprintf(out, size, "{\"call\":\"c-%s\",\"leg\":\"%s\",\"leg_name\":"
	    "\"UnicastRTP/127.0.0.1:%d-%s\",\"transport\":\"udp\",\"format\":"
	    "\"%s\",\"peer\":\"127.0.0.1:%d\",\"caller\":{\"name\":\"Test\","
	    "\"number\":\"100\"},\"flow\":\"test\",\"variables\":{}}", leg, leg,
	    l->port, leg, l->slin16 ? "slin16" : "ulaw", l->port);
}

/* One 20 ms frame to the bot (samples at the leg's rate). */
static TB_UNUSED void
tb_leg_send(struct tb_leg *l, struct tb_bot *b, const int16_t *pcm)
{
	uint8_t			pkt[12 + 640];
	struct sockaddr_in	sin;
	size_t			i, n = l->slin16 ? 320 : 160, len;

	pkt[0] = 0x80;
	pkt[1] = l->slin16 ? 118 : 0;
	pkt[2] = (uint8_t)(l->seq >> 8);
	pkt[3] = (uint8_t)l->seq;
	pkt[4] = (uint8_t)(l->ts >> 24);
	pkt[5] = (uint8_t)(l->ts >> 16);
	pkt[6] = (uint8_t)(l->ts >> 8);
	pkt[7] = (uint8_t)l->ts;
	memcpy(pkt + 8, "\x11\x22\x33\x44", 4);
	for (i = 0; i < n; i++) {
		int16_t v = pcm != NULL ? pcm[i] : 0;
		if (l->slin16) {
			pkt[12 + 2 * i] = (uint8_t)((uint16_t)v >> 8);
			pkt[13 + 2 * i] = (uint8_t)v;
		} else
			pkt[12 + i] = tb_ulaw_encode(v);
	}
	len = 12 + (l->slin16 ? 2 * n : n);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)b->rtp_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(l->fd, pkt, len, 0, (struct sockaddr *)&sin, sizeof(sin));
	l->seq++;
	l->ts += (uint32_t)n;
}

static TB_UNUSED void
tb_leg_recv(struct tb_leg *l)
{
	uint8_t		 buf[2048];
	ssize_t		 n;
	struct tb_pkt	*p;
	size_t		 i, plen;

	while ((n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (l->npkts == TB_PKTS_MAX || n < 12)
			continue;
		p = &l->pkts[l->npkts++];
		p->pt = buf[1] & 0x7f;
		p->marker = buf[1] >> 7;
		p->seq = (uint16_t)(buf[2] << 8 | buf[3]);
		p->ts = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 |
		    (uint32_t)buf[6] << 8 | buf[7];
		p->ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
		    (uint32_t)buf[10] << 8 | buf[11];
		p->len = (size_t)n - 12;
		p->at_ms = h_now_ms();
		plen = p->len;
		if (l->slin16) {
			p->n = plen / 2 > 320 ? 320 : plen / 2;
			for (i = 0; i < p->n; i++)
				p->pcm[i] = (int16_t)(buf[12 + 2 * i] << 8 |
				    buf[13 + 2 * i]);
		} else {
			p->n = plen > 320 ? 320 : plen;
			for (i = 0; i < p->n; i++)
				p->pcm[i] = tb_ulaw_decode(buf[12 + i]);
		}
	}
}

/*
 * Play `pcm` (at the leg's rate, NULL: silence) to the bot for ms
 * milliseconds, paced at 20 ms like Asterisk, collecting what it sends.
 * Returns early when until() says so.
 */
static TB_UNUSED void
tb_leg_play(struct tb_leg *l, struct tb_bot *b, const int16_t *pcm, size_t n,
    int ms, bool (*until)(struct tb_leg *, void *), void *arg)
{
	size_t	fs = l->slin16 ? 320 : 160, off = 0;
	long	start = h_now_ms(), k;

	for (k = 0; k * 20 < ms; k++) {
		long due = start + k * 20;

		while (h_now_ms() < due) {
			tb_leg_recv(l);
			h_sleep_ms(2);
		}
		if (pcm != NULL && off + fs <= n) {
			tb_leg_send(l, b, pcm + off);
			off += fs;
		} else
			tb_leg_send(l, b, NULL);
		tb_leg_recv(l);
		if (until != NULL && until(l, arg))
			return;
	}
}

/* The bot's audio received since packet `from`, as 16 kHz PCM. */
static TB_UNUSED int16_t *
tb_leg_audio16k(struct tb_leg *l, size_t from, size_t *n)
{
	size_t	 i, k = 0, fs = l->slin16 ? 320 : 160;
	int16_t	*pcm = calloc((l->npkts - from) * fs + 1, sizeof(*pcm)), *up;

	for (i = from; i < l->npkts; i++) {
		memcpy(pcm + k, l->pkts[i].pcm, l->pkts[i].n * sizeof(*pcm));
		k += l->pkts[i].n;
	}
	if (l->slin16) {
		*n = k;
		return pcm;
	}
	up = tb_resample(pcm, k, 8000, 16000, n);
	free(pcm);
	return up;
}

#endif
