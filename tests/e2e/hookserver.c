/*
 * hookserver.c — a webhook server for the end-to-end tests (hookserver.h):
 * request line, headers and a Content-Length body, read properly.
 */
#include <sys/socket.h>

#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"
#include "hookserver.h"

struct hook	hook;

/* The value of header `name` in head (CRLF lines), or "". */
static void
header(const char *head, const char *name, char *out, size_t size)
{
	const char	*p = head;
	size_t		 n = strlen(name), k;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (p += n + 1; *p == ' ' || *p == '\t'; p++)
			;
		k = strcspn(p, "\r\n");
		snprintf(out, size, "%.*s", (int)k, p);
		return;
	}
}

/* Read until the end of the head; its length (with CRLFCRLF), or -1. */
static int
read_head(int fd, char *buf, size_t size, size_t *have)
{
	char	*end;
	ssize_t	 n;

	*have = 0;
	while (*have < size - 1) {
		if ((n = read(fd, buf + *have, size - 1 - *have)) <= 0)
			return -1;
		*have += (size_t)n;
		buf[*have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			return (int)(end + 4 - buf);
	}
	return -1;
}

/* Request line, headers, Content-Length body; kept in hook.  0 or -1. */
static int
hook_read(int fd)
{
	char	 buf[HOOK_HEAD_MAX + HOOK_BODY_MAX], cl[32], ex[64];
	char	 method[16], target[256];
	size_t	 have, want;
	ssize_t	 n;
	int	 hlen;

	if ((hlen = read_head(fd, buf, sizeof(buf), &have)) == -1 ||
	    sscanf(buf, "%15s %255s HTTP/1.", method, target) != 2)
		return -1;
	header(buf, "Content-Length", cl, sizeof(cl));
	want = strtoul(cl, NULL, 10);
	if (want >= HOOK_BODY_MAX)
		return -1;
	header(buf, "Expect", ex, sizeof(ex));
	if (strcasecmp(ex, "100-continue") == 0 && have == (size_t)hlen)
		(void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	while (have - (size_t)hlen < want) {
		if ((n = read(fd, buf + have, hlen + want - have)) <= 0)
			return -1;
		have += (size_t)n;
	}
	pthread_mutex_lock(&hook.mu);
	hook.nreq++;
	snprintf(hook.method, sizeof(hook.method), "%s", method);
	snprintf(hook.target, sizeof(hook.target), "%s", target);
	header(buf, "Content-Type", hook.ctype, sizeof(hook.ctype));
	snprintf(hook.body, sizeof(hook.body), "%.*s", (int)want, buf + hlen);
	pthread_mutex_unlock(&hook.mu);
	return 0;
}

/* The answer the mode asks for; HOOK_SLOW holds until curl gives up. */
static void
hook_answer(int fd)
{
	static const struct { int status; const char *body; } ans[] = {
	    [HOOK_GOLD] = { 200,
		"{\"next\": \"gold\", \"set\": {\"CODE\": \"7\", \"TIER\": 3}}" },
	    [HOOK_500] = { 500, "{\"next\": \"gold\"}" },
	    [HOOK_GARBAGE] = { 200, "this is not JSON {" },
	    [HOOK_NOSTATE] = { 200, "{\"next\": \"nosuchstate\"}" },
	};
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		out[1024], c;
	int		n;

	if (hook.mode == HOOK_SLOW) {
		/* No answer at all: the client's timeout ends it (EOF). */
		while (!hook.stop && poll(&pfd, 1, HOOK_HOLD_MS) == 1 &&
		    read(fd, &c, 1) == 1)
			;
		return;
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", ans[hook.mode].status, strlen(ans[hook.mode].body),
	    ans[hook.mode].body);
	(void)!write(fd, out, n);
}

static void *
hook_main(void *arg)
{
	struct pollfd	pfd = { hook.fd, POLLIN, 0 };
	int		fd;

	(void)arg;
	while (!hook.stop) {
		if (poll(&pfd, 1, 100) != 1 ||
		    (fd = accept4(hook.fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		if (hook_read(fd) == 0)
			hook_answer(fd);
		close(fd);
	}
	return NULL;
}

void
hook_start(enum hook_mode mode)
{
	memset(&hook, 0, sizeof(hook));
	pthread_mutex_init(&hook.mu, NULL);
	hook.mode = mode;
	hook.port = 0;
	ck_assert_int_ge((hook.fd = h_listen(SOCK_STREAM, &hook.port)), 0);
	ck_assert_int_eq(pthread_create(&hook.th, NULL, hook_main, NULL), 0);
}

int
hook_nreq(void)
{
	int	n;

	pthread_mutex_lock(&hook.mu);
	n = hook.nreq;
	pthread_mutex_unlock(&hook.mu);
	return n;
}

void
hook_stop(void)
{
	hook.stop = 1;
	pthread_join(hook.th, NULL);
	close(hook.fd);
}

