/*
 * test_log_escape.c — with LOG_FORMAT=text, a value from ARI cannot forge
 * a log line or steer a terminal: a caller number holding LF, a whole
 * fake line and ESC is written on the real line, escaped (issue 11).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define FORGED_TS	"2026-12-05T00:00:00.000Z"

/* A StasisStart as Asterisk would send it, with a hostile caller number. */
#define EVENT	"{\"type\": \"StasisStart\", \"timestamp\": " \
    "\"2026-12-05T00:00:00.000+0000\", \"args\": [], \"channel\": " \
    "{\"id\": \"1796500000.77\", \"name\": \"PJSIP/x-00000077\", " \
    "\"state\": \"Ring\", \"caller\": {\"name\": \"\", \"number\": " \
    "\"\\n" FORGED_TS " level=error proc=supervisor pid=1 FORGED LINE" \
    "\\r\\u001b[31m\"}, \"dialplan\": {\"context\": \"incoming\", " \
    "\"exten\": \"9\", \"priority\": 1}}, \"application\": \"mai\", " \
    "\"asterisk_id\": \"02:fc:00:00:00:01\"}"

static struct h_env	env;

static void
setup(void)
{
	const char *extra[] = { "LOG_FORMAT=text", NULL };

	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_ready(&env, 200));
}

static void teardown(void) { h_cleanup(&env); }

START_TEST(forged_line_escaped)
{
	char	*log, *line, *eol;

	/* LF, a complete fake line, CR and ESC [31m (red) in a caller id. */
	ck_assert_int_eq(h_sim_post(&env, "event", EVENT, strlen(EVENT)), 200);
	ck_assert(h_wait_log(&env, "FORGED LINE"));
	log = h_slurp_from(env.log, 0);
	ck_assert_ptr_nonnull(log);
	/* No line starts with the forged time stamp... */
	ck_assert_msg(strncmp(log, FORGED_TS, strlen(FORGED_TS)) != 0 &&
	    strstr(log, "\n" FORGED_TS) == NULL, "forged line in: %s", log);
	/* ...and no raw control byte but LF reached the log. */
	ck_assert_ptr_null(strchr(log, '\033'));
	ck_assert_ptr_null(strchr(log, '\r'));
	/* The value is on the real line, escaped, after the real header. */
	line = strstr(log, "FORGED LINE");
	while (line > log && line[-1] != '\n')
		line--;
	eol = strchr(line, '\n');
	ck_assert_ptr_nonnull(eol);
	*eol = '\0';
	ck_assert_msg(strstr(line, " level=info proc=flow-worker pid=") != NULL
	    && strstr(line, "caller=\\n" FORGED_TS " level=error") != NULL &&
	    strstr(line, "FORGED LINE\\r\\x1b[31m") != NULL, "line: %s", line);
	free(log);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log_escape");
	TCase	*tc = tcase_create("text format");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, forged_line_escaped);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
