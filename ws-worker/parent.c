/*
 * parent.c — the supervisor socket (fd 3) inside the lws event loop.
 *
 * The socket is adopted as a raw file descriptor, so lws polls it and we
 * do the reads ourselves: SOCK_SEQPACKET keeps one frame per recvmsg(),
 * which a byte-stream read into lws's buffer would not.  Writes never
 * block.  What the socket cannot take now waits, in this order of
 * priority, until lws says it is writable:
 *   1. readiness flags: kept as state, never dropped; the supervisor gets
 *      the latest value of each (a link that died must be known at once,
 *      even behind a queue of events);
 *   2. events and the WebSocket's gaps (GAP_BEGIN, GAP_END): one FIFO,
 *      so a gap sits between the events read before and after it;
 *      bounded in bytes and count, overflow dropped and counted (a gap
 *      frame is never dropped: it has no bytes and at most one waits
 *      per WebSocket change, PARENT_GAPS_MAX beyond the count bound);
 *   3. counters: the latest snapshot, at most once per PARENT_COUNTERS_MS.
 * Ahead of all of them goes the answer to the supervisor's heartbeat PING:
 * one small frame whose deadline is short.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "privsep.h"
#include "ws.h"

#define FLAG_UNSENT	0xff	/* so that every flag goes out once at start */

struct parent_item {
	TAILQ_ENTRY(parent_item)	 entry;
	uint8_t			 type;		/* EVENT, GAP_BEGIN, GAP_END */
	uint64_t		 ts_ns;		/* when we read it */
	size_t			 len;
	unsigned char		 data[];
};

struct parent {
	struct lws_context		*ctx;
	struct lws			*wsi;
	TAILQ_HEAD(, parent_item)	 queue;
	size_t				 qbytes;
	size_t				 qcount;
	uint8_t				 flag_now[MAI_FLAG_COUNT];
	uint8_t				 flag_sent[MAI_FLAG_COUNT];
	struct mai_counters		 cnt;
	struct mai_counters		 cnt_sent;
	bool				 cnt_due;
	bool				 pong_due;	/* PING not answered yet */
	uint64_t			 pong_seq;
	bool				 in_writeable;
	bool				 want_write;
	lws_sorted_usec_list_t		 sul_counters;
	lws_sorted_usec_list_t		 sul_rearm;
	struct ratelim			 drop_log;
};

static struct parent	parent;

static void	parent_flush(void);

/*
 * The socket failed for good.  A supervisor that exits with our frames
 * unread leaves ECONNRESET rather than EOF: that is a close as well.
 */
static void
parent_send_failed(ssize_t n)
{
	if (n == FRAME_ECLOSED || (n == FRAME_EIO && errno == ECONNRESET))
		ws_stop(0, "supervisor closed its socket");
	else
		ws_stop(1, frame_error(n));
}

static void
parent_rearm_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (parent.wsi != NULL)
		lws_callback_on_writable(parent.wsi);
}

/*
 * Ask for POLLOUT.  lws 4.1 clears POLLOUT of a raw file descriptor after
 * its writeable callback returns, so a request made inside that callback
 * would be lost: it is made from a timer right after instead.
 */
static void
parent_want_write(void)
{
	if (parent.wsi == NULL)
		return;
	if (parent.in_writeable)
		parent.want_write = true;
	else
		lws_callback_on_writable(parent.wsi);
}

/* A send's result: 1 sent, 0 would block, -1 failed (we are stopping). */
static int
parent_sent(ssize_t n)
{
	if (n >= 0)
		return 1;
	if (n == FRAME_EAGAIN) {
		parent_want_write();
		return 0;
	}
	parent_send_failed(n);
	return -1;
}

/* Events and gap marks keep their read time; the rest have none. */
static int
parent_send(uint8_t type, uint64_t ts, const void *buf, size_t len)
{
	if (type == MAI_MSG_EVENT || type == MAI_MSG_GAP_BEGIN ||
	    type == MAI_MSG_GAP_END)
		return parent_sent(frame_send_stream(MAI_IPC_FD, type, 0, ts,
		    buf, len));
	return parent_sent(frame_send(MAI_IPC_FD, type, 0, buf, len));
}

/* The heartbeat answer: sent now, or first when the socket drains. */
static int
parent_flush_pong(void)
{
	int	rc;

	if (!parent.pong_due)
		return 1;
	if ((rc = parent_sent(worker_send_pong(parent.pong_seq, 0))) == 1)
		parent.pong_due = false;
	return rc;
}

/* Send every flag whose value the supervisor does not have yet. */
static int
parent_flush_flags(void)
{
	struct mai_flag_report	rep;
	int			f, rc;

	for (f = 0; f < MAI_FLAG_COUNT; f++) {
		if (flag_owner((enum mai_flag)f) != MAI_ROLE_WS ||
		    parent.flag_now[f] == parent.flag_sent[f])
			continue;
		memset(&rep, 0, sizeof(rep));
		rep.flag = (uint8_t)f;
		rep.value = parent.flag_now[f];
		if ((rc = parent_send(MAI_MSG_FLAG, 0, &rep, sizeof(rep))) != 1)
			return rc;
		parent.flag_sent[f] = rep.value;
		log_debug("flag reported flag=%s value=%u",
		    flag_name((enum mai_flag)f), rep.value);
	}
	return 1;
}

static int
parent_flush_queue(void)
{
	struct parent_item	*it;
	int			 rc;

	while ((it = TAILQ_FIRST(&parent.queue)) != NULL) {
		if ((rc = parent_send(it->type, it->ts_ns, it->data,
		    it->len)) != 1)
			return rc;
		TAILQ_REMOVE(&parent.queue, it, entry);
		parent.qbytes -= it->len;
		parent.qcount--;
		free(it);
	}
	return 1;
}

static void
parent_flush(void)
{
	if (parent_flush_pong() != 1 || parent_flush_flags() != 1 ||
	    parent_flush_queue() != 1)
		return;
	if (parent.cnt_due && parent_send(MAI_MSG_COUNTERS, 0, &parent.cnt,
	    sizeof(parent.cnt)) == 1) {
		parent.cnt_sent = parent.cnt;
		parent.cnt_due = false;
	}
}

static bool
parent_idle(void)
{
	return TAILQ_EMPTY(&parent.queue) && memcmp(parent.flag_now,
	    parent.flag_sent, sizeof(parent.flag_now)) == 0;
}

static void
parent_drop(size_t len)
{
	uint64_t	suppressed;

	parent_count(MAI_CNT_WS_RELAY_DROPPED);
	if (ratelim_pass(&parent.drop_log, &suppressed))
		log_warnx("supervisor not reading: event dropped len=%zu "
		    "queued=%zu queued_bytes=%zu suppressed=%llu", len,
		    parent.qcount, parent.qbytes, (unsigned long long)suppressed);
}

static void
parent_queue(uint8_t type, uint64_t ts, const void *buf, size_t len)
{
	struct parent_item	*it;

	if ((it = malloc(sizeof(*it) + len)) == NULL) {
		parent_drop(len);
		return;
	}
	it->type = type;
	it->len = len;
	it->ts_ns = ts;
	if (len > 0)
		memcpy(it->data, buf, len);
	TAILQ_INSERT_TAIL(&parent.queue, it, entry);
	parent.qbytes += len;
	parent.qcount++;
	parent_want_write();
}

/* Forward one event now, or queue it behind those already waiting. */
void
parent_event(const void *buf, size_t len)
{
	uint64_t	 ts = frame_now_ns();

	/* Sent, or failed for good (the worker is stopping): done. */
	if (parent_idle() && parent_send(MAI_MSG_EVENT, ts, buf, len) != 0)
		return;
	if (parent.qcount >= PARENT_QUEUE_COUNT_MAX ||
	    parent.qbytes + len > PARENT_QUEUE_BYTES_MAX) {
		parent_drop(len);
		return;
	}
	parent_queue(MAI_MSG_EVENT, ts, buf, len);
}

/*
 * The WebSocket went away (GAP_BEGIN) or is up again (GAP_END): in the
 * event stream, behind every event read before.  Never dropped; link.c
 * sends one per change, so at most PARENT_GAPS_MAX wait beyond the
 * count bound.
 */
void
parent_gap(uint8_t type)
{
	uint64_t	ts = frame_now_ns();

	if (parent_idle() && parent_send(type, ts, NULL, 0) != 0)
		return;
	if (parent.qcount >= PARENT_QUEUE_COUNT_MAX + PARENT_GAPS_MAX) {
		parent_drop(0);
		return;
	}
	parent_queue(type, ts, NULL, 0);
}

/* Flags go out only when their value changes. */
void
parent_flag(enum mai_flag f, int value)
{
	if ((unsigned)f >= MAI_FLAG_COUNT || flag_owner(f) != MAI_ROLE_WS)
		fatalx("parent_flag: ws-worker does not own flag %d", (int)f);
	value = value ? 1 : 0;
	if (parent.flag_now[f] == value)
		return;
	parent.flag_now[f] = (uint8_t)value;
	log_debug("flag changed flag=%s value=%d", flag_name(f), value);
	parent_flush_flags();
}

int
parent_flag_get(enum mai_flag f)
{
	return parent.flag_now[f];
}

void
parent_count(int idx)
{
	parent.cnt.v[idx]++;
}

static void
parent_counters_tick(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (memcmp(&parent.cnt, &parent.cnt_sent, sizeof(parent.cnt)) != 0) {
		parent.cnt_due = true;
		if (parent_idle())
			parent_flush();
	}
	lws_sul_schedule(parent.ctx, 0, &parent.sul_counters,
	    parent_counters_tick, PARENT_COUNTERS_MS * MSEC);
}

/* A new CONFIG, after a reload. */
static void
parent_config(const void *buf, size_t len)
{
	struct mai_config	conf;

	if (worker_take_config(&conf, buf, len) == 0)
		link_reload(&conf);
	explicit_bzero(&conf, sizeof(conf));
}

/* Read every frame that is waiting; the socket is non-blocking. */
static void
parent_dispatch(void)
{
	static char		 buf[MAI_FRAME_PAYLOAD_MAX];
	struct mai_frame_hdr	 hdr;
	ssize_t			 n;

	for (;;) {
		n = frame_recv(MAI_IPC_FD, &hdr, buf, sizeof(buf), NULL);
		if (n == FRAME_EAGAIN)
			return;
		if (n == FRAME_ECLOSED || n == FRAME_EIO) {
			parent_send_failed(n);
			return;
		}
		if (n < 0) {
			log_warnx("bad frame from supervisor: %s",
			    frame_error(n));
			continue;
		}
		switch (hdr.type) {
		case MAI_MSG_CONFIG:
			parent_config(buf, (size_t)n);
			explicit_bzero(buf, (size_t)n);
			break;
		case MAI_MSG_PING:
			/* Read in the lws loop: a stuck loop cannot answer. */
			parent.pong_seq = hdr.seq;
			parent.pong_due = true;
			parent_flush_pong();
			break;
		default:
			log_warnx("unexpected frame from supervisor type=%s "
			    "len=%zd, ignored", msg_name(hdr.type), n);
			break;
		}
	}
}

int
parent_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		parent_dispatch();
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		parent.in_writeable = true;
		parent.want_write = false;
		parent_flush();
		parent.in_writeable = false;
		if (parent.want_write)
			lws_sul_schedule(parent.ctx, 0, &parent.sul_rearm,
			    parent_rearm_cb, 1);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == parent.wsi) {
			parent.wsi = NULL;
			ws_stop(0, "supervisor socket closed");
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Adopt fd 3 into the loop and announce all four flags once, so the
 * supervisor starts from known values.
 */
void
parent_init(struct lws_context *ctx, struct lws_vhost *vh)
{
	lws_sock_file_fd_type	fd;
	int			f;

	parent.ctx = ctx;
	TAILQ_INIT(&parent.queue);
	for (f = 0; f < MAI_FLAG_COUNT; f++)
		if (flag_owner((enum mai_flag)f) == MAI_ROLE_WS)
			parent.flag_sent[f] = FLAG_UNSENT;
	fd.filefd = MAI_IPC_FD;
	parent.wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	    "mai-parent", NULL);
	if (parent.wsi == NULL)
		fatalx("can't adopt the supervisor socket into the event loop");
	parent_flush_flags();
	lws_sul_schedule(ctx, 0, &parent.sul_counters, parent_counters_tick,
	    PARENT_COUNTERS_MS * MSEC);
}

/* Last words before exit: current flags and counters, best effort. */
void
parent_shutdown(void)
{
	struct parent_item	*it;

	lws_sul_cancel(&parent.sul_counters);
	lws_sul_cancel(&parent.sul_rearm);
	parent.cnt_due = memcmp(&parent.cnt, &parent.cnt_sent,
	    sizeof(parent.cnt)) != 0;
	parent_flush();
	if (parent.qcount > 0)
		log_warnx("exiting with events the supervisor did not take "
		    "queued=%zu", parent.qcount);
	while ((it = TAILQ_FIRST(&parent.queue)) != NULL) {
		TAILQ_REMOVE(&parent.queue, it, entry);
		free(it);
	}
	parent.qbytes = parent.qcount = 0;
}
