/*
 * ari_xfer.h — inside the ARI REST client; callers use ari_rest.h.
 *
 * Two halves meet here.  ari_rest.c admits a request (the bounds, the
 * method, the URL, whether the credentials go along), keeps it on the
 * pending list and runs its callback.  ari_curl.c moves its bytes:
 * libcurl's multi interface driven from the libevent loop.  Admission
 * never calls curl, and the transport never decides what may start.
 * Between them, ari_pool.c holds requests to ARI until a warm connection
 * is free, or a new one may be opened (the bounds are in ari_rest.h).
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
	struct ari_curl		*curl;
	CURL			*easy;
	int			 opened;	/* opened a connection that
						   has not answered yet */
	int			 refused;	/* on the transport's failures */
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
	TAILQ_ENTRY(ari_xfer)	 entry;		/* ari_rest.c's pending list */
	TAILQ_ENTRY(ari_xfer)	 qentry;	/* the pool's wait queue, or
						   the transport's failures */
	struct ari_rest		*rest;
	const char		*method;	/* from ari_rest.c's table */
	char			*path;		/* what its errors name */
	unsigned int		 timeout_ms;
	size_t			 body_max;	/* of the answer */
	int			 ari;		/* to ARI, with credentials;
						   0: a webhook, without */
	int			 keepalive;	/* the pool's own ping */
	enum { XFER_NEW, XFER_WAITING, XFER_ACTIVE } state;
	ari_rest_cb		 cb;
	void			*arg;
	struct ari_wire		 wire;
	char			 error[ARI_REST_ERR_MAX];
};

TAILQ_HEAD(ari_xfers, ari_xfer);

/* ari_rest.c: the transport reports that transfers may have finished. */
void		 ari_xfer_collect(struct ari_rest *);
int		 ari_rest_keepalive(struct ari_rest *, ari_rest_cb, void *);

/* ari_pool.c */
struct ari_pool	*ari_pool_new(struct event_base *, struct ari_rest *,
		    struct ari_curl *);
int		 ari_pool_size(struct ari_pool *, unsigned int, int);
void		 ari_pool_submit(struct ari_pool *, struct ari_xfer *);
void		 ari_pool_leave(struct ari_pool *, struct ari_xfer *);
void		 ari_pool_dispatch(struct ari_pool *);
void		 ari_pool_free(struct ari_pool *);

/* ari_curl.c */
struct ari_curl	*ari_curl_new(struct event_base *, struct ari_rest *);
int		 ari_curl_limit(struct ari_curl *, unsigned int);
int		 ari_curl_credentials(struct ari_curl *, const char *,
		    const char *);
int		 ari_curl_prepare(struct ari_curl *, struct ari_xfer *,
		    const char *, const char *);
void		 ari_curl_go(struct ari_curl *, struct ari_xfer *);
void		 ari_curl_conns(const struct ari_curl *, unsigned int *,
		    unsigned int *);
struct ari_xfer	*ari_curl_done(struct ari_curl *, enum ari_rest_fail *);
void		 ari_curl_end(struct ari_curl *, struct ari_xfer *,
		    enum ari_rest_fail, struct ari_outcome *);
void		 ari_curl_release(struct ari_xfer *);
void		 ari_curl_free(struct ari_curl *);

#endif /* MAI_ARI_XFER_H */
