/*
 * ipc.h — the frame format between the supervisor and its workers.
 *
 * Every process includes this header; docs/ipc.md is its prose twin.
 * Frames travel over SOCK_SEQPACKET, which keeps message boundaries, so a
 * frame is exactly one send()/recv(): a fixed header then the payload.
 * Both ends run on the same host from the same build, so the header is in
 * host byte order and a version mismatch is a deployment error.
 */
#ifndef MAI_IPC_H
#define MAI_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAI_IPC_VERSION		1

/* The one socket a worker inherits: fd 3, right after stdio. */
#define MAI_IPC_FD		3

/*
 * Bound on a whole frame (header and payload).  ARI events are 0.5-5 KiB in
 * practice; 128 KiB leaves room for channels with many variables while
 * staying under the default unix socket send buffer (212992 bytes), so a
 * frame within the bound can always be sent in one piece.
 */
#define MAI_FRAME_MAX		(128 * 1024)

struct mai_frame_hdr {
	uint8_t		version;	/* MAI_IPC_VERSION */
	uint8_t		type;		/* enum mai_msg */
	uint16_t	reserved;	/* zero */
	uint32_t	len;		/* payload bytes after this header */
	uint64_t	seq;		/* event sequence number (EVENT,
					   GAP_*), else 0 */
	uint64_t	ts_ns;		/* EVENT: CLOCK_MONOTONIC when the
					   ws-worker read it; GAP_*: when
					   the gap began or ended; else 0 */
};

#define MAI_FRAME_PAYLOAD_MAX	(MAI_FRAME_MAX - sizeof(struct mai_frame_hdr))

/* Message types; docs/ipc.md has the table with direction and payload. */
enum mai_msg {
	MAI_MSG_HELLO = 1,	/* w->s  struct mai_hello */
	MAI_MSG_CONFIG,		/* s->w  struct mai_config */
	MAI_MSG_LISTENER,	/* s->h  empty, SCM_RIGHTS: the HTTP listen socket */
	MAI_MSG_FLAG,		/* w->s  struct mai_flag_report */
	MAI_MSG_SNAPSHOT,	/* s->h  struct mai_snapshot */
	MAI_MSG_EVENT,		/* ws->s, s->flow  ARI event JSON, seq set by s */
	MAI_MSG_EVENT_ACK,	/* flow->s  empty, seq = highest handled */
	MAI_MSG_COUNTERS,	/* w->s  struct mai_counters */
	MAI_MSG_DRAINING,	/* w->s  empty: stopped accepting, start my successor */
	MAI_MSG_LATENCY,	/* flow->s  struct mai_latency[MAI_LAT_COUNT] */
	MAI_MSG_FLOWS,		/* s->flow  the flow file's bytes (JSON) */
	MAI_MSG_PING,		/* s->w  empty, seq = heartbeat number */
	MAI_MSG_PONG,		/* w->s  struct mai_pong, seq echoed (0: unasked) */
	MAI_MSG_READY,		/* s->flow  struct mai_ready: /readyz's verdict */
	MAI_MSG_GAP_BEGIN,	/* ws->s, s->flow  empty: no WebSocket from
				   ts_ns on, events are lost; seq set by s */
	MAI_MSG_GAP_END,	/* ws->s, s->flow  empty: a WebSocket again
				   since ts_ns; seq set by s */
	MAI_MSG_MAX
};

enum mai_role {
	MAI_ROLE_WS = 0,
	MAI_ROLE_FLOW,
	MAI_ROLE_HEALTH,
	MAI_ROLE_COUNT
};

/* Readiness flags; each has exactly one owning role (mai_flag_owner()). */
enum mai_flag {
	MAI_FLAG_EDGE_REACHABLE = 0,	/* health: any HTTP answer from ARI */
	MAI_FLAG_ARI_AUTH,		/* health: ARI answered 200 with auth */
	MAI_FLAG_WS_CONNECTED,		/* ws: events WebSocket is open */
	MAI_FLAG_EVENTS_RECEIVED,	/* ws: an event arrived since connect */
	MAI_FLAG_WS_AUTH_REJECTED,	/* ws: handshake answered 401 */
	MAI_FLAG_APP_REPLACED,		/* ws: another client took ARI_APP */
	MAI_FLAG_EVENT_FILTER,		/* ws: Asterisk took the event filter
					   (not a readiness condition) */
	MAI_FLAG_COUNT
};

struct mai_hello {
	uint32_t	pid;
	uint8_t		role;
	uint8_t		pad[3];
	char		version[16];
};

#define MAI_STR_MAX		256

/*
 * The lease a flow-worker renews on its edge every MAI_LEASE_INTERVAL_MS
 * (flow-worker/lease.c); MAI_ADOPT_AFTER_MS spans at least four renewals.
 */
#define MAI_LEASE_INTERVAL_MS	500
#define MAI_ADOPT_AFTER_MIN_MS	(4 * MAI_LEASE_INTERVAL_MS)

/*
 * Everything a worker needs to run.  Sent once after HELLO and again after
 * a reload; the password travels only this way, never in argv or environ.
 */
struct mai_config {
	char		ari_host[MAI_STR_MAX];
	char		ari_user[MAI_STR_MAX];
	char		ari_password[MAI_STR_MAX];
	char		ari_app[64];
	uint16_t	ari_port;
	uint8_t		ari_tls;
	uint8_t		log_level;
	uint8_t		log_json;
	uint8_t		drop_user;	/* 1: switch to uid/gid below */
	uint8_t		ari_event_filter; /* 1: ask ARI for mai's events only */
	uint8_t		pad[1];
	uint32_t	uid;
	uint32_t	gid;
	uint32_t	ping_interval_ms;
	uint32_t	ping_timeout_ms;
	uint32_t	probe_interval_ms;
	uint32_t	probe_timeout_ms;
	uint32_t	heartbeat_interval_ms;	/* 0: no heartbeats */
	uint32_t	adopt_after_ms;	/* 0: adopt no lost instance's calls */
	char		flows_file[MAI_STR_MAX];	/* call flows (JSON) */
	char		bot_media[MAI_STR_MAX];		/* HOST:PORT or "" */
	char		bot_format[16];			/* e.g. ulaw, slin16 */
	char		bot_transport[16];		/* udp or websocket */
	char		bot_control[MAI_STR_MAX];	/* the bot's control
							   URL, or "" */
	uint32_t	http_header_timeout_ms;	/* health port: request deadline */
	uint32_t	http_max_conns;		/* health port: open connections */
};

/*
 * The instance's readiness (what /readyz answers), sent to the flow-worker
 * when it changes and after CONFIG: an instance that is not ready claims
 * no broadcast call (flow-worker/claim.c, docs/scaling.md).
 */
struct mai_ready {
	uint8_t		ready;		/* 0 or 1 */
	uint8_t		pad[7];
};

struct mai_flag_report {
	uint8_t		flag;		/* enum mai_flag */
	uint8_t		value;		/* 0 or 1 */
	uint8_t		pad[6];
};

/*
 * A worker's answer to PING, written from its own event loop: a loop that
 * is stuck cannot answer, which is the point.  The flow-worker also says
 * how long its oldest ARI request has waited for Asterisk's answer, so
 * that the supervisor sees progress, not only liveness.
 */
struct mai_pong {
	uint64_t	ari_oldest_ms;	/* flow: oldest unanswered ARI request's
					   age, 0 if none; other roles 0 */
};

/* Counters a worker owns, reported when they change (rate-limited). */
struct mai_counters {
	uint64_t	v[8];
};
#define MAI_CNT_WS_FRAMES_REFUSED	0	/* ws: oversized WS frames */
#define MAI_CNT_WS_RECONNECTS		1	/* ws: reconnect attempts */
#define MAI_CNT_WS_EVENTS_IN		2	/* ws: events read from ARI */
#define MAI_CNT_WS_MALFORMED		3	/* ws: frames that were not JSON */
#define MAI_CNT_WS_RELAY_DROPPED	4	/* ws: supervisor too slow, dropped */
#define MAI_CNT_FLOW_EVENTS		0	/* flow: events handled */
#define MAI_CNT_FLOW_CALLS_STARTED	1	/* flow: StasisStart taken */
#define MAI_CNT_FLOW_CALLS_ACTIVE	2	/* flow: calls now (a gauge) */
#define MAI_CNT_FLOW_CALLS_ENDED	3
#define MAI_CNT_FLOW_ARI_ERRORS		4	/* ARI requests that failed */
#define MAI_CNT_FLOW_WEBHOOK_ERRORS	5
#define MAI_CNT_FLOW_RELOAD_FAILS	6	/* broken flow files refused */
#define MAI_CNT_FLOW_RESUMED		7	/* calls taken over after a crash */

/*
 * Latencies the flow-worker measures, each a histogram with fixed upper
 * bounds (MAI_LATENCY_BOUNDS_US; the last bucket is +Inf) and the largest
 * sample.  Counts are cumulative over the flow-worker's life.
 */
#define MAI_LATENCY_BUCKETS	14
#define MAI_LATENCY_BOUNDS_US	{ 50, 100, 200, 300, 500, 750, 1000, 2000, \
				  5000, 10000, 50000, 100000, 1000000 }
struct mai_latency {
	uint64_t	bucket[MAI_LATENCY_BUCKETS];	/* not cumulative */
	uint64_t	count;
	uint64_t	sum_ns;
	uint64_t	max_ns;
};

enum mai_lat {
	MAI_LAT_RELAY = 0,	/* ws-worker read -> flow-worker received */
	MAI_LAT_ANSWER,		/* StasisStart received -> answer request
				   written to the socket */
	MAI_LAT_COUNT
};

enum mai_worker_state {
	MAI_WSTATE_DOWN = 0,	/* not running, restart pending */
	MAI_WSTATE_STARTING,	/* forked, no HELLO yet */
	MAI_WSTATE_RUNNING,	/* said HELLO */
	MAI_WSTATE_STOPPING	/* sent SIGTERM */
};

struct mai_worker_status {
	int32_t		pid;
	uint8_t		state;		/* enum mai_worker_state */
	uint8_t		crashloop;	/* restarted fast too often */
	uint8_t		hung;		/* missed its heartbeat deadline; until
					   its successor says hello */
	uint8_t		stalled;	/* flow: progress bound exceeded */
	uint32_t	restarts;
	uint32_t	backoff_ms;
	int32_t		last_exit;	/* exit code, or -signal */
	uint64_t	frames_refused;	/* malformed/oversized from it */
	uint64_t	heartbeats_missed;	/* PINGs not answered by the next */
	uint64_t	hung_kills;	/* SIGKILLed for a missed deadline */
	uint64_t	counters[8];	/* its last struct mai_counters */
};

/* What the health-worker needs to answer /readyz and /metrics. */
struct mai_snapshot {
	uint8_t			flags[MAI_FLAG_COUNT];
	uint8_t			pad[1];
	uint32_t		generation;	/* bumps on every change */
	uint64_t		events_relayed;	/* ws -> supervisor accepted */
	uint64_t		events_acked;	/* handled by a flow-worker */
	uint64_t		events_dropped;	/* queue bound hit */
	uint64_t		events_queued;	/* held now */
	uint64_t		events_queued_bytes;
	uint64_t		events_replayed;
	uint64_t		started_at;	/* supervisor start, unix s */
	uint64_t		ari_oldest_ms;	/* the flow-worker's last PONG */
	uint64_t		event_oldest_ms; /* oldest unacked event's age */
	uint32_t		progress_max_ms; /* MAI_PROGRESS_MAX_MS, 0 off */
	uint32_t		pad2;
	struct mai_latency	latency[MAI_LAT_COUNT];	/* the flow-worker's */
	struct mai_worker_status workers[MAI_ROLE_COUNT];
};

/* frame.c */
ssize_t		 frame_send(int, uint8_t, uint64_t, const void *, size_t);
ssize_t		 frame_send_fd(int, uint8_t, const void *, size_t, int);
ssize_t		 frame_send_event(int, uint64_t, uint64_t, const void *, size_t);
ssize_t		 frame_send_stream(int, uint8_t, uint64_t, uint64_t,
		    const void *, size_t);
uint64_t	 frame_now_ns(void);
ssize_t		 frame_recv(int, struct mai_frame_hdr *, void *, size_t,
		    int *);
const char	*frame_error(ssize_t);

#define FRAME_ECLOSED	(-1)	/* peer closed */
#define FRAME_EAGAIN	(-2)	/* nothing to read / write now */
#define FRAME_EIO	(-3)	/* socket error, errno set */
#define FRAME_ETOOBIG	(-4)	/* over MAI_FRAME_MAX */
#define FRAME_ESHORT	(-5)	/* shorter than a header */
#define FRAME_EVERSION	(-6)	/* wrong version or reserved bits */
#define FRAME_ELEN	(-7)	/* header length disagrees with size */

/* ready.c */
bool		 snapshot_ready(const struct mai_snapshot *);

/* role.c */
const char	*role_name(enum mai_role);
int		 role_from_name(const char *);
const char	*flag_name(enum mai_flag);
enum mai_role	 flag_owner(enum mai_flag);
const char	*msg_name(uint8_t);
bool		 msg_payload_ok(uint8_t, size_t);

#endif /* MAI_IPC_H */
