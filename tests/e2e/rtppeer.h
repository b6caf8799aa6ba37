/*
 * rtppeer.h — the bot end of test_e2e_media.c: an RTP peer on 127.0.0.1
 * (a thread) that counts and classifies what Asterisk sends and, once
 * told where, sends a 400 Hz G.711 µ-law tone every 20 ms.
 */
#ifndef MAI_E2E_RTPPEER_H
#define MAI_E2E_RTPPEER_H

#include <netinet/in.h>

#include <pthread.h>
#include <stdint.h>

/* RTP: G.711 µ-law, payload type 0, 20 ms = 160 samples at 8 kHz. */
#define RTP_HDR			12
#define RTP_PT_ULAW		0
#define RTP_SAMPLES		160
#define RTP_PERIOD_MS		20
#define RTP_SSRC		0x6d61690aU
/* A packet is "loud" when its mean |sample| passes this (the peer sends
 * a 400 Hz tone of amplitude 8000: a mean near 5100; silence is 0). */
#define LOUD_MEAN		1000
/* What "audio flowed" means: one second of loud packets each way. */
#define LOUD_PKTS		50
/* Our tone has 16 sign changes per packet (400 Hz); Milliwatt's 1004 Hz
 * about 40.  A loud packet within these bounds is our tone back. */
#define OURS_ZC_MIN		14
#define OURS_ZC_MAX		18

/* The bot's media endpoint. */
struct peer {
	int			 fd;
	int			 port;
	volatile int		 stop;
	pthread_t		 th;
	pthread_mutex_t		 mu;
	struct sockaddr_in	 to;		/* Asterisk's side; set: sending */
	volatile int		 sending;
	long			 rx_pkts, rx_bytes, rx_loud, rx_bad;
	long			 rx_loud_unsent; /* loud before we sent any */
	long			 rx_ours;	/* loud and our 400 Hz tone */
	int			 rx_port;	/* where the first came from */
	long			 rx_other_port;	/* later ones from elsewhere */
	long			 tx_pkts, tx_bytes;
	uint8_t			 tone[RTP_SAMPLES];
};

extern struct peer	peer;

void	peer_start(void);
long	peer_get(const long *);
void	peer_stop(void);

#endif
