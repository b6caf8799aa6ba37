/*
 * bot.h — mai-bot: what exists and who owns it.
 *
 * One process, one libevent loop on the main thread: HTTP control API,
 * RTP and WebSocket media, 20 ms output pacing, the LLM stream and the
 * HTTP engines (libcurl multi).  CPU-bound embedded engines (pocketsphinx,
 * espeak-ng) run on a small pool of engine threads (engine.c) and hand
 * their results back through an eventfd.  Everything a session owns is
 * touched on the main thread only.
 */
#ifndef MAI_BOT_H
#define MAI_BOT_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/* Media bounds: Asterisk sends 20 ms frames; the STT model is 16 kHz. */
#define BOT_FRAME_MS		20
#define BOT_STT_RATE		16000
#define BOT_FRAME_MAX		320	/* samples in 20 ms at 16 kHz */
#define BOT_PREROLL_MS		300	/* audio kept before VAD fires */
#define BOT_ID_MAX		128	/* channel ids and names */
#define BOT_TEXT_MAX		4096	/* one transcript, one reply */
#define BOT_RESULT_MAX		32
#define BOT_SET_MAX		8	/* variables in the answer's "set" */
#define BOT_HISTORY_MAX		24	/* messages kept for the LLM */
#define BOT_SESSIONS_MAX	256	/* 409/503 beyond */
/*
 * A session whose control request closed waits this long for a new one
 * for the same leg (a flow-worker that died and was replaced sends it
 * again once it took the call over) before it ends.
 */
#define BOT_REATTACH_MS		5000
#define BOT_PACE_CATCHUP	3	/* frames sent at once after a late tick */

enum bot_transport { BOT_TR_UDP = 0, BOT_TR_WS };
enum bot_format { BOT_FMT_ULAW = 0, BOT_FMT_SLIN16 };
enum bot_stage { BOT_STAGE_STT = 0, BOT_STAGE_LLM, BOT_STAGE_TTS,
	BOT_STAGE_COUNT };
enum bot_fault { BOT_FAULT_DOWN = 0, BOT_FAULT_TIMEOUT, BOT_FAULT_HTTP,
	BOT_FAULT_GARBAGE, BOT_FAULT_CUT, BOT_FAULT_ENGINE, BOT_FAULT_COUNT };

struct bot_config {
	char	http_listen[64];
	char	rtp_listen[64];
	char	ws_listen[64];		/* empty: no WebSocket media */
	char	user[64];
	int	log_level;
	int	log_json;
	int	vad_silence_ms;
	int	vad_min_speech_ms;
	int	vad_margin_db;
	int	vad_floor_db;
	int	barge_in_ms;
	int	barge_in_margin_db;
	int	utterance_max_ms;
	int	no_input_ms;
	int	engine_threads;
	int	stt_decoders;
	int	slin16_pt;
	char	stt_backend[16];	/* sphinx | http */
	char	stt_url[256];
	char	stt_model[64];
	char	stt_key[256];		/* secret: never logged */
	char	stt_grammar[16];	/* auto | lm | grammar */
	char	sphinx_hmm[256];
	char	sphinx_dict[256];
	char	sphinx_lm[256];
	int	stt_timeout_ms;
	char	llm_url[256];		/* empty: scripted dialogue */
	char	llm_model[64];
	char	llm_key[256];		/* secret */
	char	llm_prompt[2048];
	int	llm_timeout_ms;
	int	llm_idle_ms;
	char	tts_backend[16];	/* espeak | http */
	char	tts_url[256];
	char	tts_model[64];
	char	tts_voice[64];
	char	tts_key[256];		/* secret */
	int	tts_timeout_ms;
	char	espeak_voice[32];
	int	espeak_rate;
	char	dialogue_file[256];
	char	greeting[512];
	char	apology[256];
	int	max_turns;
};

/* A queued piece of the bot's speech: PCM at the session's rate. */
struct speech {
	TAILQ_ENTRY(speech)	 entry;
	int16_t			*pcm;
	size_t			 n, pos;
	char			*text;		/* what it says, for history */
};
TAILQ_HEAD(speechq, speech);

struct vad {
	float	floor_db;	/* adaptive noise floor */
	int	voiced_run;	/* consecutive voiced frames */
	int	silent_run;	/* consecutive unvoiced frames */
	bool	in_speech;
};

enum vad_event { VAD_NONE = 0, VAD_START, VAD_END };

enum turn_state {
	TURN_LISTEN = 0,	/* waiting for the caller */
	TURN_HEAR,		/* caller speaking, STT fed */
	TURN_THINK,		/* transcript in, reply being made */
	TURN_SPEAK,		/* audio queued or playing */
	TURN_ENDING		/* last words playing, then answer */
};

struct stt_stream;
struct tts_req;
struct llm_req;
struct ws_conn;
struct evhttp_request;

struct msg {
	char	*role;
	char	*content;
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	char			 call[BOT_ID_MAX];
	char			 leg[BOT_ID_MAX];
	char			 leg_name[BOT_ID_MAX];
	char			 flow[BOT_ID_MAX];
	char			 caller_name[BOT_ID_MAX];
	char			 caller_number[BOT_ID_MAX];
	char			*context;	/* variables, JSON, for the LLM */
	enum bot_transport	 transport;
	enum bot_format		 format;
	int			 rate;		/* 8000 or 16000 */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	bool			 peer_wild;	/* 0.0.0.0: match port only */
	bool			 peer_known;	/* can send */
	struct evhttp_request	*req;		/* the long request */
	struct event		*req_watch;	/* sees the client close it */
	struct event		*reattach;	/* no request: end at expiry */
	struct ws_conn		*ws;
	/* media in */
	void			*upsampler;	/* 8 -> 16 kHz (speexdsp) */
	struct vad		 vad;
	int16_t			 preroll[BOT_STT_RATE * BOT_PREROLL_MS / 1000];
	size_t			 preroll_pos;
	bool			 preroll_full;
	uint64_t		 frames_in;
	int16_t			 inbuf[BOT_FRAME_MAX];	/* partial frame */
	size_t			 inlen;
	/* media out */
	struct speechq		 outq;
	uint16_t		 seq;
	uint32_t		 ts, ts_base, ssrc;
	uint8_t			 pt;
	bool			 marker;
	bool			 talking;
	uint64_t		 out_start_us;	/* pacing origin of this burst */
	uint64_t		 out_sent;	/* frames sent since origin */
	uint64_t		 frames_out;
	/* the turn */
	enum turn_state		 state;
	int			 turns;
	struct stt_stream	*stt;
	struct llm_req		*llm;
	struct tts_req		*tts;
	char			 pending[BOT_TEXT_MAX];	/* text not yet in TTS */
	size_t			 pending_len;
	struct speechq		 ttsq;		/* sentences waiting for TTS */
	bool			 reply_done;	/* no more text will come */
	bool			 first_text;	/* LLM time not yet measured */
	char			*tts_text;	/* the sentence in TTS */
	bool			 ending;	/* answer once speech is out */
	bool			 faulted;
	char			 result[BOT_RESULT_MAX];
	char			*set_key[BOT_SET_MAX];
	char			*set_val[BOT_SET_MAX];
	int			 nset;
	struct msg		 history[BOT_HISTORY_MAX];
	int			 nhistory;
	char			*spoken;	/* bot words heard this turn */
	/* timing, µs on the monotonic clock */
	uint64_t		 t_last_voice;	/* last voiced frame in */
	uint64_t		 t_turn_end;	/* VAD decided the turn ended */
	uint64_t		 t_stage;	/* current engine call started */
	uint64_t		 t_tts;		/* current sentence sent to TTS */
	uint64_t		 t_barge;	/* barge-in speech began */
	uint64_t		 t_last_input;	/* any media in */
	uint64_t		 t_start;
	bool			 await_first_audio;
};
TAILQ_HEAD(sessionq, session);

/* main.c */
extern struct bot_config	 bot_conf;
extern struct event_base	*bot_base;
uint64_t	 bot_now_us(void);

/* config.c */
void	config_load(struct bot_config *);

/* sandbox.c */

/* metrics.c */
enum bot_hist { H_TURN = 0, H_TURN_PROC, H_STT, H_LLM, H_TTS, H_BARGE,
	H_COUNT };
void	metrics_init(void);
void	metrics_session(int delta_active);
void	metrics_turn(void);
void	metrics_fault(enum bot_stage, enum bot_fault);
void	metrics_refused(void);
void	metrics_observe(enum bot_hist, double seconds);
void	metrics_count(const char *, long);
char	*metrics_render(size_t *);
long	metrics_faults_total(void);
const char *fault_name(enum bot_fault);
const char *stage_name(enum bot_stage);

/* http.c */
void	http_init(void);
void	http_shutdown(void);
bool	bot_ready(void);
void	http_json(struct evhttp_request *, int, const char *);

/* calls.c: the long request */
void	calls_post(struct evhttp_request *);
void	calls_answer(struct session *);

/* session.c */
extern struct sessionq	 sessions;
struct session *session_new(void);
void	 session_free(struct session *);
struct session *session_by_leg(const char *);
struct session *session_by_id(uint64_t);
struct session *session_by_source(const struct sockaddr *, socklen_t);
struct session *session_by_ws(const char *, const char *);
void	 session_start(struct session *);
void	 session_end(struct session *, const char *why);
void	 session_set(struct session *, const char *, const char *);
int	 session_count(void);
void	 sessions_stop_all(void);

/* turn.c: listening, thinking, speaking, barge-in */
void	 turn_audio_in(struct session *, const int16_t *, size_t);
void	 turn_greet(struct session *);
void	 turn_transcript(struct session *, const char *, int fault);
void	 turn_reply_text(struct session *, const char *);
void	 turn_reply_end(struct session *, const char *result, int fault);
void	 turn_tts_done(struct session *, int16_t *, size_t, int fault);
void	 turn_out_empty(struct session *);
void	 turn_fault(struct session *, enum bot_stage, enum bot_fault);
void	 turn_first_audio(struct session *);
void	 turn_idle(struct session *, uint64_t now);

/* media.c: decode, encode, the output queue and its 20 ms pacing */
void	 media_init(void);
void	 media_shutdown(void);
void	 media_in(struct session *, const uint8_t *, size_t, int le);
void	 media_queue(struct session *, int16_t *, size_t, const char *);
void	 media_flush(struct session *);
void	 media_flush_heard(struct session *);
void	 media_kick(struct session *);
size_t	 media_queued(const struct session *);
void	 media_session_init(struct session *);
void	 media_session_free(struct session *);
int16_t	 ulaw_decode(uint8_t);
uint8_t	 ulaw_encode(int16_t);
int16_t	*resample(const int16_t *, size_t, int, int, size_t *);

/* rtp.c */
void	 rtp_init(void);
void	 rtp_shutdown(void);
void	 rtp_send(struct session *, const uint8_t *, size_t);
int	 rtp_parse(const uint8_t *, size_t, uint8_t *pt, uint16_t *seq,
	    uint32_t *ts, size_t *off);

/* ws.c: chan_websocket */
void	 ws_init(void);
void	 ws_shutdown(void);
void	 ws_send_audio(struct ws_conn *, const uint8_t *, size_t);
void	 ws_send_text(struct ws_conn *, const char *);
void	 ws_detach(struct ws_conn *);
void	 ws_match_pending(struct session *);

/* vad.c */
void	 vad_reset(struct vad *);
enum vad_event vad_frame(struct vad *, const int16_t *, size_t,
	    int margin_db, bool *voiced);
float	 vad_energy_db(const int16_t *, size_t);

/* engine.c: the engine threads */
struct job {
	TAILQ_ENTRY(job)	 entry;
	void			(*run)(struct job *);	/* engine thread */
	void			(*done)(struct job *);	/* main thread */
};
void	 engine_init(int);
void	 engine_submit(struct job *);
void	 engine_shutdown(void);

/* stt.c and backends */
struct stt_backend {
	const char	*name;
	void		(*load)(void);
	bool		(*ready)(void);
	struct stt_stream *(*open)(struct session *);
	void		(*feed)(struct stt_stream *, const int16_t *, size_t);
	void		(*finish)(struct stt_stream *);	/* -> turn_transcript */
	void		(*close)(struct stt_stream *);	/* no callback after */
};
extern const struct stt_backend	 stt_sphinx, stt_http;
extern const struct stt_backend	*stt;
void	 sphinx_set_words(const char *const *, int);

/* tts backends: turn_tts_done() once per request unless cancelled */
struct tts_backend {
	const char	*name;
	void		(*load)(void);
	bool		(*ready)(void);
	struct tts_req	*(*speak)(struct session *, const char *);
	void		(*cancel)(struct tts_req *);
};
extern const struct tts_backend	 tts_espeak, tts_http;
extern const struct tts_backend	*tts;
/* Every backend's request starts with this: cancel knows its backend. */
struct tts_head {
	const struct tts_backend	*be;
};
void	 tts_cancel_any(struct tts_req *);

/* llm.c: -> turn_reply_text / turn_reply_end */
struct llm_req *llm_start(struct session *);
void	 llm_cancel(struct llm_req *);
bool	 llm_ready(void);

/* probe.c: reachability of the HTTP engines, for /readyz */
void	 probe_init(void);
bool	 probe_reachable(enum bot_stage);
void	 probe_shutdown(void);

/* sse.c: incremental Server-Sent Events parser */
struct sse {
	char	*buf;
	size_t	 len, cap;
	char	*data;		/* data lines of the event being read */
	size_t	 dlen, dcap;
	bool	 overflow;
};
#define SSE_LINE_MAX	65536	/* a longer line is garbage */
typedef int (*sse_cb)(void *, const char *data, size_t len);
int	 sse_feed(struct sse *, const char *, size_t, sse_cb, void *);
void	 sse_free(struct sse *);

/* dialogue.c: the scripted brain */
void	 dialogue_load(const char *);
bool	 dialogue_loaded(void);
void	 dialogue_reply(struct session *, const char *);
const char *dialogue_greeting(void);
int	 dialogue_words(const char ***);

/* curlev.c: libcurl multi on the event loop */
struct curlev {
	void	*easy;
	void	(*done)(struct curlev *, int curlcode, long status);
};
void	 curlev_init(void);
void	 curlev_add(struct curlev *);
void	 curlev_remove(struct curlev *);
void	 curlev_shutdown(void);

/* httpbody.c */
#define BODY_MAX	(16 << 20)	/* an answer's audio: minutes of PCM */
struct body {
	char	*buf;
	size_t	 len, cap;
};
size_t	 body_write(char *, size_t, size_t, void *);
int	 body_fault(int curlcode, long status, const struct body *);

/* wav.c */
uint8_t	*wav_make(const int16_t *, size_t, int rate, size_t *);
int16_t	*wav_parse(const uint8_t *, size_t, int *rate, size_t *);

#endif /* MAI_BOT_H */
