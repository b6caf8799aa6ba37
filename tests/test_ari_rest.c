/*
 * test_ari_rest.c — the ARI REST client (common/ari_rest.c) in this
 * process, on a libevent loop of its own, against the real ARI simulator
 * over loopback: status and body, error texts, bounds, special passwords,
 * timeouts, refused connections and cancellation.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "ari_rest.h"
#include "harness.h"
#include "ipc.h"

#define PASSWORD	"mvoice8908!#"

/* What one callback saw, copied out of the module's storage. */
struct rec {
	int			 done;
	long			 status;
	enum ari_rest_fail	 fail;
	int			 has_error;
	char			 error[ARI_REST_ERR_MAX];
	char			 method[16];
	char			 path[256];
	struct json_object	*body;
	uint64_t		 sent_ns;
};

static struct h_env	 env;
static struct event_base *base;
static struct event	*wake;
static struct ari_rest	*rest;
static struct mai_config conf;
static int		 ncb;

static void
rec_cb(const struct ari_result *res, void *arg)
{
	struct rec	*r = arg;

	ncb++;
	r->done++;
	r->status = res->status;
	r->fail = res->fail;
	r->has_error = res->error != NULL;
	snprintf(r->error, sizeof(r->error), "%s", res->error ? res->error :
	    "");
	snprintf(r->method, sizeof(r->method), "%s", res->method);
	snprintf(r->path, sizeof(r->path), "%s", res->path);
	r->body = res->body != NULL ? json_object_get(res->body) : NULL;
	r->sent_ns = res->sent_ns;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until `n` callbacks in all; the timer keeps it turning. */
static bool
loop_until(int n)
{
	long	end = h_now_ms() + H_WAIT_MS;

	while (ncb < n && h_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return ncb >= n;
}

static void
conf_set(int port, const char *user, const char *password)
{
	memset(&conf, 0, sizeof(conf));
	snprintf(conf.ari_host, sizeof(conf.ari_host), "127.0.0.1");
	snprintf(conf.ari_user, sizeof(conf.ari_user), "%s", user);
	snprintf(conf.ari_password, sizeof(conf.ari_password), "%s", password);
	conf.ari_port = (uint16_t)port;
}

static void
setup(void)
{
	struct timeval	tv = { 0, 50 * 1000 };

	h_init(&env);
	ck_assert_int_gt(h_sim_start(&env), 0);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	ck_assert_ptr_nonnull(base = event_base_new());
	wake = event_new(base, -1, EV_PERSIST, wake_cb, NULL);
	ck_assert_int_eq(event_add(wake, &tv), 0);
	conf_set(env.ari_port, "mai", PASSWORD);
	ck_assert_ptr_nonnull(rest = ari_rest_new(base, &conf));
	ncb = 0;
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

/* One call, run to its callback. */
static void
call1(const char *method, const char *path, struct json_object *body,
    unsigned int timeout_ms, struct rec *r)
{
	int	before = ncb;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(ari_rest_call(rest, method, path, body, timeout_ms,
	    rec_cb, r), 0);
	ck_assert_int_eq(ncb, before);	/* never from inside the call */
	ck_assert(loop_until(before + 1));
	ck_assert_int_eq(r->done, 1);
}

/* A listening socket nobody accepts on: connects, never answers. */
static int
mute_listener(int *port)
{
	int	fd;

	*port = 0;
	ck_assert_int_ge(fd = h_listen(SOCK_STREAM, port), 0);
	return fd;
}

/* The events WebSocket for `app`, by hand: only the handshake matters. */
static int
ws_open(const char *app)
{
	char			 req[512], buf[2048];
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd;

	ck_assert_int_ge(fd = h_connect(env.ari_port), 0);
	snprintf(req, sizeof(req), "GET /ari/events?app=%s&api_key=mai:"
	    "mvoice8908%%21%%23 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", app, env.ari_port);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	buf[len] = '\0';
	ck_assert_msg(strncmp(buf, "HTTP/1.1 101", 12) == 0, "%s", buf);
	return fd;
}

/* Wait for bytes containing `needle` on the WebSocket (frames unparsed). */
static bool
ws_saw(int fd, const char *needle)
{
	char	buf[8192];
	size_t	len = 0;
	ssize_t	n;

	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		if (memmem(buf, len, needle, strlen(needle)) != NULL)
			return true;
	}
	return false;
}

START_TEST(info_200_body_parsed)
{
	struct rec		 r;
	struct json_object	*sys, *ver;

	call1("GET", "/asterisk/info", NULL, 2000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.fail, ARI_FAIL_NONE);
	ck_assert_msg(!r.has_error, "%s", r.error);
	ck_assert_str_eq(r.method, "GET");
	ck_assert_str_eq(r.path, "/asterisk/info");
	ck_assert_ptr_nonnull(r.body);
	ck_assert(json_object_object_get_ex(r.body, "system", &sys));
	ck_assert(json_object_object_get_ex(sys, "version", &ver));
	ck_assert_str_eq(json_object_get_string(ver),
	    "22.10.1+dfsg+~cs6.17.60671434-1");
	json_object_put(r.body);
}
END_TEST

/* 401 names the call and quotes ARI; the password shows nowhere. */
START_TEST(wrong_password_401_then_reconfigured)
{
	struct rec	r;
	char		want[64];

	conf_set(env.ari_port, "mai", "wrong-password");
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	call1("GET", "/asterisk/info", NULL, 2000, &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert(r.has_error);
	ck_assert_str_eq(r.error,
	    "GET /asterisk/info: 401 Authentication required");
	ck_assert_ptr_null(strstr(r.error, "wrong"));
	json_object_put(r.body);
	ck_assert_int_eq(h_sim_stat(&env, "http_auth_failures"), 1);

	conf_set(env.ari_port, "mai", PASSWORD);
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	call1("GET", "/asterisk/info", NULL, 2000, &r);
	ck_assert_int_eq(r.status, 200);
	json_object_put(r.body);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/ari", env.ari_port);
	ck_assert_str_eq(ari_rest_base_url(rest), want);
}
END_TEST

START_TEST(unknown_path_404_names_call)
{
	struct rec	r;

	call1("DELETE", "/nope/thing?x=1", NULL, 2000, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(r.fail, ARI_FAIL_NONE);
	ck_assert_str_eq(r.error, "DELETE /nope/thing?x=1: 404 Not found");
	json_object_put(r.body);
}
END_TEST

/* A WebSocket holds `mai`: the user event is accepted and delivered. */
START_TEST(user_event_post_json_204)
{
	struct json_object	*body = json_object_new_object(), *vars;
	struct rec		 r;
	int			 ws;

	vars = json_object_new_object();
	json_object_object_add(vars, "k", json_object_new_string("v w"));
	json_object_object_add(body, "variables", vars);
	ws = ws_open("mai");
	call1("POST", "/events/user/mai-rest-test?application=mai", body,
	    2000, &r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_msg(!r.has_error, "%s", r.error);
	ck_assert_ptr_null(r.body);
	ck_assert(ws_saw(ws, "\"eventname\": \"mai-rest-test\""));
	ck_assert_int_eq(h_sim_stat(&env, "user_events"), 1);

	call1("POST", "/events/user/mai-rest-test?application=nobody", body,
	    2000, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.error, "POST /events/user/mai-rest-test?"
	    "application=nobody: 404 Application not found");
	json_object_put(r.body);
	json_object_put(body);
	close(ws);
}
END_TEST

START_TEST(connection_refused_names_call)
{
	struct rec	r;

	conf_set(h_free_port(), "mai", PASSWORD);
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	call1("GET", "/asterisk/info", NULL, 2000, &r);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.fail, ARI_FAIL_REFUSED);
	ck_assert_msg(strncmp(r.error, "GET /asterisk/info: connection "
	    "refused (curl: ", 39) == 0, "%s", r.error);
	ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(silent_peer_times_out)
{
	struct rec	r;
	long		t0;
	int		fd, port;

	fd = mute_listener(&port);
	conf_set(port, "mai", PASSWORD);
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	t0 = h_now_ms();
	call1("GET", "/asterisk/info", NULL, 300, &r);
	ck_assert_int_ge(h_now_ms() - t0, 250);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.fail, ARI_FAIL_TIMEOUT);
	ck_assert_str_eq(r.error, "GET /asterisk/info: timeout after 300 ms");
	close(fd);
}
END_TEST

/*
 * ARI_REST_CONNS_DEF (the pool's size) ARI calls at once all complete;
 * one more is refused (the caller queues it, in its own order).
 */
START_TEST(max_concurrent_calls_complete)
{
	static struct rec	recs[ARI_REST_CONNS_DEF];
	struct rec		extra, hook;
	char			url[128];
	int			i, ok = 0;

	memset(recs, 0, sizeof(recs));
	for (i = 0; i < ARI_REST_CONNS_DEF; i++)
		ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info",
		    NULL, 10000, rec_cb, &recs[i]), 0);
	errno = 0;
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", NULL,
	    0, rec_cb, &extra), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* A webhook is not held back by ARI's bound. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/stats",
	    env.ari_port);
	memset(&hook, 0, sizeof(hook));
	ck_assert_int_eq(ari_rest_call_url(rest, "GET", url, NULL, 0, rec_cb,
	    &hook), 0);
	ck_assert(loop_until(ARI_REST_CONNS_DEF + 1));
	ck_assert_int_eq(hook.status, 200);
	json_object_put(hook.body);
	for (i = 0; i < ARI_REST_CONNS_DEF; i++) {
		ok += recs[i].done == 1 && recs[i].status == 200 &&
		    recs[i].body != NULL && recs[i].sent_ns != 0;
		json_object_put(recs[i].body);
	}
	ck_assert_int_eq(ok, ARI_REST_CONNS_DEF);
	ck_assert_int_eq(h_sim_stat(&env, "info_requests"),
	    ARI_REST_CONNS_DEF);
	/* Room again once they are done. */
	call1("GET", "/asterisk/info", NULL, 5000, &extra);
	ck_assert_int_eq(extra.status, 200);
	json_object_put(extra.body);
}
END_TEST

/* Basic auth carries any bytes: '!', '#', ':', '@', '%'. */
START_TEST(special_password_characters)
{
	static const char *const pws[] = { "mvoice8908!#", "a:b@c%",
	    "p w;\"'\\&?=" };
	struct rec	r;
	size_t		i;

	for (i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
		h_sim_stop(&env);
		ck_assert_int_gt(h_sim_start_as(&env, "mai", pws[i]), 0);
		conf_set(env.ari_port, "mai", pws[i]);
		ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
		call1("GET", "/asterisk/info", NULL, 2000, &r);
		ck_assert_msg(r.status == 200, "password %zu: %ld %s", i,
		    r.status, r.error);
		json_object_put(r.body);
	}
}
END_TEST

/* The simulator again, serving an /asterisk/info of `bytes` bytes. */
static void
sim_start_big_info(size_t bytes)
{
	const char	*src = getenv("MAI_SRC") != NULL ? getenv("MAI_SRC") :
			    "..";
	char		 path[256], file[256], port[16];
	char		*argv[] = { (char *)"mai-ari-sim", (char *)"--port", port,
			    (char *)"--user", (char *)"mai", (char *)"--password",
			    (char *)PASSWORD, (char *)"--info-file", file,
			    (char *)"--quiet", NULL }, *envp[] = { NULL };
	FILE		*fp;
	size_t		 i;

	snprintf(path, sizeof(path), "%s/tests/ari-sim/mai-ari-sim", src);
	snprintf(file, sizeof(file), "%s/big-info.json", env.dir);
	snprintf(port, sizeof(port), "%d", env.ari_port);
	ck_assert_ptr_nonnull(fp = fopen(file, "w"));
	fputs("{\"pad\":\"", fp);
	for (i = 0; i < bytes - 11; i++)
		fputc('x', fp);
	fputs("\"}", fp);
	fclose(fp);
	h_sim_stop(&env);
	if ((env.sim_pid = fork()) == 0) {
		setpgid(0, 0);
		dup2(open("/dev/null", O_WRONLY), 1);
		execve(path, argv, envp);
		_exit(127);
	}
	ck_assert(H_WAIT_FOR(h_sim_ctl(&env, "stats") == 200));
}

/* Over ARI_REST_BODY_MAX: an error, the status kept, no body. */
START_TEST(oversized_body_refused)
{
	struct rec	r;

	sim_start_big_info(ARI_REST_BODY_MAX + 4096);
	call1("GET", "/asterisk/info", NULL, 5000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.fail, ARI_FAIL_TOOBIG);
	ck_assert_ptr_null(r.body);
	ck_assert_str_eq(r.error,
	    "GET /asterisk/info: 200 answer over 1048576 bytes");

	sim_start_big_info(ARI_REST_BODY_MAX);
	call1("GET", "/asterisk/info", NULL, 5000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(!r.has_error, "%s", r.error);
	ck_assert_ptr_nonnull(r.body);
	json_object_put(r.body);
}
END_TEST

/* A call that expects a big answer says so; beyond HUGE is refused. */
START_TEST(body_max_per_call)
{
	struct ari_call_opts	opts = { .body_max = 2 * ARI_REST_BODY_MAX };
	struct rec		r;
	int			before;

	sim_start_big_info(ARI_REST_BODY_MAX + 4096);
	memset(&r, 0, sizeof(r));
	before = ncb;
	ck_assert_int_eq(ari_rest_call_opts(rest, "GET", "/asterisk/info",
	    NULL, &opts, rec_cb, &r), 0);
	ck_assert(loop_until(before + 1));
	ck_assert_msg(!r.has_error, "%s", r.error);
	ck_assert_ptr_nonnull(r.body);
	json_object_put(r.body);

	opts.body_max = ARI_REST_BODY_MAX / 2;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(ari_rest_call_opts(rest, "GET", "/asterisk/info",
	    NULL, &opts, rec_cb, &r), 0);
	ck_assert(loop_until(before + 2));
	ck_assert_int_eq(r.fail, ARI_FAIL_TOOBIG);
	ck_assert_str_eq(r.error,
	    "GET /asterisk/info: 200 answer over 524288 bytes");

	opts.body_max = (size_t)ARI_REST_BODY_HUGE + 1;
	errno = 0;
	ck_assert_int_eq(ari_rest_call_opts(rest, "GET", "/asterisk/info",
	    NULL, &opts, rec_cb, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ari_rest_free() runs every pending callback with "cancelled". */
START_TEST(free_cancels_pending_calls)
{
	struct rec	r[3];
	int		fd, port, i;

	fd = mute_listener(&port);
	conf_set(port, "mai", PASSWORD);
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ari_rest_call(rest, "POST", "/channels/x/answer",
		    NULL, 5000, rec_cb, &r[i]), 0);
	/* Let them connect and send, then give up on them. */
	for (i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(ncb, 0);
	ari_rest_free(rest);
	rest = NULL;
	ck_assert_int_eq(ncb, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].fail, ARI_FAIL_CANCELLED);
		ck_assert_int_eq(r[i].status, 0);
		ck_assert_str_eq(r[i].error,
		    "POST /channels/x/answer: cancelled");
	}
	close(fd);
}
END_TEST

static struct rec	chain_rec;

/* Frees the client from inside its own callback, then tries a call. */
static void
free_in_cb(const struct ari_result *res, void *arg)
{
	rec_cb(res, arg);
	ari_rest_free(rest);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", NULL, 0,
	    rec_cb, &chain_rec), -1);
	ck_assert_int_eq(errno, ECANCELED);
}

START_TEST(free_inside_callback_is_deferred)
{
	struct rec	first, pending;
	int		fd, port;

	memset(&first, 0, sizeof(first));
	memset(&pending, 0, sizeof(pending));
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", NULL,
	    2000, free_in_cb, &first), 0);
	fd = mute_listener(&port);
	conf_set(port, "mai", PASSWORD);
	ck_assert_int_eq(ari_rest_configure(rest, &conf), 0);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", NULL,
	    5000, rec_cb, &pending), 0);
	ck_assert(loop_until(2));
	rest = NULL;
	ck_assert_int_eq(first.status, 200);
	json_object_put(first.body);
	ck_assert_int_eq(pending.fail, ARI_FAIL_CANCELLED);
	ck_assert_int_eq(chain_rec.done, 0);
	close(fd);
}
END_TEST

/* Caller segments cannot leave their place in the path. */
START_TEST(path_segments_encoded)
{
	const char	*bad = "/x/%d";
	char		 p[64], tiny[12];
	struct rec	 r;

	ck_assert_int_eq(ari_rest_path(p, sizeof(p), "/channels/%s/answer",
	    "a b/../c:d"), 35);
	ck_assert_str_eq(p, "/channels/a%20b%2F..%2Fc%3Ad/answer");
	ck_assert_int_eq(ari_rest_path(p, sizeof(p),
	    "/events/user/%s?application=%s&x=100%%", "ev#1", "mai"), 42);
	ck_assert_str_eq(p, "/events/user/ev%231?application=mai&x=100%");
	ck_assert_int_eq(ari_rest_path(tiny, sizeof(tiny), "/channels/%s",
	    "abc"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_str_eq(tiny, "");
	ck_assert_int_eq(ari_rest_path(p, sizeof(p), "/channels/%s", ""), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ari_rest_path(p, sizeof(p), bad, "1"), -1);
	ck_assert_int_eq(errno, EINVAL);

	ck_assert_int_gt(ari_rest_path(p, sizeof(p), "/channels/%s/answer",
	    "../asterisk/info"), 0);
	call1("POST", p, NULL, 2000, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.error, "POST /channels/..%2Fasterisk%2Finfo/answer:"
	    " 404 Not found");
	json_object_put(r.body);
}
END_TEST

/* Refused at once, errno set, and no callback ever. */
START_TEST(bad_arguments_refused)
{
	struct json_object	*body = json_object_new_object();
	struct rec		 r;

	errno = 0;
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", body, 0,
	    rec_cb, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ari_rest_call(rest, "FOO", "/asterisk/info", NULL, 0,
	    rec_cb, &r), -1);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "asterisk/info", NULL, 0,
	    rec_cb, &r), -1);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/a b", NULL, 0, rec_cb,
	    &r), -1);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/a\r\nX: y", NULL, 0,
	    rec_cb, &r), -1);
	ck_assert_int_eq(ari_rest_call(rest, "GET", "/asterisk/info", NULL, 0,
	    NULL, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
	for (int i = 0; i < 5; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(ncb, 0);
	json_object_put(body);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ari_rest");
	TCase	*tc = tcase_create("client");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, info_200_body_parsed);
	tcase_add_test(tc, wrong_password_401_then_reconfigured);
	tcase_add_test(tc, unknown_path_404_names_call);
	tcase_add_test(tc, user_event_post_json_204);
	tcase_add_test(tc, connection_refused_names_call);
	tcase_add_test(tc, silent_peer_times_out);
	tcase_add_test(tc, max_concurrent_calls_complete);
	tcase_add_test(tc, special_password_characters);
	tcase_add_test(tc, oversized_body_refused);
	tcase_add_test(tc, body_max_per_call);
	tcase_add_test(tc, free_cancels_pending_calls);
	tcase_add_test(tc, free_inside_callback_is_deferred);
	tcase_add_test(tc, path_segments_encoded);
	tcase_add_test(tc, bad_arguments_refused);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
