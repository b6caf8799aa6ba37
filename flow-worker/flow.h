/*
 * flow.h — the flow-worker's private declarations.
 *
 * The flow file as data (flowfile.c reads it, flowact.c parses actions,
 * flowcheck.c checks the graph), calls in a hash table (calls.c), ARI
 * requests in order per call (areq.c), the engine that walks states
 * (engine.c, actions.c, legs.c, webhook.c, vars.c), ARI events routed to
 * calls (ariev.c), and the restart takeover (reconcile.c finds the calls
 * of a worker that died, resume.c puts each back into its flow).
 * docs/flows.md describes the file format and the behaviour.
 */
#ifndef MAI_FLOW_H
#define MAI_FLOW_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "ipc.h"

struct ari_rest;
struct ari_result;

/*
 * Events handled per wakeup, then ack and yield to the loop: the loop is
 * where ARI's answers are read and the pool's connections freed, so a
 * long batch holds the answers of a burst's calls back (measured on
 * Asterisk 22 with bench/burst.sh: 512 left them waiting for connections
 * tens of ms; docs/performance.md).
 */
#define FLOW_FRAMES_PER_WAKEUP	16
#define FLOW_COUNTERS_MS	1000
#define FLOW_LATENCY_LOG_TICKS	10	/* counter ticks between logs */

/* Counter slots: MAI_CNT_FLOW_* in ipc.h, shared with the health-worker. */

/* Bounds of a flow file; each keeps one bad file from eating memory. */
#define FLOW_FILE_MAX		(1024 * 1024)	/* bytes */
#define FLOW_FLOWS_MAX		256
#define FLOW_STATES_MAX		256		/* per flow */
#define FLOW_ACTIONS_MAX	32		/* per state */
#define FLOW_MEDIA_MAX		16		/* URIs of one play */
#define FLOW_ROUTES_MAX		1024
#define FLOW_NAME_MAX		64		/* flow, state, variable */
#define FLOW_STR_MAX		256		/* any other string */
#define FLOW_ERR_MAX		512		/* one error line */

/*
 * A state's timeout_ms, and the default limit of a state that waits for
 * an event without one (flowcheck.c): this much beyond its own timers,
 * with a dial or bot this much more (a conversation).
 */
#define FLOW_STATE_TIMEOUT_MAX_MS	86400000	/* a day */
#define FLOW_STATE_LIMIT_MS		600000		/* 10 min */
#define FLOW_STATE_LIMIT_LEG_MS		14400000	/* 4 h */

/* Bounds of a call. */
#define FLOW_CALL_BUCKETS	4096	/* hash table; chains beyond */
#define FLOW_CALLS_MAX		20000	/* more get `continue` in dialplan */
#define FLOW_CHAN_ID_MAX	128	/* Asterisk's ids are ~20 bytes */
#define FLOW_OBJ_ID_MAX		(FLOW_CHAN_ID_MAX + 16)
#define FLOW_DIGITS_MAX		32	/* gather */
#define FLOW_VARS_MAX		16	/* variables a call keeps */
#define FLOW_VAR_VALUE_MAX	128
#define FLOW_TEXT_MAX		80	/* exten, caller number, name */
/*
 * State entries in a row without anything that waits (a playback, a
 * timer, the caller): the checker refuses such cycles in the file, this
 * catches those that only errors make (e.g. an error edge back).
 */
#define FLOW_HOPS_MAX		32

/* ARI request queue: beyond ari_rest's own bound, up to this many wait. */
#define FLOW_BACKLOG_MAX	(2 * FLOW_CALLS_MAX)
#define FLOW_ARI_TIMEOUT_MS	5000
#define FLOW_WEBHOOK_TIMEOUT_MS	3000	/* default of the action */

/*
 * The bot's control requests (botctl.c): each is open for a whole
 * conversation, on a connection of its own, so there is a bound on them
 * apart from ARI's; a bot call beyond it is an `error`.  With the action's
 * max_ms the request may take that long plus the slack (the bot finishes
 * its sentence); without, ARI_REST_TIMEOUT_MAX_MS.
 */
#define FLOW_BOT_CONTROL_MAX		1024
#define FLOW_BOT_CONTROL_SLACK_MS	10000
#define FLOW_BOT_RESULT_MAX		32	/* "bot:RESULT" events */
_Static_assert(FLOW_BOT_RESULT_MAX <= FLOW_DIGITS_MAX,
    "engine_target() builds EVENT:VALUE in a buffer sized for digits");

/* Restart reconciliation. */
#define FLOW_RECONCILE_HOLD_MS	5000	/* events wait at most this long */
#define FLOW_RECONCILE_RETRY_MS	500
#define FLOW_RECONCILE_BODY_MAX	ARI_REST_BODY_HUGE	/* GET /channels */

/*
 * Checks after a WebSocket gap (resync.c): at most RESYNC_INFLIGHT_MAX
 * GETs at once and RESYNC_PER_S a second, whatever the number of calls;
 * a call's check waits at most RESYNC_WAITS_MAX ticks for the request
 * that makes an object to be answered, or for Asterisk to answer at all.
 */
#define RESYNC_INFLIGHT_MAX	8
#define RESYNC_PER_S		400
#define RESYNC_TICK_MS		100
#define RESYNC_PER_TICK		(RESYNC_PER_S * RESYNC_TICK_MS / 1000)
#define RESYNC_WAITS_MAX	100	/* ticks: 10 s */
#define RESYNC_TIMEOUT_MS	5000

/*
 * The channel variable that says where a call is: "FLOW/STATE/SEQ", and
 * in a dial or bot state "/STEP/LEG[/BRIDGE]" once its leg exists (LEG,
 * BRIDGE: our ids without "mai-" and the caller's id, e.g. "d0a1b2c3d").
 */
#define FLOW_STATE_VAR		"MAI_STATE"
#define FLOW_RECORD_MAX		(2 * FLOW_NAME_MAX + 64)
/*
 * Broadcast calls (claim.c, docs/scaling.md).  The delay spreads calls
 * over the instances of one edge: at 500 us a call, an instance with 40
 * calls more than its peer claims 20 ms later, well past the ~1-5 ms a
 * claim takes on one edge, so the peer wins; the cap keeps the answer
 * within StasisBroadcast's timeout (the dialplan's, 2000 ms shipped).
 */
#define CLAIM_DELAY_PER_CALL_US	500
#define CLAIM_DELAY_MAX_MS	250
#define CLAIM_MAX_AGE_MS	2000	/* older broadcasts are decided */
#define CLAIM_PENDING_MAX	1024	/* claims waiting or in flight */
#define CLAIM_OWNER_VAR		"MAI_APP"	/* the owner's ARI_APP */
/*
 * Calls of a lost instance (lease.c, adopt.c, docs/scaling.md).  Every
 * flow-worker renews the global MAI_LEASE_<ARI_APP> every
 * MAI_LEASE_INTERVAL_MS (ipc.h); a peer whose lease stood still for
 * MAI_ADOPT_AFTER_MS is gone and its calls are moved to the adopter with
 * appArgs ADOPT_APP_ARGS.  A move waits for the channel's playback: one
 * not seen to start in ADOPT_MOVE_WAIT_MS is tried again.
 */
#define LEASE_VAR_PREFIX	"MAI_LEASE_"
#define LEASE_PEERS_MAX		256	/* applications on one edge */
#define ADOPT_APP_ARGS		"mai-adopt"
#define ADOPT_MOVES_MAX		4096	/* moves waiting for StasisStart */
#define ADOPT_MOVE_WAIT_MS	10000
#define ADOPT_RESCAN_MS		1000	/* GET /channels while one is gone */

/* Prefix of every id mai makes: legs, bridges, playbacks. */
#define FLOW_ID_PREFIX		"mai-"
/* Then kind and seq ("d0a1b2c3d"), '-' and the caller's id (calls.c). */
#define FLOW_OBJ_TAG_LEN	9

/* --- the flow file, as data ------------------------------------------ */

enum act_kind {
	ACT_ANSWER = 0,
	ACT_PLAY,
	ACT_STOP,
	ACT_WAIT,
	ACT_GATHER,
	ACT_RECORD,
	ACT_SETVAR,
	ACT_DIAL,
	ACT_BOT,
	ACT_WEBHOOK,
	ACT_CONTINUE,
	ACT_HANGUP,
	ACT_NKINDS
};

/* One action; which fields count depends on kind (docs/flows.md). */
struct act {
	enum act_kind	 kind;
	const char	*media[FLOW_MEDIA_MAX + 1];	/* play, gather prompt */
	unsigned int	 ms;		/* wait; timeout of gather, webhook,
					   dial ringing, bot leg */
	unsigned int	 inter_ms;	/* gather: between digits */
	unsigned int	 max_digits;	/* gather */
	unsigned int	 max_duration_s;	/* record */
	unsigned int	 max_silence_s;	/* record */
	int		 num;		/* hangup cause; continue priority */
	char		 terminator;	/* gather, record; 0: none */
	uint8_t		 async;		/* play: go on at once */
	uint8_t		 beep;		/* record */
	const char	*var;		/* gather, record, setvar: variable */
	const char	*value;		/* setvar value; record name */
	const char	*format;	/* record, bot */
	const char	*target;	/* dial endpoint, bot host, url */
	const char	*transport;	/* bot */
	const char	*control;	/* bot: control URL */
	const char	*context;	/* continue */
	const char	*exten;		/* continue */
	const char	*caller_id;	/* dial */
};

enum cond_kind {
	COND_ALWAYS = 0,
	COND_BOT_MEDIA,		/* conf.bot_media is set */
	COND_VAR_SET,		/* var:NAME — not empty */
	COND_VAR_EQ		/* var:NAME=VALUE */
};

/* One guarded target of a transition; the first that holds wins. */
struct branch {
	enum cond_kind	 cond;
	char		 var[FLOW_NAME_MAX];
	const char	*value;
	const char	*to_name;
	int		 to;		/* state index */
};

struct trans {
	const char	*event;		/* "done", "dtmf:1", "digits", ... */
	struct branch	*br;
	size_t		 nbr;
};

struct state {
	const char	*name;
	struct act	*acts;
	size_t		 nacts;
	struct trans	*on;
	size_t		 non;
	unsigned int	 timeout_ms;	/* 0: none */
	uint8_t		 waits;		/* some action waits for something */
	uint8_t		 terminal;	/* ends with hangup or continue */
};

struct flowdef {
	const char	*name;
	struct state	*states;
	size_t		 nstates;
	int		 initial;
	int		 fallback;	/* state, or -1: hang up */
};

struct route {
	const char	*exten;
	int		 flow;
};

/*
 * A loaded file.  Strings point into `root`, kept for that.  Calls hold a
 * reference, so a reload never pulls a flow from under a running call.
 */
struct flowset {
	unsigned int	 refs;
	struct json_object *root;
	struct flowdef	*flows;
	size_t		 nflows;
	struct route	*routes;
	size_t		 nroutes;
	int		 dflt;		/* flow of the default route, or -1 */
	size_t		 nstates;	/* all flows, for the log */
};

/* Where a parse or check error is: "FILE: flow F state S: what". */
struct fparse {
	const char	*file;
	const char	*flow;
	const char	*state;
	char		 err[FLOW_ERR_MAX];
};

/* --- calls ------------------------------------------------------------ */

enum call_phase {
	CALL_RESUMING = 0,	/* found after a restart, being read back */
	CALL_RUNNING,
	CALL_LEAVING,		/* continue or hangup sent; StasisEnd next */
	CALL_DEAD		/* ended; freed from the loop */
};

struct call_var {
	char		name[FLOW_NAME_MAX];
	char		value[FLOW_VAR_VALUE_MAX];
};

/* What the current action holds in Asterisk: left behind on a change. */
struct act_rt {
	char		 playback[FLOW_OBJ_ID_MAX];	/* "" none */
	char		 recording[FLOW_OBJ_ID_MAX];
	char		 leg[FLOW_OBJ_ID_MAX];		/* dial/bot channel */
	char		 other[FLOW_OBJ_ID_MAX];	/* Local ;2 half */
	char		 bridge[FLOW_OBJ_ID_MAX];
	char		 digits[FLOW_DIGITS_MAX + 1];
	size_t		 ndigits;
	uint8_t		 leg_up;	/* dial answered / bot leg created */
	uint8_t		 leg_in;	/* bot leg's StasisStart came */
	uint8_t		 prompt;	/* gather: prompt still playing */
	uint8_t		 bg;		/* playback is an async play's */
	uint8_t		 playing;	/* Asterisk answered its POST */
	uint8_t		 soon_set;	/* ev_act finishes with `soon` */
	const char	*soon;
};

struct areq;
TAILQ_HEAD(areq_list, areq);

struct flow;
struct found_call;
struct resync;
struct hungup;

/*
 * Where a call's StasisStart was on its way to the answer (latency.c's
 * "call first request answered" line): Asterisk made it (its "timestamp", wall clock),
 * the ws-worker read it, this process received it (CLOCK_MONOTONIC ns).
 */
struct call_trace {
	int64_t			 ast_us;	/* 0: no timestamp */
	uint64_t		 read_ns;	/* 0: not stamped */
	uint64_t		 rx_ns;
};

struct call {
	LIST_ENTRY(call)	 hash;
	TAILQ_ENTRY(call)	 dead;
	struct flow		*f;
	struct flowset		*fs;		/* a reference */
	const struct flowdef	*flow;
	int			 state;		/* -1: none yet */
	size_t			 step;		/* action running */
	uint32_t		 gen;		/* bumps on every action start */
	uint32_t		 idseq;		/* ids of our objects */
	uint32_t		 seq;		/* idseq at state entry: the
						   SEQ of MAI_STATE */
	unsigned int		 hops;
	enum call_phase		 phase;
	struct found_call	*found;		/* CALL_RESUMING: what
						   reconcile.c found, till
						   decided */
	uint8_t			 idle;		/* actions done, no `done` */
	struct act_rt		 rt;
	struct event		*ev_act;	/* the action's timer */
	struct event		*ev_state;	/* the state's timeout */
	struct areq_list	 reqs;		/* ARI, in order (areq.c) */
	struct areq		*http;		/* webhook or bot control
						   request in flight, not in
						   reqs */
	struct call_var		*vars;
	size_t			 nvars;
	char			 id[FLOW_CHAN_ID_MAX];
	char			 exten[FLOW_TEXT_MAX];
	char			 caller_num[FLOW_TEXT_MAX];
	char			 caller_name[FLOW_TEXT_MAX];
	char			 ev_name[FLOW_NAME_MAX];	/* why we are here */
	char			 ev_value[FLOW_DIGITS_MAX + 1];
	uint64_t		 stasis_ns;	/* its StasisStart was read
						   (latency.c); 0 once its
						   first request is queued */
	struct call_trace	 trace;		/* its StasisStart's way */
};

LIST_HEAD(call_bucket, call);
TAILQ_HEAD(call_list, call);

/*
 * What a restarted worker found in Asterisk (reconcile.c), kept per
 * caller in Stasis until it is decided: its MAI_STATE once read, its
 * legs alive, its bridges with who is in them.
 */
struct found_leg {
	TAILQ_ENTRY(found_leg)	 entry;
	char			 id[FLOW_OBJ_ID_MAX];
	uint8_t			 in_stasis;	/* dialled: answered */
};

struct found_bridge {
	TAILQ_ENTRY(found_bridge) entry;
	char			 id[FLOW_OBJ_ID_MAX];
	char			(*chans)[FLOW_OBJ_ID_MAX];	/* in it */
	size_t			 nchans;
};

/* One caller. */
struct found_call {
	TAILQ_ENTRY(found_call)	 entry;
	struct call		*c;
	char			 where[FLOW_RECORD_MAX];	/* MAI_STATE */
	uint8_t			 where_in;	/* read; "" if it had none */
	TAILQ_HEAD(, found_leg)	 legs;		/* in the order found */
	TAILQ_HEAD(, found_bridge) bridges;
};

/* One reconciliation, from start until every caller is decided. */
struct reconcile {
	struct event		*ev_timer;	/* retry, then deadline; NULL:
						   events flow */
	uint64_t		 deadline_ns;
	uint8_t			 again;		/* a gap ended meanwhile: list
						   once more when done */
	uint8_t			 listed;	/* the channels are sorted */
	uint8_t			 bridges_in;	/* GET /bridges answered */
	TAILQ_HEAD(, found_call) calls;		/* undecided, listing order */
	size_t			 adopted;	/* for the log */
	size_t			 legs_gone;
	size_t			 bridges_gone;
	struct json_object	*listing;	/* GET /channels, kept for: */
	const char		**foreign;	/* callers alive outside our
						   app, sorted (foreign.c) */
	size_t			 nforeign;
};

/*
 * A leg MAI_STATE names (resume.c reads it) and what the caller found of
 * it (reconcile.c): the call is adopted there, or goes on with its end.
 */
struct resume_plan {
	const struct flowdef	*fd;
	int			 state;
	const struct act	*act;		/* its dial or bot */
	size_t			 step;
	uint32_t		 seq;
	char			 leg[FLOW_OBJ_ID_MAX];
	char			 bridge[FLOW_OBJ_ID_MAX];	/* "" none */
	uint8_t			 alive;		/* the leg is still there */
	uint8_t			 up;		/* in Stasis: answered */
	uint8_t			 bridged;	/* bridge holds both */
};

/* --- the process -------------------------------------------------------- */

struct flow {
	struct event_base	*base;
	struct mai_config	 conf;
	struct event		*ev_ipc;
	struct event		*ev_counters;
	struct mai_counters	 counters;
	struct mai_counters	 reported;
	struct mai_latency	 lat[MAI_LAT_COUNT];	/* relay: ws-worker
						   read -> here; answer:
						   StasisStart here -> its
						   answer written (areq.c) */
	uint64_t		 lat_reported;	/* both counts, last sent */
	struct json_tokener	*tok;
	uint64_t		 last_seq;	/* highest event handled */
	uint64_t		 acked_seq;	/* highest ack sent */
	uint64_t		 ev_read_ns;	/* the event in hand: when the
						   ws-worker read it */

	struct ari_rest		*rest;
	struct ari_rest		*botctl;	/* bot control requests */
	struct flowset		*fs;		/* NULL: no flows loaded */
	struct call_bucket	 calls[FLOW_CALL_BUCKETS];
	size_t			 ncalls;
	struct call_list	 dead;		/* freed from ev_reap */
	struct event		*ev_reap;
	struct areq_list	 backlog;	/* waiting for ari_rest room */
	struct areq_list	 backlog_first;	/* the same, a call's first
						   request (answer): first */
	size_t			 nbacklog;	/* both lists */
	struct areq_list	 unanswered;	/* ARI requests issued (in
						   flight or in the backlog)
						   and not answered, oldest
						   first: the progress age */
	struct event		*ev_alive;	/* unasked PONGs while held */
	uint64_t		 answer_lat_logged;	/* count last logged */
	unsigned int		 answer_lat_ticks;
	uint8_t			 holding;	/* events wait for reconcile */
	uint8_t			 flows_seen;	/* a flow file came (or not) */
	struct reconcile	*reconcile;	/* NULL: none under way */
	struct claims		*claims;	/* claim.c */
	struct resync		*resync;	/* after a gap; NULL: none yet */
	struct hungup		*hungup;	/* hungup.c; NULL: none yet */
	struct lease		*lease;		/* lease.c */
	struct adopt		*adopt;		/* adopt.c */
};

/* flowfile.c */
struct flowset	*flowset_parse(const char *, const char *, size_t, char *,
		    size_t);
struct flowset	*flowset_load(const char *, char *, size_t);
void		 flowset_unref(struct flowset *);
int		 flowset_route(const struct flowset *, const char *,
		    const char *);
int		 flowdef_state(const struct flowdef *, const char *);
int		 flowset_flow(const struct flowset *, const char *);

/* flowjson.c */
void		 fparse_err(struct fparse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
int		 fparse_keys(struct fparse *, struct json_object *,
		    const char *, const char *const *);
struct json_object *flowjson_parse(struct fparse *, const char *, size_t);
int		 flowjson_read(struct fparse *, char *, size_t *);

/* flowact.c */
int		 flowact_parse(struct fparse *, struct json_object *,
		    struct act *);
const char	*act_name(enum act_kind);
int		 act_waits(const struct act *);
int		 act_terminal(const struct act *);
size_t		 act_ids(const struct act *);

/* flowcheck.c */
int		 flowcheck_event(const char *);
int		 flowcheck_flow(struct fparse *, struct flowdef *);

/* calls.c */
uint32_t	 call_id_hash(const char *);
void		 calls_init(struct flow *);
struct call	*call_find(struct flow *, const char *);
struct call	*call_new(struct flow *, const char *);
void		 call_end(struct call *, const char *);
void		 calls_free_all(struct flow *);
void		 call_obj_id(struct call *, char, char *, size_t);
struct call	*call_of_obj(struct flow *, const char *);

/* vars.c */
int		 var_name_ok(const char *);
const char	*var_get(const struct call *, const char *);
int		 var_set(struct call *, const char *, const char *);
int		 var_set_channel(struct call *, const char *, const char *);
void		 var_expand(const struct call *, const char *, char *, size_t);
void		 var_set_json(struct call *, struct json_object *,
		    const char *);

/* areq.c */
typedef void	(*areq_cb)(struct call *, const struct ari_result *,
		    uint32_t);
void		 areq_call(struct call *, const char *, const char *, areq_cb);
void		 areq_call_behind(struct call *, const char *, const char *,
		    const char *);
void		 areq_media_ended(struct call *);
void		 areq_loose(struct flow *, const char *, const char *);
int		 areq_post_url(struct call *, struct ari_rest *, const char *,
		    struct json_object *, unsigned int, areq_cb);
void		 areq_forget_http(struct call *);
void		 areq_detach_all(struct call *);
int		 areq_path_add(char *, size_t, const char *, const char *);
uint64_t	 areq_oldest_ms(const struct flow *);
int		 areq_pending(const struct call *, const char *);

/* backlog.c */
void		 backlog_init(struct flow *);

/* chanq.c */
int		 chanq_behind_media(const char *, const char *, const char *);
int		 chanq_benign(const char *, const char *,
		    const struct ari_result *);
int		 chanq_gone(const struct call *, const struct ari_result *);

/* engine.c */
void		 engine_state_timer(evutil_socket_t, short, void *);
void		 engine_start(struct call *, const struct flowdef *, int,
		    const char *);
void		 engine_step_done(struct call *, const char *, const char *);
void		 engine_event(struct call *, const char *, const char *);
void		 engine_goto(struct call *, int, const char *, const char *);
void		 engine_leave(struct call *);
void		 engine_ari_failed(struct call *, const struct ari_result *);
void		 engine_fallback(struct call *, const char *);
void		 engine_record(struct call *, const char *);
void		 engine_adopt(struct call *, const struct flowdef *, int,
		    size_t, uint32_t);
void		 engine_hangup(struct call *);
const struct act *engine_act(const struct call *);

/* actions.c */
void		 action_timer(evutil_socket_t, short, void *);
void		 action_soon(struct call *, const char *);
void		 action_stop_playback(struct call *);
void		 action_quiet_cb(struct call *, const struct ari_result *,
		    uint32_t);
void		 action_start(struct call *, const struct act *);
void		 action_dtmf(struct call *, char);
void		 action_playback_done(struct call *, const char *, int);
void		 action_recording_done(struct call *, const char *, int);
void		 action_leave(struct call *);

/* legs.c */
/* What a bot action talks to: the action's keys, else BOT_*. */
struct bot_media {
	const char	*host;
	const char	*format;
	const char	*transport;
	const char	*control;
	unsigned int	 max_ms;
};
void		 legs_bot_media(const struct call *, const struct act *,
		    struct bot_media *);
void		 legs_dial(struct call *, const struct act *);
void		 legs_bot(struct call *, const struct act *);
void		 legs_started(struct call *, const char *);
void		 legs_ended(struct call *, const char *);
void		 legs_timeout(struct call *);
void		 legs_release(struct call *, int);
void		 legs_adopt(struct call *, const struct act *, const char *,
		    const char *, int);
void		 legs_bridge_gone(struct call *, const char *);

/* webhook.c */
struct json_object *call_context_json(const struct call *);
void		 webhook_start(struct call *, const struct act *);

/* botctl.c */
int		 botctl_start(struct call *, const struct bot_media *,
		    struct json_object *);

/* ariev.c */
void		 ariev_handle(struct flow *, struct json_object *, uint64_t);
void		 ariev_fill_call(struct call *, struct json_object *);
void		 ariev_orphan(struct flow *, const char *);
int		 ariev_in_app(const struct flow *, struct json_object *);

/* claim.c */
void		 claim_ready(struct flow *, const struct mai_ready *);
void		 claim_broadcast(struct flow *, const char *, uint64_t);
void		 claim_started(struct call *);
int		 claim_owns(const struct flow *, struct json_object *);
int		 claim_is_ready(const struct flow *);
void		 claim_free_all(struct flow *);

/* lease.c */
void		 lease_start(struct flow *);
int		 lease_gone(const struct flow *, const char *);
void		 lease_free(struct flow *);

/* adopt.c */
void		 adopt_scan(struct flow *);
void		 adopt_started(struct flow *, const char *,
		    struct json_object *);
void		 adopt_free(struct flow *);

/* foreign.c */
void		 foreign_collect(struct flow *, struct json_object *);
int		 foreign_owns(const struct flow *, const char *);
void		 foreign_free(struct flow *);

/* reconcile.c */
void		 reconcile_start(struct flow *, int);
void		 reconcile_leg_event(struct call *, const char *,
		    struct json_object *);
void		 reconcile_forget(struct call *);
void		 reconcile_free(struct flow *);

/* resume.c */
void		 resume_state(struct call *, const char *);
int		 resume_plan_read(const struct call *, const char *,
		    struct resume_plan *);
void		 resume_adopt(struct call *, const struct resume_plan *);

/* resync.c */
void		 resync_gap(struct flow *, int, uint64_t);
void		 resync_free(struct flow *);

/* hungup.c */
void		 hungup_note(struct flow *, const char *);
void		 hungup_forget(struct flow *, const char *);
int		 hungup_recent(struct flow *, const char *);
void		 hungup_free(struct flow *);

/* events.c */
void		 flow_ipc_attach(struct flow *);
void		 flow_ipc_hold(struct flow *, int);
void		 flow_event_handle(struct flow *, uint64_t, const char *, size_t,
		    uint64_t);

/* latency.c */
void		 latency_relay(struct flow *, uint64_t, uint64_t);
void		 latency_answer(struct flow *, uint64_t, uint64_t);
void		 latency_trace_start(struct call *, struct json_object *,
		    uint64_t);
void		 latency_trace_answered(const struct call *,
		    const struct ari_result *);
void		 latency_log(struct flow *, int);
void		 latency_report(struct flow *);

/* main.c */
void		 flow_flows_take(struct flow *, const char *, size_t);

#endif /* MAI_FLOW_H */
