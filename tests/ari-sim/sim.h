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

/* Fault switches, flipped through /_sim/. */
struct sim_faults {
	int	auth_reject;	/* every credential is wrong */
	int	notbooted;	/* every /ari/ request answers 503 */
	int	halfopen;	/* WebSockets neither read nor write */
	int	refuse;		/* ARI requests get the connection closed */
};

struct sim_stats {
	uint64_t	ws_connections_total;
	uint64_t	ws_connected;
	uint64_t	ws_auth_failures;
	uint64_t	http_auth_failures;
	uint64_t	info_requests;
	uint64_t	user_events;
	uint64_t	events_sent;
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
	char		*body;
	size_t		 body_len;
	size_t		 body_cap;
	int		 body_too_big;
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
};

extern struct sim sim;

/* sim_util.c */
void		 sim_log(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 sim_timestamp(char *, size_t);
size_t		 sim_json_escape(char *, size_t, const char *);
int		 sim_req_parse(struct lws *, struct sim_req *);
const char	*sim_arg(const struct sim_req *, const char *);
int		 sim_arg_num(const struct sim_req *, const char *, long long,
		    long long, long long, long long *);
int		 sim_auth_check(struct lws *, const struct sim_req *);
int		 sim_http_reply(struct lws *, unsigned int, const char *,
		    size_t, int);
int		 sim_http_msg(struct lws *, unsigned int, const char *);
int		 sim_http_reject(struct lws *, unsigned int, const char *);
int		 sim_http_done(struct lws *);

/* sim_http.c */
int		 sim_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

/* sim_ari.c */
int		 sim_ari_dispatch(struct lws *, struct sim_req *);
int		 sim_ws_confirm(struct lws *);
int		 sim_ws_filter(struct lws *, struct sim_session *);

/* sim_ctl.c */
int		 sim_ctl_dispatch(struct lws *, struct sim_req *);

/* sim_ws.c */
void		 sim_ws_established(struct lws *, struct sim_session *);
void		 sim_ws_closed(struct sim_session *);
int		 sim_ws_writable(struct sim_session *);
int		 sim_ws_send(struct sim_session *, const char *, size_t);
int		 sim_ws_broadcast(const char *, size_t);
int		 sim_ws_burst(uint64_t, uint64_t, size_t);
uint64_t	 sim_ws_burst_pending(void);
int		 sim_ws_drop_all(void);
void		 sim_ws_set_halfopen(int);
struct sim_app	*sim_app_find(const char *);
int		 sim_app_replaced(const char *);
void		 sim_apps_free(void);

#endif /* SIM_H */
