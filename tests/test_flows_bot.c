/*
 * test_flows_bot.c — the flow-worker's side of the bot contract
 * (docs/flows.md, "Bot media contract"): once the bot leg exists, its
 * control request goes to the bot with the call, the leg and the leg's
 * RTP source; the bot's answer ("result", "set") picks the next state.
 * The real supervisor and workers against the ARI simulator; the bot's
 * control API is a small HTTP server in this test that answers when the
 * test says the conversation is over.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct h_env	env;
static pid_t		bot_pid;

static void setup(void) { h_init(&env); }

static void
teardown(void)
{
	if (bot_pid > 0) {
		kill(bot_pid, SIGKILL);
		waitpid(bot_pid, NULL, 0);
		bot_pid = 0;
	}
	h_cleanup(&env);
}

/* The bot's result picks a state; anything else ends in "other". */
#define BOT_FLOW \
	"{\"version\": 1, \"flows\": {\"main\": {\"initial\": \"talk\", " \
	"\"fallback\": \"failed\", \"states\": {\"talk\": {\"actions\": [" \
	"{\"action\": \"answer\"}, {\"action\": \"bot\", \"control\": " \
	"\"http://127.0.0.1:%d\"}], \"on\": {\"bot:transfer\": \"xfer\", " \
	"\"bot\": \"other\", \"bot_ended\": \"other\", \"done\": \"other\"}}, " \
	"\"xfer\": {\"actions\": [{\"action\": \"hangup\", \"cause\": 16}]}, " \
	"\"other\": {\"actions\": [{\"action\": \"hangup\", \"cause\": 17}]}, " \
	"\"failed\": {\"actions\": [{\"action\": \"hangup\", \"cause\": 41}]}}}}, " \
	"\"routes\": [{\"default\": true, \"flow\": \"main\"}]}"

/* One request: headers, then Content-Length bytes of body. */
static int
bot_read_request(int fd, char *buf, size_t size)
{
	const char	*hdr_end, *cl;
	size_t		 len = 0, want;
	ssize_t		 n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if ((hdr_end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(buf, "content-length:");
		want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
		if (len >= (size_t)(hdr_end + 4 - buf) + want)
			return 0;
	}
	return -1;
}

/*
 * Until DIR/release exists (the conversation is over; bounded); -1 when
 * the client closed the request first (a flow-worker that died).
 */
static int
bot_wait_release(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		path[512], c;
	int		i;

	snprintf(path, sizeof(path), "%s/release", env.dir);
	for (i = 0; i < 3000 && access(path, F_OK) == -1; i++)
		if (poll(&pfd, 1, 10) == 1 && read(fd, &c, 1) <= 0)
			return -1;
	return 0;
}

/*
 * The bot's control API: each request's body into DIR/req-N.txt; the
 * answer goes out once DIR/release exists (the conversation is over),
 * with this status and body.  Serves requests one after another.
 */
static pid_t
bot_serve(int port, int status, const char *answer)
{
	char	buf[16384], path[512], tmp[520];
	int	lfd, fd, nreq = 0;
	pid_t	pid;
	FILE	*fp;

	ck_assert_int_ge(lfd = h_listen(SOCK_STREAM, &port), 0);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		if (bot_read_request(fd, buf, sizeof(buf)) == -1) {
			close(fd);
			continue;
		}
		/* Whole or not at all: the test reads it as soon as it is. */
		snprintf(path, sizeof(path), "%s/req-%d.txt", env.dir, ++nreq);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if ((fp = fopen(tmp, "w")) != NULL) {
			fputs(buf, fp);
			fclose(fp);
			rename(tmp, path);
		}
		if (bot_wait_release(fd) == -1) {
			close(fd);
			continue;
		}
		snprintf(buf, sizeof(buf), "HTTP/1.1 %d X\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n%s", status, strlen(answer), answer);
		(void)!write(fd, buf, strlen(buf));
		close(fd);
	}
	_exit(0);
}

static void
bot_release(void)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/release", env.dir);
	h_write_file(path, "");
}

/* The n-th control request the bot got, or NULL (not yet). */
static char *
bot_request(int n)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/req-%d.txt", env.dir, n);
	if (access(path, F_OK) == -1)
		return NULL;
	return h_slurp_from(path, 0);
}

static char *
bot_wait_request(int n)
{
	char	*r = NULL;

	ck_assert(H_WAIT_FOR((free(r), (r = bot_request(n)) != NULL)));
	return r;
}

static void
start_bot_flow(int port)
{
	char	flow[2048];

	snprintf(flow, sizeof(flow), BOT_FLOW, port);
	h_flows_start(&env, flow, "playback_ms=30&answer_delay_ms=30",
	    "BOT_MEDIA_HOST=127.0.0.1:40000");
	ck_assert(h_wait_log(&env, "call flows loaded"));
}

/* "key":"value is in the JSON text (json-c writes it plain). */
static void
assert_field(const char *body, const char *key, const char *value)
{
	char	needle[512];

	snprintf(needle, sizeof(needle), "\"%s\":\"%s", key, value);
	ck_assert_msg(strstr(body, needle) != NULL, "no %s in %s", needle,
	    body);
}

START_TEST(bot_result_picks_the_state)
{
	char	id[128], *req;
	int	port = h_free_port();

	bot_pid = bot_serve(port, 200, "{\"result\": \"transfer\", \"set\": "
	    "{\"BOT_TOPIC\": \"billing\"}}");
	start_bot_flow(port);
	h_sim_call(&env, "exten=777&caller=4711", id, sizeof(id));
	req = bot_wait_request(1);
	ck_assert_msg(strncmp(req, "POST /v1/calls HTTP/1.1", 23) == 0, "%s",
	    req);
	assert_field(req, "call", id);
	assert_field(req, "leg", "mai-e");
	assert_field(req, "transport", "udp");
	assert_field(req, "format", "ulaw");
	/* The simulator's leg sends RTP from 127.0.0.1 (UNICASTRTP_*). */
	assert_field(req, "peer", "127.0.0.1:");
	assert_field(req, "number", "4711");
	/* The conversation goes on until the bot answers. */
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	ck_assert(!h_log_has(&env, "state=xfer"));
	bot_release();
	ck_assert(h_wait_log(&env, "bot ended the conversation "
	    "result=transfer"));
	ck_assert(h_wait_log(&env, "flow=main state=xfer event=bot"));
	h_sim_assert_gone(&env, 1);
	/* MAI_STATE: talk, its bridged leg, xfer; BOT_TOPIC, BOT_RESULT. */
	ck_assert_int_eq(h_sim_stat(&env, "variable_set"), 5);
	free(req);
}
END_TEST

/* A result the flow does not name goes to plain "bot". */
START_TEST(bot_other_result_takes_bot)
{
	char	id[128], *req;
	int	port = h_free_port();

	bot_pid = bot_serve(port, 200, "{\"result\": \"goodbye\"}");
	bot_release();
	start_bot_flow(port);
	h_sim_call(&env, "exten=777", id, sizeof(id));
	req = bot_wait_request(1);
	ck_assert(h_wait_log(&env, "flow=main state=other event=bot"));
	h_sim_assert_gone(&env, 1);
	free(req);
}
END_TEST

/* A bot that fails (500, or an answer without a result): an error. */
START_TEST(bot_failure_is_an_error)
{
	char	id[128];
	int	port = h_free_port();

	bot_pid = bot_serve(port, 500, "{\"message\": \"engine down\"}");
	bot_release();
	start_bot_flow(port);
	h_sim_call(&env, "exten=777", id, sizeof(id));
	ck_assert(h_wait_log(&env, "bot control failed"));
	ck_assert(h_wait_log(&env, "flow=main state=failed"));
	h_sim_assert_gone(&env, 1);
	ck_assert(H_WAIT_FOR(h_metric(&env, "mai_flow_webhook_errors_total")
	    == 1));
}
END_TEST

START_TEST(bot_unreachable_is_an_error)
{
	char	id[128];
	int	port = h_free_port();

	/* Nothing listens there. */
	start_bot_flow(port);
	h_sim_call(&env, "exten=777", id, sizeof(id));
	ck_assert(h_wait_log(&env, "bot control failed"));
	ck_assert(h_wait_log(&env, "flow=main state=failed"));
	h_sim_assert_gone(&env, 1);
}
END_TEST

/* The caller hangs up mid-conversation: leg and bridge go, nothing hangs. */
START_TEST(caller_hangup_mid_conversation)
{
	char	id[128], cmd[256], *req;
	int	port = h_free_port();

	bot_pid = bot_serve(port, 200, "{\"result\": \"goodbye\"}");
	start_bot_flow(port);
	h_sim_call(&env, "exten=777", id, sizeof(id));
	req = bot_wait_request(1);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	snprintf(cmd, sizeof(cmd), "hangup?channel=%s", id);
	ck_assert_int_eq(h_sim_ctl(&env, cmd), 200);
	h_sim_assert_gone(&env, 1);
	/* The bot's late answer finds nobody: no state runs. */
	bot_release();
	h_sleep_ms(300);
	ck_assert(!h_log_has(&env, "bot ended the conversation"));
	free(req);
}
END_TEST

/*
 * A flow-worker killed mid-conversation: the next one adopts the leg and
 * asks the bot again for the same leg; the bot's answer still counts.
 */
START_TEST(restart_asks_the_bot_again)
{
	char	id[128], leg[64], *req1, *req2, *p;
	pid_t	flow, now;
	int	port = h_free_port();

	bot_pid = bot_serve(port, 200, "{\"result\": \"transfer\"}");
	start_bot_flow(port);
	h_sim_call(&env, "exten=777", id, sizeof(id));
	req1 = bot_wait_request(1);
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "bridge_add") == 1));
	ck_assert(H_WAIT_FOR(h_sim_stat(&env, "variable_set") == 2));
	ck_assert_ptr_nonnull(p = strstr(req1, "\"leg\":\""));
	snprintf(leg, sizeof(leg), "%.*s", (int)strcspn(p + 7, "\""), p + 7);
	flow = h_worker_pid(&env, "flow-worker");
	ck_assert_int_eq(kill(flow, SIGKILL), 0);
	ck_assert(h_wait_worker(&env, "flow-worker", flow, &now));
	ck_assert(h_wait_log(&env, "reconcile: done, legs adopted=1"));
	req2 = bot_wait_request(2);
	assert_field(req2, "leg", leg);
	assert_field(req2, "call", id);
	bot_release();
	ck_assert(h_wait_log(&env, "flow=main state=xfer event=bot"));
	h_sim_assert_gone(&env, 1);
	ck_assert_int_eq(h_sim_stat(&env, "external_media"), 1);
	free(req1);
	free(req2);
}
END_TEST

static Suite *
suite(void)
{
	Suite	*s = suite_create("flows-bot");
	TCase	*tc = tcase_create("control");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, bot_result_picks_the_state);
	tcase_add_test(tc, bot_other_result_takes_bot);
	tcase_add_test(tc, bot_failure_is_an_error);
	tcase_add_test(tc, bot_unreachable_is_an_error);
	tcase_add_test(tc, caller_hangup_mid_conversation);
	tcase_add_test(tc, restart_asks_the_bot_again);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(suite());
}
