/*
 * test_ari_pool.c — connections to ARI (common/ari_pool.c), counted by
 * the kernel: the REST client runs in this process against the real ARI
 * simulator, and /proc/net/tcp says how many connections to the
 * simulator's port are open.  Never more than the pool's size, requests
 * beyond it all complete (queued by the caller and by the pool), and a
 * warm pool has its connections open before the first request.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ari_rest.h"
#include "harness.h"
#include "ipc.h"

#define PASSWORD	"mvoice8908!#"
#define NREQ		200	/* requests in a test's burst */

static struct h_env	 env;
static struct event_base *base;
static struct event	*wake;
static struct ari_rest	*rest;
static struct mai_config conf;
static int		 ndone, nok, nissued, peak;

/*
 * TCP sockets of this network namespace whose far end is the simulator's
 * port and that are open on our side: SYN_SENT, ESTABLISHED, CLOSE_WAIT
 * (the simulator's own ends have it as their local port).
 */
static int
conns_open(void)
{
	FILE		*fp;
	char		 line[512];
	unsigned int	 rport, st;
	int		 n = 0;

	ck_assert_ptr_nonnull(fp = fopen("/proc/net/tcp", "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, " %*d: %*x:%*x %*x:%x %x", &rport, &st) == 2 &&
		    (int)rport == env.ari_port &&
		    (st == 0x01 || st == 0x02 || st == 0x08))
			n++;
	fclose(fp);
	if (n > peak)
		peak = n;
	return n;
}

static void	issue(void);

static void
done_cb(const struct ari_result *res, void *arg)
{
	(void)arg;
	conns_open();
	ndone++;
	nok += res->status == 200 && res->error == NULL;
	issue();
}

/* As the flow-worker does: what ari_rest refuses waits for room. */
static void
issue(void)
{
	while (nissued < NREQ && ari_rest_call(rest, "GET", "/asterisk/info",
	    NULL, 10000, done_cb, NULL) == 0)
		nissued++;
	ck_assert(nissued == NREQ || errno == EAGAIN);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	conns_open();
}

/* The loop until cond() or H_WAIT_MS; connections counted every turn. */
static bool
loop_until(bool (*cond)(void))
{
	long	end = h_now_ms() + H_WAIT_MS;

	while (!cond() && h_now_ms() < end) {
		event_base_loop(base, EVLOOP_ONCE);
		conns_open();
	}
	return cond();
}

static bool all_done(void) { return ndone == NREQ; }

static void
setup(void)
{
	struct timeval	tv = { 0, 10 * 1000 };

	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	ck_assert_ptr_nonnull(base = event_base_new());
	wake = event_new(base, -1, EV_PERSIST, wake_cb, NULL);
	ck_assert_int_eq(event_add(wake, &tv), 0);
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.ari_host, sizeof(conf.ari_host), "127.0.0.1");
	snprintf(conf.ari_user, sizeof(conf.ari_user), "mai");
	snprintf(conf.ari_password, sizeof(conf.ari_password), PASSWORD);
	conf.ari_port = (uint16_t)env.ari_port;
	ck_assert_ptr_nonnull(rest = ari_rest_new(base, &conf));
	ndone = nok = nissued = peak = 0;
}

static void
teardown(void)
{
	ari_rest_free(rest);
	event_free(wake);
	event_base_free(base);
	curl_global_cleanup();
	h_cleanup(&env);
}

/* A burst on a cold pool: every request answered, at most `size` open. */
static void
burst_bounded(unsigned int size)
{
	ck_assert_int_eq(ari_rest_pool(rest, size, 0), 0);
	issue();
	ck_assert_int_eq(nissued, (int)size);	/* the rest waits, EAGAIN */
	ck_assert(loop_until(all_done));
	ck_assert_int_eq(nok, NREQ);
	ck_assert_int_eq(h_sim_stat(&env, "info_requests"), NREQ);
	ck_assert_int_le(peak, (int)size);
	ck_assert_int_ge(peak, 1);
}

START_TEST(burst_never_exceeds_pool_size)
{
	burst_bounded(5);
}
END_TEST

/* One connection: every request in turn on it, none lost. */
START_TEST(burst_on_one_connection)
{
	burst_bounded(1);
	ck_assert_int_eq(peak, 1);
}
END_TEST

static bool warm4(void) { return conns_open() == 4; }

/*
 * A warm pool opens its connections before any request, and a burst then
 * opens none beyond them: the simulator sees no new connection.
 */
START_TEST(warm_pool_opens_ahead_and_holds)
{
	long	pings;

	ck_assert_int_eq(ari_rest_pool(rest, 4, 1), 0);
	ck_assert(loop_until(warm4));
	pings = h_sim_stat(&env, "ping_requests");
	ck_assert_int_ge(pings, 4);
	issue();
	ck_assert(loop_until(all_done));
	ck_assert_int_eq(nok, NREQ);
	ck_assert_int_le(peak, 4);
	ck_assert_int_eq(conns_open(), 4);
}
END_TEST

START_TEST(pool_size_out_of_range_refused)
{
	errno = 0;
	ck_assert_int_eq(ari_rest_pool(rest, 0, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ari_rest_pool(rest, ARI_REST_MAX_CONNS + 1, 1), -1);
	ck_assert_int_eq(ari_rest_pool(rest, ARI_REST_MAX_CONNS, 0), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("ari_pool");
	TCase	*tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, burst_never_exceeds_pool_size);
	tcase_add_test(tc, burst_on_one_connection);
	tcase_add_test(tc, warm_pool_opens_ahead_and_holds);
	tcase_add_test(tc, pool_size_out_of_range_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return h_run_suite(suite());
}
