/*
 * test_e2e_hangup.c — the caller hangs up in every state a call can be
 * in, against a real Asterisk 22, and nothing of the call stays: no
 * channel ('core show channels', ARI /channels), no bridge (ARI
 * /bridges), no playback, no live recording, no leg; the flow-worker
 * logs the end in that state and counts no call as active.
 *
 * tests/e2e/flows-states.json has one flow per state, reached by its
 * extension; each stays where it is for minutes.  A row of the table
 * below places one call (`channel originate Local/EXTEN@incoming
 * application Echo`: the ;2 half is mai's call, the ;1 half running Echo
 * is the caller), waits until the call is in its state and what the
 * state started exists in Asterisk, then hangs the ;1 half up.
 *
 * The bot row's media goes to a UDP socket of the test (BOT_MEDIA_HOST);
 * the webhook row's URL is a server of the test on 127.0.0.1:8199 (fixed
 * in the flow file; outside the ephemeral range that free-port tests
 * use) that reads the request and never answers.  Every wait is a
 * liveness bound, never a speed check.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "e2e.h"

#define STATES_FLOW		"tests/e2e/flows-states.json"
#define WEBHOOK_PORT		8199	/* as in the flow file */
#define OBJS_MAX		16	/* ids the flow-worker made for a call */
#define ID_MAX			160
/* Liveness bound (ms): a call reaching its state, and all of it gone. */
#define STATE_BOUND_MS		H_WAIT_MS
#define GONE_BOUND_MS		H_WAIT_MS

struct hcall;

/* One state: its flow (whose only state has the same name), how to get
 * there and what shows that the call is in it. */
struct hrow {
	const char	*flow;
	const char	*exten;
	const char	*action;	/* running when the caller hangs up */
	bool		(*ready)(struct hcall *);
};

/* One call, as the test learns it from the flow-worker's debug log. */
struct hcall {
	const struct hrow *row;
	long		 from;			/* log offset at the call */
	char		 id[ID_MAX];		/* mai's channel (the ;2 half) */
	char		 objs[OBJS_MAX][ID_MAX];	/* "mai-p...-ID", ... */
	size_t		 nobjs;
	char		 rec[ID_MAX];		/* live recording, or "" */
};

/* The webhook server: what it read, under a lock (its own thread). */
static pthread_mutex_t	 wh_mtx = PTHREAD_MUTEX_INITIALIZER;
static char		 wh_seen[8192];
static int		 wh_fd = -1;

/* --- reading the flow-worker's log -------------------------------------- */

/* Every "call id=ID object=X" and "call id=ID recording=X" so far. */
static void
hcall_objects(struct hcall *hc)
{
	char	key[ID_MAX + 32], *buf = h_slurp_from(env.log, hc->from), *p;
	size_t	n;

	hc->nobjs = 0;
	snprintf(key, sizeof(key), "call id=%s object=", hc->id);
	for (p = buf; (p = strstr(p, key)) != NULL && hc->nobjs < OBJS_MAX;
	    hc->nobjs++) {
		p += strlen(key);
		n = strcspn(p, " \n");
		snprintf(hc->objs[hc->nobjs], ID_MAX, "%.*s", (int)n, p);
	}
	free(buf);
	snprintf(key, sizeof(key), "call id=%s recording=", hc->id);
	log_token(hc->from, key, hc->rec, sizeof(hc->rec));
}

/* The last object of this kind ('p'layback, 'b'ridge, 'd'ial leg, ...). */
static const char *
hcall_obj(struct hcall *hc, char kind)
{
	size_t	i;

	hcall_objects(hc);
	for (i = hc->nobjs; i > 0; i--)
		if (hc->objs[i - 1][4] == kind)
			return hc->objs[i - 1];
	return NULL;
}

static bool
hcall_logged(struct hcall *hc, const char *what)
{
	char	needle[ID_MAX + 128];

	snprintf(needle, sizeof(needle), "call id=%s %s", hc->id, what);
	return log_count(hc->from, needle) > 0;
}

/* On a failure: the flow-worker's lines since the call (the log goes). */
static void
hcall_dump(const struct hcall *hc)
{
	char	*buf = h_slurp_from(env.log, hc->from), *line, *save;

	fprintf(stderr, "flow-worker log since the call (%s):\n",
	    hc->row->flow);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "proc=flow-worker") != NULL)
			fprintf(stderr, "  %s\n", line);
	free(buf);
}

/* --- asking ARI ------------------------------------------------------------ */

/* GET /ari/PREFIX/ID (into r, blanks taken out of the body): its status. */
static int
ari_obj(const char *prefix, const char *id)
{
	char	path[ID_MAX + 64], *p, *q;
	int	st;

	snprintf(path, sizeof(path), "%s/%s", prefix, id);
	st = ari_get(path, r);
	for (p = q = r->body; *p != '\0'; p++)
		if (*p != ' ' && *p != '\n')
			*q++ = *p;
	*q = '\0';
	return st;
}

/* The caller's channel is in `state` and MAI_STATE says where it is. */
static bool
chan_in(struct hcall *hc, const char *state)
{
	char	want[64], var[ID_MAX + 64];

	snprintf(want, sizeof(want), "\"state\":\"%s\"", state);
	if (ari_obj("/channels", hc->id) != 200 || strstr(r->body, want) ==
	    NULL)
		return false;
	snprintf(var, sizeof(var), "%s/variable?variable=MAI_STATE", hc->id);
	snprintf(want, sizeof(want), "\"value\":\"%s/%s/", hc->row->flow,
	    hc->row->flow);
	return ari_obj("/channels", var) == 200 && strstr(r->body, want) !=
	    NULL;
}

static bool
ready_ringing_caller(struct hcall *hc)
{
	return chan_in(hc, "Ring");
}

static bool
ready_up(struct hcall *hc)
{
	return chan_in(hc, "Up");
}

static bool
ready_playing(struct hcall *hc)
{
	const char	*p = hcall_obj(hc, 'p');

	return p != NULL && ari_obj("/playbacks", p) == 200 &&
	    strstr(r->body, "\"state\":\"playing\"") != NULL;
}

/* gather after its prompt: the prompt finished, digits are awaited. */
static bool
ready_prompt_over(struct hcall *hc)
{
	const char	*p = hcall_obj(hc, 'p');

	return p != NULL && log_count(hc->from, "type=PlaybackFinished") > 0 &&
	    ari_obj("/playbacks", p) == 404 && ready_up(hc);
}

static bool
ready_recording(struct hcall *hc)
{
	hcall_objects(hc);
	return hc->rec[0] != '\0' && ari_obj("/recordings/live", hc->rec) ==
	    200 && strstr(r->body, "\"state\":\"recording\"") != NULL;
}

static bool
ready_leg_ringing(struct hcall *hc)
{
	const char	*leg = hcall_obj(hc, 'd');

	return leg != NULL && ari_obj("/channels", leg) == 200 &&
	    !hcall_logged(hc, "flow=ringing: dialled leg answered") &&
	    ready_up(hc);
}

/* The caller and the leg of `kind` in our bridge. */
static bool
ready_bridged(struct hcall *hc, char kind)
{
	char		 leg[ID_MAX];
	const char	*b, *l;

	if ((l = hcall_obj(hc, kind)) == NULL)
		return false;
	snprintf(leg, sizeof(leg), "\"%s\"", l);
	return (b = hcall_obj(hc, 'b')) != NULL &&
	    ari_obj("/bridges", b) == 200 && strstr(r->body, leg) != NULL &&
	    strstr(r->body, hc->id) != NULL;
}

static bool
ready_talking(struct hcall *hc)
{
	return hcall_logged(hc, "flow=talking: dialled leg answered") &&
	    ready_bridged(hc, 'd');
}

static bool
ready_bot(struct hcall *hc)
{
	return ready_bridged(hc, 'e');
}

static bool
ready_webhook(struct hcall *hc)
{
	char	want[ID_MAX + 32];
	bool	seen;

	snprintf(want, sizeof(want), "\"channel_id\":\"%s\"", hc->id);
	pthread_mutex_lock(&wh_mtx);
	seen = strstr(wh_seen, "POST /never HTTP/1.1") != NULL &&
	    strstr(wh_seen, want) != NULL;
	pthread_mutex_unlock(&wh_mtx);
	return seen;
}

static const struct hrow rows[] = {
	{ "pre",	"8101", "wait",		ready_ringing_caller },
	{ "idle",	"8102", "answer",	ready_up },
	{ "wait",	"8103", "wait",		ready_up },
	{ "play",	"8104", "play",		ready_playing },
	{ "prompt",	"8105", "gather",	ready_playing },
	{ "digits",	"8106", "gather",	ready_prompt_over },
	{ "record",	"8107", "record",	ready_recording },
	{ "setvar",	"8108", "setvar",	ready_playing },
	{ "ringing",	"8109", "dial",		ready_leg_ringing },
	{ "talking",	"8110", "dial",		ready_talking },
	{ "bot",	"8111", "bot",		ready_bot },
	{ "webhook",	"8112", "webhook",	ready_webhook },
};
#define NROWS	((int)(sizeof(rows) / sizeof(rows[0])))

/* --- the test's peers: a bot media port, a webhook that never answers ------- */

/* A UDP port on 127.0.0.1 for the bot's RTP; its number. */
static int
bot_port_open(void)
{
	int	port = 0;

	ck_assert_int_ge(h_listen(SOCK_DGRAM, &port), 0);
	return port;
}

/* Accept, read what comes, answer nothing, keep the connection open. */
static void *
webhook_serve(void *arg)
{
	char	buf[2048];
	ssize_t	n;
	size_t	have;
	int	fd;

	(void)arg;
	while ((fd = accept(wh_fd, NULL, NULL)) != -1)
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			pthread_mutex_lock(&wh_mtx);
			have = strlen(wh_seen);
			if (have + (size_t)n < sizeof(wh_seen))
				memcpy(wh_seen + have, buf, (size_t)n);
			pthread_mutex_unlock(&wh_mtx);
		}
	return NULL;
}

static void
webhook_open(void)
{
	pthread_t	t;
	int		port = WEBHOOK_PORT;

	ck_assert_msg((wh_fd = h_listen(SOCK_STREAM, &port)) != -1,
	    "webhook port %d on 127.0.0.1 is taken", WEBHOOK_PORT);
	ck_assert_int_eq(pthread_create(&t, NULL, webhook_serve, NULL), 0);
	pthread_detach(t);
}

/* --- the test ------------------------------------------------------------- */

/* Place the row's call; its id from "call started id=ID exten=EXTEN". */
static void
hcall_place(struct hcall *hc, const struct hrow *row)
{
	char	key[64];

	memset(hc, 0, sizeof(*hc));
	hc->row = row;
	hc->from = log_size();
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel originate Local/%s@incoming "
	    "application Echo'", row->exten), 0);
	ck_assert_msg(WAIT_UPTO(STATE_BOUND_MS, log_token(hc->from,
	    "call started id=", hc->id, sizeof(hc->id))), "no call started "
	    "(log %s)", env.log);
	snprintf(key, sizeof(key), "exten=%s caller=", row->exten);
	ck_assert_int_eq(log_count(hc->from, key), 1);
}

/* Hang up the ;1 half of the Local pair: the caller, not mai's channel. */
static void
hcall_hangup_caller(struct hcall *hc)
{
	char		 name[ID_MAX];
	const char	*p;
	size_t		 n;

	ck_assert_int_eq(ari_obj("/channels", hc->id), 200);
	ck_assert_ptr_nonnull((p = strstr(r->body, "\"name\":\"")));
	p += strlen("\"name\":\"");
	n = strcspn(p, "\"");
	ck_assert_uint_lt(n, sizeof(name));
	memcpy(name, p, n);
	name[n] = '\0';
	ck_assert_msg(n > 2 && strcmp(name + n - 2, ";2") == 0,
	    "mai's channel %s is not a Local ;2 half", name);
	name[n - 1] = '1';
	ck_assert_int_eq(ast(NULL, 0, "cli 'channel request hangup %s'", name),
	    0);
}

/* Nothing the flow-worker made for the call is left in Asterisk. */
static void
hcall_assert_gone(struct hcall *hc)
{
	const char	*prefix;
	char		 path[ID_MAX + 64];
	size_t		 i;

	hcall_objects(hc);
	ck_assert_int_eq(ari_obj("/channels", hc->id), 404);
	for (i = 0; i < hc->nobjs; i++) {
		switch (hc->objs[i][4]) {
		case 'p':
			prefix = "/playbacks";
			break;
		case 'b':
			prefix = "/bridges";
			break;
		default:
			prefix = "/channels";
		}
		ck_assert_msg(ari_obj(prefix, hc->objs[i]) == 404,
		    "%s/%s still there: %d %s", prefix, hc->objs[i],
		    r->status, r->body);
	}
	if (hc->rec[0] != '\0') {
		ck_assert_msg(ari_obj("/recordings/live", hc->rec) == 404,
		    "live recording %s still there: %s", hc->rec, r->body);
		/* Only the stored file is left (expected); tidy it away. */
		snprintf(path, sizeof(path), "/ari/recordings/stored/%s",
		    hc->rec);
		(void)h_http_auth(E2E_ARI_PORT, "DELETE", path,
		    "Basic " E2E_ARI_AUTH, r);
	}
}

START_TEST(caller_hangs_up_in_every_state)
{
	const struct hrow	*row = &rows[_i];
	struct hcall		 hc;
	char			 bot[64], step[128], ended[ID_MAX + 128];
	const char		*more[] = { bot, NULL };
	long			 t;

	snprintf(bot, sizeof(bot), "BOT_MEDIA_HOST=127.0.0.1:%d",
	    bot_port_open());
	webhook_open();
	e2e_start_ready(STATES_FLOW, more);
	hcall_place(&hc, row);
	snprintf(step, sizeof(step), "flow=%s state=%s action=%s", row->flow,
	    row->flow, row->action);
	if (!WAIT_UPTO(STATE_BOUND_MS, hcall_logged(&hc, step) &&
	    row->ready(&hc))) {
		hcall_dump(&hc);
		ck_abort_msg("%s: never in its state (\"%s\"); last ARI "
		    "answer %d %s", row->flow, step, r->status, r->body);
	}
	/* Still in that state: nothing ended it before the caller did. */
	ck_assert_int_eq(log_count(hc.from, "call ended id="), 0);
	hcall_objects(&hc);
	t = h_now_ms();
	hcall_hangup_caller(&hc);
	if (!WAIT_UPTO(GONE_BOUND_MS, all_gone())) {
		hcall_dump(&hc);
		ck_abort_msg("%s: still there after the caller hung up: "
		    "channels=%d; last ARI answer: %s", row->flow,
		    active_channels(), r->body);
	}
	fprintf(stderr, "hangup in state %-8s objects=%zu recording=%s: "
	    "all gone after %ld ms\n", row->flow, hc.nobjs,
	    hc.rec[0] ? "yes" : "no", h_now_ms() - t);
	hcall_assert_gone(&hc);
	/* The flow-worker saw the end, in the state it was in. */
	snprintf(ended, sizeof(ended), "call ended id=%s flow=%s state=%s why=",
	    hc.id, row->flow, row->flow);
	ck_assert_msg(WAIT_UPTO(STATE_BOUND_MS, log_count(hc.from, ended) ==
	    1), "no \"%s\" (log %s)", ended, env.log);
	ck_assert_int_eq(log_count(hc.from, "call ended id="), 1);
	ck_assert_int_eq(log_count(hc.from, "call started id="), 1);
	ck_assert(h_wait_metric(&env, "mai_flow_calls_ended_total", 1, 0));
	ck_assert(h_wait_metric(&env, "mai_flow_calls_active", 0, 0));
	ck_assert_int_eq(h_metric(&env, "mai_flow_calls_started_total"), 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("e2e-hangup");
	TCase	*tc = tcase_create("asterisk22");

	/* One tcase: Asterisk's ports are fixed; rows run one by one. */
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, caller_hangs_up_in_every_state, 0, NROWS);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
