/*
 * harness.c — start the real binaries, speak HTTP to them, read their
 * pidfiles and logs.  Waits are bounded liveness checks (H_WAIT_MS), never
 * speed assertions: a slow machine makes a test slower, not red.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define H_ENV_MAX	64

long
h_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
h_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

const char *
h_build(void)
{
	const char	*b = getenv("MAI_BUILD");

	return b != NULL ? b : "../build";
}

static const char *
h_src(void)
{
	const char	*s = getenv("MAI_SRC");

	return s != NULL ? s : "..";
}

/*
 * A socket of `type` bound to 127.0.0.1:*port (0: any free one, written
 * back), listening if it is a stream; -1 if that cannot be had.
 */
int
h_listen(int type, int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd, one = 1;

	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)*port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 16) == -1) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A TCP connection to 127.0.0.1:port whose reads give up after 5 s. */
int
h_connect(int port)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { 5, 0 };
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
h_free_port(void)
{
	int	fd, port = 0;

	if ((fd = h_listen(SOCK_STREAM, &port)) == -1)
		abort();
	close(fd);
	return port;
}

void
h_init(struct h_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/mai-test-XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		abort();
	chmod(e->dir, 0755);	/* workers run as another user */
	snprintf(e->rundir, sizeof(e->rundir), "%s/run", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/supervisor.log", e->dir);
	snprintf(e->libexec, sizeof(e->libexec), "%s", h_build());
	e->http_port = h_free_port();
	e->ari_port = h_free_port();
}

/* Sanitizer reports from any process end up in the supervisor's log. */
static const char *
h_log_sanitizer_report(struct h_env *e)
{
	static const char *const marks[] = { "AddressSanitizer",
	    "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer" };
	size_t	i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (h_log_has(e, marks[i]))
			return marks[i];
	return NULL;
}

void
h_cleanup(struct h_env *e)
{
	const char	*report;
	char		 cmd[256];

	if (e->sup_pid > 0)
		h_sup_stop(e);
	h_sim_stop(e);
	if ((report = h_log_sanitizer_report(e)) != NULL)
		ck_abort_msg("%s report in %s (kept)", report, e->log);
	if (getenv("MAI_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
		(void)!system(cmd);
	}
}

bool
h_proc_alive(pid_t pid)
{
	char	path[64], state = 0;
	FILE	*fp;

	if (pid <= 0 || kill(pid, 0) == -1)
		return false;
	/* A zombie is dead for our purposes. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fscanf(fp, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(fp);
	return state != 'Z' && state != 0;
}

int
h_proc_status_field(pid_t pid, const char *field)
{
	char	path[64], line[256];
	size_t	n = strlen(field);
	FILE	*fp;
	int	v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = atoi(line + n + 1);
			break;
		}
	fclose(fp);
	return v;
}

/* Defaults for a test supervisor; extra "KEY=VALUE" win, "KEY=" unsets. */
static int
h_env_build(struct h_env *e, const char *const *extra, char **out,
    char store[][512])
{
	const char	*keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
			    "LSAN_OPTIONS", "PATH" };
	int		 n = 0, i, j;
	size_t		 k;

#define H_PUT(...)	snprintf(store[n], 512, __VA_ARGS__), n++
	H_PUT("ARI_HOST=127.0.0.1");
	H_PUT("ARI_PORT=%d", e->ari_port);
	H_PUT("ARI_USER=mai");
	H_PUT("ARI_PASSWORD=mvoice8908!#");
	H_PUT("HTTP_LISTEN=127.0.0.1:%d", e->http_port);
	H_PUT("MAI_RUNDIR=%s", e->rundir);
	H_PUT("MAI_LIBEXEC_DIR=%s", e->libexec);
	H_PUT("ARI_PROBE_INTERVAL_MS=300");
	H_PUT("ARI_PROBE_TIMEOUT_MS=300");
	H_PUT("ARI_PING_INTERVAL_MS=1000");
	H_PUT("ARI_PING_TIMEOUT_MS=500");
	H_PUT("MAI_STOP_GRACE_MS=3000");
	if (geteuid() == 0)
		H_PUT("MAI_USER=nobody");
	for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
		if (getenv(keep[k]) != NULL)
			H_PUT("%s=%s", keep[k], getenv(keep[k]));
#undef H_PUT
	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		k = strcspn(extra[i], "=");
		for (j = 0; j < n; j++)
			if (strncmp(store[j], extra[i], k + 1) == 0)
				break;
		snprintf(store[j], 512, "%s", extra[i]);
		if (j == n)
			n++;
	}
	for (i = 0, j = 0; i < n; i++)
		if (store[i][strlen(store[i]) - 1] != '=')
			out[j++] = store[i];
	out[j] = NULL;
	return j;
}

static pid_t
h_exec(const char *path, char *const argv[], char *const envp[], int outfd)
{
	pid_t	pid;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		if (outfd != -1) {
			dup2(outfd, 1);
			dup2(outfd, 2);
		}
		setpgid(0, 0);	/* Check's fork mode must not signal us */
		/*
		 * A failed assertion ends the test process without its
		 * teardown: the supervisor and the simulator must not
		 * outlive it (a leftover supervisor would hold ARI_APP).
		 */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execve(path, argv, envp);
		_exit(127);
	}
	return pid;
}

pid_t
h_sup_start(struct h_env *e, const char *const *extra)
{
	static char	 store[H_ENV_MAX][512];
	char		*envp[H_ENV_MAX + 1], path[256];
	char		*argv[] = { (char *)"mai-supervisor", NULL };
	int		 fd;

	h_env_build(e, extra, envp, store);
	snprintf(path, sizeof(path), "%s/mai-supervisor", h_build());
	fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	e->sup_pid = h_exec(path, argv, envp, fd);
	close(fd);
	return e->sup_pid;
}

/* Run to completion (config tests); output captured into out. */
int
h_sup_run(struct h_env *e, const char *const *args, const char *const *extra,
    char *out, size_t size)
{
	static char	 store[H_ENV_MAX][512];
	char		*envp[H_ENV_MAX + 1], *argv[8], path[256], tmp[256];
	int		 fd, i, status;
	ssize_t		 n;
	pid_t		 pid;

	h_env_build(e, extra, envp, store);
	snprintf(path, sizeof(path), "%s/mai-supervisor", h_build());
	snprintf(tmp, sizeof(tmp), "%s/run.out", e->dir);
	argv[0] = (char *)"mai-supervisor";
	for (i = 0; args != NULL && args[i] != NULL && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid = h_exec(path, argv, envp, fd);
	waitpid(pid, &status, 0);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* TERM and wait; returns the exit status (or -1 if it had to be killed). */
int
h_sup_stop(struct h_env *e)
{
	long	end = h_now_ms() + H_WAIT_MS;
	int	status;
	pid_t	r;

	if (e->sup_pid <= 0)
		return -1;
	kill(e->sup_pid, SIGTERM);
	while ((r = waitpid(e->sup_pid, &status, WNOHANG)) == 0 &&
	    h_now_ms() < end)
		h_sleep_ms(20);
	if (r == 0) {
		kill(-e->sup_pid, SIGKILL);
		waitpid(e->sup_pid, &status, 0);
		e->sup_pid = 0;
		return -1;
	}
	e->sup_pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t
h_sim_start(struct h_env *e)
{
	return h_sim_start_as(e, "mai", "mvoice8908!#");
}

pid_t
h_sim_start_as(struct h_env *e, const char *user, const char *password)
{
	char	path[256], port[16], *envp[] = { NULL };
	char	*argv[] = { (char *)"mai-ari-sim", (char *)"--port", port,
		    (char *)"--user", (char *)user, (char *)"--password",
		    (char *)password, (char *)"--quiet", NULL };
	char	simlog[256];
	int	fd;

	snprintf(path, sizeof(path), "%s/tests/ari-sim/mai-ari-sim", h_src());
	snprintf(port, sizeof(port), "%d", e->ari_port);
	snprintf(simlog, sizeof(simlog), "%s/sim.log", e->dir);
	fd = open(simlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	e->sim_pid = h_exec(path, argv, envp, fd);
	close(fd);
	if (!H_WAIT_FOR(h_sim_ctl(e, "stats") == 200))
		return -1;
	return e->sim_pid;
}

void
h_sim_stop(struct h_env *e)
{
	if (e->sim_pid <= 0)
		return;
	kill(e->sim_pid, SIGKILL);
	waitpid(e->sim_pid, NULL, 0);
	e->sim_pid = 0;
}

static void
h_header(const char *head, const char *name, char *dst, size_t size)
{
	const char	*p = strcasestr(head, name);
	size_t		 n;

	dst[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	n = strcspn(p, "\r\n");
	if (n >= size)
		n = size - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* One request on a fresh connection; returns the status or -1. */
int
h_http(int port, const char *method, const char *path, struct h_resp *r)
{
	return h_http_auth(port, method, path, NULL, r);
}

/* The same with an Authorization header value (e.g. "Basic ..."). */
int
h_http_auth(int port, const char *method, const char *path, const char *auth,
    struct h_resp *r)
{
	char			 req[512], *buf, *sep;
	size_t			 len = 0, cap = sizeof(r->body) + 4096;
	ssize_t			 n;
	int			 fd;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if ((fd = h_connect(port)) == -1)
		return -1;
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "%s%s%sConnection: close\r\n\r\n", method, path,
	    auth != NULL ? "Authorization: " : "", auth != NULL ? auth : "",
	    auth != NULL ? "\r\n" : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	buf = malloc(cap + 1);
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (len > 12 && strncmp(buf, "HTTP/1.", 7) == 0 &&
	    (sep = strstr(buf, "\r\n\r\n")) != NULL) {
		*sep = '\0';
		r->status = atoi(buf + 9);
		h_header(buf, "\r\nContent-Type:", r->ctype, sizeof(r->ctype));
		h_header(buf, "\r\nConnection:", r->connection,
		    sizeof(r->connection));
		r->len = len - (size_t)(sep + 4 - buf);
		if (r->len >= sizeof(r->body))
			r->len = sizeof(r->body) - 1;
		memcpy(r->body, sep + 4, r->len);
		r->body[r->len] = '\0';
	}
	free(buf);
	return r->status;
}

int
h_sim_ctl(struct h_env *e, const char *cmd)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 path[256];
	int		 st;

	snprintf(path, sizeof(path), "/_sim/%s", cmd);
	st = h_http(e->ari_port, "GET", path, r);
	free(r);
	return st;
}

/* POST body (len bytes, any bytes) to /_sim/cmd; returns the status. */
int
h_sim_post(struct h_env *e, const char *cmd, const void *body, size_t len)
{
	char	head[512], ans[256];
	ssize_t	n;
	size_t	got = 0;
	int	fd, st = -1;

	if ((fd = h_connect(e->ari_port)) == -1)
		return -1;
	snprintf(head, sizeof(head), "POST /_sim/%s HTTP/1.1\r\nHost: "
	    "127.0.0.1\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    cmd, len);
	if (write(fd, head, strlen(head)) == (ssize_t)strlen(head) &&
	    write(fd, body, len) == (ssize_t)len) {
		while (got < sizeof(ans) - 1 &&
		    (n = read(fd, ans + got, sizeof(ans) - 1 - got)) > 0)
			got += (size_t)n;
		ans[got] = '\0';
		if (got > 12 && strncmp(ans, "HTTP/1.", 7) == 0)
			st = atoi(ans + 9);
	}
	close(fd);
	return st;
}

/* The number after `key` in the body of GET path, or -1. */
static long
h_number_after(int port, const char *path, const char *key)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		*p;
	long		 v = -1;

	if (h_http(port, "GET", path, r) == 200 &&
	    (p = strstr(r->body, key)) != NULL)
		v = strtol(p + strlen(key), NULL, 10);
	free(r);
	return v;
}

/*
 * The simulator ended `calls` calls and holds no channel and no bridge
 * (within the usual wait): what a call leaves behind in "Asterisk".
 */
void
h_sim_assert_gone(struct h_env *e, long calls)
{
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(e, "calls_ended") == calls),
	    "calls_ended=%ld", h_sim_stat(e, "calls_ended"));
	ck_assert_msg(H_WAIT_FOR(h_sim_stat(e, "channels") == 0 &&
	    h_sim_stat(e, "bridges") == 0), "channels=%ld bridges=%ld",
	    h_sim_stat(e, "channels"), h_sim_stat(e, "bridges"));
}

long
h_sim_stat(struct h_env *e, const char *name)
{
	char	key[128];

	snprintf(key, sizeof(key), "\"%s\":", name);
	return h_number_after(e->ari_port, "/_sim/stats", key);
}

/* Value of one sample line of /metrics, e.g. `mai_events_acked_total`. */
long
h_metric(struct h_env *e, const char *sample)
{
	char	key[256];

	snprintf(key, sizeof(key), "\n%s ", sample);
	return h_number_after(e->http_port, "/metrics", key);
}

bool
h_wait_metric(struct h_env *e, const char *sample, long want, int cmp)
{
	long	v;

	return H_WAIT_FOR((v = h_metric(e, sample), cmp == 0 ? v == want :
	    cmp > 0 ? v >= want : (v >= 0 && v <= want)));
}

bool
h_wait_ready(struct h_env *e, int want_status)
{
	struct h_resp	*r = malloc(sizeof(*r));
	bool		 ok;

	ok = H_WAIT_FOR(h_http(e->http_port, "GET", "/readyz", r) ==
	    want_status);
	free(r);
	return ok;
}

/* The file from byte `from` on, NUL-terminated (empty if unreadable). */
char *
h_slurp_from(const char *path, long from)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return strdup("");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp) - from;
	if (n < 0)
		n = 0;
	fseek(fp, from, SEEK_SET);
	buf = malloc((size_t)n + 1);
	n = (long)fread(buf, 1, (size_t)n, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static char *
h_slurp(const char *path)
{
	return h_slurp_from(path, 0);
}

int
h_log_pos(struct h_env *e, const char *needle, int from)
{
	char	*buf = h_slurp(e->log), *p;
	int	 pos = -1;

	if (buf != NULL && from >= 0 && (size_t)from <= strlen(buf) &&
	    (p = strstr(buf + from, needle)) != NULL)
		pos = (int)(p - buf);
	free(buf);
	return pos;
}

bool
h_log_has(struct h_env *e, const char *needle)
{
	return h_log_pos(e, needle, 0) >= 0;
}

bool
h_wait_log(struct h_env *e, const char *needle)
{
	return H_WAIT_FOR(h_log_has(e, needle));
}

pid_t
h_worker_pid(struct h_env *e, const char *name)
{
	char	path[256];
	FILE	*fp;
	int	pid = 0;

	snprintf(path, sizeof(path), "%s/%s.pid", e->rundir, name);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(fp, "%d", &pid) != 1)
		pid = 0;
	fclose(fp);
	return pid;
}

/* Wait until NAME runs with a pid other than old and has said hello. */
bool
h_wait_worker(struct h_env *e, const char *name, pid_t old, pid_t *newp)
{
	char	needle[128];
	pid_t	pid = 0;
	bool	ok;

	ok = H_WAIT_FOR((pid = h_worker_pid(e, name)) > 0 && pid != old &&
	    h_proc_alive(pid) && (snprintf(needle, sizeof(needle),
	    "worker ready worker=%s pid=%d", name, (int)pid), h_log_has(e,
	    needle)));
	if (newp != NULL)
		*newp = pid;
	return ok;
}

/* Every suite's main(): run all, CK_NORMAL output, exit 1 on a failure. */
int
h_run_suite(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

/* text into path, readable by the unprivileged workers. */
void
h_write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, 0644);
}

/*
 * The simulator with media settings `media` (a /_sim/media query, or
 * NULL), then mai on it with the flow file `flows` (JSON text, NULL: the
 * shipped default) and one more setting (or NULL), ready and reconciled.
 */
void
h_flows_start(struct h_env *e, const char *flows, const char *media,
    const char *more)
{
	static char	 fenv[300];
	char		 path[256], ctl[256];
	const char	*extra[4] = { "LOG_LEVEL=debug", NULL, NULL, NULL };
	int		 n = 1;

	if (flows != NULL) {
		snprintf(path, sizeof(path), "%s/flows.json", e->dir);
		h_write_file(path, flows);
		snprintf(fenv, sizeof(fenv), "FLOWS_FILE=%s", path);
		extra[n++] = fenv;
	}
	extra[n] = more;
	ck_assert_int_gt(h_sim_start(e), 0);
	if (media != NULL) {
		snprintf(ctl, sizeof(ctl), "media?%s", media);
		ck_assert_int_eq(h_sim_ctl(e, ctl), 200);
	}
	ck_assert_int_gt(h_sup_start(e, extra), 0);
	ck_assert(h_wait_ready(e, 200));
	ck_assert(h_wait_log(e, "reconcile: calls in Stasis to resume=0"));
}

/* An incoming call from the simulator (/_sim/call?query); its id into id. */
void
h_sim_call(struct h_env *e, const char *query, char *id, size_t size)
{
	struct h_resp	*r = malloc(sizeof(*r));
	char		 path[512], *p;

	ck_assert_ptr_nonnull(r);
	snprintf(path, sizeof(path), "/_sim/call?%s", query);
	ck_assert_int_eq(h_http(e->ari_port, "GET", path, r), 200);
	ck_assert_ptr_nonnull(p = strstr(r->body, "\"channel\":\""));
	p += strlen("\"channel\":\"");
	snprintf(id, size, "%.*s", (int)strcspn(p, "\""), p);
	free(r);
}
