/*
 * fuzz_flow_events.c — the flow-worker's event handling
 * (flow-worker/events.c flow_event_handle() -> ariev.c -> the engine)
 * over a script of ARI events and ARI answers, with every flow-worker
 * object but main.c and an ARI the script answers (stub_ari.c).
 *
 * Input: lines.  A line starting with '{' is an ARI event (JSON, as the
 * supervisor relays it; any other line that is not a command is one
 * too).  "!NNN BODY" answers the oldest ARI call with status NNN and
 * BODY; "!fK" ends it with failure kind K (enum ari_rest_fail); "!*"
 * answers every call with 200 until none is left (bounded); "~" fires
 * every pending timer (gather, wait, state timeouts).  Nothing is ever
 * sent: the event base is only run without blocking, to deliver what
 * the code activated itself.  Each input gets a new struct flow, torn
 * down and freed at its end, so a leak shows as one.
 *
 * arc4random() is this file's, returning 0: the ids mai makes
 * ("mai-p00000000-CALLER") are then known to the corpus, so events can
 * name our playbacks and legs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "log.h"
#include "ari_rest.h"
#include "flow.h"
#include "areq.h"
#include "stub_ari.h"

int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);
uint32_t	arc4random(void);

#define SCRIPT_LINE_MAX		(64 * 1024)
#define ANSWER_ALL_MAX		512	/* "!*" answers, then it stops */
#define TIMERS_MAX		256	/* fired by one "~" */

static struct flowset	*flows;

uint32_t
arc4random(void)
{
	return 0;
}

static void
setup(void)
{
	char	err[FLOW_ERR_MAX];

	log_init("fuzz", LOG_LVL_ERROR, 0);
	if ((flows = flowset_load(FUZZ_FLOWS, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

static struct flow *
flow_new(void)
{
	struct flow	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->base = event_base_new()) == NULL ||
	    (f->tok = json_tokener_new()) == NULL)
		abort();
	snprintf(f->conf.ari_app, sizeof(f->conf.ari_app), "mai");
	snprintf(f->conf.bot_media, sizeof(f->conf.bot_media),
	    "127.0.0.1:40000");
	snprintf(f->conf.bot_format, sizeof(f->conf.bot_format), "ulaw");
	snprintf(f->conf.bot_transport, sizeof(f->conf.bot_transport), "udp");
	if ((f->rest = ari_rest_new(f->base, &f->conf)) == NULL ||
	    (f->botctl = ari_rest_new(f->base, &f->conf)) == NULL)
		abort();
	snprintf(f->conf.bot_control, sizeof(f->conf.bot_control),
	    "http://127.0.0.1:18090");
	calls_init(f);
	backlog_init(f);
	f->fs = flows;
	flows->refs++;
	return f;
}

/* What flow_teardown() leaves to the process's exit, too. */
static void
flow_free(struct flow *f)
{
	struct areq	*r;

	event_base_loop(f->base, EVLOOP_NONBLOCK);
	calls_free_all(f);
	reconcile_free(f);
	ari_rest_free(f->botctl);
	ari_rest_free(f->rest);
	while ((r = TAILQ_FIRST(&f->backlog_first)) != NULL ||
	    (r = TAILQ_FIRST(&f->backlog)) != NULL) {
		backlog_remove(r);
		areq_free(r);
	}
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	flowset_unref(f->fs);
	json_tokener_free(f->tok);
	event_base_free(f->base);
	free(f);
}

struct timers {
	struct event	*ev[TIMERS_MAX];
	size_t		 n;
};

static int
timer_collect(const struct event_base *base, const struct event *ev,
    void *arg)
{
	struct timers	*t = arg;

	(void)base;
	if (t->n < TIMERS_MAX && event_pending(ev, EV_TIMEOUT, NULL))
		t->ev[t->n++] = (struct event *)(uintptr_t)ev;
	return 0;
}

/* As if each timer ran out now. */
static void
timers_fire(struct flow *f)
{
	struct timers	t;
	size_t		i;

	t.n = 0;
	event_base_foreach_event(f->base, timer_collect, &t);
	for (i = 0; i < t.n; i++) {
		event_del(t.ev[i]);
		event_active(t.ev[i], EV_TIMEOUT, 1);
	}
}

static void
answer(struct flow *f, const char *line, size_t len)
{
	long	status;
	int	i;

	if (len >= 2 && line[1] == '*') {
		for (i = 0; i < ANSWER_ALL_MAX && stub_ari_answer(f->rest, 200,
		    ARI_FAIL_NONE, NULL, 0); i++)
			event_base_loop(f->base, EVLOOP_NONBLOCK);
	} else if (len >= 3 && line[1] == 'f')
		stub_ari_answer(f->rest, 0, line[2] - '0', NULL, 0);
	else {
		/* "!NNN BODY": the body starts after the status and a blank. */
		status = strtol(line + 1, NULL, 10);
		stub_ari_answer(f->rest, status, ARI_FAIL_NONE,
		    len > 5 ? line + 5 : NULL, len > 5 ? len - 5 : 0);
	}
}

static void
script_line(struct flow *f, uint64_t *seq, const char *line, size_t len)
{
	if (len > 0 && line[0] == '!')
		answer(f, line, len);
	else if (len > 0 && line[0] == '~')
		timers_fire(f);
	else
		flow_event_handle(f, ++*seq, line, len, 1);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *end = p + size, *nl;
	char		*line;
	struct flow	*f;
	uint64_t	 seq = 0;
	size_t		 len;

	if (flows == NULL)
		setup();
	f = flow_new();
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len < SCRIPT_LINE_MAX) {
			/* Its own allocation: ASan sees a read past it. */
			if ((line = malloc(len + 1)) == NULL)
				abort();
			memcpy(line, p, len);
			line[len] = '\0';
			script_line(f, &seq, line, len);
			free(line);
		}
		p = nl + 1;
	}
	flow_free(f);
	return 0;
}
