/*
 * /ari/events WebSocket sessions: the Stasis application registry
 * (newest connection wins), per-socket output queues written only from
 * LWS_CALLBACK_SERVER_WRITEABLE, and the connection-level faults.
 */

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define WRITES_PER_CB	32	/* frames per writeable callback, at most */

/* Base of burst events: the ChannelVarset of app-mai-subscribeAll.jsonl. */
#define BURST_CHANNEL	"{\"id\": \"1795478725.1420\", \"name\": " \
	"\"Local/43720270346@incoming-000002c5;2\", \"state\": \"Ring\", " \
	"\"protocol_id\": \"\", \"caller\": {\"name\": \"\", \"number\": " \
	"\"\"}, \"connected\": {\"name\": \"\", \"number\": \"\"}, " \
	"\"accountcode\": \"\", \"dialplan\": {\"context\": \"incoming\", " \
	"\"exten\": \"43720270346\", \"priority\": 1, \"app_name\": " \
	"\"Stasis\", \"app_data\": \"mai\"}, \"creationtime\": " \
	"\"2026-11-24T00:05:25.864+0000\", \"language\": \"en\"}"

static const char burst_head[] = "{\"variable\": \"SIM_PAD\", \"value\": \"";
static const char burst_tail[] = "\", \"type\": \"ChannelVarset\", "
    "\"timestamp\": \"%s\", \"channel\": " BURST_CHANNEL ", "
    "\"asterisk_id\": \"" SIM_ASTERISK_ID "\", \"application\": \"%s\", "
    "\"sim_seq\": %llu}";

static void
msg_free(struct sim_msg *m)
{
	free(m->stamp);
	free(m->buf);
	free(m);
}

static void
queue_push(struct sim_session *s, struct sim_msg *m)
{
	m->next = NULL;
	if (s->tail != NULL)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	/* a half-open link sends nothing; the queue waits for its end */
	if (!sim.faults.halfopen)
		lws_callback_on_writable(s->wsi);
}

static void
queue_pop(struct sim_session *s)
{
	struct sim_msg	*m = s->head;

	s->head = m->next;
	if (s->head == NULL)
		s->tail = NULL;
	msg_free(m);
}

/*
 * Queue one frame.  stamp, when not NULL, names the channel whose
 * StasisStart this is: the moment lws takes the frame is recorded on the
 * channel, the start of the answer latency.
 */
int
sim_ws_send_stamped(struct sim_session *s, const char *data, size_t len,
    const char *stamp)
{
	struct sim_msg	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	/* +1: a zero-length frame still needs a buffer */
	if ((m->buf = malloc(LWS_PRE + len + 1)) == NULL ||
	    (stamp != NULL && (m->stamp = strdup(stamp)) == NULL)) {
		free(m->buf);
		free(m);
		return -1;
	}
	m->kind = SIM_MSG_FRAME;
	memcpy(m->buf + LWS_PRE, data, len);
	m->len = len;
	queue_push(s, m);
	return 0;
}

int
sim_ws_send(struct sim_session *s, const char *data, size_t len)
{
	return sim_ws_send_stamped(s, data, len, NULL);
}

/* Returns how many sockets got the frame queued. */
static int
broadcast(const char *data, size_t len, int binary)
{
	struct sim_session	*s;
	int			 n = 0;

	for (s = sim.sessions; s != NULL; s = s->next)
		if (sim_ws_send(s, data, len) == 0) {
			s->tail->binary = binary;
			n++;
		}
	return n;
}

int
sim_ws_broadcast(const char *data, size_t len)
{
	return broadcast(data, len, 0);
}

/* Asterisk never sends one: for tests of the client's refusal. */
int
sim_ws_broadcast_binary(const char *data, size_t len)
{
	return broadcast(data, len, 1);
}

int
sim_ws_burst(uint64_t first, uint64_t last, size_t size)
{
	struct sim_session	*s;
	struct sim_msg		*m;
	int			 n = 0;

	for (s = sim.sessions; s != NULL; s = s->next) {
		if ((m = calloc(1, sizeof(*m))) == NULL)
			continue;
		m->kind = SIM_MSG_BURST;
		m->seq_next = first;
		m->seq_last = last;
		m->size = size;
		queue_push(s, m);
		n++;
	}
	return n;
}

uint64_t
sim_ws_burst_pending(void)
{
	struct sim_session	*s;
	struct sim_msg		*m;
	uint64_t		 n = 0;

	for (s = sim.sessions; s != NULL; s = s->next)
		for (m = s->head; m != NULL; m = m->next)
			if (m->kind == SIM_MSG_BURST)
				n += m->seq_last - m->seq_next + 1;
	return n;
}

static int
scratch_reserve(struct sim_session *s, size_t need)
{
	unsigned char	*nb;

	if (need <= s->scratch_cap)
		return 0;
	if ((nb = realloc(s->scratch, need)) == NULL)
		return -1;
	s->scratch = nb;
	s->scratch_cap = need;
	return 0;
}

/* Render the next event of a burst, padded to about m->size bytes. */
static int
burst_render(struct sim_session *s, const struct sim_msg *m, const char *ts,
    unsigned char **out, size_t *outlen)
{
	char		 tail[2048], app[SIM_APP_LEN * 6 + 1];
	size_t		 hlen = sizeof(burst_head) - 1, pad = 0, tlen;
	unsigned char	*p;
	int		 n;

	if (sim_json_escape(app, sizeof(app),
	    s->napps > 0 ? s->apps[0] : "") == (size_t)-1)
		return -1;
	n = snprintf(tail, sizeof(tail), burst_tail, ts, app,
	    (unsigned long long)m->seq_next);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return -1;
	tlen = (size_t)n;
	if (m->size > hlen + tlen)
		pad = m->size - hlen - tlen;
	if (scratch_reserve(s, LWS_PRE + hlen + pad + tlen) == -1)
		return -1;
	p = s->scratch + LWS_PRE;
	memcpy(p, burst_head, hlen);
	memset(p + hlen, 'x', pad);
	memcpy(p + hlen + pad, tail, tlen);
	*out = p;
	*outlen = hlen + pad + tlen;
	return 0;
}

/* lws keeps any unsent tail itself, so one lws_write per frame is safe. */
static int
write_head(struct sim_session *s, const char *ts)
{
	struct sim_msg	*m = s->head;
	unsigned char	*p;
	size_t		 len;

	if (m->kind == SIM_MSG_FRAME) {
		p = m->buf + LWS_PRE;
		len = m->len;
	} else if (burst_render(s, m, ts, &p, &len) == -1)
		return -1;
	if (lws_write(s->wsi, p, len, m->kind == SIM_MSG_FRAME && m->binary ?
	    LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)len)
		return -1;
	sim.stats.events_sent++;
	if (m->stamp != NULL)
		sim_chan_stasis_written(m->stamp);
	if (m->kind == SIM_MSG_BURST && m->seq_next++ < m->seq_last)
		return 0;
	queue_pop(s);
	return 0;
}

int
sim_ws_writable(struct sim_session *s)
{
	char	ts[SIM_TS_LEN];
	int	i;

	if (!s->linked || sim.faults.halfopen)
		return 0;
	sim_timestamp(ts, sizeof(ts));
	for (i = 0; s->head != NULL && i < WRITES_PER_CB; i++) {
		/* the first write is guaranteed room; later ones are not */
		if (i > 0 && lws_send_pipe_choked(s->wsi))
			break;
		if (write_head(s, ts) == -1)
			return -1;
	}
	if (s->head != NULL)
		lws_callback_on_writable(s->wsi);
	return 0;
}

struct sim_app *
sim_app_find(const char *name)
{
	struct sim_app	*a;

	for (a = sim.apps; a != NULL; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* What Asterisk's app_update() sends to the connection it displaces. */
static int
send_replaced(struct sim_session *s, const char *name)
{
	char		 ts[SIM_TS_LEN], esc[SIM_APP_LEN * 6 + 1], buf[1024];
	struct sim_app	*a;
	int		 n;

	if (sim_json_escape(esc, sizeof(esc), name) == (size_t)-1)
		return -1;
	sim_timestamp(ts, sizeof(ts));
	n = snprintf(buf, sizeof(buf), "{\"type\": \"ApplicationReplaced\", "
	    "\"timestamp\": \"%s\", \"application\": \"%s\", "
	    "\"asterisk_id\": \"" SIM_ASTERISK_ID "\"}", ts, esc);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	sim_log("ApplicationReplaced app=%s", name);
	/* Asterisk's app_update() sends it through the application's filter. */
	if ((a = sim_app_find(name)) != NULL &&
	    !sim_filter_allows(a, "ApplicationReplaced"))
		return 0;
	return sim_ws_send(s, buf, (size_t)n);
}

static int
app_register(struct sim_session *s, const char *name)
{
	struct sim_app	*a;

	if ((a = sim_app_find(name)) == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return -1;
		snprintf(a->name, sizeof(a->name), "%s", name);
		a->next = sim.apps;
		sim.apps = a;
	} else if (a->owner != NULL && a->owner != s)
		send_replaced(a->owner, name);
	a->owner = s;
	return 0;
}

/* Forget the apps this socket still owns; displaced ones stay. */
static void
apps_release(struct sim_session *s)
{
	struct sim_app	**pp = &sim.apps, *a;

	while ((a = *pp) != NULL) {
		if (a->owner == s) {
			*pp = a->next;
			sim_app_free(a);
		} else
			pp = &a->next;
	}
}

/* /_sim/replaced: as if another client took the app over. */
int
sim_app_replaced(const char *name)
{
	struct sim_app	*a;

	if ((a = sim_app_find(name)) == NULL || a->owner == NULL)
		return -1;
	if (send_replaced(a->owner, name) == -1)
		return -1;
	a->owner = NULL;
	return 0;
}

/*
 * /_sim/release: the phantom of /_sim/replaced leaves, as another client
 * closing its socket: NAME is unregistered (GET applications 404).
 */
int
sim_app_release(const char *name)
{
	struct sim_app	**pp = &sim.apps, *a;

	while ((a = *pp) != NULL && strcmp(a->name, name) != 0)
		pp = &a->next;
	if (a == NULL || a->owner != NULL)
		return -1;
	*pp = a->next;
	sim_app_free(a);
	sim_log("application released by the phantom app=%s", name);
	return 0;
}

void
sim_apps_free(void)
{
	struct sim_app	*a;

	while ((a = sim.apps) != NULL) {
		sim.apps = a->next;
		sim_app_free(a);
	}
}

void
sim_ws_established(struct lws *wsi, struct sim_session *s)
{
	int	i;

	s->wsi = wsi;
	s->next = sim.sessions;
	sim.sessions = s;
	s->linked = 1;
	sim.stats.ws_connections_total++;
	sim.stats.ws_connected++;
	for (i = 0; i < s->napps; i++)
		if (app_register(s, s->apps[i]) == -1)
			sim_log("cannot register app %s", s->apps[i]);
	if (sim.faults.halfopen)
		lws_rx_flow_control(wsi, 0);
	sim_log("ws connected app=%s napps=%d", s->apps[0], s->napps);
}

void
sim_ws_closed(struct sim_session *s)
{
	struct sim_session	**pp;

	if (!s->linked)
		return;
	for (pp = &sim.sessions; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	s->linked = 0;
	apps_release(s);
	while (s->head != NULL)
		queue_pop(s);
	free(s->scratch);
	s->scratch = NULL;
	sim.stats.ws_connected--;
	sim_log("ws closed app=%s", s->apps[0]);
}

/*
 * /_sim/drop: kill every socket without a close frame.  Shutting the fd
 * down first makes sure no close frame can get out while lws tears the
 * connection down; SO_LINGER 0 turns the final close into a reset.
 */
int
sim_ws_drop_all(void)
{
	struct linger		 l = { 1, 0 };
	struct sim_session	*s;
	int			 fd, n = 0;

	for (s = sim.sessions; s != NULL; s = s->next) {
		fd = lws_get_socket_fd(s->wsi);
		if (fd >= 0) {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			shutdown(fd, SHUT_RDWR);
		}
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		n++;
	}
	return n;
}

/*
 * Half-open: stop reading (so pings are never parsed, hence never
 * ponged) and stop writing, on every socket, keeping TCP up.
 */
void
sim_ws_set_halfopen(int on)
{
	struct sim_session	*s;

	sim.faults.halfopen = on;
	for (s = sim.sessions; s != NULL; s = s->next) {
		lws_rx_flow_control(s->wsi, !on);
		if (!on && s->head != NULL)
			lws_callback_on_writable(s->wsi);
	}
}
