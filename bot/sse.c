/*
 * sse.c — an incremental parser for Server-Sent Events (the HTML living
 * standard's event-stream), as OpenAI-compatible servers stream chat.
 *
 * Bytes come in arbitrary pieces (a line, an event, a UTF-8 character may
 * be split anywhere): complete lines are taken from the buffer, "data:"
 * lines of one event are joined with "\n", an empty line dispatches the
 * event.  Comments (":") and other fields (event, id, retry) are ignored.
 * A line longer than SSE_LINE_MAX is garbage: the feed fails.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bot.h"

static int
sse_grow(char **buf, size_t *cap, size_t need)
{
	size_t	ncap = *cap ? *cap : 256;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((*buf = realloc(*buf, ncap)) == NULL)
		fatal("realloc");
	*cap = ncap;
	return 0;
}

static int
sse_line(struct sse *p, char *line, size_t len, sse_cb cb, void *arg)
{
	int	rc;

	if (len == 0) {				/* dispatch */
		if (p->data == NULL || p->dlen == 0)
			return 0;
		p->data[p->dlen - 1] = '\0';	/* the last "\n" */
		rc = cb(arg, p->data, p->dlen - 1);
		p->dlen = 0;
		return rc;
	}
	if (line[0] == ':')
		return 0;
	if (len >= 4 && memcmp(line, "data", 4) == 0 &&
	    (len == 4 || line[4] == ':')) {
		line += len == 4 ? 4 : 5;
		len -= len == 4 ? 4 : 5;
		if (len > 0 && line[0] == ' ') {
			line++;
			len--;
		}
		sse_grow(&p->data, &p->dcap, p->dlen + len + 2);
		memcpy(p->data + p->dlen, line, len);
		p->dlen += len;
		p->data[p->dlen++] = '\n';
	}
	return 0;
}

/* 0, or the callback's non-zero, or -1 on garbage. */
int
sse_feed(struct sse *p, const char *in, size_t n, sse_cb cb, void *arg)
{
	size_t	start = 0, i, end;
	int	rc;

	sse_grow(&p->buf, &p->cap, p->len + n + 1);
	memcpy(p->buf + p->len, in, n);
	p->len += n;
	for (i = 0; i < p->len; i++) {
		if (p->buf[i] != '\n' && p->buf[i] != '\r')
			continue;
		/* "\r" alone may be followed by "\n" in the next piece */
		if (p->buf[i] == '\r' && i + 1 == p->len)
			break;
		end = i;
		if (p->buf[i] == '\r' && p->buf[i + 1] == '\n')
			i++;
		if ((rc = sse_line(p, p->buf + start, end - start, cb, arg))
		    != 0) {
			start = i + 1;
			memmove(p->buf, p->buf + start, p->len - start);
			p->len -= start;
			return rc;
		}
		start = i + 1;
	}
	memmove(p->buf, p->buf + start, p->len - start);
	p->len -= start;
	if (p->len > SSE_LINE_MAX) {
		p->overflow = true;
		return -1;
	}
	return 0;
}

void
sse_free(struct sse *p)
{
	free(p->buf);
	free(p->data);
	memset(p, 0, sizeof(*p));
}
