/*
 * flow.h — the flow-worker's private declarations.
 */
#ifndef MAI_FLOW_H
#define MAI_FLOW_H

#include <event2/event.h>
#include <json-c/json.h>

#include "ipc.h"

#define FLOW_FRAMES_PER_WAKEUP	512	/* then ack and yield to the loop */
#define FLOW_COUNTERS_MS	1000

struct flow {
	struct event_base	*base;
	struct mai_config	 conf;
	struct event		*ev_ipc;
	struct event		*ev_counters;
	struct mai_counters	 counters;
	struct mai_counters	 reported;
	struct mai_latency	 latency;	/* ws-worker read -> here */
	uint64_t		 latency_reported;	/* count last sent */
	struct json_tokener	*tok;
	uint64_t		 last_seq;	/* highest event handled */
	uint64_t		 acked_seq;	/* highest ack sent */
};

/* events.c */
void	flow_ipc_attach(struct flow *);
void	flow_event_handle(struct flow *, uint64_t, const char *, size_t);

#endif /* MAI_FLOW_H */
