/*
 * Helpers shared by the HTTP, ARI, control and WebSocket code: request
 * parsing, ARI authentication, JSON replies, timestamps.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

void
sim_log(const char *fmt, ...)
{
	va_list ap;

	if (sim.conf.quiet)
		return;
	va_start(ap, fmt);
	fputs("ari-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Asterisk's ast_json_timeval(): local time, milliseconds, numeric zone. */
void
sim_timestamp(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	char		date[32], zone[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, len, "%s.%03ld%s", date, ts.tv_nsec / 1000000L, zone);
}

/*
 * Escape src as the inside of a JSON string.  Returns the length written,
 * or (size_t)-1 if dst is too small: names come from clients, so they
 * must never break the JSON we build around them.
 */
size_t
sim_json_escape(char *dst, size_t len, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 o = 0;
	int			 n;

	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			n = snprintf(dst + o, len - o, "\\%c", *s);
		else if (*s < 0x20)
			n = snprintf(dst + o, len - o, "\\u%04x", *s);
		else
			n = snprintf(dst + o, len - o, "%c", *s);
		if (n < 0 || (size_t)n >= len - o)
			return (size_t)-1;
		o += (size_t)n;
	}
	if (o >= len)
		return (size_t)-1;
	dst[o] = '\0';
	return o;
}

/* lws keeps each query argument urldecoded in its own fragment. */
static int
req_parse_args(struct lws *wsi, struct sim_req *r)
{
	size_t	used = 0;
	int	i, n;

	r->nargs = 0;
	for (i = 0; i < SIM_MAX_ARGS; i++) {
		n = lws_hdr_copy_fragment(wsi, r->qbuf + used,
		    (int)(sizeof(r->qbuf) - used), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0) {
			/* absent (end of args) or longer than our buffer */
			if (lws_hdr_fragment_length(wsi,
			    WSI_TOKEN_HTTP_URI_ARGS, i) > 0)
				return -1;
			break;
		}
		r->args[r->nargs++] = r->qbuf + used;
		used += (size_t)n + 1;
	}
	return 0;
}

int
sim_req_parse(struct lws *wsi, struct sim_req *r)
{
	char	*uri = NULL;
	int	 len = 0;

	r->method = lws_http_get_uri_and_method(wsi, &uri, &len);
	if (r->method < 0 || uri == NULL || len < 0 ||
	    (size_t)len >= sizeof(r->path))
		return -1;
	memcpy(r->path, uri, (size_t)len);
	r->path[len] = '\0';
	if (req_parse_args(wsi, r) == -1)
		return -1;
	r->authed = sim_auth_check(wsi, r);
	r->ctl_only = sim.ctl_vh != NULL && lws_get_vhost(wsi) == sim.ctl_vh;
	return 0;
}

/* Value of query argument name, or NULL; the first occurrence wins. */
const char *
sim_arg(const struct sim_req *r, const char *name)
{
	size_t	nlen = strlen(name);
	int	i;

	for (i = 0; i < r->nargs; i++)
		if (strncmp(r->args[i], name, nlen) == 0 &&
		    r->args[i][nlen] == '=')
			return r->args[i] + nlen + 1;
	return NULL;
}

/* Integer argument in [min, max]; def when absent; -1 when malformed. */
int
sim_arg_num(const struct sim_req *r, const char *name, long long def,
    long long min, long long max, long long *out)
{
	const char	*v = sim_arg(r, name);
	char		*end;
	long long	 n;

	if (v == NULL) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * Every value of a parameter that may repeat, also split at commas as
 * ARI does for its allowMultiple parameters.  The values are copied into
 * buf.  Returns how many, or -1 past max or when buf is too small.
 */
int
sim_arg_list(const struct sim_req *r, const char *name, char *buf,
    size_t len, const char **out, int max)
{
	size_t		 nlen = strlen(name), used = 0, n;
	const char	*v;
	int		 i, cnt = 0;

	for (i = 0; i < r->nargs; i++) {
		if (strncmp(r->args[i], name, nlen) != 0 ||
		    r->args[i][nlen] != '=')
			continue;
		for (v = r->args[i] + nlen + 1;; v += n + 1) {
			n = strcspn(v, ",");
			if (cnt == max || used + n + 1 > len)
				return -1;
			memcpy(buf + used, v, n);
			buf[used + n] = '\0';
			out[cnt++] = buf + used;
			used += n + 1;
			if (v[n] == '\0')
				break;
		}
	}
	return cnt;
}

/* A boolean parameter the way Asterisk's ast_true() reads it. */
int
sim_truthy(const char *v)
{
	static const char	*yes[] = { "yes", "true", "y", "t", "1",
	    "on" };
	size_t			 i;

	for (i = 0; v != NULL && i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
	return 0;
}

/*
 * Split a path like "a/b/c" into at most max segments of SIM_ID_LEN.
 * Returns the count, or -1 for an empty or too long segment, or too many.
 */
int
sim_path_split(const char *p, char seg[][SIM_ID_LEN], int max)
{
	size_t	n;
	int	cnt = 0;

	if (*p == '\0')
		return 0;
	for (;; p += n + 1) {
		n = strcspn(p, "/");
		if (n == 0 || n >= SIM_ID_LEN || cnt == max)
			return -1;
		memcpy(seg[cnt], p, n);
		seg[cnt++][n] = '\0';
		if (p[n] == '\0')
			return cnt;
	}
}

/* "USER:PASS", split at the first ':' like Asterisk does. */
static int
cred_match(const char *cred)
{
	const char	*colon = strchr(cred, ':');
	size_t		 ulen;

	if (colon == NULL)
		return 0;
	ulen = (size_t)(colon - cred);
	return ulen == strlen(sim.conf.user) &&
	    strncmp(cred, sim.conf.user, ulen) == 0 &&
	    strcmp(colon + 1, sim.conf.pass) == 0;
}

/*
 * ARI authentication: an HTTP Basic Authorization header wins when
 * present; otherwise the api_key query argument is used.
 */
int
sim_auth_check(struct lws *wsi, const struct sim_req *r)
{
	char		 hdr[1024], cred[768];
	const char	*p, *key;
	int		 n;

	if (sim.faults.auth_reject)
		return 0;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
		if (lws_hdr_copy(wsi, hdr, sizeof(hdr),
		    WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
			return 0;
		if (strncasecmp(hdr, "Basic ", 6) == 0) {
			for (p = hdr + 6; *p == ' '; p++)
				continue;
			n = lws_b64_decode_string(p, cred, sizeof(cred) - 1);
			if (n < 0)
				return 0;
			cred[n] = '\0';
			return cred_match(cred);
		}
	}
	key = sim_arg(r, "api_key");
	return key != NULL && cred_match(key);
}

/*
 * Write a complete JSON answer.  with_realm adds the WWW-Authenticate
 * header real Asterisk sends with its 401s; location, when not NULL, the
 * Location header of a 201.
 */
static int
http_reply(struct lws *wsi, unsigned int status, const char *body,
    size_t len, int with_realm, const char *location)
{
	unsigned char	*buf, *start, *p, *end;
	size_t		 cap = LWS_PRE + 1024 + len;
	int		 rc = -1;

	sim_reqlog_status(status);
	if (location != NULL)
		cap += strlen(location);
	if ((buf = malloc(cap)) == NULL)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + cap;
	if (lws_add_http_common_headers(wsi,
	    status | LWSAHH_FLAG_NO_SERVER_NAME, "application/json",
	    (lws_filepos_t)len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"Server:",
	    (const unsigned char *)SIM_SERVER_HDR, sizeof(SIM_SERVER_HDR) - 1,
	    &p, end))
		goto out;
	if (with_realm && lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"WWW-Authenticate:",
	    (const unsigned char *)SIM_AUTH_REALM, sizeof(SIM_AUTH_REALM) - 1,
	    &p, end))
		goto out;
	if (location != NULL && lws_add_http_header_by_name(wsi,
	    (const unsigned char *)"Location:",
	    (const unsigned char *)location, (int)strlen(location), &p, end))
		goto out;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		goto out;
	if (len > 0) {
		memcpy(start, body, len);
		if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) !=
		    (int)len)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
sim_http_reply(struct lws *wsi, unsigned int status, const char *body,
    size_t len, int with_realm)
{
	return http_reply(wsi, status, body, len, with_realm, NULL);
}

/* A JSON answer built in b; an allocation failure drops the link. */
int
sim_http_json(struct lws *wsi, unsigned int status, const struct sim_buf *b)
{
	if (b->err)
		return -1;
	return http_reply(wsi, status, b->p, b->len, 0, NULL);
}

/* 201 Created with the new resource's Location, as ARI answers it. */
int
sim_http_created(struct lws *wsi, const struct sim_buf *b,
    const char *location)
{
	if (b->err)
		return -1;
	return http_reply(wsi, 201, b->p, b->len, 0, location);
}

/* ARI error body, in the layout of real Asterisk (see rest-errors.txt). */
static int
msg_body(char *body, size_t len, const char *msg)
{
	char	esc[512];
	int	n;

	/* messages may quote a client's name */
	if (sim_json_escape(esc, sizeof(esc), msg) == (size_t)-1)
		return -1;
	n = snprintf(body, len, "{\n  \"message\": \"%s\"\n}", esc);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return n;
}

int
sim_http_msg(struct lws *wsi, unsigned int status, const char *msg)
{
	char	body[640];
	int	n;

	if ((n = msg_body(body, sizeof(body), msg)) == -1)
		return -1;
	return sim_http_reply(wsi, status, body, (size_t)n, status == 401);
}

static const char *
reason_phrase(unsigned int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/*
 * Refuse a WebSocket upgrade with a complete HTTP/1.1 answer written by
 * hand: on the upgrade path lws has not recorded the request version
 * yet and its header helpers would say "HTTP/1.0".  The caller hangs up.
 */
int
sim_http_reject(struct lws *wsi, unsigned int status, const char *msg)
{
	unsigned char	 buf[LWS_PRE + 1024];
	char		 body[256];
	int		 blen, n;

	if ((blen = msg_body(body, sizeof(body), msg)) == -1)
		return -1;
	n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
	    "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nServer: " SIM_SERVER_HDR "\r\n%s"
	    "Connection: close\r\n\r\n%s", status, reason_phrase(status),
	    blen, status == 401 ? "WWW-Authenticate: " SIM_AUTH_REALM "\r\n" :
	    "", body);
	if (n < 0 || (size_t)n >= sizeof(buf) - LWS_PRE)
		return -1;
	if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP) != n)
		return -1;
	return 0;
}

/* End of an HTTP transaction: keep-alive or close, as lws decides. */
int
sim_http_done(struct lws *wsi)
{
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}
