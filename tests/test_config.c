/*
 * test_config.c — configuration errors stop start-up with one line that
 * names the variable and the fix, and exit code 78; -t prints the
 * effective configuration with the password masked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	env;
static char		out[65536];

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

static void
expect_config_error(const char *const *extra, const char *var)
{
	const char	*args[] = { "-t", NULL };
	int		 rc;

	rc = h_sup_run(&env, args, extra, out, sizeof(out));
	ck_assert_int_eq(rc, 78);
	ck_assert_msg(strstr(out, "configuration error") != NULL, "%s", out);
	ck_assert_msg(strstr(out, var) != NULL, "no %s in: %s", var, out);
	ck_assert_msg(strstr(out, "mvoice8908") == NULL, "password leaked");
	/* One line: the message and nothing after it. */
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}

/* Under four lease renewals a late one would read as a lost instance. */
START_TEST(adopt_after_too_short)
{
	const char *extra[] = { "MAI_ADOPT_AFTER_MS=1999", NULL };
	expect_config_error(extra, "MAI_ADOPT_AFTER_MS=1999 is too short");
}
END_TEST

START_TEST(port_not_a_number)
{
	const char *extra[] = { "ARI_PORT=abc", NULL };
	expect_config_error(extra, "ARI_PORT=abc is not valid");
}
END_TEST

START_TEST(event_filter_not_a_switch)
{
	const char *extra[] = { "ARI_EVENT_FILTER=yes", NULL };
	expect_config_error(extra, "ARI_EVENT_FILTER=yes is not valid");
}
END_TEST

START_TEST(port_out_of_range)
{
	const char *extra[] = { "ARI_PORT=70000", NULL };
	expect_config_error(extra, "ARI_PORT");
}
END_TEST

START_TEST(missing_ari_user)
{
	const char *extra[] = { "ARI_USER=", NULL };
	expect_config_error(extra, "ARI_USER is not set");
}
END_TEST

START_TEST(missing_password)
{
	const char *extra[] = { "ARI_PASSWORD=", NULL };
	expect_config_error(extra, "ARI_PASSWORD is not set");
}
END_TEST

START_TEST(unreadable_password_file)
{
	const char *extra[] = { "ARI_PASSWORD=",
	    "ARI_PASSWORD_FILE=/nonexistent/secret", NULL };
	expect_config_error(extra, "ARI_PASSWORD_FILE=/nonexistent/secret "
	    "cannot be read");
}
END_TEST

START_TEST(unknown_mai_user)
{
	const char *extra[] = { "MAI_USER=no-such-user-mai", NULL };
	expect_config_error(extra, "MAI_USER=no-such-user-mai: no such user");
}
END_TEST

START_TEST(bad_log_level_and_listen)
{
	const char *lvl[] = { "LOG_LEVEL=loud", NULL };
	const char *lst[] = { "HTTP_LISTEN=18080", NULL };
	const char *fmt[] = { "LOG_FORMAT=xml", NULL };
	expect_config_error(lvl, "LOG_LEVEL=loud");
	expect_config_error(fmt, "LOG_FORMAT=xml");
	expect_config_error(lst, "HTTP_LISTEN=18080 is not valid");
}
END_TEST

/* Asterisk's RTP channel never resolves a name; a bot URL is http(s). */
START_TEST(bad_bot_settings)
{
	const char *host[] = { "BOT_MEDIA_HOST=bot:18092", NULL };
	const char *ctl[] = { "BOT_CONTROL_URL=bot:18090", NULL };
	const char *tr[] = { "BOT_MEDIA_TRANSPORT=tcp", NULL };
	const char *slin[] = { "BOT_MEDIA_HOST=127.0.0.1:18092",
	    "BOT_MEDIA_FORMAT=slin16", NULL };
	const char *ws[] = { "BOT_MEDIA_HOST=bot:18091",
	    "BOT_MEDIA_TRANSPORT=websocket", NULL };
	expect_config_error(host, "BOT_MEDIA_HOST=bot:18092 is not valid: "
	    "Asterisk's RTP channel takes a numeric address");
	expect_config_error(ctl, "BOT_CONTROL_URL=bot:18090 is not valid");
	expect_config_error(tr, "BOT_MEDIA_TRANSPORT=tcp is not valid");
	expect_config_error(slin, "BOT_MEDIA_FORMAT=slin16 is not valid with "
	    "BOT_MEDIA_TRANSPORT=udp");
	expect_config_error(ws, "names a connection in Asterisk's "
	    "websocket_client.conf");
}
END_TEST

/* ARI_APP=mai-%h: one application per host (docs/scaling.md). */
START_TEST(app_name_holds_the_host_name)
{
	const char	*args[] = { "-t", NULL };
	const char	*extra[] = { "ARI_APP=mai-%h", NULL };
	char		 host[256], want[300];
	int		 rc;

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), "ARI_APP=mai-%s\n", host);
	rc = h_sup_run(&env, args, extra, out, sizeof(out));
	ck_assert_msg(rc == 0, "rc=%d out=%s", rc, out);
	ck_assert_msg(strstr(out, want) != NULL, "no %s in: %s", want, out);
}
END_TEST

START_TEST(app_name_other_percent_refused)
{
	const char *extra[] = { "ARI_APP=mai-%x", NULL };
	expect_config_error(extra, "ARI_APP=mai-%x");
}
END_TEST

START_TEST(test_mode_masks_password)
{
	const char	*args[] = { "-t", NULL };
	int		 rc;

	rc = h_sup_run(&env, args, NULL, out, sizeof(out));
	ck_assert_msg(rc == 0, "rc=%d out=%s", rc, out);
	ck_assert_ptr_nonnull(strstr(out, "ARI_PASSWORD=********"));
	ck_assert_ptr_nonnull(strstr(out, "ARI_USER=mai"));
	ck_assert_ptr_nonnull(strstr(out, "configuration ok"));
	ck_assert_ptr_null(strstr(out, "mvoice8908"));
}
END_TEST

START_TEST(password_file_is_read)
{
	const char	*args[] = { "-t", NULL };
	char		 path[256], fileenv[300];
	const char	*extra[] = { "ARI_PASSWORD=", fileenv, NULL };
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/secret", env.dir);
	fp = fopen(path, "w");
	fputs("mvoice8908!#\n", fp);
	fclose(fp);
	snprintf(fileenv, sizeof(fileenv), "ARI_PASSWORD_FILE=%s", path);
	ck_assert_int_eq(h_sup_run(&env, args, extra, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "ARI_PASSWORD_FILE="));
	ck_assert_ptr_null(strstr(out, "mvoice8908"));
}
END_TEST

/* -t runs the flow-worker's own check on FLOWS_FILE. */
START_TEST(test_mode_checks_the_flow_file)
{
	const char	*args[] = { "-t", NULL };
	char		 path[256], fileenv[300];
	const char	*extra[] = { fileenv, NULL };
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/flows.json", env.dir);
	fp = fopen(path, "w");
	fputs("{\"version\": 1, \"flows\": {\"f\": {\"initial\": \"a\", "
	    "\"states\": {\"a\": {\"actions\": [{\"dance\": {}}]}}}}, "
	    "\"routes\": [{\"default\": true, \"flow\": \"f\"}]}\n", fp);
	fclose(fp);
	snprintf(fileenv, sizeof(fileenv), "FLOWS_FILE=%s", path);
	ck_assert_int_eq(h_sup_run(&env, args, extra, out, sizeof(out)), 78);
	ck_assert_msg(strstr(out, "dance") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "is not a valid flow file"));
	ck_assert_ptr_null(strstr(out, "configuration ok"));
}
END_TEST

START_TEST(version_and_help)
{
	const char	*v[] = { "--version", NULL }, *h[] = { "--help", NULL };

	ck_assert_int_eq(h_sup_run(&env, v, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "mai-supervisor "));
	ck_assert_int_eq(h_sup_run(&env, h, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--test-config"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("errors");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, port_not_a_number);
	tcase_add_test(tc, adopt_after_too_short);
	tcase_add_test(tc, event_filter_not_a_switch);
	tcase_add_test(tc, port_out_of_range);
	tcase_add_test(tc, missing_ari_user);
	tcase_add_test(tc, missing_password);
	tcase_add_test(tc, unreadable_password_file);
	tcase_add_test(tc, unknown_mai_user);
	tcase_add_test(tc, bad_log_level_and_listen);
	tcase_add_test(tc, bad_bot_settings);
	tcase_add_test(tc, test_mode_masks_password);
	tcase_add_test(tc, app_name_holds_the_host_name);
	tcase_add_test(tc, app_name_other_percent_refused);
	tcase_add_test(tc, password_file_is_read);
	tcase_add_test(tc, test_mode_checks_the_flow_file);
	tcase_add_test(tc, version_and_help);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
