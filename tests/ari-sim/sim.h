/*
 * mai-ari-sim: a protocol-faithful, fault-injecting simulator of the
 * Asterisk 22 REST Interface (ARI), for the tests of mai.
 *
 * One single-threaded lws event loop serves the ARI port (HTTP + the
 * /ari/events WebSocket + the /_sim/ control endpoints) and, optionally,
 * a control-only port.  All state lives in the global "sim".
 */

#ifndef SIM_H
#define SIM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#define SIM_ASTERISK_ID		"02:fc:00:00:00:01"
#define SIM_SERVER_HDR		"Asterisk/22.10.1+dfsg+~cs6.17.60671434-1"
#define SIM_AUTH_REALM		"Basic realm=\"Asterisk REST Interface\""

#define SIM_MAX_APPS		8	/* apps one WebSocket may subscribe */
#define SIM_APP_LEN		128	/* longest app name + NUL */
#define SIM_PATH_LEN		512
#define SIM_QBUF_LEN		4096	/* all query args of one request */
#define SIM_MAX_ARGS		32
#define SIM_BODY_MAX		(16u << 20)	/* POST body limit */
#define SIM_TS_LEN		40

/*
 * Call simulation bounds.  A request that would pass one is refused (ARI
 * answers 500/409 where Asterisk would run out of something; /_sim/
 * answers 400), so memory stays bounded whatever a test does.
 */
#define SIM_MAX_CHANNELS	100000	/* alive at once, every kind */
#define SIM_MAX_BRIDGES		10000
#define SIM_BRIDGE_MAX_CHANNELS	256	/* members of one bridge */
#define SIM_MAX_PLAYBACKS	100000	/* queued + playing, all channels */
#define SIM_PLAY_MAX_MEDIA	16	/* media URIs of one playback */
#define SIM_MAX_RECORDINGS	10000	/* live recordings */
#define SIM_CHAN_MAX_VARS	64	/* variables of one channel */
#define SIM_DTMF_MAX		64	/* digits waiting on one channel */
#define SIM_ID_LEN		150	/* AST_MAX_PUBLIC_UNIQUEID + NUL; also
					   playback ids, recording names */
#define SIM_NAME_LEN		160	/* channel and bridge names */
#define SIM_DP_LEN		80	/* AST_MAX_CONTEXT, AST_MAX_EXTENSION */
#define SIM_CID_LEN		80	/* caller id name or number */
#define SIM_ARGS_LEN		256	/* Stasis() args, comma separated */
#define SIM_MEDIA_LEN		256	/* one media URI */
#define SIM_VAR_NAME_LEN	80
#define SIM_VAR_VALUE_LEN	1024
#define SIM_REC_FMT_LEN		16
#define SIM_LAT_SAMPLES_MAX	1000000	/* answer latencies kept (4 MB) */
#define SIM_REQLOG_MAX		1024	/* answered requests in /_sim/requests */
#define SIM_PATH_SEGS		4	/* /ari/RES/a/b/c/d at most */
#define SIM_TIMERS_MAX		(2 * SIM_MAX_CHANNELS + SIM_MAX_PLAYBACKS + \
				    SIM_MAX_RECORDINGS + 2)	/* +pace */

/* Fault switches, flipped through /_sim/. */
struct sim_faults {
	int	auth_reject;	/* every credential is wrong */
	int	notbooted;	/* every /ari/ request answers 503 */
	int	halfopen;	/* WebSockets neither read nor write */
	int	refuse;		/* ARI requests get the connection closed */
	int	nofilter;	/* eventFilter refused with nofilter_status */
	int	nofilter_status;	/* 404 (an Asterisk before 16.3)… */
};

struct sim_stats {
	uint64_t	ws_connections_total;
	uint64_t	ws_connected;
	uint64_t	ws_auth_failures;
	uint64_t	http_auth_failures;
	uint64_t	info_requests;
	uint64_t	ping_requests;
	uint64_t	user_events;
	uint64_t	events_sent;
	uint64_t	events_filtered;	/* held back by an eventFilter */
};

/* A growable string for JSON answers and events. */
struct sim_buf {
	char		*p;
	size_t		 len;
	size_t		 cap;
	int		 err;	/* an allocation failed: drop the text */
};

/* Entry of an id-keyed hash table; embedded in the object it names. */
struct sim_hent {
	struct sim_hent	*next;
	const char	*key;
};

struct sim_tab {
	struct sim_hent	**b;
	size_t		  nb;	/* buckets, a power of two */
	size_t		  n;	/* entries */
};

/* One-shot timer on the simulator's heap, driven by a single lws_sul. */
struct sim_timer {
	uint64_t	 due;	/* CLOCK_MONOTONIC, microseconds */
	size_t		 slot;	/* heap index + 1; 0 when idle */
	void		(*fn)(struct sim_timer *);
};

struct sim_var {
	char		 name[SIM_VAR_NAME_LEN];
	char		*value;
};

enum sim_chan_state {
	SIM_CS_DOWN,
	SIM_CS_RING,
	SIM_CS_UP
};

/* What a channel's life timer does when it fires. */
enum sim_chan_next {
	SIM_NEXT_NONE,
	SIM_NEXT_STASIS,	/* originate answered: enter Stasis */
	SIM_NEXT_FAIL,		/* originate failed: destroy with fail_cause */
	SIM_NEXT_DESTROY,	/* dialplan after continue: hang up */
	SIM_NEXT_HANGUP		/* hangup requested: the rest of it */
};

struct sim_op;
struct sim_bridge;

struct sim_chan {
	struct sim_hent		 h;		/* calls.chans, key id */
	TAILQ_ENTRY(sim_chan)	 all;		/* calls.chan_list */
	TAILQ_ENTRY(sim_chan)	 member;	/* bridge->chans */
	struct sim_bridge	*bridge;
	struct sim_chan		*peer;		/* other half of a Local pair */
	TAILQ_HEAD(, sim_op)	 ops;		/* media; the head runs */
	uint64_t		 seq;		/* the %08x of its name */
	char			 id[SIM_ID_LEN];
	char			 name[SIM_NAME_LEN];
	enum sim_chan_state	 state;
	int			 in_stasis;
	int			 subscribed;	/* app gets its events */
	int			 is_call;	/* made by /_sim/call(s) */
	int			 latency_taken;
	char			 app[SIM_APP_LEN];
	char			 args[SIM_ARGS_LEN];
	char			 context[SIM_DP_LEN];
	char			 exten[SIM_DP_LEN];
	int			 priority;
	int			 dp_stasis;	/* dialplan app is Stasis */
	char			 cid_num[SIM_CID_LEN];
	char			 cid_name[SIM_CID_LEN];
	char			 created[SIM_TS_LEN];
	struct sim_var		*vars;
	int			 nvars;
	uint64_t		 stasis_written;	/* us; 0: not yet */
	struct sim_timer	 life;
	enum sim_chan_next	 next;
	int			 fail_cause;
	struct sim_timer	 dtmf_timer;
	char			 dtmf[SIM_DTMF_MAX + 1];
	int			 dtmf_gap_ms;
	int			 dtmf_duration_ms;
};

struct sim_bridge {
	struct sim_hent		 h;		/* calls.bridges, key id */
	TAILQ_ENTRY(sim_bridge)	 all;
	TAILQ_HEAD(, sim_chan)	 chans;
	int			 nchans;
	char			 id[SIM_ID_LEN];
	char			 name[SIM_NAME_LEN];
	char			 type[16];	/* bridge_type */
	char			 created[SIM_TS_LEN];
};

/*
 * Playbacks and recordings are commands on their channel's queue, as in
 * Asterisk's stasis control: one runs, the others wait their turn.
 */
enum sim_op_kind {
	SIM_OP_PLAYBACK,
	SIM_OP_RECORDING
};

struct sim_op {
	TAILQ_ENTRY(sim_op)	 q;
	enum sim_op_kind	 kind;
	struct sim_chan		*chan;
	struct sim_timer	 timer;
	int			 running;
	int			 canceled;	/* stopped while queued */
};

struct sim_playback {
	struct sim_op		 op;		/* first: ops cast to it */
	struct sim_hent		 h;		/* calls.playbacks, key id */
	char			 id[SIM_ID_LEN];
	char			*media[SIM_PLAY_MAX_MEDIA];
	int			 nmedia;
	int			 idx;		/* media playing */
	char			 lang[16];
	char			 target[SIM_ID_LEN + 16];
};

struct sim_recording {
	struct sim_op		 op;		/* first: ops cast to it */
	struct sim_hent		 h;		/* calls.recordings, key name */
	char			 name[SIM_ID_LEN];
	char			 format[SIM_REC_FMT_LEN];
	char			 target[SIM_ID_LEN + 16];
	long long		 max_duration_s;
	long long		 max_silence_s;
	char			 terminate_on;	/* 0 none, 'A' any, '#', '*' */
	uint64_t		 started;	/* us */
};

/* ARI requests counted in /_sim/stats, by what they ask for. */
enum sim_rest_kind {
	SIM_REST_ANSWER,
	SIM_REST_PLAY,
	SIM_REST_STOP_PLAYBACK,
	SIM_REST_RECORD,
	SIM_REST_VARIABLE_SET,
	SIM_REST_VARIABLE_GET,
	SIM_REST_HANGUP,
	SIM_REST_CONTINUE,
	SIM_REST_ORIGINATE,
	SIM_REST_EXTERNAL_MEDIA,
	SIM_REST_BRIDGE_CREATE,
	SIM_REST_BRIDGE_ADD,
	SIM_REST_BRIDGE_DESTROY,
	SIM_REST_OTHER,
	SIM_REST_KINDS
};

/* Durations of simulated media, set by /_sim/media. */
struct sim_media_conf {
	long long	playback_ms;	/* per media URI */
	long long	recording_ms;	/* before maxDurationSeconds */
	long long	answer_delay_ms;	/* originate -> StasisStart */
	long long	continue_ms;	/* continue -> dialplan hangs up */
	long long	xmedia_stasis_ms; /* externalMedia answer -> StasisStart */
	long long	hold_behind_playback;	/* 1: sim_hold.c */
	long long	hold_play;	/* 1: plays wait for /_sim/play_release */
};

/* /_sim/calls?rate=R: calls still to start, R per second. */
struct sim_pace {
	struct sim_timer	 timer;
	char			 v[6][SIM_ARGS_LEN];	/* call_params() */
	long long		 rate;
	long long		 total;
	long long		 started;
	uint64_t		 t0;		/* sim_now_us() of the first */
};

struct sim_calls {
	struct sim_pace		 pace;
	struct sim_tab		 chans;
	struct sim_tab		 bridges;
	struct sim_tab		 playbacks;
	struct sim_tab		 recordings;
	TAILQ_HEAD(, sim_chan)	 chan_list;
	TAILQ_HEAD(, sim_bridge) bridge_list;
	size_t			 nchans;
	size_t			 nbridges;
	size_t			 nplaybacks;
	size_t			 nrecordings;
	uint64_t		 chan_seq;	/* ids and names */
	uint64_t		 uuid_seq;
	long long		 boot;		/* id prefix, like Asterisk's */
	int			 rtp_port;	/* next UNICASTRTP port */
	struct sim_media_conf	 media;
	uint64_t		 calls_started;
	uint64_t		 calls_ended;
	uint64_t		 rest[SIM_REST_KINDS];
	uint32_t		*lat;		/* answer latency samples, us */
	size_t			 nlat;
	uint64_t		 lat_dropped;
	struct sim_buf		 ev;		/* event scratch */
};

struct sim_conf {
	int		 port;
	int		 ctl_port;	/* 0: control only on the ARI port */
	const char	*user;
	const char	*pass;
	const char	*info_file;
	int		 quiet;
};

/*
 * One item of a WebSocket's output queue.  A burst is kept as a range of
 * sequence numbers and rendered one frame at a time when the socket is
 * writable, so 100000 queued events cost a few bytes, not 100 MB.
 */
enum sim_msg_kind {
	SIM_MSG_FRAME,
	SIM_MSG_BURST
};

struct sim_msg {
	struct sim_msg		*next;
	enum sim_msg_kind	 kind;
	unsigned char		*buf;		/* frame: LWS_PRE + len */
	size_t			 len;
	int			 binary;	/* frame: opcode binary, not text */
	char			*stamp;		/* StasisStart of this channel */
	uint64_t		 seq_next;	/* burst: next sim_seq */
	uint64_t		 seq_last;	/* burst: last sim_seq */
	size_t			 size;		/* burst: bytes per event */
};

/* A live /ari/events WebSocket. */
struct sim_session {
	struct sim_session	*next;		/* sim.sessions */
	struct lws		*wsi;
	char			 apps[SIM_MAX_APPS][SIM_APP_LEN];
	int			 napps;
	int			 subscribe_all;
	struct sim_msg		*head;
	struct sim_msg		*tail;
	unsigned char		*scratch;	/* burst rendering */
	size_t			 scratch_cap;
	int			 linked;
};

/*
 * Registered Stasis application.  owner is the WebSocket receiving its
 * events; NULL after /_sim/replaced (a phantom client holds it).
 */
struct sim_app {
	struct sim_app		*next;
	char			 name[SIM_APP_LEN];
	struct sim_session	*owner;
	void			*allowed;	/* json-c arrays of eventFilter, */
	void			*disallowed;	/* or NULL (sim_filter.c) */
};

/* One HTTP transaction, parsed while the headers are still there. */
struct sim_req {
	int		 method;	/* LWSHUMETH_* */
	char		 path[SIM_PATH_LEN];
	char		 qbuf[SIM_QBUF_LEN];
	char		*args[SIM_MAX_ARGS];	/* "name=value", decoded */
	int		 nargs;
	int		 authed;
	int		 ctl_only;	/* arrived on the control port */
	int		 json_body;	/* Content-Type says JSON */
	int		 released;	/* was held (sim_hold.c), goes now */
	char		*body;
	size_t		 body_len;
	size_t		 body_cap;
	int		 body_too_big;
	char		*bargs;		/* body parameters, "name=value" */
	void		*variables;	/* json-c object of "variables" */
};

/* lws per-connection storage: HTTP and WebSocket share one protocol. */
struct sim_pss {
	struct sim_req		req;
	struct sim_session	sess;
};

struct sim {
	struct sim_conf		 conf;
	struct sim_faults	 faults;
	struct sim_stats	 stats;
	struct lws_context	*ctx;
	struct lws_vhost	*ari_vh;
	struct lws_vhost	*ctl_vh;
	struct sim_session	*sessions;
	struct sim_app		*apps;
	uint64_t		 seq;		/* last sim_seq handed out */
	char			*info;
	size_t			 info_len;
	struct sim_calls	 calls;
};

extern struct sim sim;

/* sim_chan_hangup() flags */
#define SIM_HANGUP_REQUEST	0x1	/* ChannelHangupRequest first */
#define SIM_HANGUP_SOFT		0x2	/* ... with "soft": true (ARI's) */

/* sim_text.c */
void		 sim_log(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 sim_timestamp(char *, size_t);
size_t		 sim_json_escape(char *, size_t, const char *);

/* sim_req.c */
int		 sim_req_parse(struct lws *, struct sim_req *);
const char	*sim_arg(const struct sim_req *, const char *);
int		 sim_arg_num(const struct sim_req *, const char *, long long,
		    long long, long long, long long *);
int		 sim_arg_list(const struct sim_req *, const char *, char *,
		    size_t, const char **, int);
int		 sim_truthy(const char *);
int		 sim_path_split(const char *, char [][SIM_ID_LEN], int);
int		 sim_auth_check(struct lws *, const struct sim_req *);

/* sim_reply.c */
int		 sim_http_reply(struct lws *, unsigned int, const char *,
		    size_t, int);
int		 sim_http_msg(struct lws *, unsigned int, const char *);
int		 sim_http_reject(struct lws *, unsigned int, const char *);
int		 sim_http_done(struct lws *);
int		 sim_http_json(struct lws *, unsigned int,
		    const struct sim_buf *);
int		 sim_http_created(struct lws *, const struct sim_buf *,
		    const char *);

/* sim_json.c */
void		 sb_reset(struct sim_buf *);
void		 sb_free(struct sim_buf *);
void		 sb_truncate(struct sim_buf *, size_t);
void		 sb_printf(struct sim_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 sb_str(struct sim_buf *, const char *);
int		 sim_req_body_args(struct sim_req *);
void		 sim_req_body_free(struct sim_req *);
void		 sim_req_variables(const struct sim_req *,
		    void (*)(const char *, const char *, void *), void *);

/* sim_tab.c */
int		 sim_tab_init(struct sim_tab *, size_t);
void		 sim_tab_free(struct sim_tab *);
struct sim_hent	*sim_tab_find(const struct sim_tab *, const char *);
void		 sim_tab_add(struct sim_tab *, struct sim_hent *);
void		 sim_tab_del(struct sim_tab *, struct sim_hent *);

/* sim_timer.c */
uint64_t	 sim_now_us(void);
int		 sim_timer_init(void);
void		 sim_timer_free(void);
void		 sim_timer_arm(struct sim_timer *, uint64_t,
		    void (*)(struct sim_timer *));
void		 sim_timer_cancel(struct sim_timer *);

/* sim_chan.c */
const char	*sim_cause_txt(int);
struct sim_chan	*sim_chan_find(const char *);
struct sim_chan	*sim_chan_new(const char *, const char *, const char *);
void		 sim_chan_json(struct sim_buf *, const struct sim_chan *);
void		 sim_chan_vars_json(struct sim_buf *, const struct sim_chan *);
void		 sim_ev_type(struct sim_buf *, const char *);
void		 sim_ev_start(struct sim_buf *, const char *);
void		 sim_app_emit(const char *, struct sim_buf *, const char *);
void		 sim_chan_emit(const struct sim_chan *, struct sim_buf *);
void		 sim_chan_set_state(struct sim_chan *, enum sim_chan_state);
void		 sim_chan_stasis_start(struct sim_chan *);
void		 sim_chan_stasis_end(struct sim_chan *, int);
void		 sim_chan_stasis_written(const char *);
void		 sim_chan_hangup(struct sim_chan *, int, int);
void		 sim_chan_forget(struct sim_chan *);
const char	*sim_chan_var(const struct sim_chan *, const char *);
int		 sim_chan_var_set(struct sim_chan *, const char *,
		    const char *, int);
void		 sim_chan_dtmf_event(struct sim_chan *, char, int);

/* sim_chan_rest.c */
struct sim_chan	*sim_chan_control(struct lws *, const char *, int *);
int		 sim_chan_route(struct lws *, struct sim_req *,
		    char [][SIM_ID_LEN], int);

/* sim_originate.c */
void		 sim_chan_hangup_request(struct sim_chan *, int, int);
void		 sim_chan_life(struct sim_timer *);
int		 sim_chan_originate(struct lws *, struct sim_req *,
		    const char *);
int		 sim_chan_external_media(struct lws *, struct sim_req *);
int		 sim_ctl_answer(struct lws *, struct sim_req *);

/* sim_bridge.c */
struct sim_bridge *sim_bridge_find(const char *);
void		 sim_bridge_json(struct sim_buf *, const struct sim_bridge *);
void		 sim_bridge_enter(struct sim_bridge *, struct sim_chan *);
void		 sim_bridge_leave(struct sim_chan *, int);
void		 sim_bridge_forget(struct sim_bridge *);
int		 sim_bridge_route(struct lws *, struct sim_req *,
		    char [][SIM_ID_LEN], int);

/* sim_hold.c */
int		 sim_hold_maybe(struct lws *, const struct sim_req *);
void		 sim_hold_wake(const char *);
size_t		 sim_hold_release_plays(void);
int		 sim_hold_release(struct lws *);
void		 sim_hold_forget(struct lws *);
void		 sim_hold_stats(struct sim_buf *);
void		 sim_hold_reset(void);

/* sim_reqlog.c */
void		 sim_reqlog_status(unsigned int);
void		 sim_reqlog_begin(void);
void		 sim_reqlog_end(const struct sim_req *);
void		 sim_reqlog_reset(void);
int		 sim_ctl_requests(struct lws *, struct sim_req *);

/* sim_media.c */
struct sim_playback *sim_playback_find(const char *);
struct sim_recording *sim_recording_find(const char *);
void		 sim_playback_json(struct sim_buf *,
		    const struct sim_playback *, const char *);
void		 sim_recording_json(struct sim_buf *,
		    const struct sim_recording *, const char *, long long);
void		 sim_op_enqueue(struct sim_chan *, struct sim_op *);
void		 sim_playback_stop(struct sim_playback *);
void		 sim_recording_finish(struct sim_recording *, const char *);
void		 sim_media_dtmf(struct sim_chan *, char);
size_t		 sim_media_end_playbacks(void);
void		 sim_media_chan_gone(struct sim_chan *, int);
void		 sim_media_chan_forget(struct sim_chan *);

/* sim_media_rest.c */
int		 sim_media_play(struct lws *, struct sim_req *, const char *,
		    const char *);
int		 sim_media_record(struct lws *, struct sim_req *,
		    const char *);
int		 sim_media_route_playbacks(struct lws *, struct sim_req *,
		    char [][SIM_ID_LEN], int);
int		 sim_media_route_recordings(struct lws *, struct sim_req *,
		    char [][SIM_ID_LEN], int);

/* sim_calls.c */
int		 sim_calls_init(void);
void		 sim_calls_free(void);
void		 sim_rest_count(enum sim_rest_kind);
void		 sim_calls_answer_seen(struct sim_chan *);
void		 sim_calls_stats(struct sim_buf *);
void		 sim_calls_app_ids(struct sim_buf *, const char *);
int		 sim_ctl_call(struct lws *, struct sim_req *);
int		 sim_ctl_calls(struct lws *, struct sim_req *);
int		 sim_ctl_dtmf(struct lws *, struct sim_req *);
int		 sim_ctl_hangup(struct lws *, struct sim_req *);
int		 sim_ctl_media(struct lws *, struct sim_req *);
int		 sim_ctl_playbacks_end(struct lws *, struct sim_req *);
int		 sim_ctl_play_release(struct lws *, struct sim_req *);
int		 sim_ctl_reset_calls(struct lws *, struct sim_req *);

/* sim_http.c */
int		 sim_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

/* sim_ari.c */
int		 sim_ari_dispatch(struct lws *, struct sim_req *);
int		 sim_ws_confirm(struct lws *);
int		 sim_ws_filter(struct lws *, struct sim_session *);

/* sim_ctl.c */
int		 sim_ctl_dispatch(struct lws *, struct sim_req *);
int		 sim_ctl_ok(struct lws *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 sim_ctl_fail(struct lws *, unsigned int, const char *);

/* sim_ws.c */
void		 sim_ws_established(struct lws *, struct sim_session *);
void		 sim_ws_closed(struct sim_session *);
int		 sim_ws_writable(struct sim_session *);
int		 sim_ws_send(struct sim_session *, const char *, size_t);
int		 sim_ws_send_stamped(struct sim_session *, const char *,
		    size_t, const char *);
int		 sim_ws_broadcast(const char *, size_t);
int		 sim_ws_broadcast_binary(const char *, size_t);
int		 sim_ws_burst(uint64_t, uint64_t, size_t);
uint64_t	 sim_ws_burst_pending(void);
int		 sim_ws_drop_all(void);
void		 sim_ws_set_halfopen(int);
struct sim_app	*sim_app_find(const char *);
int		 sim_app_replaced(const char *);
int		 sim_app_release(const char *);
void		 sim_apps_free(void);

/* sim_filter.c */
int		 sim_filter_put(struct sim_app *, const struct sim_req *);
int		 sim_filter_allows(const struct sim_app *, const char *);
int		 sim_filter_allows_json(const struct sim_app *, const char *);
void		 sim_filter_json(struct sim_buf *, const struct sim_app *);
void		 sim_app_free(struct sim_app *);

#endif /* SIM_H */
