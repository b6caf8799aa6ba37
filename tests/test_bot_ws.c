/*
 * test_bot_ws.c — chan_websocket media against the real mai-bot: the
 * test is Asterisk's WebSocket client (RFC 6455, masked frames), sends
 * MEDIA_START and 20 ms binary slin16 frames (little-endian), and reads
 * the bot's binary audio and text commands: FLUSH_MEDIA on barge-in,
 * HANGUP when the dialogue ends the call.
 */
#include <check.h>

#include "test_bot_lib.h"

static struct tb_bot	 bot;
static char		 body[8192];

static const char dialogue[] =
    "{\"greeting\":\"Hello, this is the mai demo bot, it talks for a while "
    "so that the caller can cut in.\",\"fallback\":\"Sorry?\",\"rules\":["
    "{\"keywords\":[\"opening\",\"hours\"],\"say\":\"We are open Monday to "
    "Friday. Goodbye.\",\"result\":\"goodbye\"}]}";

struct wsc {
	int	fd;
	long	frames;		/* binary frames received */
	long	bytes_bad;	/* binary frames not 640 bytes */
	char	texts[16][160];
	int	ntexts;
	long	flush_at;	/* frames count when FLUSH_MEDIA came */
	long	flush_ms;
	long	stale;		/* frames within 200 ms after FLUSH_MEDIA */
	bool	closed;
	uint8_t	buf[1 << 16];
	size_t	len;
};

static void
wsc_send(struct wsc *w, int op, const void *p, size_t len)
{
	uint8_t	hdr[8], mask[4] = { 1, 2, 3, 4 }, *m = malloc(len + 8);
	size_t	h = 0, i;

	hdr[h++] = (uint8_t)(0x80 | op);
	if (len < 126)
		hdr[h++] = (uint8_t)(0x80 | len);
	else {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (uint8_t)(len >> 8);
		hdr[h++] = (uint8_t)len;
	}
	memcpy(hdr + h, mask, 4);
	h += 4;
	memcpy(m, hdr, h);
	for (i = 0; i < len; i++)
		m[h + i] = ((const uint8_t *)p)[i] ^ mask[i % 4];
	(void)!write(w->fd, m, h + len);
	free(m);
}

static int
wsc_connect(struct wsc *w, int port)
{
	char	req[512], resp[1024];
	ssize_t	n;

	memset(w, 0, sizeof(*w));
	w->flush_at = -1;
	if ((w->fd = h_connect(port)) == -1)
		return -1;
	snprintf(req, sizeof(req), "GET /media HTTP/1.1\r\nHost: bot\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
	    "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: media\r\n\r\n");
	(void)!write(w->fd, req, strlen(req));
	n = read(w->fd, resp, sizeof(resp) - 1);
	if (n <= 0)
		return -1;
	resp[n] = '\0';
	return atoi(resp + 9);
}

/* Read what is there (non-blocking), frame by frame. */
static void
wsc_poll(struct wsc *w)
{
	ssize_t	n;
	size_t	off, plen, h;

	while ((n = recv(w->fd, w->buf + w->len, sizeof(w->buf) - w->len,
	    MSG_DONTWAIT)) > 0)
		w->len += (size_t)n;
	if (n == 0)
		w->closed = true;
	for (off = 0; w->len - off >= 2; off += h + plen) {
		uint8_t op = w->buf[off] & 0x0f;

		plen = w->buf[off + 1] & 0x7f;
		h = 2;
		if (plen == 126) {
			if (w->len - off < 4)
				break;
			plen = (size_t)(w->buf[off + 2] << 8 | w->buf[off + 3]);
			h = 4;
		}
		if (w->len - off < h + plen)
			break;
		if (op == 2) {
			w->frames++;
			if (w->flush_ms > 0 && h_now_ms() - w->flush_ms < 200)
				w->stale++;
			if (plen != 640)
				w->bytes_bad++;
		} else if (op == 1 && w->ntexts < 16) {
			snprintf(w->texts[w->ntexts], 160, "%.*s", (int)plen,
			    (char *)w->buf + off + h);
			if (strcmp(w->texts[w->ntexts], "FLUSH_MEDIA") == 0 &&
			    w->flush_at < 0) {
				w->flush_at = w->frames;
				w->flush_ms = h_now_ms();
			}
			w->ntexts++;
		} else if (op == 8)
			w->closed = true;
	}
	memmove(w->buf, w->buf + off, w->len - off);
	w->len -= off;
}

static bool
wsc_has(struct wsc *w, const char *t)
{
	int	i;

	for (i = 0; i < w->ntexts; i++)
		if (strcmp(w->texts[i], t) == 0)
			return true;
	return false;
}

/* 20 ms frames of pcm (16 kHz; NULL: silence) for ms, paced. */
static void
wsc_play(struct wsc *w, const int16_t *pcm, size_t n, int ms)
{
	uint8_t	frame[640];
	size_t	off = 0, i;
	long	start = h_now_ms(), k;

	for (k = 0; k * 20 < ms; k++) {
		while (h_now_ms() < start + k * 20) {
			wsc_poll(w);
			h_sleep_ms(2);
		}
		for (i = 0; i < 320; i++) {
			int16_t v = pcm != NULL && off + i < n ? pcm[off + i] : 0;
			frame[2 * i] = (uint8_t)v;		/* LE */
			frame[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
		}
		off += 320;
		wsc_send(w, 2, frame, sizeof(frame));
		wsc_poll(w);
	}
}

static void
start(void)
{
	ck_assert_int_gt(tb_start_dialogue(&bot, dialogue,
	    "BOT_VAD_SILENCE_MS=300"), 0);
}

static void
teardown(void)
{
	int	rc = tb_stop(&bot);

	ck_assert(rc == 0 || rc == -1);		/* -1: it never started */
}

static const char call_json[] = "{\"call\":\"c1\",\"leg\":\"leg-ws-1\","
    "\"leg_name\":\"WebSocket/bot/0x7f01\",\"transport\":\"websocket\","
    "\"format\":\"slin16\"}";
static const char media_start[] = "MEDIA_START connection_id:abc "
    "channel:WebSocket/bot/0x7f01 channel_id:leg-ws-1 format:slin16 "
    "optimal_frame_size:640 ptime:20";

/*
 * MEDIA_START before the control request, greeting in 640-byte frames,
 * barge-in gives FLUSH_MEDIA and stops the frames, the answer's goodbye
 * gives HANGUP and the long request its result.
 */
static void
ws_conversation(bool media_first)
{
	struct wsc	 w;
	int16_t		*pcm;
	size_t		 n;
	long		 at;
	int		 fd = -1;

	start();
	if (!media_first)
		fd = tb_post(&bot, call_json);
	ck_assert_int_eq(wsc_connect(&w, bot.ws_port), 101);
	wsc_send(&w, 1, media_start, strlen(media_start));
	if (media_first) {
		wsc_play(&w, NULL, 0, 200);
		ck_assert_int_eq(w.frames, 0);
		fd = tb_post(&bot, call_json);
	}
	wsc_play(&w, NULL, 0, 1000);
	ck_assert_int_gt(w.frames, 20);			/* the greeting */
	ck_assert_int_eq(w.bytes_bad, 0);
	pcm = tb_speech("what are your opening hours", 16000, &n);
	wsc_play(&w, pcm, n, (int)(n / 16));
	free(pcm);
	ck_assert_msg(wsc_has(&w, "FLUSH_MEDIA"), "no FLUSH_MEDIA");
	at = w.frames;
	ck_assert_msg(w.stale == 0, "%ld stale frames after FLUSH_MEDIA",
	    w.stale);
	wsc_play(&w, NULL, 0, 6000);
	ck_assert_msg(wsc_has(&w, "HANGUP"), "no HANGUP");
	ck_assert_int_gt(w.frames - at, 30);		/* the answer */
	ck_assert_int_eq(tb_answer(fd, 5000, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"result\":\"goodbye\"") != NULL, "%s",
	    body);
	ck_assert(tb_log_has(&bot, "opening"));
	close(w.fd);
	close(fd);
}

START_TEST(ws_request_first)
{
	ws_conversation(false);
}
END_TEST

START_TEST(ws_media_first)
{
	ws_conversation(true);
}
END_TEST

/* Asterisk closing the media WebSocket (hangup) ends the session. */
START_TEST(ws_close_ends_session)
{
	struct wsc	w;
	int		fd;

	start();
	fd = tb_post(&bot, call_json);
	ck_assert_int_eq(wsc_connect(&w, bot.ws_port), 101);
	wsc_send(&w, 1, media_start, strlen(media_start));
	wsc_play(&w, NULL, 0, 400);
	ck_assert_int_gt(w.frames, 5);
	close(w.fd);
	ck_assert_int_eq(tb_answer(fd, 5000, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "\"result\":\"hangup\"") != NULL, "%s",
	    body);
	ck_assert(H_WAIT_FOR(tb_metric(&bot, "bot_sessions_active") == 0));
	close(fd);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bot_ws");
	TCase	*tc = tcase_create("ws");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ws_request_first);
	tcase_add_test(tc, ws_media_first);
	tcase_add_test(tc, ws_close_ends_session);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
