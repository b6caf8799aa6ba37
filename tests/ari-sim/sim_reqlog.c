/*
 * sim_reqlog.c — the order in which ARI requests were answered.
 *
 * Counters say how many requests of a kind came, not in which order nor
 * for which object; a test that must show "the stop came after the play
 * was answered" reads /_sim/requests: the last SIM_REQLOG_MAX answered
 * /ari/ requests, oldest first, as "STATUS METHOD PATH" (no query).
 */

#include <stdio.h>
#include <string.h>

#include "sim.h"

struct reqlog_ent {
	unsigned int	status;
	int		method;
	char		path[SIM_PATH_LEN];
};

static struct reqlog_ent	ring[SIM_REQLOG_MAX];
static size_t			head, count;	/* head: the oldest */
static unsigned int		last_status;

static const char *
method_name(int m)
{
	switch (m) {
	case LWSHUMETH_GET:	return "GET";
	case LWSHUMETH_POST:	return "POST";
	case LWSHUMETH_PUT:	return "PUT";
	case LWSHUMETH_PATCH:	return "PATCH";
	case LWSHUMETH_DELETE:	return "DELETE";
	case LWSHUMETH_OPTIONS:	return "OPTIONS";
	case LWSHUMETH_HEAD:	return "HEAD";
	default:		return "?";
	}
}

/* Every answer's status goes through here (sim_reply.c http_reply). */
void
sim_reqlog_status(unsigned int status)
{
	last_status = status;
}

/* Before an ARI request is dispatched: nothing answered yet. */
void
sim_reqlog_begin(void)
{
	last_status = 0;
}

/* After it: note it if it was answered; past the bound the oldest goes. */
void
sim_reqlog_end(const struct sim_req *r)
{
	struct reqlog_ent	*e;

	if (last_status == 0)
		return;
	if (count == SIM_REQLOG_MAX) {
		e = &ring[head];
		head = (head + 1) % SIM_REQLOG_MAX;
	} else
		e = &ring[(head + count++) % SIM_REQLOG_MAX];
	e->status = last_status;
	e->method = r->method;
	snprintf(e->path, sizeof(e->path), "%s", r->path);
}

void
sim_reqlog_reset(void)
{
	head = count = 0;
}

/* /_sim/requests */
int
sim_ctl_requests(struct lws *wsi, struct sim_req *r)
{
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	const struct reqlog_ent	*e;
	char			 line[SIM_PATH_LEN + 32];
	size_t			 i;
	int			 rc;

	(void)r;
	sb_printf(&b, "{\"ok\":true,\"requests\":[");
	for (i = 0; i < count; i++) {
		e = &ring[(head + i) % SIM_REQLOG_MAX];
		snprintf(line, sizeof(line), "%u %s %s", e->status,
		    method_name(e->method), e->path);
		sb_printf(&b, "%s", i > 0 ? "," : "");
		sb_str(&b, line);
	}
	sb_printf(&b, "]}");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}
