/*
 * e2e.c — what the end-to-end suites share (see e2e.h).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

struct h_env	 env;
struct h_resp	*r;

const char *
e2e_src(void)
{
	const char	*s = getenv("MAI_SRC");

	return s != NULL ? s : "../..";
}

/* asterisk.sh ARGS; its stdout into out (if given), stderr to ours. */
int
ast(char *out, size_t size, const char *fmt, ...)
{
	char	args[512], cmd[1100];
	va_list	ap;
	FILE	*fp;
	size_t	n = 0;
	int	st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s/tests/e2e/asterisk.sh' %s", e2e_src(),
	    args);
	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL)
		n = fread(out, 1, size - 1, fp);
	else
		while (fgetc(fp) != EOF)
			;
	if (out != NULL)
		out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Checked fixture: every test starts with Asterisk stopped. */
void
e2e_setup(void)
{
	r = malloc(sizeof(*r));
	h_init(&env);
	env.ari_port = E2E_ARI_PORT;
	ck_assert_int_eq(ast(NULL, 0, "stop"), 0);
}

void
e2e_teardown(void)
{
	h_cleanup(&env);
	(void)ast(NULL, 0, "stop");
	free(r);
}

/*
 * Asterisk, then the supervisor on it, until /readyz says ok.  flows is a
 * path under the source tree (NULL: the shipped default); more is a
 * NULL-terminated list of further NAME=value settings (or NULL).
 */
void
e2e_start_ready(const char *flows, const char *const *more)
{
	char		 flows_env[600];
	const char	*extra[32] = { "ARI_PORT=8088", "ARI_USER=mai",
	    "ARI_PASSWORD=mvoice8908!#", "LOG_LEVEL=debug", flows_env };
	size_t		 n = 5;
	long		 end = h_now_ms() + E2E_READY_BOUND_MS;

	if (flows != NULL)
		snprintf(flows_env, sizeof(flows_env), "FLOWS_FILE=%s/%s",
		    e2e_src(), flows);
	else
		snprintf(flows_env, sizeof(flows_env), "FLOWS_FILE=");
	for (; more != NULL && *more != NULL && n < 31; more++)
		extra[n++] = *more;
	extra[n] = NULL;
	ck_assert_int_eq(ast(NULL, 0, "start"), 0);
	ck_assert_int_gt(h_sup_start(&env, extra), 0);
	while (h_http(env.http_port, "GET", "/readyz", r) != 200 &&
	    h_now_ms() < end)
		h_sleep_ms(50);
	ck_assert_msg(r->status == 200, "readyz: %d %s", r->status, r->body);
}

/* GET /ari/PATH on Asterisk with mai's credentials; the status or -1. */
int
ari_get(const char *path, struct h_resp *resp)
{
	char	full[512];

	snprintf(full, sizeof(full), "/ari%s", path);
	return h_http_auth(E2E_ARI_PORT, "GET", full, "Basic " E2E_ARI_AUTH,
	    resp);
}

/* Does GET /ari/PATH answer 200 with an empty JSON list? */
bool
ari_empty(const char *path)
{
	char	*p, *q;

	if (ari_get(path, r) != 200)
		return false;
	for (p = q = r->body; *p != '\0'; p++)
		if (!isspace((unsigned char)*p))
			*q++ = *p;
	*q = '\0';
	return strcmp(r->body, "[]") == 0;
}

/* Asterisk's "N active channels" ('core show channels count'), or -1. */
int
active_channels(void)
{
	char		 out[512];
	const char	*p;

	if (ast(out, sizeof(out), "cli 'core show channels count'") != 0 ||
	    (p = strstr(out, " active channel")) == NULL)
		return -1;
	while (p > out && isdigit((unsigned char)p[-1]))
		p--;
	return isdigit((unsigned char)*p) ? atoi(p) : -1;
}

/* Nothing of any call left in Asterisk. */
bool
all_gone(void)
{
	return active_channels() == 0 && ari_empty("/channels") &&
	    ari_empty("/bridges");
}

long
log_size(void)
{
	struct stat	sb;

	return stat(env.log, &sb) == 0 ? (long)sb.st_size : 0;
}

/* Lines of our log after byte `from` holding needle. */
int
log_count(long from, const char *needle)
{
	char	*buf = h_slurp_from(env.log, from), *p = buf;
	int	 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
	}
	free(buf);
	return n;
}

/* The number after the first `key` in our log after byte `from`, or -1. */
int
log_number(long from, const char *key)
{
	char	*buf = h_slurp_from(env.log, from), *p;
	int	 n = -1;

	if ((p = strstr(buf, key)) != NULL &&
	    isdigit((unsigned char)p[strlen(key)]))
		n = atoi(p + strlen(key));
	free(buf);
	return n;
}

/* The token after the first `key` in our log after byte `from`. */
bool
log_token(long from, const char *key, char *dst, size_t size)
{
	char	*buf = h_slurp_from(env.log, from), *p;
	size_t	 n = 0;

	if ((p = strstr(buf, key)) != NULL) {
		p += strlen(key);
		n = strcspn(p, " \n");
		if (n >= size)
			n = 0;
		memcpy(dst, p, n);
	}
	dst[n] = '\0';
	free(buf);
	return n > 0;
}

/* Byte offset of the first line after `from` holding needle, or -1. */
long
log_offset(long from, const char *needle)
{
	char	*buf = h_slurp_from(env.log, from), *p;
	long	 at = -1;

	if ((p = strstr(buf, needle)) != NULL)
		at = from + (long)(p - buf);
	free(buf);
	return at;
}

/*
 * Asterisk itself says the media the flow-worker named after byte `from`
 * (its debug lines "object=mai-p…", "recording=NAME") is under way:
 * GET /ari/playbacks/ID "playing", /ari/recordings/live/NAME
 * "recording".  PlaybackStarted and RecordingStarted do not come to mai
 * (the event filter keeps what no worker acts on in Asterisk), so the
 * tests ask Asterisk instead of waiting for them.
 */
bool
playback_live(long from)
{
	char	id[160] = "mai-p", path[256];

	if (!log_token(from, "object=mai-p", id + 5, sizeof(id) - 5))
		return false;
	snprintf(path, sizeof(path), "/playbacks/%s", id);
	return ari_get(path, r) == 200 && strstr(r->body, "\"playing\"");
}

bool
recording_live(long from)
{
	char	name[160], path[256];

	if (!log_token(from, "recording=", name, sizeof(name)))
		return false;
	snprintf(path, sizeof(path), "/recordings/live/%s", name);
	return ari_get(path, r) == 200 && strstr(r->body, "\"recording\"");
}

/*
 * Do the needles appear in this order in our log after byte `from`?
 * On failure, *missing names the first one not found.
 */
bool
log_in_order(long from, const char *const *needles, const char **missing)
{
	char	*buf = h_slurp_from(env.log, from), *p = buf;
	size_t	 i;

	*missing = NULL;
	for (i = 0; needles[i] != NULL; i++) {
		if ((p = strstr(p, needles[i])) == NULL) {
			*missing = needles[i];
			break;
		}
		p += strlen(needles[i]);
	}
	free(buf);
	return *missing == NULL;
}

/*
 * The test's one call is over: nothing of it is left in Asterisk within
 * bound_ms, the flow-worker logged `walk` in order, one start, one end.
 */
void
e2e_call_over(long from, long bound_ms, const char *const *walk)
{
	const char	*missing;

	ck_assert_msg(WAIT_UPTO(bound_ms, all_gone()),
	    "still there: channels=%d last ARI answer: %s",
	    active_channels(), r->body);
	ck_assert_msg(WAIT_UPTO(H_WAIT_MS, log_in_order(from, walk,
	    &missing)), "flow-worker never logged \"%s\" (log %s)", missing,
	    env.log);
	ck_assert_int_eq(log_count(from, "call started id="), 1);
	ck_assert_int_eq(log_count(from, "call ended id="), 1);
}
