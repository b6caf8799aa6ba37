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

#define FLOWS_TEMPLATE		"tests/e2e/flows-media.json"
#define HOOK_EXTEN		"7001"
#define BOT_EXTEN		"7101"
#define ORIGINATE(exten, app)	"cli 'channel originate Local/" exten \
				"@incoming application " app "'"
/* Liveness bounds (ms).  The hook flow's "gold" state waits 10 s. */
#define CALL_END_BOUND_MS	40000
#define AUDIO_BOUND_MS		20000

/* HTTP server bounds: a request head and body, the slow mode's hold. */
#define HOOK_HEAD_MAX		8192
#define HOOK_BODY_MAX		8192
#define HOOK_HOLD_MS		30000

/* RTP: G.711 µ-law, payload type 0, 20 ms = 160 samples at 8 kHz. */
#define RTP_HDR			12
#define RTP_PT_ULAW		0
#define RTP_SAMPLES		160
#define RTP_PERIOD_MS		20
#define RTP_SSRC		0x6d61690aU
/* A packet is "loud" when its mean |sample| passes this (the peer sends
 * a 400 Hz tone of amplitude 8000: a mean near 5100; silence is 0). */
#define LOUD_MEAN		1000
/* What "audio flowed" means: one second of loud packets each way. */
#define LOUD_PKTS		50
/* Our tone has 16 sign changes per packet (400 Hz); Milliwatt's 1004 Hz
 * about 40.  A loud packet within these bounds is our tone back. */
#define OURS_ZC_MIN		14
#define OURS_ZC_MAX		18

enum hook_mode { HOOK_GOLD, HOOK_SLOW, HOOK_500, HOOK_GARBAGE, HOOK_NOSTATE };

/* The webhook's server: one connection at a time, the last request kept. */
struct hook {
	int		 fd;
	int		 port;
	volatile int	 stop;
	volatile enum hook_mode mode;	/* set between calls */
	pthread_t	 th;
	pthread_mutex_t	 mu;
	int		 nreq;
	char		 method[16];
	char		 target[256];
	char		 ctype[128];
	char		 body[HOOK_BODY_MAX];
};

/* The bot's media endpoint. */
struct peer {
	int			 fd;
	int			 port;
	volatile int		 stop;
	pthread_t		 th;
	pthread_mutex_t		 mu;
	struct sockaddr_in	 to;		/* Asterisk's side; set: sending */
	volatile int		 sending;
	long			 rx_pkts, rx_bytes, rx_loud, rx_bad;
	long			 rx_loud_unsent; /* loud before we sent any */
	long			 rx_ours;	/* loud and our 400 Hz tone */
	int			 rx_port;	/* where the first came from */
	long			 rx_other_port;	/* later ones from elsewhere */
	long			 tx_pkts, tx_bytes;
	uint8_t			 tone[RTP_SAMPLES];
};

static struct hook	hook;
static struct peer	peer;
static char		flows_env[600], bot_env[64];

/* ---- the webhook's HTTP server ---- */

static int
listen_on(int type, int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 8) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The value of header `name` in head (CRLF lines), or "". */
static void
header(const char *head, const char *name, char *out, size_t size)
{
	const char	*p = head;
	size_t		 n = strlen(name), k;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (p += n + 1; *p == ' ' || *p == '\t'; p++)
			;
		k = strcspn(p, "\r\n");
		snprintf(out, size, "%.*s", (int)k, p);
		return;
	}
}

/* Read until the end of the head; its length (with CRLFCRLF), or -1. */
static int
read_head(int fd, char *buf, size_t size, size_t *have)
{
	char	*end;
	ssize_t	 n;

	*have = 0;
	while (*have < size - 1) {
		if ((n = read(fd, buf + *have, size - 1 - *have)) <= 0)
			return -1;
		*have += (size_t)n;
		buf[*have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			return (int)(end + 4 - buf);
	}
	return -1;
}

/* Request line, headers, Content-Length body; kept in hook.  0 or -1. */
static int
hook_read(int fd)
{
	char	 buf[HOOK_HEAD_MAX + HOOK_BODY_MAX], cl[32], ex[64];
	char	 method[16], target[256];
	size_t	 have, want;
	ssize_t	 n;
	int	 hlen;

	if ((hlen = read_head(fd, buf, sizeof(buf), &have)) == -1 ||
	    sscanf(buf, "%15s %255s HTTP/1.", method, target) != 2)
		return -1;
	header(buf, "Content-Length", cl, sizeof(cl));
	want = strtoul(cl, NULL, 10);
	if (want >= HOOK_BODY_MAX)
		return -1;
	header(buf, "Expect", ex, sizeof(ex));
	if (strcasecmp(ex, "100-continue") == 0 && have == (size_t)hlen)
		(void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	while (have - (size_t)hlen < want) {
		if ((n = read(fd, buf + have, hlen + want - have)) <= 0)
			return -1;
		have += (size_t)n;
	}
	pthread_mutex_lock(&hook.mu);
	hook.nreq++;
	snprintf(hook.method, sizeof(hook.method), "%s", method);
	snprintf(hook.target, sizeof(hook.target), "%s", target);
	header(buf, "Content-Type", hook.ctype, sizeof(hook.ctype));
	snprintf(hook.body, sizeof(hook.body), "%.*s", (int)want, buf + hlen);
	pthread_mutex_unlock(&hook.mu);
	return 0;
}

/* The answer the mode asks for; HOOK_SLOW holds until curl gives up. */
static void
hook_answer(int fd)
{
	static const struct { int status; const char *body; } ans[] = {
	    [HOOK_GOLD] = { 200,
		"{\"next\": \"gold\", \"set\": {\"CODE\": \"7\", \"TIER\": 3}}" },
	    [HOOK_500] = { 500, "{\"next\": \"gold\"}" },
	    [HOOK_GARBAGE] = { 200, "this is not JSON {" },
	    [HOOK_NOSTATE] = { 200, "{\"next\": \"nosuchstate\"}" },
	};
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		out[1024], c;
	int		n;

	if (hook.mode == HOOK_SLOW) {
		/* No answer at all: the client's timeout ends it (EOF). */
		while (!hook.stop && poll(&pfd, 1, HOOK_HOLD_MS) == 1 &&
		    read(fd, &c, 1) == 1)
			;
		return;
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", ans[hook.mode].status, strlen(ans[hook.mode].body),
	    ans[hook.mode].body);
	(void)!write(fd, out, n);
}

static void *
hook_main(void *arg)
{
	struct pollfd	pfd = { hook.fd, POLLIN, 0 };
	int		fd;

	(void)arg;
	while (!hook.stop) {
		if (poll(&pfd, 1, 100) != 1 ||
		    (fd = accept4(hook.fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		if (hook_read(fd) == 0)
			hook_answer(fd);
		close(fd);
	}
	return NULL;
}

static void
hook_start(enum hook_mode mode)
{
	memset(&hook, 0, sizeof(hook));
	pthread_mutex_init(&hook.mu, NULL);
	hook.mode = mode;
	ck_assert_int_ge((hook.fd = listen_on(SOCK_STREAM, &hook.port)), 0);
	ck_assert_int_eq(pthread_create(&hook.th, NULL, hook_main, NULL), 0);
}

static int
hook_nreq(void)
{
	int	n;

	pthread_mutex_lock(&hook.mu);
	n = hook.nreq;
	pthread_mutex_unlock(&hook.mu);
	return n;
}

static void
hook_stop(void)
{
	hook.stop = 1;
	pthread_join(hook.th, NULL);
	close(hook.fd);
}

/* ---- the bot's RTP peer ---- */

/* G.711 µ-law (ITU-T G.711, the classic Sun reference code). */
static uint8_t
ulaw_enc(int s)
{
	int	sign = s < 0 ? 0x80 : 0, exp = 7, mask;

	if (s < 0)
		s = -s;
	if (s > 32635)
		s = 32635;
	s += 0x84;
	for (mask = 0x4000; (s & mask) == 0 && exp > 0; mask >>= 1)
		exp--;
	return (uint8_t)~(sign | exp << 4 | ((s >> (exp + 3)) & 0x0f));
}

static int
ulaw_dec(uint8_t u)
{
	int	t;

	u = ~u;
	t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
	return (u & 0x80) ? 0x84 - t : t - 0x84;
}

static int
loud(const uint8_t *p, size_t n)
{
	long	sum = 0;
	size_t	i;

	for (i = 0; i < n; i++)
		sum += abs(ulaw_dec(p[i]));
	return n > 0 && sum / (long)n > LOUD_MEAN;
}

/* Sign changes in a payload: its pitch, whatever the phase. */
static int
zero_crossings(const uint8_t *p, size_t n)
{
	int	zc = 0, last = 0, v;
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((v = ulaw_dec(p[i])) == 0)
			continue;
		if (last != 0 && (v > 0) != (last > 0))
			zc++;
		last = v;
	}
	return zc;
}

/* One datagram from Asterisk: RTP version 2, µ-law, counted. */
static void
peer_recv(void)
{
	struct sockaddr_in	from;
	socklen_t		len = sizeof(from);
	uint8_t			pkt[2048], *pl;
	size_t			plen;
	ssize_t			n;
	int			cc, zc;

	while ((n = recvfrom(peer.fd, pkt, sizeof(pkt), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &len)) > 0) {
		pthread_mutex_lock(&peer.mu);
		if (peer.rx_port == 0)
			peer.rx_port = ntohs(from.sin_port);
		else if (peer.rx_port != ntohs(from.sin_port))
			peer.rx_other_port++;
		len = sizeof(from);
		cc = pkt[0] & 0x0f;
		if (n < RTP_HDR + 4 * cc || pkt[0] >> 6 != 2 ||
		    (pkt[1] & 0x7f) != RTP_PT_ULAW)
			peer.rx_bad++;
		else {
			peer.rx_pkts++;
			peer.rx_bytes += n - RTP_HDR - 4 * cc;
			pl = pkt + RTP_HDR + 4 * cc;
			plen = (size_t)n - RTP_HDR - 4 * cc;
			if (loud(pl, plen)) {
				peer.rx_loud++;
				if (peer.tx_pkts == 0)
					peer.rx_loud_unsent++;
				zc = zero_crossings(pl, plen);
				if (zc >= OURS_ZC_MIN && zc <= OURS_ZC_MAX)
					peer.rx_ours++;
			}
		}
		pthread_mutex_unlock(&peer.mu);
	}
}

static void
peer_send(uint16_t seq, uint32_t ts)
{
	uint8_t	pkt[RTP_HDR + RTP_SAMPLES];
	ssize_t	n;

	pkt[0] = 0x80;
	pkt[1] = (seq == 0 ? 0x80 : 0) | RTP_PT_ULAW;	/* marker: first */
	pkt[2] = seq >> 8;
	pkt[3] = seq & 0xff;
	pkt[4] = ts >> 24;
	pkt[5] = ts >> 16 & 0xff;
	pkt[6] = ts >> 8 & 0xff;
	pkt[7] = ts & 0xff;
	pkt[8] = RTP_SSRC >> 24;
	pkt[9] = RTP_SSRC >> 16 & 0xff;
	pkt[10] = RTP_SSRC >> 8 & 0xff;
	pkt[11] = RTP_SSRC & 0xff;
	memcpy(pkt + RTP_HDR, peer.tone, RTP_SAMPLES);
	n = sendto(peer.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer.to,
	    sizeof(peer.to));
	pthread_mutex_lock(&peer.mu);
	if (n == (ssize_t)sizeof(pkt)) {
		peer.tx_pkts++;
		peer.tx_bytes += RTP_SAMPLES;
	}
	pthread_mutex_unlock(&peer.mu);
}

/* Receive all the time; once told where, send a packet every 20 ms. */
static void *
peer_main(void *arg)
{
	struct pollfd	pfd = { peer.fd, POLLIN, 0 };
	uint16_t	seq = 0;
	uint32_t	ts = 0;
	long		next = 0, now;

	(void)arg;
	while (!peer.stop) {
		(void)poll(&pfd, 1, RTP_PERIOD_MS / 2);
		peer_recv();
		if (!peer.sending || (now = h_now_ms()) < next)
			continue;
		peer_send(seq++, ts);
		ts += RTP_SAMPLES;
		/* Late (a busy machine): start the 20 ms beat again. */
		next = next == 0 || now - next > 10 * RTP_PERIOD_MS ?
		    now + RTP_PERIOD_MS : next + RTP_PERIOD_MS;
	}
	return NULL;
}

static void
peer_start(void)
{
	int	i;

	memset(&peer, 0, sizeof(peer));
	pthread_mutex_init(&peer.mu, NULL);
	/* 400 Hz: 8 whole periods per packet, so every packet is the same. */
	for (i = 0; i < RTP_SAMPLES; i++)
		peer.tone[i] = ulaw_enc((int)(8000 * sin(2 * M_PI * 400 * i /
		    8000.0)));
	ck_assert_int_ge((peer.fd = listen_on(SOCK_DGRAM, &peer.port)), 0);
	ck_assert_int_eq(pthread_create(&peer.th, NULL, peer_main, NULL), 0);
}

static long
peer_get(const long *counter)
{
	long	v;

	pthread_mutex_lock(&peer.mu);
	v = *counter;
	pthread_mutex_unlock(&peer.mu);
	return v;
}

static void
peer_stop(void)
{
	peer.stop = 1;
	pthread_join(peer.th, NULL);
	close(peer.fd);
}

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

/* The id in the first "call started id=" line after from, or "". */
static void
log_call_id(long from, char *id, size_t size)
{
	char	*buf = h_slurp_from(env.log, from), *p;

	id[0] = '\0';
	if ((p = strstr(buf, "call started id=")) != NULL) {
		p += strlen("call started id=");
		snprintf(id, size, "%.*s", (int)strcspn(p, " \n"), p);
	}
	free(buf);
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
	log_call_id(from, id, sizeof(id));
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
