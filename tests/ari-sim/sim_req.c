/*
 * sim_req.c — reading an HTTP request as ARI does: query arguments (with
 * Asterisk's number, list and boolean rules), path segments, and the
 * credentials (Basic auth or api_key).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

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

/* Asterisk reads a body only when it says JSON (ast_http_get_json()). */
static int
req_says_json(struct lws *wsi)
{
	char	ct[64];

	if (lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) <= 0)
		return 0;
	return strncasecmp(ct, "application/json", 16) == 0;
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
	r->json_body = req_says_json(wsi);
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
