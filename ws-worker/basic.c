/*
 * basic.c — the headers of the ws-worker's own HTTP requests to ARI (the
 * delivery check, the application check, the event filter): Basic auth,
 * built here and never logged, and the body's length (and type: ARI reads
 * a body only when it says JSON).
 */
#include <stdio.h>
#include <string.h>

#include "ws.h"

/* "Basic " + base64 of "user:password" with both at their longest. */
#define BASIC_AUTH_MAX	(8 + (MAI_STR_MAX * 2 + 2) / 3 * 4 + 4)

/* LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: *p, up to end. */
int
basic_headers(struct lws *wsi, unsigned char **p, unsigned char *end,
    size_t body_len)
{
	static const char	json[] = "application/json";
	char			pair[MAI_STR_MAX * 2 + 2], auth[BASIC_AUTH_MAX];
	char			clen[24];
	int			n, rc = 0;

	n = snprintf(pair, sizeof(pair), "%s:%s", ws_conf.ari_user,
	    ws_conf.ari_password);
	memcpy(auth, "Basic ", 6);
	if (n < 0 || lws_b64_encode_string(pair, n, auth + 6,
	    (int)sizeof(auth) - 6) < 0 ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
	    (unsigned char *)auth, (int)strlen(auth), p, end) ||
	    (body_len > 0 && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)json,
	    (int)sizeof(json) - 1, p, end)) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
	    (unsigned char *)clen, snprintf(clen, sizeof(clen), "%zu",
	    body_len), p, end))
		rc = -1;
	explicit_bzero(pair, sizeof(pair));
	explicit_bzero(auth, sizeof(auth));
	return rc;
}
