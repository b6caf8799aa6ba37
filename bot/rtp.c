/*
 * rtp.c — RTP over UDP (RFC 3550) for Asterisk's externalMedia legs.
 *
 * One socket for every call: the source address of a packet says which
 * session it belongs to (the flow-worker told us the `peer`).  A packet
 * from anyone else, or not RTP version 2, is dropped and counted.  We
 * send back to that same address, with our own SSRC, sequence and
 * timestamp (media.c keeps them).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "bot.h"

#define RTP_HDR		12
#define RTP_PKT_MAX	1500	/* one Ethernet MTU; Asterisk sends 172/652 */
#define RTP_READ_BURST	64	/* packets read per wakeup, then yield */
#define RTP_SNDBUF	(1 << 20)

static int		 rtp_fd = -1;
static struct event	*rtp_ev;

/* Header check; the payload starts at *off.  -1 if not RTP v2. */
int
rtp_parse(const uint8_t *p, size_t len, uint8_t *pt, uint16_t *seq,
    uint32_t *ts, size_t *off)
{
	size_t	o = RTP_HDR, ext;

	if (len < RTP_HDR || (p[0] >> 6) != 2)
		return -1;
	o += (size_t)(p[0] & 0x0f) * 4;		/* CSRCs */
	if (p[0] & 0x10) {			/* header extension */
		if (len < o + 4)
			return -1;
		ext = (size_t)(p[o + 2] << 8 | p[o + 3]) * 4;
		o += 4 + ext;
	}
	if (p[0] & 0x20) {			/* padding */
		if (len == 0 || p[len - 1] > len - o)
			return -1;
		len -= p[len - 1];
	}
	if (o > len)
		return -1;
	*pt = p[1] & 0x7f;
	*seq = (uint16_t)(p[2] << 8 | p[3]);
	*ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	    (uint32_t)p[6] << 8 | p[7];
	*off = o;
	return (int)(len - o);
}

static void
rtp_read(evutil_socket_t fd, short ev, void *arg)
{
	uint8_t			 pkt[RTP_PKT_MAX], pt;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct session		*s;
	ssize_t			 n;
	size_t			 off;
	uint16_t		 seq;
	uint32_t		 ts;
	int			 i, plen;

	(void)ev;
	(void)arg;
	for (i = 0; i < RTP_READ_BURST; i++) {
		sl = sizeof(ss);
		n = recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT,
		    (struct sockaddr *)&ss, &sl);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("rtp recvfrom");
			return;
		}
		s = session_by_source((struct sockaddr *)&ss, sl);
		plen = rtp_parse(pkt, (size_t)n, &pt, &seq, &ts, &off);
		if (s == NULL || plen < 0) {
			metrics_refused();
			continue;
		}
		/* Answer with the payload type Asterisk uses for slin16. */
		if (s->format == BOT_FMT_SLIN16 && pt >= 96)
			s->pt = pt;
		if (plen > 0)
			media_in(s, pkt + off, (size_t)plen, 0);
	}
}

void
rtp_send(struct session *s, const uint8_t *payload, size_t len)
{
	uint8_t	pkt[RTP_HDR + BOT_FRAME_MAX * 2];

	if (len > BOT_FRAME_MAX * 2)
		return;
	pkt[0] = 0x80;
	pkt[1] = (uint8_t)((s->marker ? 0x80 : 0) | s->pt);
	pkt[2] = (uint8_t)(s->seq >> 8);
	pkt[3] = (uint8_t)s->seq;
	pkt[4] = (uint8_t)(s->ts >> 24);
	pkt[5] = (uint8_t)(s->ts >> 16);
	pkt[6] = (uint8_t)(s->ts >> 8);
	pkt[7] = (uint8_t)s->ts;
	pkt[8] = (uint8_t)(s->ssrc >> 24);
	pkt[9] = (uint8_t)(s->ssrc >> 16);
	pkt[10] = (uint8_t)(s->ssrc >> 8);
	pkt[11] = (uint8_t)s->ssrc;
	memcpy(pkt + RTP_HDR, payload, len);
	if (sendto(rtp_fd, pkt, RTP_HDR + len, MSG_DONTWAIT,
	    (struct sockaddr *)&s->peer, s->peerlen) == -1 &&
	    errno != EAGAIN)
		log_debug("rtp sendto leg=%s: %s", s->leg, strerror(errno));
}

void
rtp_init(void)
{
	struct addrinfo	 hints, *ai;
	char		 host[64];
	const char	*colon = strrchr(bot_conf.rtp_listen, ':');
	size_t		 n = (size_t)(colon - bot_conf.rtp_listen);
	int		 one = 1, buf = RTP_SNDBUF;

	snprintf(host, sizeof(host), "%.*s", (int)n, bot_conf.rtp_listen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host[0] == '[' ? host + 1 : host, colon + 1, &hints,
	    &ai) != 0)
		fatalx("BOT_RTP_LISTEN=%s is not a numeric address",
		    bot_conf.rtp_listen);
	if ((rtp_fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("rtp socket");
	setsockopt(rtp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(rtp_fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(rtp_fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (bind(rtp_fd, ai->ai_addr, ai->ai_addrlen) == -1)
		fatal("can't bind BOT_RTP_LISTEN=%s", bot_conf.rtp_listen);
	freeaddrinfo(ai);
	rtp_ev = event_new(bot_base, rtp_fd, EV_READ | EV_PERSIST, rtp_read,
	    NULL);
	if (rtp_ev == NULL || event_add(rtp_ev, NULL) == -1)
		fatalx("can't watch the RTP socket");
}

void
rtp_shutdown(void)
{
	if (rtp_ev != NULL)
		event_free(rtp_ev);
	rtp_ev = NULL;
	close(rtp_fd);
}
