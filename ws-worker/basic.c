/*
 * basic.c — the ws-worker's own HTTP requests to ARI (the delivery check,
 * the application check, the event filter): how they start, and their
 * headers: Basic auth, built here and never logged, and the body's length
 * (and type: ARI reads a body only when it says JSON).
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

/*
 * Start METHOD path on ARI, answered through protocol's callback.  addr:
 * the numeric address the WebSocket reached, so that no second name
 * lookup blocks the loop ("": ARI_HOST).  *pwsi is the request while it
 * runs.  -1 when it could not start (*pwsi NULL).
 */
int
basic_request(struct lws_context *ctx, struct lws_vhost *vh,
    const char *addr, const char *method, const char *path,
    const char *protocol, struct lws **pwsi)
{
	struct lws_client_connect_info	ci;
	char				host[MAI_STR_MAX + 16];

	if (link_host_header(host, sizeof(host), &ws_conf) == -1)
		return -1;
	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.vhost = vh;
	ci.address = addr[0] != '\0' ? addr : ws_conf.ari_host;
	ci.port = ws_conf.ari_port;
	ci.path = path;
	ci.host = host;		/* and the name TLS checks the cert against */
	ci.method = method;
	ci.local_protocol_name = protocol;
	ci.ssl_connection = (ws_conf.ari_tls ? LCCSCF_USE_SSL : 0) |
	    LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.pwsi = pwsi;
	if (lws_client_connect_via_info(&ci) == NULL) {
		*pwsi = NULL;
		return -1;
	}
	return 0;
}
