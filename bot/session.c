/*
 * session.c — one call's life in the bot: registered by the control
 * request, matched to its media, ended exactly once.
 *
 * session_end() is the single way out: it stops every engine request
 * (no callback comes after), answers the long request, hangs up a
 * WebSocket leg and frees the session.  Everything else looks sessions
 * up by id or leg, never keeps a pointer across the loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "bot.h"

struct sessionq		sessions = TAILQ_HEAD_INITIALIZER(sessions);
static uint64_t		session_next_id = 1;
static int		session_n;

struct session *
session_new(void)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc session");
	s->id = session_next_id++;
	TAILQ_INIT(&s->outq);
	TAILQ_INIT(&s->ttsq);
	vad_reset(&s->vad);
	return s;
}

static void
speechq_free(struct speechq *q)
{
	struct speech	*sp;

	while ((sp = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, sp, entry);
		free(sp->pcm);
		free(sp->text);
		free(sp);
	}
}

/* Frees what the session owns; it must be off the list (or never on). */
void
session_free(struct session *s)
{
	int	i;

	speechq_free(&s->outq);
	speechq_free(&s->ttsq);
	media_session_free(s);
	if (s->req_watch != NULL)
		event_free(s->req_watch);
	if (s->reattach != NULL)
		event_free(s->reattach);
	for (i = 0; i < s->nset; i++) {
		free(s->set_key[i]);
		free(s->set_val[i]);
	}
	for (i = 0; i < s->nhistory; i++) {
		free(s->history[i].role);
		free(s->history[i].content);
	}
	free(s->spoken);
	free(s->context);
	free(s->tts_text);
	free(s);
}

struct session *
session_by_id(uint64_t id)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (s->id == id)
			return s;
	return NULL;
}

struct session *
session_by_leg(const char *leg)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (strcmp(s->leg, leg) == 0)
			return s;
	return NULL;
}

/* WebSocket media: MEDIA_START names the leg by channel name or id. */
struct session *
session_by_ws(const char *name, const char *id)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (s->transport == BOT_TR_WS && s->ws == NULL &&
		    ((name != NULL && strcmp(s->leg_name, name) == 0) ||
		    (id != NULL && strcmp(s->leg, id) == 0)))
			return s;
	return NULL;
}

static bool
addr_match(const struct session *s, const struct sockaddr *sa)
{
	const struct sockaddr_in	*a = (const void *)sa;
	const struct sockaddr_in	*b = (const void *)&s->peer;
	const struct sockaddr_in6	*a6 = (const void *)sa;
	const struct sockaddr_in6	*b6 = (const void *)&s->peer;

	if (sa->sa_family != s->peer.ss_family)
		return false;
	if (sa->sa_family == AF_INET)
		return a->sin_port == b->sin_port && (s->peer_wild ||
		    a->sin_addr.s_addr == b->sin_addr.s_addr);
	if (sa->sa_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port && (s->peer_wild ||
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0);
	return false;
}

/*
 * RTP's source is the session's key.  A wildcard peer (Asterisk bound to
 * 0.0.0.0) matches by port; the first packet then tells where to send.
 */
struct session *
session_by_source(const struct sockaddr *sa, socklen_t len)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry) {
		if (s->transport != BOT_TR_UDP || !addr_match(s, sa))
			continue;
		if (!s->peer_known) {
			memcpy(&s->peer, sa, len);
			s->peerlen = len;
			s->peer_known = true;
		}
		return s;
	}
	return NULL;
}

int
session_count(void)
{
	return session_n;
}

void
session_start(struct session *s)
{
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	session_n++;
	metrics_session(1);
	media_session_init(s);
	s->t_last_input = bot_now_us();
	log_info("session start id=%llu call=%s leg=%s transport=%s "
	    "format=%s flow=%s", (unsigned long long)s->id, s->call, s->leg,
	    s->transport == BOT_TR_UDP ? "udp" : "websocket",
	    s->format == BOT_FMT_ULAW ? "ulaw" : "slin16", s->flow);
	if (s->transport == BOT_TR_WS)
		ws_match_pending(s);
	turn_greet(s);
}

void
session_set(struct session *s, const char *key, const char *val)
{
	int	i;

	for (i = 0; i < s->nset; i++)
		if (strcmp(s->set_key[i], key) == 0) {
			free(s->set_val[i]);
			s->set_val[i] = strdup(val);
			return;
		}
	if (s->nset == BOT_SET_MAX) {
		log_warnx("session id=%llu: more than %d variables, %s dropped",
		    (unsigned long long)s->id, BOT_SET_MAX, key);
		return;
	}
	s->set_key[s->nset] = strdup(key);
	s->set_val[s->nset++] = strdup(val);
}

void
session_end(struct session *s, const char *why)
{
	TAILQ_REMOVE(&sessions, s, entry);
	session_n--;
	metrics_session(-1);
	if (s->stt != NULL)
		stt->close(s->stt);
	if (s->llm != NULL)
		llm_cancel(s->llm);
	if (s->tts != NULL)
		tts_cancel_any(s->tts);
	s->stt = NULL;
	s->llm = NULL;
	s->tts = NULL;
	log_info("session end id=%llu call=%s leg=%s result=%s turns=%d "
	    "why=\"%s\" frames_in=%llu frames_out=%llu",
	    (unsigned long long)s->id, s->call, s->leg, s->result[0] ?
	    s->result : (s->faulted ? "error" : "hangup"), s->turns, why,
	    (unsigned long long)s->frames_in,
	    (unsigned long long)s->frames_out);
	calls_answer(s);
	if (s->ws != NULL) {
		ws_send_text(s->ws, "HANGUP");
		ws_detach(s->ws);
		s->ws = NULL;
	}
	session_free(s);
}

void
sessions_stop_all(void)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&sessions)) != NULL) {
		if (s->result[0] == '\0')
			snprintf(s->result, sizeof(s->result), "error");
		session_end(s, "bot stopping");
	}
}
