/*
 * main.c — the life of the health-worker, top to bottom.
 *
 * Handshake with the supervisor (hello, config, the listening socket),
 * drop privileges, build everything that may open files, enter the
 * seccomp sandbox, then serve from the event loop until SIGTERM, which
 * drains open connections before a clean exit.
 */
#include <sys/socket.h>

#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "health.h"
#include "log.h"
#include "privsep.h"

struct health {
	struct event_base	*base;
	struct mai_config	 conf;
	struct health_state	 state;
	struct probe		 probe;
	struct http_server	 server;
	struct event		*ipc_ev;
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*drain_ev;
	struct event		*accept_ev;	/* HEALTH_ACCEPT_WAIT_MS */
	struct event		*probed_ev;	/* a probe result is in */
	int			 draining;
};

/*
 * The listening socket is shared with the supervisor; O_NONBLOCK lands on
 * the shared file description, which is harmless as the supervisor never
 * accepts on it.  Refuse anything that is not a listening socket.
 */
static void
health_listener_prepare(int fd)
{
	int		 on = 0, flags;
	socklen_t	 len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 || !on)
		fatalx("fd %d from the supervisor is not a listening socket", fd);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("cannot make the listen socket non-blocking");
}

/* A reload: new log level, credentials and probe timing; same user. */
static void
health_reconfigure(struct health *h, const void *buf, size_t len)
{
	struct mai_config	nc;

	if (worker_take_config(&nc, buf, len) == -1)
		return;
	if (nc.drop_user != h->conf.drop_user || nc.uid != h->conf.uid ||
	    nc.gid != h->conf.gid)
		log_warnx("user change ignored until the health-worker restarts");
	explicit_bzero(&h->conf, sizeof(h->conf));
	h->conf = nc;
	explicit_bzero(&nc, sizeof(nc));
	probe_reconfigure(&h->probe);
	log_info("config applied log_level=%s probe_interval_ms=%u "
	    "probe_timeout_ms=%u", log_level_name(h->conf.log_level),
	    h->conf.probe_interval_ms, h->conf.probe_timeout_ms);
}

/* See HEALTH_ACCEPT_WAIT_MS. */
static void
health_maybe_accept(struct health *h)
{
	const struct health_state	*st = &h->state;

	if (!st->have_snap || !st->probed ||
	    st->snap.flags[MAI_FLAG_EDGE_REACHABLE] != st->edge_reachable ||
	    st->snap.flags[MAI_FLAG_ARI_AUTH] != st->ari_auth)
		return;
	evtimer_del(h->accept_ev);
	http_accept_start(&h->server);
}

static void
health_probed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_maybe_accept(arg);
}

static void
health_snapshot(struct health *h, const struct mai_snapshot *s)
{
	memcpy(&h->state.snap, s, sizeof(h->state.snap));
	h->state.have_snap = 1;
	render_ready(&h->state);
	probe_flags_sync(&h->probe);
	health_maybe_accept(h);
	log_debug("snapshot generation=%u readyz=%d body=%s", s->generation,
	    h->state.ready.code, h->state.ready.body);
}

/*
 * The supervisor is gone.  Outside a drain there is nobody left to serve
 * for; during one, the drain timer ends us and the open connections
 * still deserve their answers.
 */
static void
health_supervisor_gone(struct health *h)
{
	event_del(h->ipc_ev);
	if (h->draining) {
		log_debug("supervisor closed the socket during drain");
		return;
	}
	log_info("supervisor closed the socket, exiting");
	event_base_loopexit(h->base, NULL);
}

/* One case per message type; anything else is logged, never trusted. */
static void
health_dispatch_supervisor(evutil_socket_t fd, short what, void *arg)
{
	struct health		*h = arg;
	struct mai_frame_hdr	 hdr;
	union {
		struct mai_snapshot	snap;
		struct mai_config	conf;
	}			 buf;
	ssize_t			 n;
	int			 i;

	(void)what;
	for (i = 0; i < HEALTH_IPC_BATCH; i++) {
		n = frame_recv(fd, &hdr, &buf, sizeof(buf), NULL);
		if (n == FRAME_EAGAIN)
			break;
		if (n == FRAME_ECLOSED) {
			health_supervisor_gone(h);
			break;
		}
		if (n == FRAME_EIO)
			fatal("read from supervisor");
		if (n < 0) {
			log_warnx("frame from supervisor refused: %s",
			    frame_error(n));
			continue;
		}
		if (!msg_payload_ok(hdr.type, (size_t)n)) {
			log_warnx("frame from supervisor ignored type=%s len=%zd",
			    msg_name(hdr.type), n);
			continue;
		}
		switch (hdr.type) {
		case MAI_MSG_SNAPSHOT:
			health_snapshot(h, &buf.snap);
			break;
		case MAI_MSG_CONFIG:
			health_reconfigure(h, &buf.conf, (size_t)n);
			break;
		case MAI_MSG_PING:
			worker_send_pong(hdr.seq, 0);
			break;
		default:
			log_warnx("unexpected %s frame from supervisor ignored",
			    msg_name(hdr.type));
			break;
		}
	}
	explicit_bzero(&buf, sizeof(buf));
}

static void
health_accept_late(evutil_socket_t fd, short what, void *arg)
{
	struct health	*h = arg;

	(void)fd;
	(void)what;
	log_warnx("state not confirmed within %d ms, accepting anyway "
	    "have_snapshot=%d probed=%d", HEALTH_ACCEPT_WAIT_MS,
	    h->state.have_snap, h->state.probed);
	http_accept_start(&h->server);
}

static void
health_drain_done(evutil_socket_t fd, short what, void *arg)
{
	struct health	*h = arg;

	(void)fd;
	(void)what;
	log_info("drain done, exiting open_connections=%u",
	    h->server.conns_open);
	event_base_loopexit(h->base, NULL);
}

/*
 * First TERM/INT: stop accepting, answer open connections with
 * "Connection: close" until none is left or HEALTH_DRAIN_MS passed, then
 * exit.  A second one means "now".
 */
static void
health_signal(evutil_socket_t sig, short what, void *arg)
{
	struct health	*h = arg;
	struct timeval	 tv = { HEALTH_DRAIN_MS / 1000,
			    (HEALTH_DRAIN_MS % 1000) * 1000 };

	(void)what;
	if (h->draining) {
		log_info("signal=%s during drain, exiting now",
		    sig == SIGTERM ? "TERM" : "INT");
		event_base_loopbreak(h->base);
		return;
	}
	if (evtimer_add(h->drain_ev, &tv) == -1) {
		log_warnx("cannot arm the drain timer, exiting now");
		event_base_loopbreak(h->base);
		return;
	}
	log_info("signal=%s: not accepting, draining open connections "
	    "drain_ms=%d open_connections=%u", sig == SIGTERM ? "TERM" : "INT",
	    HEALTH_DRAIN_MS, h->server.conns_open);
	h->draining = 1;
	probe_stop(&h->probe);
	http_drain_start(&h->server, h->drain_ev);
	/*
	 * Tell the supervisor we no longer accept: it starts our successor
	 * now instead of after the drain, so the backlog waits milliseconds.
	 */
	if (frame_send(MAI_IPC_FD, MAI_MSG_DRAINING, 0, NULL, 0) < 0)
		log_debug("draining notice to supervisor failed");
}

static void
health_events_init(struct health *h)
{
	struct timeval	wait = { HEALTH_ACCEPT_WAIT_MS / 1000,
			    (HEALTH_ACCEPT_WAIT_MS % 1000) * 1000 };

	h->ipc_ev = event_new(h->base, MAI_IPC_FD, EV_READ | EV_PERSIST,
	    health_dispatch_supervisor, h);
	h->sigterm_ev = evsignal_new(h->base, SIGTERM, health_signal, h);
	h->sigint_ev = evsignal_new(h->base, SIGINT, health_signal, h);
	h->drain_ev = evtimer_new(h->base, health_drain_done, h);
	h->accept_ev = evtimer_new(h->base, health_accept_late, h);
	h->probed_ev = evtimer_new(h->base, health_probed, h);
	if (h->ipc_ev == NULL || h->sigterm_ev == NULL ||
	    h->sigint_ev == NULL || h->drain_ev == NULL ||
	    h->accept_ev == NULL || h->probed_ev == NULL)
		fatalx("cannot create events");
	h->probe.result_ev = h->probed_ev;
	/* A snapshot that is in is applied before answers that read it. */
	if (event_priority_set(h->ipc_ev, HEALTH_PRIO_SUPERVISOR) == -1)
		fatalx("cannot set the supervisor event priority");
	if (event_add(h->ipc_ev, NULL) == -1 ||
	    evsignal_add(h->sigterm_ev, NULL) == -1 ||
	    evsignal_add(h->sigint_ev, NULL) == -1 ||
	    evtimer_add(h->accept_ev, &wait) == -1)
		fatalx("cannot add events");
}

/*
 * TERM/INT stay blocked until libevent owns them, so one that arrives
 * during the handshake is drained like any other instead of killing us
 * mid-way.  The mask is inherited across exec: unblock explicitly.
 */
static void
health_signals_mask(int how)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(how, &set, NULL) == -1)
		fatal("sigprocmask");
}

static void
health_cleanup(struct health *h)
{
	http_free(&h->server);
	probe_free(&h->probe);
	event_free(h->ipc_ev);
	event_free(h->sigterm_ev);
	event_free(h->sigint_ev);
	event_free(h->drain_ev);
	event_free(h->accept_ev);
	event_free(h->probed_ev);
	event_base_free(h->base);
	curl_global_cleanup();
	explicit_bzero(&h->conf, sizeof(h->conf));
}

int
main(void)
{
	static struct health	h;
	int			listen_fd;

	log_init("health-worker", LOG_LVL_INFO, 0);
	health_signals_mask(SIG_BLOCK);
	worker_hello(MAI_ROLE_HEALTH);
	worker_recv_config(&h.conf);
	listen_fd = worker_recv_listener();
	health_listener_prepare(listen_fd);

	privsep_drop(&h.conf);
	/* A client that hangs up mid-answer must not kill us. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("cannot ignore SIGPIPE");
	if ((h.base = event_base_new()) == NULL ||
	    event_base_priority_init(h.base, HEALTH_PRIO_COUNT) == -1)
		fatalx("event_base_new failed");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	render_deps(&h.state);
	render_ready(&h.state);
	http_init(&h.server, h.base, listen_fd, &h.state, &h.conf);
	probe_init(&h.probe, h.base, &h.conf, &h.state);
	health_events_init(&h);
	sandbox_enter(MAI_ROLE_HEALTH);

	health_signals_mask(SIG_UNBLOCK);
	probe_start(&h.probe);
	if (event_base_dispatch(h.base) == -1)
		fatalx("event loop failed");
	health_cleanup(&h);
	return 0;
}
