/*
 * listen.c — bind the HTTP listen socket once, in the supervisor.
 *
 * The health-worker only gets a copy.  Because this process keeps the
 * socket open, connections that arrive while a health-worker restarts wait
 * in the kernel's backlog instead of being refused.
 */
#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define HTTP_BACKLOG	1024	/* probes queued during a worker restart */

/* "host:port", "[v6]:port" or ":port" (all addresses). */
static int
listen_split(const char *spec, char *host, size_t hsize, char *port,
    size_t psize)
{
	const char	*colon, *h = spec;
	size_t		 hlen;

	if (*spec == '[') {
		if ((colon = strstr(spec, "]:")) == NULL)
			return -1;
		h = spec + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - spec);
	}
	if (hlen >= hsize || strlen(colon + 1) >= psize || colon[1] == '\0')
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int
listen_check(const char *spec, char *err, size_t errlen)
{
	char	host[128], port[16], *end;
	long	p;

	if (listen_split(spec, host, sizeof(host), port, sizeof(port)) == -1 ||
	    (p = strtol(port, &end, 10)) < 1 || p > 65535 || *end != '\0') {
		snprintf(err, errlen, "HTTP_LISTEN=%s is not valid: use "
		    "HOST:PORT, [V6ADDR]:PORT or :PORT", spec);
		return -1;
	}
	return 0;
}

int
listen_http(const char *spec, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[128], port[16];
	int		 fd, on = 1, rc;

	if (listen_split(spec, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "HTTP_LISTEN=%s is not valid: use "
		    "HOST:PORT, [V6ADDR]:PORT or :PORT", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "HTTP_LISTEN=%s is not valid: %s (use a "
		    "numeric address and port)", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		snprintf(err, errlen, "HTTP_LISTEN=%s: cannot listen: %m (is "
		    "another process on that port?)", spec);
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}
