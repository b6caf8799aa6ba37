/*
 * httpbody.c — a bounded response body and the mapping of a finished
 * transfer to a fault kind, shared by the HTTP STT and TTS backends.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "bot.h"

size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	struct body	*b = arg;
	size_t		 len = size * n;

	if (b->len + len > BODY_MAX)
		return 0;	/* overlong: garbage */
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		if ((b->buf = realloc(b->buf, b->cap)) == NULL)
			fatal("realloc");
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/* -1 when the transfer gave a 200 with a body. */
int
body_fault(int rc, long status, const struct body *b)
{
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		return BOT_FAULT_DOWN;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return BOT_FAULT_TIMEOUT;
	if (rc == CURLE_WRITE_ERROR)
		return BOT_FAULT_GARBAGE;
	if (rc != CURLE_OK)
		return BOT_FAULT_CUT;
	if (status != 200)
		return BOT_FAULT_HTTP;
	if (b->len == 0)
		return BOT_FAULT_GARBAGE;
	return -1;
}
