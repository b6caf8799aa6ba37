/*
 * test_config_file.c — hostile configuration input is refused, never cut
 * into something else (issue 11): a comment line over the bound whose
 * tail would read as ARI_HOST=10.66.66.66, an ARI_HOST that is no host,
 * a password file longer than a password may be.  Each stops `-t` with
 * one error-level line naming the place and exit code 78.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static struct h_env	env;
static char		out[65536];

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

static void
expect_refused(const char *const *extra, const char *what)
{
	const char	*args[] = { "-t", NULL };

	ck_assert_int_eq(h_sup_run(&env, args, extra, out, sizeof(out)), 78);
	ck_assert_msg(strstr(out, "level=error") != NULL &&
	    strstr(out, "configuration error") != NULL, "%s", out);
	ck_assert_msg(strstr(out, what) != NULL, "no '%s' in: %s", what, out);
	ck_assert_ptr_null(strstr(out, "configuration ok"));
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
}

START_TEST(long_comment_refused_not_split)
{
	char	path[256], var[300], *text;
	size_t	i = 0;

	/* The issue's line: "# ", 1,021 x, then what a cut would expose. */
	text = malloc(4096);
	ck_assert_ptr_nonnull(text);
	text[i++] = '#';
	text[i++] = ' ';
	while (i < 2 + 1021)
		text[i++] = 'x';
	strcpy(text + i, "ARI_HOST=10.66.66.66\nARI_APP=mai\n");
	snprintf(path, sizeof(path), "%s/mai.conf", env.dir);
	h_write_file(path, text);
	free(text);
	snprintf(var, sizeof(var), "MAI_CONFIG_FILE=%s", path);
	{
		const char *extra[] = { var, NULL };

		expect_refused(extra, "line 1 is longer than 1023 bytes");
	}
	ck_assert_ptr_null(strstr(out, "ARI_HOST=10.66.66.66"));
}
END_TEST

START_TEST(host_with_space_refused)
{
	const char *extra[] = { "ARI_HOST=a b", NULL };

	expect_refused(extra, "ARI_HOST=a b is not valid");
}
END_TEST

START_TEST(host_with_path_refused)
{
	const char *extra[] = { "ARI_HOST=x/#", NULL };

	expect_refused(extra, "ARI_HOST=x/# is not valid");
}
END_TEST

START_TEST(host_forms_accepted)
{
	static const char *const good[] = { "ARI_HOST=asterisk.example.net",
	    "ARI_HOST=10.0.0.5", "ARI_HOST=[::1]", "ARI_HOST=::1",
	    "ARI_HOST=edge_1" };
	const char	*args[] = { "-t", NULL };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *extra[] = { good[i], NULL };

		ck_assert_msg(h_sup_run(&env, args, extra, out, sizeof(out)) ==
		    0, "%s refused: %s", good[i], out);
	}
	ck_assert_ptr_nonnull(strstr(out, "ARI_HOST=edge_1\n"));
}
END_TEST

START_TEST(password_file_too_long_refused)
{
	char	path[256], var[300], pw[302];

	memset(pw, 'p', 300);
	pw[300] = '\n';
	pw[301] = '\0';
	snprintf(path, sizeof(path), "%s/secret", env.dir);
	h_write_file(path, pw);
	snprintf(var, sizeof(var), "ARI_PASSWORD_FILE=%s", path);
	{
		const char *extra[] = { "ARI_PASSWORD=", var, NULL };

		expect_refused(extra, "holds a password over 255 bytes");
	}
	ck_assert_ptr_null(strstr(out, "pppppppp"));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("config_file");
	TCase	*tc = tcase_create("hostile input");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, long_comment_refused_not_split);
	tcase_add_test(tc, host_with_space_refused);
	tcase_add_test(tc, host_with_path_refused);
	tcase_add_test(tc, host_forms_accepted);
	tcase_add_test(tc, password_file_too_long_refused);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
