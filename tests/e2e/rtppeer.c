/*
 * rtppeer.c — an RTP peer for the end-to-end tests (rtppeer.h).
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <check.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rtppeer.h"

struct peer	peer;

/* G.711 µ-law (ITU-T G.711, the classic Sun reference code). */
static uint8_t
ulaw_enc(int s)
{
	int	sign = s < 0 ? 0x80 : 0, exp = 7, mask;

	if (s < 0)
		s = -s;
	if (s > 32635)
		s = 32635;
	s += 0x84;
	for (mask = 0x4000; (s & mask) == 0 && exp > 0; mask >>= 1)
		exp--;
	return (uint8_t)~(sign | exp << 4 | ((s >> (exp + 3)) & 0x0f));
}

static int
ulaw_dec(uint8_t u)
{
	int	t;

	u = ~u;
	t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
	return (u & 0x80) ? 0x84 - t : t - 0x84;
}

static int
loud(const uint8_t *p, size_t n)
{
	long	sum = 0;
	size_t	i;

	for (i = 0; i < n; i++)
		sum += abs(ulaw_dec(p[i]));
	return n > 0 && sum / (long)n > LOUD_MEAN;
}

/* Sign changes in a payload: its pitch, whatever the phase. */
static int
zero_crossings(const uint8_t *p, size_t n)
{
	int	zc = 0, last = 0, v;
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((v = ulaw_dec(p[i])) == 0)
			continue;
		if (last != 0 && (v > 0) != (last > 0))
			zc++;
		last = v;
	}
	return zc;
}

/* One datagram from Asterisk: RTP version 2, µ-law, counted. */
static void
peer_recv(void)
{
	struct sockaddr_in	from;
	socklen_t		len = sizeof(from);
	uint8_t			pkt[2048], *pl;
	size_t			plen;
	ssize_t			n;
	int			cc, zc;

	while ((n = recvfrom(peer.fd, pkt, sizeof(pkt), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &len)) > 0) {
		pthread_mutex_lock(&peer.mu);
		if (peer.rx_port == 0)
			peer.rx_port = ntohs(from.sin_port);
		else if (peer.rx_port != ntohs(from.sin_port))
			peer.rx_other_port++;
		len = sizeof(from);
		cc = pkt[0] & 0x0f;
		if (n < RTP_HDR + 4 * cc || pkt[0] >> 6 != 2 ||
		    (pkt[1] & 0x7f) != RTP_PT_ULAW)
			peer.rx_bad++;
		else {
			peer.rx_pkts++;
			peer.rx_bytes += n - RTP_HDR - 4 * cc;
			pl = pkt + RTP_HDR + 4 * cc;
			plen = (size_t)n - RTP_HDR - 4 * cc;
			if (loud(pl, plen)) {
				peer.rx_loud++;
				if (peer.tx_pkts == 0)
					peer.rx_loud_unsent++;
				zc = zero_crossings(pl, plen);
				if (zc >= OURS_ZC_MIN && zc <= OURS_ZC_MAX)
					peer.rx_ours++;
			}
		}
		pthread_mutex_unlock(&peer.mu);
	}
}

static void
peer_send(uint16_t seq, uint32_t ts)
{
	uint8_t	pkt[RTP_HDR + RTP_SAMPLES];
	ssize_t	n;

	pkt[0] = 0x80;
	pkt[1] = (seq == 0 ? 0x80 : 0) | RTP_PT_ULAW;	/* marker: first */
	pkt[2] = seq >> 8;
	pkt[3] = seq & 0xff;
	pkt[4] = ts >> 24;
	pkt[5] = ts >> 16 & 0xff;
	pkt[6] = ts >> 8 & 0xff;
	pkt[7] = ts & 0xff;
	pkt[8] = RTP_SSRC >> 24;
	pkt[9] = RTP_SSRC >> 16 & 0xff;
	pkt[10] = RTP_SSRC >> 8 & 0xff;
	pkt[11] = RTP_SSRC & 0xff;
	memcpy(pkt + RTP_HDR, peer.tone, RTP_SAMPLES);
	n = sendto(peer.fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer.to,
	    sizeof(peer.to));
	pthread_mutex_lock(&peer.mu);
	if (n == (ssize_t)sizeof(pkt)) {
		peer.tx_pkts++;
		peer.tx_bytes += RTP_SAMPLES;
	}
	pthread_mutex_unlock(&peer.mu);
}

/* Receive all the time; once told where, send a packet every 20 ms. */
static void *
peer_main(void *arg)
{
	struct pollfd	pfd = { peer.fd, POLLIN, 0 };
	uint16_t	seq = 0;
	uint32_t	ts = 0;
	long		next = 0, now;

	(void)arg;
	while (!peer.stop) {
		(void)poll(&pfd, 1, RTP_PERIOD_MS / 2);
		peer_recv();
		if (!peer.sending || (now = h_now_ms()) < next)
			continue;
		peer_send(seq++, ts);
		ts += RTP_SAMPLES;
		/* Late (a busy machine): start the 20 ms beat again. */
		next = next == 0 || now - next > 10 * RTP_PERIOD_MS ?
		    now + RTP_PERIOD_MS : next + RTP_PERIOD_MS;
	}
	return NULL;
}

void
peer_start(void)
{
	int	i;

	memset(&peer, 0, sizeof(peer));
	pthread_mutex_init(&peer.mu, NULL);
	/* 400 Hz: 8 whole periods per packet, so every packet is the same. */
	for (i = 0; i < RTP_SAMPLES; i++)
		peer.tone[i] = ulaw_enc((int)(8000 * sin(2 * M_PI * 400 * i /
		    8000.0)));
	peer.port = 0;
	ck_assert_int_ge((peer.fd = h_listen(SOCK_DGRAM, &peer.port)), 0);
	ck_assert_int_eq(pthread_create(&peer.th, NULL, peer_main, NULL), 0);
}

long
peer_get(const long *counter)
{
	long	v;

	pthread_mutex_lock(&peer.mu);
	v = *counter;
	pthread_mutex_unlock(&peer.mu);
	return v;
}

void
peer_stop(void)
{
	peer.stop = 1;
	pthread_join(peer.th, NULL);
	close(peer.fd);
}

