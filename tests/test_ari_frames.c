/*
 * test_ari_frames.c — what Asterisk never sends is never relayed (issue
 * 11): a binary WebSocket message holding a valid event is refused and
 * counted (mai_ws_frames_refused_total), a text message that is not UTF-8
 * is dropped and counted (mai_ws_malformed_total).  A valid event sent
 * after both proves, by the order of the stream, that neither got through.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* A StasisStart for channel ID, with BYTES inside the caller's name. */
#define STASIS(id, bytes) "{\"type\": \"StasisStart\", \"timestamp\": " \
    "\"2026-12-05T00:00:00.000+0000\", \"args\": [], \"channel\": " \
    "{\"id\": \"" id "\", \"name\": \"PJSIP/x-00000099\", \"state\": " \
    "\"Ring\", \"caller\": {\"name\": \"" bytes "\", \"number\": \"1001\"}," \
    " \"dialplan\": {\"context\": \"incoming\", \"exten\": \"9\", " \
    "\"priority\": 1}}, \"application\": \"mai\", \"asterisk_id\": " \
    "\"02:fc:00:00:00:01\"}"

static struct h_env	env;

static void
setup(void)
{
	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	ck_assert(h_wait_ready(&env, 200));
}

static void teardown(void) { h_cleanup(&env); }

static void
post(const char *cmd, const char *body)
{
	ck_assert_int_eq(h_sim_post(&env, cmd, body, strlen(body)), 200);
}

START_TEST(binary_and_bad_utf8_refused_and_counted)
{
	long	refused = h_metric(&env, "mai_ws_frames_refused_total");
	long	malformed = h_metric(&env, "mai_ws_malformed_total");

	ck_assert_int_ge(refused, 0);
	ck_assert_int_ge(malformed, 0);
	post("event?binary=1", STASIS("1796500000.81", "binary"));
	ck_assert(h_wait_metric(&env, "mai_ws_frames_refused_total",
	    refused + 1, 0));
	ck_assert(h_wait_log(&env, "ARI message refused: binary"));
	/* Overlong '/', a lone continuation byte, a UTF-16 surrogate. */
	post("event", STASIS("1796500000.82", "\xc0\xaf"));
	post("event", STASIS("1796500000.83", "\x80"));
	post("event", STASIS("1796500000.84", "\xed\xa0\x80"));
	ck_assert(h_wait_metric(&env, "mai_ws_malformed_total",
	    malformed + 3, 0));
	ck_assert(h_log_has(&env, "ARI message dropped: not UTF-8"));
	/* Real UTF-8 passes, and comes after everything above. */
	post("event", STASIS("1796500000.85", "J\xc3\xbcrgen \xe2\x82\xac"));
	ck_assert(h_wait_log(&env, "call started id=1796500000.85"));
	ck_assert(!h_log_has(&env, "id=1796500000.81"));
	ck_assert(!h_log_has(&env, "id=1796500000.82"));
	ck_assert(!h_log_has(&env, "id=1796500000.83"));
	ck_assert(!h_log_has(&env, "id=1796500000.84"));
	ck_assert_int_eq(h_metric(&env, "mai_ws_frames_refused_total"),
	    refused + 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ari_frames");
	TCase	*tc = tcase_create("refused frames");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, binary_and_bad_utf8_refused_and_counted);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
