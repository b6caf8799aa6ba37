/*
 * ari_xfer.h — inside the ARI REST client; callers use ari_rest.h.
 *
 * Two halves meet here.  ari_rest.c admits a request (the bounds, the
 * method, the URL, whether the credentials go along), keeps it on the
 * pending list and runs its callback.  ari_curl.c moves its bytes:
 * libcurl's multi interface driven from the libevent loop.  Admission
 * never calls curl, and the transport never decides what may start, so
 * a queue in front of the transport, or another transport, changes one
 * side only.
 */
#ifndef MAI_ARI_XFER_H
#define MAI_ARI_XFER_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "ari_rest.h"

struct event_base;
struct ari_curl;

/* The transport's part of one request: curl's handle and the answer. */
struct ari_wire {
	CURL			*easy;
	uint64_t		 sent_ns;	/* request began to go out */
	char			*resp;		/* NUL-terminated */
	size_t			 resp_len;
	size_t			 resp_cap;
	int			 too_big;	/* over the xfer's body_max */
	CURLcode		 rc;
	char			 errbuf[CURL_ERROR_SIZE];
};

/*
 * One HTTP request to ARI (or to a webhook), from its admission in
 * ari_rest_call*() until its callback has returned.
 */
struct ari_xfer {
	TAILQ_ENTRY(ari_xfer)	 entry;
	struct ari_rest		*rest;
	const char		*method;	/* from ari_rest.c's table */
	char			*path;		/* what its errors name */
	unsigned int		 timeout_ms;
	size_t			 body_max;	/* of the answer */
	int			 ari;		/* to ARI, with credentials;
						   0: a webhook, without */
	ari_rest_cb		 cb;
	void			*arg;
	struct ari_wire		 wire;
	char			 error[ARI_REST_ERR_MAX];
};

/* ari_rest.c: the transport reports that transfers may have finished. */
void		 ari_xfer_collect(struct ari_rest *);

/* ari_curl.c */
struct ari_curl	*ari_curl_new(struct event_base *, struct ari_rest *);
int		 ari_curl_limit(struct ari_curl *, unsigned int);
int		 ari_curl_credentials(struct ari_curl *, const char *,
		    const char *);
int		 ari_curl_start(struct ari_curl *, struct ari_xfer *,
		    const char *, const char *);
struct ari_xfer	*ari_curl_done(struct ari_curl *, enum ari_rest_fail *);
void		 ari_curl_end(struct ari_curl *, struct ari_xfer *,
		    enum ari_rest_fail, struct ari_outcome *);
void		 ari_curl_release(struct ari_xfer *);
void		 ari_curl_free(struct ari_curl *);

#endif /* MAI_ARI_XFER_H */
