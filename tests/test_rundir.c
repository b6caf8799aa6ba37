/*
 * test_rundir.c — a run directory someone else could write to is refused
 * (one line naming MAI_RUNDIR, exit 78), and symlinks planted in it are
 * never followed: their targets keep their bytes.  The attack of issue 11:
 * a local user creates MAI_RUNDIR first and plants `supervisor.pid` and
 * `ws-worker.pid.tmp` pointing at files root may write.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define VICTIM_TEXT	"precious, not a pid\n"

static struct h_env	env;
static char		victim1[256], victim2[256];

static void
setup(void)
{
	h_init(&env);
	snprintf(victim1, sizeof(victim1), "%s/victim1", env.dir);
	snprintf(victim2, sizeof(victim2), "%s/victim2", env.dir);
	h_write_file(victim1, VICTIM_TEXT);
	h_write_file(victim2, VICTIM_TEXT);
	chmod(victim1, 0600);
	chmod(victim2, 0600);
}

static void teardown(void) { h_cleanup(&env); }

/* The run directory as an attacker leaves it: two symlinks planted. */
static void
plant(mode_t mode, uid_t owner)
{
	char	link[256];

	ck_assert_int_eq(mkdir(env.rundir, mode), 0);
	ck_assert_int_eq(chmod(env.rundir, mode), 0);	/* past the umask */
	snprintf(link, sizeof(link), "%s/supervisor.pid", env.rundir);
	ck_assert_int_eq(symlink(victim1, link), 0);
	snprintf(link, sizeof(link), "%s/ws-worker.pid.tmp", env.rundir);
	ck_assert_int_eq(symlink(victim2, link), 0);
	ck_assert_int_eq(lchown(env.rundir, owner, (gid_t)-1), 0);
}

static void
assert_victims_intact(void)
{
	char	*a = h_slurp_from(victim1, 0), *b = h_slurp_from(victim2, 0);

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(a, VICTIM_TEXT);
	ck_assert_str_eq(b, VICTIM_TEXT);
	free(a);
	free(b);
}

/* Start the supervisor and wait for it to give up; its exit status. */
static int
start_expect_exit(void)
{
	int	status = 0;
	pid_t	pid;

	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	pid = env.sup_pid;
	ck_assert_msg(H_WAIT_FOR(waitpid(pid, &status, WNOHANG) == pid),
	    "the supervisor accepted an unsafe run directory");
	env.sup_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void
assert_refused_line(const char *why)
{
	char	*log = h_slurp_from(env.log, 0);

	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "level=error") != NULL &&
	    strstr(log, "configuration error: MAI_RUNDIR=") != NULL &&
	    strstr(log, why) != NULL, "no refusal line: %s", log);
	/* One line, nothing started. */
	ck_assert_ptr_eq(strchr(log, '\n'), log + strlen(log) - 1);
	free(log);
}

START_TEST(dir_of_another_user_refused)
{
	struct passwd	*pw = getpwnam("nobody");

	if (geteuid() != 0 || pw == NULL)
		return;		/* only root can give a directory away */
	plant(0755, pw->pw_uid);
	ck_assert_int_eq(start_expect_exit(), 78);
	assert_refused_line("not by root or by us");
	assert_victims_intact();
}
END_TEST

START_TEST(world_writable_dir_refused)
{
	plant(0777, geteuid());
	ck_assert_int_eq(start_expect_exit(), 78);
	assert_refused_line("writable by group or others");
	assert_victims_intact();
}
END_TEST

START_TEST(group_writable_dir_refused)
{
	plant(0770, geteuid());
	ck_assert_int_eq(start_expect_exit(), 78);
	assert_refused_line("chmod go-w");
	assert_victims_intact();
}
END_TEST

/*
 * Symlinks in a directory only we can write to (left over, or planted
 * before the directory was fixed): the pidfile lock does not follow one,
 * and a worker's pidfile is written through a fresh temporary.
 */
START_TEST(planted_symlinks_not_followed)
{
	char	link[256], st_path[256];
	struct stat st;

	plant(0750, geteuid());
	ck_assert_int_ne(start_expect_exit(), 0);
	ck_assert_msg(h_log_has(&env, "supervisor.pid"), "no line");
	assert_victims_intact();

	/* Without the lock's symlink it starts; the .tmp one is replaced. */
	snprintf(link, sizeof(link), "%s/supervisor.pid", env.rundir);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	ck_assert(h_wait_worker(&env, "ws-worker", 0, NULL));
	assert_victims_intact();
	snprintf(st_path, sizeof(st_path), "%s/ws-worker.pid", env.rundir);
	ck_assert_int_eq(lstat(st_path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_gt(h_worker_pid(&env, "ws-worker"), 0);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("rundir");
	TCase	*tc = tcase_create("hostile run directory");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dir_of_another_user_refused);
	tcase_add_test(tc, world_writable_dir_refused);
	tcase_add_test(tc, group_writable_dir_refused);
	tcase_add_test(tc, planted_symlinks_not_followed);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
