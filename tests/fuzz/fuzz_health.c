/*
 * fuzz_health.c — the health-worker's HTTP side (health-worker/http.c
 * routing and answers, render.c bodies) behind libevent's own request
 * parser, over a real connection: the input is what a client sends, then
 * it closes its sending side and reads until the server closes.
 *
 * The server is http_init()/http_accept_start() as in production, on a
 * listening unix socket instead of TCP (no ports, no TIME_WAIT).  A
 * connection that the server neither answers nor closes after the
 * client's EOF would hold a health-worker slot forever: that aborts.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "health.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Far above any answer time: only a connection left hanging hits it. */
#define CONN_STUCK_S	10
#define SEND_MAX	(64 * 1024)

static struct event_base	*base;
static struct http_server	 srv;
static struct health_state	 state;
static struct sockaddr_un	 addr;
static socklen_t		 addrlen;

static void
setup(void)
{
	static struct mai_config	conf;
	int				fd;

	log_init("fuzz", LOG_LVL_ERROR, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		abort();
	render_deps(&state);
	render_ready(&state);
	/* Abstract namespace: nothing on disk to clean up. */
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
	    "mai-fuzz-health-%d", (int)getpid());
	addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(addr.sun_path + 1));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(fd, (struct sockaddr *)&addr, addrlen) == -1 ||
	    listen(fd, 16) == -1)
		abort();
	/* All 0: the health port's default deadline and cap. */
	http_init(&srv, base, fd, &state, &conf);
	http_accept_start(&srv);
}

/* Read the answers; the server closing the connection ends the input. */
static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char	buf[16 * 1024];
	ssize_t	n;

	(void)arg;
	if (what & EV_TIMEOUT) {
		fprintf(stderr, "server kept the connection %d s after EOF\n",
		    CONN_STUCK_S);
		abort();
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n == 0 || (n == -1 && errno != EAGAIN))
		event_base_loopbreak(base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timeval	 stuck = { CONN_STUCK_S, 0 };
	struct event	*ev;
	int		 fd, sndbuf = 2 * SEND_MAX;

	if (base == NULL)
		setup();
	if (size > SEND_MAX)
		size = SEND_MAX;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) ||
	    connect(fd, (struct sockaddr *)&addr, addrlen) == -1)
		abort();
	if (size > 0 && write(fd, data, size) == -1)
		abort();
	shutdown(fd, SHUT_WR);
	evutil_make_socket_nonblocking(fd);
	if ((ev = event_new(base, fd, EV_READ | EV_PERSIST, client_read_cb,
	    NULL)) == NULL || event_add(ev, &stuck) == -1)
		abort();
	event_base_dispatch(base);
	event_free(ev);
	close(fd);
	return 0;
}
