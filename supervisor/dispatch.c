/*
 * dispatch.c — read frames from each worker and act on them.
 *
 * One read callback per worker socket, one case per message type.  The
 * sender's role decides what it may say: a flag from a role that does not
 * own it, an event from anyone but the ws-worker, a frame over the bound
 * or with a lying header makes the worker untrusted (proc_distrust()).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

static char	frame_buf[MAI_FRAME_PAYLOAD_MAX];

static void	dispatch_read_cb(evutil_socket_t, short, void *);
static void	dispatch_write_cb(evutil_socket_t, short, void *);

void
dispatch_attach(struct worker *w)
{
	w->ev_read = event_new(sup->base, w->fd, EV_READ | EV_PERSIST,
	    dispatch_read_cb, w);
	w->ev_write = event_new(sup->base, w->fd, EV_WRITE,
	    dispatch_write_cb, w);
	if (w->ev_read == NULL || w->ev_write == NULL)
		fatalx("event_new for worker=%s", w->name);
	event_add(w->ev_read, NULL);
}

/*
 * The ws-worker is gone (its socket closed, it died, or it is no longer
 * trusted): what it sent and we did not read yet is still in its socket
 * and is taken now, unless it is not trusted, so that SIGCHLD coming
 * before the socket's last read loses no event.  Then a gap begins: no
 * WebSocket until the next ws-worker says GAP_END.
 */
void
dispatch_ws_gone(struct worker *w)
{
	struct mai_frame_hdr	 hdr;
	ssize_t			 n;
	size_t			 i;

	for (i = 0; !w->untrusted && i < WS_DRAIN_MAX; i++) {
		n = frame_recv(w->fd, &hdr, frame_buf, sizeof(frame_buf), NULL);
		if (n < 0)
			break;
		if (!msg_payload_ok(hdr.type, (size_t)n))
			break;
		if (hdr.type == MAI_MSG_EVENT)
			relay_enqueue(&sup->relay, frame_buf, (size_t)n,
			    hdr.ts_ns);
		else if (hdr.type == MAI_MSG_GAP_BEGIN ||
		    hdr.type == MAI_MSG_GAP_END)
			relay_gap(&sup->relay, hdr.type, hdr.ts_ns);
	}
	relay_gap(&sup->relay, MAI_MSG_GAP_BEGIN, frame_now_ns());
}

void
dispatch_detach(struct worker *w)
{
	if (w->role == MAI_ROLE_WS && w->fd != -1)
		dispatch_ws_gone(w);
	if (w->ev_read != NULL) {
		event_free(w->ev_read);
		w->ev_read = NULL;
	}
	if (w->ev_write != NULL) {
		event_free(w->ev_write);
		w->ev_write = NULL;
	}
	if (w->fd != -1) {
		close(w->fd);
		w->fd = -1;
	}
}

void
dispatch_send_config(struct worker *w)
{
	struct mai_config	wire;
	ssize_t			n;

	config_to_wire(&sup->conf, &wire);
	n = frame_send(w->fd, MAI_MSG_CONFIG, 0, &wire, sizeof(wire));
	explicit_bzero(&wire, sizeof(wire));
	if (n < 0)
		log_warnx("config to worker=%s failed: %s", w->name,
		    frame_error(n));
	/* The flow-worker gets its flows as bytes: it opens no files. */
	if (w->role == MAI_ROLE_FLOW && (n = frame_send(w->fd, MAI_MSG_FLOWS,
	    0, sup->conf.flows_buf, sup->conf.flows_len)) < 0)
		log_warnx("flows to worker=%s failed: %s", w->name,
		    frame_error(n));
	if (w->role == MAI_ROLE_FLOW) {
		struct mai_snapshot	snap;

		readiness_fill(&snap);
		readiness_tell_flow(&snap, true);
	}
}

static void
dispatch_hello(struct worker *w, const struct mai_hello *h)
{
	ssize_t	n;

	if (w->state != MAI_WSTATE_STARTING || h->role != w->role ||
	    (pid_t)h->pid != w->pid) {
		proc_distrust(w, "unexpected hello");
		return;
	}
	proc_mark_running(w);
	log_info("worker ready worker=%s pid=%d", w->name, (int)w->pid);
	dispatch_send_config(w);
	if (w->role == MAI_ROLE_HEALTH &&
	    (n = frame_send_fd(w->fd, MAI_MSG_LISTENER, NULL, 0,
	    sup->listen_fd)) < 0)
		log_warnx("listener to health-worker failed: %s",
		    frame_error(n));
	if (w->role == MAI_ROLE_FLOW)
		relay_flush(&sup->relay);
	/* After what the worker waits for before its loop runs. */
	heartbeat_start(w);
	readiness_changed();
	if (sup->rolling >= 0)
		lifecycle_roll_next();
}

static void
dispatch_flag(struct worker *w, const struct mai_flag_report *f)
{
	if (f->flag >= MAI_FLAG_COUNT || f->value > 1 ||
	    flag_owner((enum mai_flag)f->flag) != w->role) {
		proc_distrust(w, "flag it does not own");
		return;
	}
	log_debug("flag worker=%s %s=%u", w->name,
	    flag_name((enum mai_flag)f->flag), f->value);
	readiness_set((enum mai_flag)f->flag, f->value != 0);
}

/* Returns false when the worker must not be read any further. */
static bool
dispatch_frame(struct worker *w, const struct mai_frame_hdr *hdr, size_t len)
{
	if (!msg_payload_ok(hdr->type, len)) {
		proc_distrust(w, "bad payload size for its type");
		return false;
	}
	if (hdr->type != MAI_MSG_HELLO && w->state == MAI_WSTATE_STARTING) {
		proc_distrust(w, "frame before hello");
		return false;
	}
	switch (hdr->type) {
	case MAI_MSG_HELLO:
		dispatch_hello(w, (const struct mai_hello *)frame_buf);
		break;
	case MAI_MSG_FLAG:
		dispatch_flag(w, (const struct mai_flag_report *)frame_buf);
		break;
	case MAI_MSG_EVENT:
		if (w->role != MAI_ROLE_WS) {
			proc_distrust(w, "event from a non-ws worker");
			return false;
		}
		relay_enqueue(&sup->relay, frame_buf, len, hdr->ts_ns);
		break;
	case MAI_MSG_GAP_BEGIN:
	case MAI_MSG_GAP_END:
		if (w->role != MAI_ROLE_WS) {
			proc_distrust(w, "gap from a non-ws worker");
			return false;
		}
		relay_gap(&sup->relay, hdr->type, hdr->ts_ns);
		break;
	case MAI_MSG_EVENT_ACK:
		if (w->role != MAI_ROLE_FLOW) {
			proc_distrust(w, "ack from a non-flow worker");
			return false;
		}
		relay_ack(&sup->relay, hdr->seq);
		break;
	case MAI_MSG_COUNTERS:
		memcpy(w->counters, frame_buf, sizeof(w->counters));
		readiness_counters_changed();
		break;
	case MAI_MSG_LATENCY:
		if (w->role != MAI_ROLE_FLOW) {
			proc_distrust(w, "latency from a non-flow worker");
			return false;
		}
		memcpy(w->latency, frame_buf, sizeof(w->latency));
		readiness_counters_changed();
		break;
	case MAI_MSG_PONG:
		heartbeat_pong(w, hdr->seq, (const struct mai_pong *)frame_buf);
		break;
	case MAI_MSG_DRAINING:
		proc_retire(w);
		return false;	/* its socket is closed now */
	default:
		proc_distrust(w, "message type not for the supervisor");
		return false;
	}
	return !w->untrusted;
}

static void
dispatch_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker		*w = arg;
	struct mai_frame_hdr	 hdr;
	ssize_t			 n;
	int			 i;

	(void)ev;
	for (i = 0; i < FRAMES_PER_WAKEUP; i++) {
		n = frame_recv(fd, &hdr, frame_buf, sizeof(frame_buf), NULL);
		if (n == FRAME_EAGAIN)
			break;
		if (n == FRAME_ECLOSED || n == FRAME_EIO) {
			/* It is exiting; SIGCHLD does the rest. */
			log_debug("worker socket closed worker=%s", w->name);
			readiness_clear_role(w->role);
			dispatch_detach(w);
			return;
		}
		if (n < 0) {
			log_warnx("frame refused worker=%s reason=\"%s\"",
			    w->name, frame_error(n));
			proc_distrust(w, frame_error(n));
			return;
		}
		if (!dispatch_frame(w, &hdr, (size_t)n))
			return;
	}
}

/* The flow-worker's socket drained: send what the relay still holds. */
static void
dispatch_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)ev;
	if (w->role == MAI_ROLE_FLOW)
		relay_flush(&sup->relay);
}
