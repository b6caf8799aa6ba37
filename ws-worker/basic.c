/*
 * basic.c — the headers of the ws-worker's own HTTP requests to ARI (the
 * delivery check, the application check): Basic auth, built here and
 * never logged, and an empty body.
 */
#include <stdio.h>
#include <string.h>

#include "ws.h"

/* "Basic " + base64 of "user:password" with both at their longest. */
#define BASIC_AUTH_MAX	(8 + (MAI_STR_MAX * 2 + 2) / 3 * 4 + 4)

/* LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: *p, up to end. */
int
basic_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
	char	pair[MAI_STR_MAX * 2 + 2], auth[BASIC_AUTH_MAX];
	int	n, rc = 0;

	n = snprintf(pair, sizeof(pair), "%s:%s", ws_conf.ari_user,
	    ws_conf.ari_password);
	memcpy(auth, "Basic ", 6);
	if (n < 0 || lws_b64_encode_string(pair, n, auth + 6,
	    (int)sizeof(auth) - 6) < 0 ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
	    (unsigned char *)auth, (int)strlen(auth), p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
	    (unsigned char *)"0", 1, p, end))
		rc = -1;
	explicit_bzero(pair, sizeof(pair));
	explicit_bzero(auth, sizeof(auth));
	return rc;
}
