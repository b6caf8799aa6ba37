/*
 * test_bot_sse.c — the bot's SSE parser (bot/sse.c), unit level: a chat
 * stream split at every possible byte, CRLF and CR line ends, comments,
 * multi-line data, [DONE], an overlong line.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "bot.h"

/* bot.h declares what sse.c needs beyond itself: only fatal(). */
struct bot_config	 bot_conf;

struct got {
	char	events[16][256];
	int	n;
};

static int
collect(void *arg, const char *data, size_t len)
{
	struct got	*g = arg;

	ck_assert_uint_eq(strlen(data), len);
	if (g->n < 16)
		snprintf(g->events[g->n++], 256, "%s", data);
	return 0;
}

static const char stream[] =
    ": keep-alive comment\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    "event: message\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\r\n\r\n"
    "id: 3\r"
    "data: line one\r"
    "data: line two\r\r"
    "data:[DONE]\n\n";

static void
check_events(struct got *g)
{
	ck_assert_int_eq(g->n, 4);
	ck_assert_str_eq(g->events[0],
	    "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
	ck_assert_str_eq(g->events[1],
	    "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}");
	ck_assert_str_eq(g->events[2], "line one\nline two");
	ck_assert_str_eq(g->events[3], "[DONE]");
}

START_TEST(whole_stream)
{
	struct sse	p;
	struct got	g;

	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(sse_feed(&p, stream, strlen(stream), collect, &g), 0);
	check_events(&g);
	sse_free(&p);
}
END_TEST

/* Split in two at every offset, and byte by byte. */
START_TEST(split_anywhere)
{
	struct sse	p;
	struct got	g;
	size_t		cut, len = strlen(stream), i;

	for (cut = 0; cut <= len; cut++) {
		memset(&p, 0, sizeof(p));
		memset(&g, 0, sizeof(g));
		ck_assert_int_eq(sse_feed(&p, stream, cut, collect, &g), 0);
		ck_assert_int_eq(sse_feed(&p, stream + cut, len - cut, collect,
		    &g), 0);
		check_events(&g);
		sse_free(&p);
	}
	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	for (i = 0; i < len; i++)
		ck_assert_int_eq(sse_feed(&p, stream + i, 1, collect, &g), 0);
	check_events(&g);
	sse_free(&p);
}
END_TEST

/* An event not yet ended by its empty line is not dispatched. */
START_TEST(cut_midway_not_dispatched)
{
	struct sse	p;
	struct got	g;
	const char	*s = "data: {\"a\":1}\n\ndata: {\"b\":";

	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(sse_feed(&p, s, strlen(s), collect, &g), 0);
	ck_assert_int_eq(g.n, 1);
	sse_free(&p);
}
END_TEST

START_TEST(overlong_line_is_garbage)
{
	struct sse	 p;
	struct got	 g;
	char		*big = malloc(SSE_LINE_MAX + 10);

	memset(big, 'x', SSE_LINE_MAX + 9);
	big[SSE_LINE_MAX + 9] = '\0';
	memset(&p, 0, sizeof(p));
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(sse_feed(&p, big, strlen(big), collect, &g), -1);
	sse_free(&p);
	free(big);
}
END_TEST

static int
stop_at_first(void *arg, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return 7;
}

START_TEST(callback_stops_feed)
{
	struct sse	p;

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(sse_feed(&p, stream, strlen(stream), stop_at_first,
	    NULL), 7);
	sse_free(&p);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bot_sse");
	TCase	*tc = tcase_create("sse");

	tcase_add_test(tc, whole_stream);
	tcase_add_test(tc, split_anywhere);
	tcase_add_test(tc, cut_midway_not_dispatched);
	tcase_add_test(tc, overlong_line_is_garbage);
	tcase_add_test(tc, callback_stops_feed);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
