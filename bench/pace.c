/*
 * pace.c — ask the ARI simulator for one event at a steady rate.
 *
 * usage: pace PORT RATE SECONDS
 * Each tick is one HTTP request `GET /_sim/burst?n=1` on a fresh loopback
 * connection; ticks are scheduled on absolute CLOCK_MONOTONIC deadlines so
 * a slow request does not shift the ones after it.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
pace_one(int port)
{
	static const char	req[] = "GET /_sim/burst?n=1&size=1024 HTTP/1.1\r\n"
				    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct sockaddr_in	sin;
	char			buf[1024];
	int			fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1 &&
	    read(fd, buf, sizeof(buf)) > 12 && strncmp(buf + 9, "200", 3) == 0;
	close(fd);
	return ok ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	struct timespec	next;
	long		port, rate, secs, i, n, fails = 0;
	long		step;

	if (argc != 4 || (port = atol(argv[1])) <= 0 ||
	    (rate = atol(argv[2])) <= 0 || (secs = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: pace PORT RATE SECONDS\n");
		return 2;
	}
	step = 1000000000L / rate;
	n = rate * secs;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < n; i++) {
		next.tv_nsec += step;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
		    NULL) == EINTR)
			;
		if (pace_one((int)port) == -1)
			fails++;
	}
	printf("paced events=%ld rate=%ld/s failed_requests=%ld\n", n, rate,
	    fails);
	return fails == 0 ? 0 : 1;
}
