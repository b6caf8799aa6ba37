/*
 * test_supervisor.c — the real mai-supervisor with its real workers and
 * the ARI simulator: workers up and sandboxed, restarts after kill -9 with
 * flags cleared, SIGHUP rolling restart, SIGTERM leaving nothing behind,
 * a protocol-breaking worker refused, and no event lost when the
 * flow-worker dies mid-stream.
 */
#include <sys/stat.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const workers[] = { "ws-worker", "flow-worker",
    "health-worker" };
static struct h_env	env;

static void
start_all(const char *const *extra)
{
	int	i;

	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	for (i = 0; i < 3; i++)
		ck_assert_msg(h_wait_worker(&env, workers[i], 0, NULL),
		    "%s never came up", workers[i]);
}

static void setup(void) { start_all(NULL); }

/* Room for a whole burst while the flow-worker is down. */
static void
setup_relay(void)
{
	const char *extra[] = { "MAI_EVENT_QUEUE_MAX=1000000",
	    "MAI_EVENT_QUEUE_BYTES=1073741824", NULL };

	start_all(extra);
}
static void teardown(void) { h_cleanup(&env); }

START_TEST(workers_up_and_sandboxed)
{
	char	path[128], buf[4096];
	FILE	*fp;
	size_t	n;
	pid_t	pid;
	int	i;

	for (i = 0; i < 3; i++) {
		pid = h_worker_pid(&env, workers[i]);
		/* Hello comes first; the drop follows its CONFIG at once. */
		ck_assert_msg(H_WAIT_FOR(h_proc_status_field(pid, "Seccomp") ==
		    2), "%s has no seccomp filter", workers[i]);
		ck_assert_int_eq(h_proc_status_field(pid, "NoNewPrivs"), 1);
		if (geteuid() == 0)
			ck_assert_int_ne(h_proc_status_field(pid, "Uid"), 0);
		/* The secret is in neither argv nor environ of a worker. */
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		if ((fp = fopen(path, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf), fp);
			fclose(fp);
			ck_assert_ptr_null(memmem(buf, n, "mvoice8908", 10));
			ck_assert_ptr_null(memmem(buf, n, "ARI_PASSWORD", 12));
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)env.sup_pid);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	ck_assert_ptr_null(memmem(buf, n, "mvoice8908", 10));
	ck_assert_msg(!h_log_has(&env, "mvoice8908"), "password in the log");
}
END_TEST

START_TEST(kill9_each_worker_restarts_and_clears_flags)
{
	static const char *const cleared[] = {
		"flag=ws_connected value=false reason=\"ws-worker down\"",
		NULL,
		"flag=edge_http_reachable value=false reason=\"health-worker down\"",
	};
	char	sample[128];
	pid_t	old, now;
	int	i;

	ck_assert(h_wait_ready(&env, 200));
	for (i = 0; i < 3; i++) {
		old = h_worker_pid(&env, workers[i]);
		ck_assert_int_eq(kill(old, SIGKILL), 0);
		ck_assert_msg(h_wait_worker(&env, workers[i], old, &now),
		    "%s did not come back", workers[i]);
		ck_assert_int_ne(now, old);
		if (cleared[i] != NULL)
			ck_assert_msg(h_log_has(&env, cleared[i]), "%s",
			    cleared[i]);
		ck_assert(h_wait_ready(&env, 200));
		snprintf(sample, sizeof(sample),
		    "mai_worker_restarts_total{worker=\"%s\"}", workers[i]);
		ck_assert(h_wait_metric(&env, sample, 1, 0));
	}
	ck_assert(h_log_has(&env, "signal=9"));
}
END_TEST

/*
 * A worker killed from outside after it ran a while (an operator, the OOM
 * killer) comes back at once, again and again, and is no crash loop; one
 * that dies right after its start backs off.
 */
START_TEST(outside_kill_restarts_at_once)
{
	pid_t	old, now;
	int	i;

	ck_assert(h_wait_ready(&env, 200));
	for (i = 0; i < 6; i++) {
		old = h_worker_pid(&env, "ws-worker");
		/* Past RESTART_KILLED_MIN_RUN_MS: a precondition, not a speed. */
		h_sleep_ms(1100);
		ck_assert_int_eq(kill(old, SIGKILL), 0);
		ck_assert(h_wait_worker(&env, "ws-worker", old, &now));
	}
	ck_assert(!h_log_has(&env, "worker restart scheduled "
	    "worker=ws-worker"));
	ck_assert(!h_log_has(&env, "crash-looping"));
	/* Dead right after its start: the backoff as before. */
	ck_assert_int_eq(kill(now, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "ws-worker", now, &now));
	ck_assert(h_log_has(&env, "worker restart scheduled worker=ws-worker "
	    "delay_ms=100"));
	ck_assert(h_wait_ready(&env, 200));
	ck_assert(h_wait_metric(&env,
	    "mai_worker_crashloop{worker=\"ws-worker\"}", 0, 0));
}
END_TEST

/*
 * HUP: ws- and health-worker restart one at a time (each successor ready
 * before the next is touched); the flow-worker reloads in place.
 */
START_TEST(sighup_restarts_one_at_a_time)
{
	static const int rolled[] = { 0, 2 };
	char	needle[128];
	pid_t	old[3], now;
	int	i, k, pos = 0;

	for (i = 0; i < 3; i++)
		old[i] = h_worker_pid(&env, workers[i]);
	ck_assert_int_eq(kill(env.sup_pid, SIGHUP), 0);
	ck_assert(h_wait_log(&env, "reload done"));
	ck_assert(h_log_has(&env, "reload: worker=flow-worker reloads in "
	    "place"));
	ck_assert_int_eq(h_worker_pid(&env, "flow-worker"), old[1]);
	for (k = 0; k < 2; k++) {
		i = rolled[k];
		ck_assert(h_wait_worker(&env, workers[i], old[i], &now));
		snprintf(needle, sizeof(needle), "reload: restarting worker=%s",
		    workers[i]);
		pos = h_log_pos(&env, needle, pos);
		ck_assert_int_ge(pos, 0);
		snprintf(needle, sizeof(needle), "worker ready worker=%s pid=%d",
		    workers[i], (int)now);
		pos = h_log_pos(&env, needle, pos);
		ck_assert_msg(pos >= 0, "%s not after its restart", needle);
	}
	ck_assert(h_wait_ready(&env, 200));
}
END_TEST

START_TEST(sigterm_leaves_nothing_behind)
{
	char	path[256];
	pid_t	pids[3];
	int	i;

	for (i = 0; i < 3; i++)
		pids[i] = h_worker_pid(&env, workers[i]);
	ck_assert_int_eq(h_sup_stop(&env), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_msg(!h_proc_alive(pids[i]), "%s left", workers[i]);
		snprintf(path, sizeof(path), "%s/%s.pid", env.rundir,
		    workers[i]);
		ck_assert_int_ne(access(path, F_OK), 0);
	}
	snprintf(path, sizeof(path), "%s/control.sock", env.rundir);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

/*
 * Kill the flow-worker while a burst is in flight; count every event.
 * The burst fits the ws-worker's own buffer, so a slow machine cannot
 * turn this into a test of buffer sizes.
 */
START_TEST(no_event_lost_across_flow_restart)
{
	const long	 n = 30000;
	long		 sent, relayed;
	pid_t		 flow, now;
	char		 cmd[64];

	ck_assert(h_wait_ready(&env, 200));
	snprintf(cmd, sizeof(cmd), "burst?n=%ld&size=1024", n);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "events_sent") >= n / 10));
	flow = h_worker_pid(&env, "flow-worker");
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	ck_assert_msg(h_sim_stat(&env, "burst_pending") > 0,
	    "the burst ended before the kill: nothing was proven");
	ck_assert(h_wait_worker(&env, "flow-worker", flow, &now));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "burst_pending") == 0));
	sent = h_sim_stat(&env, "events_sent");
	ck_assert_int_ge(sent, n);
	ck_assert_msg(h_wait_metric(&env, "mai_events_relayed_total", sent, 0),
	    "relayed=%ld sent=%ld", h_metric(&env, "mai_events_relayed_total"),
	    sent);
	relayed = h_metric(&env, "mai_events_relayed_total");
	ck_assert_msg(h_wait_metric(&env, "mai_events_acked_total", relayed, 0),
	    "acked=%ld relayed=%ld", h_metric(&env, "mai_events_acked_total"),
	    relayed);
	ck_assert_int_eq(h_metric(&env, "mai_events_dropped_total"), 0);
	ck_assert_int_eq(h_metric(&env, "mai_events_queued"), 0);
	ck_assert(h_log_has(&env, "worker killed worker=flow-worker"));
}
END_TEST

START_TEST(control_socket_status_and_restart)
{
	const char	*st[] = { "ctl", "status", NULL };
	const char	*rs[] = { "ctl", "restart", "ws-worker", NULL };
	const char	*bad[] = { "ctl", "restart", "nobody", NULL };
	char		 out[8192], path[256];
	struct stat	 sb;
	pid_t		 old = h_worker_pid(&env, "ws-worker");

	snprintf(path, sizeof(path), "%s/control.sock", env.rundir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0002, 0);	/* not world-writable */
	ck_assert_int_eq(h_sup_run(&env, st, NULL, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "ws-worker"));
	ck_assert_ptr_nonnull(strstr(out, "running"));
	ck_assert_int_eq(h_sup_run(&env, bad, NULL, out, sizeof(out)), 1);
	ck_assert_int_eq(h_sup_run(&env, rs, NULL, out, sizeof(out)), 0);
	ck_assert(h_wait_worker(&env, "ws-worker", old, NULL));
	ck_assert_int_eq(kill(env.sup_pid, SIGUSR1), 0);
	ck_assert(h_wait_log(&env, "status ws-worker"));
}
END_TEST

START_TEST(oversized_frame_refused)
{
	int	first, second;
	struct h_resp *r = malloc(sizeof(*r));

	h_init(&env);
	snprintf(env.libexec, sizeof(env.libexec), "%s/tests/evil", h_build());
	ck_assert_int_gt(h_sup_start(&env, NULL), 0);
	ck_assert(h_wait_log(&env, "frame refused worker=ws-worker "
	    "reason=\"frame over size bound\""));
	ck_assert(h_wait_log(&env, "worker not trusted any more "
	    "worker=ws-worker"));
	/* It is restarted and refused again: the supervisor is unharmed. */
	ck_assert(H_WAIT_FOR((first = h_log_pos(&env, "worker not trusted "
	    "any more worker=ws-worker", 0)) >= 0 && (second = h_log_pos(&env,
	    "worker not trusted any more worker=ws-worker", first + 1)) > 0));
	ck_assert(h_proc_alive(env.sup_pid));
	ck_assert(h_wait_worker(&env, "health-worker", 0, NULL));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/healthz", r), 200);
	ck_assert(h_wait_metric(&env,
	    "mai_worker_frames_refused_total{worker=\"ws-worker\"}", 1, 1));
	free(r);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("supervisor");
	TCase	*tc = tcase_create("running");
	TCase	*evil = tcase_create("evil");
	TCase	*relay = tcase_create("relay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, workers_up_and_sandboxed);
	tcase_add_test(tc, kill9_each_worker_restarts_and_clears_flags);
	tcase_add_test(tc, outside_kill_restarts_at_once);
	tcase_add_test(tc, sighup_restarts_one_at_a_time);
	tcase_add_test(tc, sigterm_leaves_nothing_behind);
	tcase_add_test(tc, control_socket_status_and_restart);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(relay, setup_relay, teardown);
	tcase_set_timeout(relay, 180);
	tcase_add_test(relay, no_event_lost_across_flow_restart);
	suite_add_tcase(s, relay);
	tcase_add_checked_fixture(evil, NULL, teardown);
	tcase_set_timeout(evil, 60);
	tcase_add_test(evil, oversized_frame_refused);
	suite_add_tcase(s, evil);
	return h_run_suite(s);
}
