/*
 * sim_reply.c — writing HTTP answers as Asterisk does: JSON bodies, ARI's
 * error layout, 201 with Location, 401 with its realm, keep-alive.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

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
