/*
 * areq.h — one ARI request of the flow-worker, shared by areq.c (each
 * call's requests in order) and backlog.c (requests waiting for room in
 * ari_rest).  Nothing else looks inside.
 */
#ifndef MAI_AREQ_H
#define MAI_AREQ_H

enum areq_where {
	AREQ_QUEUED = 0,	/* in its call's list behind another */
	AREQ_HELD,		/* at the front of its call's list, waiting
				   for the call's async playback to end */
	AREQ_BACKLOG,		/* waiting for room in ari_rest */
	AREQ_FLIGHT,		/* ari_rest has it */
	AREQ_FAILING		/* could not start; reported from the loop */
};

struct areq {
	TAILQ_ENTRY(areq)	 entry;		/* in its call's reqs */
	TAILQ_ENTRY(areq)	 bentry;	/* in the backlog */
	TAILQ_ENTRY(areq)	 wentry;	/* in flow->unanswered */
	struct flow		*f;
	struct call		*call;		/* NULL: nobody waits */
	const char		*method;
	char			*target;	/* ARI path or absolute URL */
	struct json_object	*body;
	unsigned int		 timeout_ms;
	areq_cb			 cb;
	uint32_t		 gen;
	uint64_t		 stasis_ns;	/* the call's first request:
						   its StasisStart was read
						   then (latency.c) */
	struct ari_rest		*rest;		/* f->rest, or f->botctl */
	uint8_t			 url;		/* target is a URL (webhook,
						   bot control) */
	uint8_t			 serial;	/* in call->reqs */
	uint8_t			 first;		/* the call's first: backlog
						   ahead of the others */
	uint8_t			 hold;		/* queued while an async play
						   ran, and Asterisk would
						   queue it behind it */
	uint8_t			 bypass;	/* went out ahead of held
						   ones, out of order */
	uint8_t			 unanswered;	/* in flow->unanswered */
	uint64_t		 issued_ns;	/* first handed to ari_rest */
	enum areq_where		 where;
	int			 err;		/* AREQ_FAILING: errno */
};

/* areq.c */
void	areq_issue(struct areq *);
void	areq_free(struct areq *);

/* backlog.c */
int	backlog_add(struct areq *);
void	backlog_remove(struct areq *);
void	backlog_drain(struct flow *, int);

#endif /* MAI_AREQ_H */
