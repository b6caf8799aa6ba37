/*
 * test_capabilities.c — a worker started by a root supervisor keeps no
 * capability at all, the bounding set included (issue 11): CapBnd,
 * CapInh, CapPrm, CapEff and CapAmb are 0 in /proc/PID/status of each
 * worker once it has dropped privileges, and it runs as MAI_USER.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const workers[] = { "ws-worker", "flow-worker",
    "health-worker" };
static const char *const cap_sets[] = { "CapInh", "CapPrm", "CapEff",
    "CapBnd", "CapAmb" };
static struct h_env	env;

static void setup(void) { h_init(&env); }
static void teardown(void) { h_cleanup(&env); }

/* A capability set from /proc/PID/status (hex); ~0 if unreadable. */
static unsigned long long
cap_field(pid_t pid, const char *field)
{
	char			path[64], line[256];
	size_t			n = strlen(field);
	unsigned long long	v = ~0ULL;
	FILE			*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return v;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 16);
			break;
		}
	fclose(fp);
	return v;
}

START_TEST(workers_have_no_capabilities)
{
	pid_t	pid;
	size_t	i, j;

	if (geteuid() != 0)
		return;		/* a normal user has none to drop */
	/* The supervisor itself keeps its own: it must start workers. */
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	for (i = 0; i < 3; i++) {
		ck_assert(h_wait_worker(&env, workers[i], 0, NULL));
		pid = h_worker_pid(&env, workers[i]);
		/* Seccomp 2 comes after the user switch and the capset. */
		ck_assert(H_WAIT_FOR(h_proc_status_field(pid, "Seccomp") == 2));
		ck_assert_int_ne(h_proc_status_field(pid, "Uid"), 0);
		for (j = 0; j < sizeof(cap_sets) / sizeof(cap_sets[0]); j++)
			ck_assert_msg(cap_field(pid, cap_sets[j]) == 0,
			    "%s pid=%d %s=%llx", workers[i], (int)pid,
			    cap_sets[j], cap_field(pid, cap_sets[j]));
	}
	ck_assert_uint_ne(cap_field(env.sup_pid, "CapBnd"), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("capabilities");
	TCase	*tc = tcase_create("bounding set");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, workers_have_no_capabilities);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
