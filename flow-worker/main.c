/*
 * main.c — mai-flow-worker: the life of the call-flow process, in order.
 *
 * Handshake with the supervisor, drop privileges, load the seccomp
 * allow-list, then handle ARI events until the supervisor goes away or
 * SIGTERM arrives.  Call flows themselves arrive with a later change;
 * today this process receives, handles and acknowledges every event.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "privsep.h"
#include "flow.h"

static void
flow_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)ev;
	log_info("signal=%d: exiting", (int)sig);
	event_base_loopexit(f->base, NULL);
}

int
main(void)
{
	struct flow	 flow;
	struct event	*ev_term, *ev_int;

	memset(&flow, 0, sizeof(flow));
	log_init("flow-worker", LOG_LVL_INFO, 0);
	worker_hello(MAI_ROLE_FLOW);
	worker_recv_config(&flow.conf);
	privsep_drop(&flow.conf);
	signal(SIGPIPE, SIG_IGN);
	if ((flow.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sandbox_enter(MAI_ROLE_FLOW);
	ev_term = evsignal_new(flow.base, SIGTERM, flow_signal_cb, &flow);
	ev_int = evsignal_new(flow.base, SIGINT, flow_signal_cb, &flow);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) ||
	    evsignal_add(ev_int, NULL))
		fatalx("evsignal");
	flow_ipc_attach(&flow);
	log_info("flow-worker running app=%s", flow.conf.ari_app);
	event_base_dispatch(flow.base);
	explicit_bzero(&flow.conf, sizeof(flow.conf));
	return 0;
}
