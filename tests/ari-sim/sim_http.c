/*
 * The one lws protocol: plain HTTP transactions (ARI REST and /_sim/)
 * and the /ari/events WebSocket both land here and are routed by
 * callback reason.
 */

#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void
req_free_body(struct sim_req *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
	sim_req_body_free(r);
}

/* Requests with a body are answered once lws has delivered all of it. */
static int
req_has_body(struct lws *wsi)
{
	char	len[32];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return 0;
	if (lws_hdr_copy(wsi, len, sizeof(len),
	    WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
		return 0;
	return strtoll(len, NULL, 10) > 0;
}

static int
is_ctl_path(const char *path)
{
	return strncmp(path, "/_sim/", 6) == 0;
}

/* Route a fully received request; ends the HTTP transaction. */
static int
http_dispatch(struct lws *wsi, struct sim_req *r)
{
	int	rc;

	if (is_ctl_path(r->path))
		rc = sim_ctl_dispatch(wsi, r);
	else if (!r->ctl_only && sim_hold_maybe(wsi, r))
		return 0;	/* answered when the playback ends */
	else if (!r->ctl_only && (strncmp(r->path, "/ari/", 5) == 0 ||
	    strcmp(r->path, "/ari") == 0)) {
		sim_reqlog_begin();
		if (sim_req_body_args(r) == -1)
			rc = -1;
		else
			rc = sim_ari_dispatch(wsi, r);
		sim_reqlog_end(r);
	}
	else
		rc = sim_http_msg(wsi, 404, "Not found");
	/* the pss may be reallocated by transaction completion */
	req_free_body(r);
	if (rc == -1)
		return -1;
	return sim_http_done(wsi);
}

static int
http_request(struct lws *wsi, struct sim_pss *pss)
{
	struct sim_req	*r;

	if (pss == NULL)
		return -1;
	r = &pss->req;
	req_free_body(r);
	memset(r, 0, sizeof(*r));
	if (sim_req_parse(wsi, r) == -1) {
		if (sim_http_msg(wsi, 400, "Bad request") == -1)
			return -1;
		return sim_http_done(wsi);
	}
	/* refuse mode: ARI clients see the connection die, /_sim/ works */
	if (sim.faults.refuse && !r->ctl_only && !is_ctl_path(r->path)) {
		sim_log("refused %s", r->path);
		return -1;
	}
	if (req_has_body(wsi))
		return 0;
	return http_dispatch(wsi, r);
}

static int
http_body(struct sim_pss *pss, const void *in, size_t len)
{
	struct sim_req	*r;
	size_t		 cap;
	char		*nb;

	if (pss == NULL)
		return -1;
	r = &pss->req;
	/* lws may end an empty body with (NULL, 0): nothing to copy. */
	if (r->body_too_big || len == 0)
		return 0;
	if (r->body_len + len > SIM_BODY_MAX) {
		/* keep reading so the 413 can be sent in order */
		req_free_body(r);
		r->body_too_big = 1;
		return 0;
	}
	if (r->body_len + len + 1 > r->body_cap) {
		cap = r->body_cap ? r->body_cap * 2 : 4096;
		while (cap < r->body_len + len + 1)
			cap *= 2;
		if ((nb = realloc(r->body, cap)) == NULL)
			return -1;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, in, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
http_body_done(struct lws *wsi, struct sim_pss *pss)
{
	if (pss == NULL)
		return -1;
	if (pss->req.body_too_big) {
		if (sim_http_msg(wsi, 413, "Request body too large") == -1)
			return -1;
		return sim_http_done(wsi);
	}
	return http_dispatch(wsi, &pss->req);
}

int
sim_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct sim_pss	*pss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_request(wsi, pss);
	case LWS_CALLBACK_HTTP_BODY:
		return http_body(pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_body_done(wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss != NULL && sim_hold_release(wsi)) {
			pss->req.released = 1;
			return http_dispatch(wsi, &pss->req);
		}
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		sim_hold_forget(wsi);
		if (pss != NULL)
			req_free_body(&pss->req);
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return sim_ws_confirm(wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return pss == NULL ? -1 : sim_ws_filter(wsi, &pss->sess);
	case LWS_CALLBACK_ESTABLISHED:
		if (pss == NULL)
			return -1;
		sim_ws_established(wsi, &pss->sess);
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (pss != NULL)
			sim_ws_closed(&pss->sess);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss == NULL ? -1 : sim_ws_writable(&pss->sess);
	case LWS_CALLBACK_RECEIVE:
		/* Asterisk 22's REST-over-WebSocket is not simulated */
		return 0;
	default:
		return 0;
	}
}
