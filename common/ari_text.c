/*
 * ari_text.c — the words of an ARI call: the path that goes out, with the
 * caller's segments percent-encoded, and what comes back, the body as
 * JSON and, when the call failed, one line that names the call and says
 * why.  ari_curl.c moves the bytes; this file knows nothing of curl or the
 * event loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ari_rest.h"
#include "urlenc.h"

/* Any JSON value, or NULL for an empty or malformed body. */
static struct json_object *
result_parse(const char *buf, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*obj;

	if (len == 0 || len > ARI_REST_BODY_HUGE ||
	    (tok = json_tokener_new()) == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/*
 * "METHOD PATH: " and then the reason.  An api_key in the query is masked
 * as in every other log line; the credentials proper never get here.
 */
static void
result_errorf(char *dst, size_t size, const struct ari_outcome *o,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
result_errorf(char *dst, size_t size, const struct ari_outcome *o,
    const char *fmt, ...)
{
	char	path[ARI_REST_ERR_MAX];
	va_list	ap;
	int	n;

	urlenc_mask_api_key(path, sizeof(path), o->path);
	n = snprintf(dst, size, "%s %s: ", o->method, path);
	if (n < 0 || (size_t)n >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + n, size - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ARI's "message", cut and stripped of control bytes: it goes into logs. */
static void
result_error_http(char *dst, size_t size, const struct ari_outcome *o,
    struct json_object *body)
{
	struct json_object	*m;
	const char		*s;
	char			 msg[ARI_REST_MSG_MAX];
	size_t			 i;

	if (!json_object_is_type(body, json_type_object) ||
	    !json_object_object_get_ex(body, "message", &m) ||
	    !json_object_is_type(m, json_type_string)) {
		result_errorf(dst, size, o, "%ld", o->status);
		return;
	}
	s = json_object_get_string(m);
	for (i = 0; i < sizeof(msg) - 1 && s[i] != '\0'; i++)
		msg[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	msg[i] = '\0';
	result_errorf(dst, size, o, "%ld %s", o->status, msg);
}

/* No (complete) HTTP answer; curl's own words in brackets. */
static void
result_error_transport(char *dst, size_t size, const struct ari_outcome *o)
{
	const char	*d = o->detail != NULL ? o->detail : "?";

	switch (o->fail) {
	case ARI_FAIL_TIMEOUT:
		result_errorf(dst, size, o, "timeout after %u ms",
		    o->timeout_ms);
		break;
	case ARI_FAIL_RESOLVE:
		result_errorf(dst, size, o, "cannot resolve the host "
		    "(curl: %s)", d);
		break;
	case ARI_FAIL_REFUSED:
		result_errorf(dst, size, o, "connection refused (curl: %s)", d);
		break;
	case ARI_FAIL_CONNECT:
		result_errorf(dst, size, o, "cannot connect (curl: %s)", d);
		break;
	case ARI_FAIL_TOOBIG:
		result_errorf(dst, size, o, "%ld answer over %zu bytes",
		    o->status, o->body_max);
		break;
	case ARI_FAIL_CANCELLED:
		result_errorf(dst, size, o, "cancelled");
		break;
	default:
		result_errorf(dst, size, o, "transport error (curl: %s)", d);
		break;
	}
}

/*
 * Fill in what a callback sees; the body, if any, is the caller's to
 * json_object_put() after the callback.  errbuf holds the error text.
 */
void
ari_result_make(struct ari_result *res, const struct ari_outcome *o,
    char *errbuf, size_t size)
{
	memset(res, 0, sizeof(*res));
	res->method = o->method;
	res->path = o->path;
	res->status = o->status;
	res->fail = o->fail;
	res->sent_ns = o->sent_ns;
	if (o->fail == ARI_FAIL_NONE)
		res->body = result_parse(o->resp, o->resp_len);
	if (o->fail != ARI_FAIL_NONE)
		result_error_transport(errbuf, size, o);
	else if (o->status < 200 || o->status > 299)
		result_error_http(errbuf, size, o, res->body);
	else if (o->resp_len > 0 && res->body == NULL)
		result_errorf(errbuf, size, o, "%ld but the body is not JSON",
		    o->status);
	else
		return;
	res->error = errbuf;
}

/*
 * Percent-encode each %s argument as one path segment or query value
 * (everything but RFC 3986's unreserved characters, '/' included, so a
 * channel id cannot climb to another resource): "/channels/%s/answer".
 * Only %s and %% are known.  Returns the length, or -1 with errno EINVAL
 * (other conversion, NULL or empty argument) or ENAMETOOLONG (dst too
 * small); dst is then "".
 */
int
ari_rest_path(char *dst, size_t size, const char *fmt, ...)
{
	const char	*p, *arg;
	size_t		 off = 0, n;
	va_list		 ap;
	int		 err = 0;

	if (size == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	va_start(ap, fmt);
	for (p = fmt; err == 0 && *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			arg = va_arg(ap, const char *);
			if (arg == NULL || *arg == '\0')
				err = EINVAL;
			else if ((n = urlenc(dst + off, size - off, arg)) >=
			    size - off)
				err = ENAMETOOLONG;
			else
				off += n;
			p++;
			continue;
		}
		if (p[0] == '%' && p[1] != '%')
			err = EINVAL;
		else if (off + 1 >= size)
			err = ENAMETOOLONG;
		else
			dst[off++] = *p;
		p += p[0] == '%';
	}
	va_end(ap);
	dst[err == 0 ? off : 0] = '\0';
	if (err != 0) {
		errno = err;
		return -1;
	}
	return (int)off;
}

