/*
 * test_health_limits.c — the health port against hostile clients (issue
 * 11): a client trickling its headers is dropped at the request deadline
 * while /readyz answers; connections over the cap are closed at once;
 * two Content-Length headers get 400 (one answer, no smuggled second
 * request), an unknown HTTP version 505, a method HTTP does not define
 * 501, a known one not allowed 405 with Allow.  All counted in /metrics.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SLOW_CLIENTS	20
#define DEADLINE_MS	"1000"

static struct h_env	env;

static void
start(const char *const *extra)
{
	signal(SIGPIPE, SIG_IGN);
	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	ck_assert(h_wait_ready(&env, 200));
}

static void teardown(void) { h_cleanup(&env); }

/* Did the server close fd (EOF or reset)?  Waits up to ms. */
static bool
closed_by_server(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		buf[512];
	ssize_t		n;

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n == -1 && errno != EAGAIN);
}

/* Send req, read the whole answer until the server closes; its text. */
static void
exchange(const char *req, char *out, size_t size)
{
	struct pollfd	pfd;
	size_t		len = 0;
	ssize_t		n;
	int		fd = h_connect(env.http_port);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < size - 1 && poll(&pfd, 1, H_WAIT_MS) == 1 &&
	    (n = read(fd, out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fd);
}

static void
setup_deadline(void)
{
	const char *extra[] = { "HTTP_HEADER_TIMEOUT_MS=" DEADLINE_MS, NULL };

	start(extra);
}

START_TEST(slow_client_dropped_at_deadline)
{
	static const char	head[] = "GET /readyz HTTP/1.1\r\nX-Slow: ";
	struct h_resp		*r = malloc(sizeof(*r));
	int			fds[SLOW_CLIENTS], i, open_n;
	long			end;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < SLOW_CLIENTS; i++) {
		ck_assert_int_ge(fds[i] = h_connect(env.http_port), 0);
		ck_assert_int_eq(write(fds[i], head, sizeof(head) - 1),
		    (ssize_t)sizeof(head) - 1);
	}
	/* A load balancer is answered while they trickle. */
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 200);
	/*
	 * One byte each every 200 ms: evhttp's idle timeout never fires, the
	 * header never ends.  Only the request deadline can end them; the
	 * loop's bound is a safety net, not a measurement.
	 */
	end = h_now_ms() + H_WAIT_MS;
	do {
		for (i = 0, open_n = 0; i < SLOW_CLIENTS; i++) {
			if (fds[i] == -1)
				continue;
			if (write(fds[i], "a", 1) != 1 ||
			    closed_by_server(fds[i], 0)) {
				close(fds[i]);
				fds[i] = -1;
				continue;
			}
			open_n++;
		}
		h_sleep_ms(200);
	} while (open_n > 0 && h_now_ms() < end);
	ck_assert_msg(open_n == 0, "%d slow clients still held", open_n);
	ck_assert_int_ge(h_metric(&env, "mai_http_request_timeouts_total"),
	    SLOW_CLIENTS);
	ck_assert_int_eq(h_http(env.http_port, "GET", "/readyz", r), 200);
	free(r);
}
END_TEST

static void
setup_cap(void)
{
	const char *extra[] = { "HTTP_MAX_CONNECTIONS=4",
	    "HTTP_HEADER_TIMEOUT_MS=60000", NULL };

	start(extra);
}

START_TEST(connections_over_cap_closed)
{
	static const char	req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct h_resp		*r = malloc(sizeof(*r));
	char			buf[1024];
	int			fds[4], extra_fd, i;
	ssize_t			n;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < 4; i++)
		ck_assert_int_ge(fds[i] = h_connect(env.http_port), 0);
	/* Each held one answers: they are accepted, not in the backlog. */
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(write(fds[i], req, sizeof(req) - 1),
		    (ssize_t)sizeof(req) - 1);
		n = read(fds[i], buf, sizeof(buf) - 1);
		ck_assert_int_gt(n, 12);
		ck_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	}
	/* A fifth gets no answer: it is closed, not served. */
	ck_assert_int_ge(extra_fd = h_connect(env.http_port), 0);
	(void)!write(extra_fd, req, sizeof(req) - 1);
	n = read(extra_fd, buf, sizeof(buf) - 1);
	ck_assert_msg(n <= 0, "a fifth connection was served over "
	    "HTTP_MAX_CONNECTIONS=4: %.*s", (int)n, buf);
	close(extra_fd);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	ck_assert(h_wait_metric(&env, "mai_http_connections_refused_total",
	    1, 1));
	ck_assert_int_eq(h_http(env.http_port, "GET", "/healthz", r), 200);
	free(r);
}
END_TEST

static void setup_plain(void) { start(NULL); }

START_TEST(request_smuggling_and_versions)
{
	char	out[8192];

	exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	    "Content-Length: 38\r\n\r\nGET /nothere HTTP/1.1\r\nHost: x\r\n\r\n",
	    out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 400", 12) == 0, "%s", out);
	ck_assert_msg(strstr(out + 1, "HTTP/1.") == NULL, "two answers: %s",
	    out);
	exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 400", 12) == 0, "%s", out);
	exchange("GET /healthz HTTP/1.7\r\nHost: x\r\n\r\n", out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 505", 12) == 0, "%s", out);
	exchange("FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 501", 12) == 0, "%s", out);
	exchange("POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 405", 12) == 0 &&
	    strstr(out, "\r\nAllow: GET, HEAD\r\n") != NULL, "%s", out);
	/* Equal duplicates are one length (RFC 9110 8.6): still answered. */
	exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", out, sizeof(out));
	ck_assert_msg(strncmp(out, "HTTP/1.1 200", 12) == 0, "%s", out);
	/* evhttp may refuse the chunked one itself, uncounted. */
	ck_assert_int_ge(h_metric(&env,
	    "mai_http_requests_total{path=\"/healthz\",code=\"400\"}"), 1);
	ck_assert_int_eq(h_metric(&env,
	    "mai_http_requests_total{path=\"/healthz\",code=\"505\"}"), 1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("health_limits");
	TCase	*dl = tcase_create("deadline");
	TCase	*cap = tcase_create("cap");
	TCase	*req = tcase_create("requests");

	tcase_add_checked_fixture(dl, setup_deadline, teardown);
	tcase_set_timeout(dl, 90);
	tcase_add_test(dl, slow_client_dropped_at_deadline);
	suite_add_tcase(s, dl);
	tcase_add_checked_fixture(cap, setup_cap, teardown);
	tcase_set_timeout(cap, 60);
	tcase_add_test(cap, connections_over_cap_closed);
	suite_add_tcase(s, cap);
	tcase_add_checked_fixture(req, setup_plain, teardown);
	tcase_set_timeout(req, 60);
	tcase_add_test(req, request_smuggling_and_versions);
	suite_add_tcase(s, req);
	return h_run_suite(s);
}
