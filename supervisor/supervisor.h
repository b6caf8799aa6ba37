/*
 * supervisor.h — the parent process: configuration, workers, event relay,
 * readiness flags, control socket.  Grouped by the file that owns them.
 */
#ifndef MAI_SUPERVISOR_H
#define MAI_SUPERVISOR_H

#include <sys/queue.h>
#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "ipc.h"


/* Restart policy, as in docs/architecture.md and s6: never faster than the backoff. */
#define RESTART_BACKOFF_MIN_MS	100
#define RESTART_BACKOFF_MAX_MS	30000
#define RESTART_STABLE_MS	60000	/* run this long and backoff resets */
#define RESTART_CLEAN_MIN_RUN_MS 250	/* clean exit after this: no backoff */
#define RESTART_KILLED_MIN_RUN_MS 1000	/* killed from outside after this:
					   no backoff (s6: one start a second) */
#define CRASHLOOP_EXITS		5	/* fast exits in a row = crash loop */
#define HELLO_TIMEOUT_MS	10000	/* a worker that never says hello */
#define FRAMES_PER_WAKEUP	256	/* fairness between sockets */
#define COUNTER_PUSH_MS		1000	/* counters reach /metrics this often */
#define RETIRED_MAX		8	/* draining predecessors still running */
/*
 * Gap frames (GAP_BEGIN, GAP_END) queued beyond MAI_EVENT_QUEUE_MAX: they
 * carry no bytes and alternate, one per WebSocket change, and a lost one
 * would leave calls waiting for events that never come.
 */
#define RELAY_GAPS_MAX		64
/* Frames still read from a dead ws-worker's socket (its last events). */
#define WS_DRAIN_MAX	4096

struct sup_config {
	char		 ari_host[MAI_STR_MAX];
	char		 ari_user[MAI_STR_MAX];
	char		 ari_password[MAI_STR_MAX];
	char		 ari_password_file[PATH_MAX];
	char		 ari_app[64];
	uint16_t	 ari_port;
	bool		 ari_tls;
	bool		 ari_event_filter;	/* only the events mai uses */
	char		 http_listen[128];
	char		 mai_user[64];
	bool		 drop_user;
	uid_t		 uid;
	gid_t		 gid;
	char		 rundir[PATH_MAX];
	char		 libexec_dir[PATH_MAX];
	char		 config_file[PATH_MAX];
	int		 log_level;
	bool		 log_json;
	uint32_t	 queue_max_events;
	uint64_t	 queue_max_bytes;
	uint32_t	 ping_interval_ms;
	uint32_t	 ping_timeout_ms;
	uint32_t	 probe_interval_ms;
	uint32_t	 probe_timeout_ms;
	uint32_t	 stop_grace_ms;
	uint32_t	 heartbeat_interval_ms;	/* 0: off */
	uint32_t	 heartbeat_timeout_ms;
	uint32_t	 progress_max_ms;	/* 0: off */
	uint32_t	 adopt_after_ms;	/* 0: off */
	uint32_t	 http_header_timeout_ms;
	uint32_t	 http_max_conns;
	char		 flows_file[MAI_STR_MAX];
	char		 bot_media[MAI_STR_MAX];
	char		 bot_format[16];
	char		 bot_transport[16];
	char		 bot_control[MAI_STR_MAX];
	char		*flows_buf;	/* the flow file, read at load */
	size_t		 flows_len;
};

struct worker {
	enum mai_role		 role;
	const char		*name;
	pid_t			 pid;
	int			 fd;		/* our end of its socket */
	enum mai_worker_state	 state;
	struct event		*ev_read;
	struct event		*ev_write;	/* armed only while blocked */
	struct event		*ev_timer;	/* restart delay or hello timeout */
	struct event		*ev_stable;	/* resets backoff after 60 s */
	struct event		*ev_deadline;	/* heartbeat: no PONG by then */
	uint64_t		 ping_seq;	/* last PING sent */
	uint64_t		 pong_seq;	/* last PING answered */
	uint64_t		 heartbeats_missed;
	uint64_t		 hung_kills;
	uint64_t		 ari_oldest_ms;	/* flow: from its last PONG */
	bool			 hung;		/* killed for it; until hello */
	bool			 hung_kill;	/* this pid was killed for it */
	bool			 stalled;	/* flow: progress bound hit */
	struct timespec		 started;
	uint32_t		 backoff_ms;
	uint32_t		 fast_exits;
	uint32_t		 restarts;
	int32_t			 last_exit;
	uint64_t		 frames_refused;
	uint64_t		 counters[8];
	struct mai_latency	 latency[MAI_LAT_COUNT];	/* flow only */
	bool			 restart_now;	/* we stopped it on purpose */
	bool			 untrusted;	/* sent a bad frame */
};

struct event_item {
	TAILQ_ENTRY(event_item)	 entry;
	uint8_t			 type;		/* EVENT, GAP_BEGIN, GAP_END */
	uint64_t		 seq;
	uint64_t		 ts_ns;		/* when the ws-worker read it */
	size_t			 len;
	char			 data[];
};
TAILQ_HEAD(event_queue, event_item);

struct relay {
	struct event_queue	 queue;		/* unacked events, oldest first */
	struct event_item	*next_send;	/* first not yet sent, or NULL */
	uint64_t		 count;
	uint64_t		 bytes;
	uint64_t		 last_seq;
	uint64_t		 relayed;
	uint64_t		 acked;
	uint64_t		 dropped;
	uint64_t		 replayed;
	struct timespec		 last_drop_log;
	bool			 gap_open;	/* no WebSocket: GAP_BEGIN is
						   the last gap queued */
};

struct supervisor {
	struct event_base	*base;
	struct sup_config	 conf;
	struct worker		 workers[MAI_ROLE_COUNT];
	struct relay		 relay;
	uint8_t			 flags[MAI_FLAG_COUNT];
	uint32_t		 generation;
	time_t			 started_at;
	int			 listen_fd;
	int			 control_fd;
	int			 pidfile_fd;
	struct event		*ev_control;
	struct event		*ev_stop_timer;
	struct event		*ev_heartbeat;	/* PING every interval */
	bool			 stopping;
	bool			 draining;	/* ctl drain: claim no more calls */
	int			 rolling;	/* next role to roll, -1 idle */
	pid_t			 retired[RETIRED_MAX];	/* draining, not ours */
};

extern struct supervisor *sup;

/* config.c */
void	 config_capture_env(void);
int	 config_load(struct sup_config *, char *, size_t);
void	 config_print(const struct sup_config *, FILE *);
void	 config_to_wire(const struct sup_config *, struct mai_config *);
void	 config_free(struct sup_config *);
int	 conf_file_parse(const char *, const char *, size_t, char *, size_t);
int	 conf_host_check(char *);

/* appname.c */
int	appname_expand(char *, size_t, char *, size_t);

/* proc.c */
void	 proc_init(void);
void	 proc_spawn(struct worker *);
void	 proc_reap(void);
void	 proc_stop(struct worker *, bool);
void	 proc_distrust(struct worker *, const char *);
void	 proc_kill_hung(struct worker *);
void	 proc_schedule_restart(struct worker *);
struct worker *proc_by_pid(pid_t);
void	 proc_mark_running(struct worker *);
void	 proc_retire(struct worker *);
int	 proc_retired_count(void);
void	 proc_retired_signal(int);

/* dispatch.c */
void	 dispatch_attach(struct worker *);
void	 dispatch_detach(struct worker *);
void	 dispatch_send_config(struct worker *);
void	 dispatch_ws_gone(struct worker *);

/* relay.c */
void	 relay_init(struct relay *);
void	 relay_enqueue(struct relay *, const void *, size_t, uint64_t);
void	 relay_gap(struct relay *, uint8_t, uint64_t);
void	 relay_flush(struct relay *);
void	 relay_ack(struct relay *, uint64_t);
void	 relay_rewind(struct relay *);

/* readiness.c */
void	 readiness_tell_flow(const struct mai_snapshot *, bool);
void	 readiness_init(void);
void	 readiness_set(enum mai_flag, bool);
void	 readiness_clear_role(enum mai_role);
void	 readiness_changed(void);
void	 readiness_counters_changed(void);
void	 readiness_fill(struct mai_snapshot *);
void	 readiness_push(void);

/* heartbeat.c */
void	 heartbeat_init(void);
void	 heartbeat_configure(void);
void	 heartbeat_start(struct worker *);
void	 heartbeat_stop(struct worker *);
void	 heartbeat_pong(struct worker *, uint64_t, const struct mai_pong *);
uint64_t heartbeat_event_age_ms(void);

/* control.c */
int	 control_listen(const char *);
void	 control_client(const char *, int, char **);
void	 control_status(char *, size_t);
int	 control_restart(const char *);
void	 control_cleanup(const char *);

/* listen.c */
int	 listen_check(const char *, char *, size_t);
int	 listen_http(const char *, char *, size_t);

/* pidfile.c */
int	 pidfile_lock(const char *, char *, size_t);
void	 pidfile_write(const char *, const char *, pid_t);
void	 pidfile_remove(const char *, const char *);

/* lifecycle.c */
void	 lifecycle_stop(void);
void	 lifecycle_reload(void);
void	 lifecycle_roll_next(void);
void	 lifecycle_status_log(void);

#endif /* MAI_SUPERVISOR_H */
