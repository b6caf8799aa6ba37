/*
 * jsoncheck.c — is this WebSocket message an ARI event?
 *
 * An event is a JSON object (RFC 8259) with a string member "type".  The
 * check runs on every message at tens of thousands per second, so it scans
 * the bytes once, allocates nothing and builds no tree: a full json-c parse
 * costs about ten times more per event and the ws-worker never needs the
 * values, only the type (to notice ApplicationReplaced).  The supervisor
 * forwards the bytes untouched; the flow-worker does the real parse.
 *
 * Strings are checked for JSON escapes, raw control bytes and UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF):
 * RFC 8259 requires UTF-8 and a WebSocket text message must be UTF-8
 * (RFC 6455 8.1), and json-c by default would pass bad bytes on to the
 * flow-worker, its logs and its webhooks.  Object keys are compared as raw
 * bytes: "typ\u0065" is not seen as "type" (Asterisk's encoder, jansson,
 * never escapes a letter).
 */
#include <string.h>

#include "ws.h"

struct jscan {
	const unsigned char	*p;
	const unsigned char	*end;
	unsigned char		 stack[JSON_DEPTH_MAX];	/* '{' or '[' */
	int			 depth;
	int			 type_next;	/* next value: top "type" */
	int			 too_deep;
	int			 bad_utf8;
	struct json_event	*ev;
};

enum jstate { JS_VALUE, JS_AFTER, JS_KEY, JS_DONE, JS_FAIL };

static void
js_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
js_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Bytes that end a run of plain string content: '"', '\\', controls. */
static const unsigned char js_special[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1,
	[0x06] = 1, [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1,
	[0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
	[0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1,
	[0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
	[0x80 ... 0xff] = 1,	/* UTF-8 lead and continuation bytes */
};

/*
 * After lead byte c of a UTF-8 sequence (s->p just past it): take the
 * continuation bytes.  The second byte's range depends on the lead, which
 * is what rules out overlong forms, surrogates and code points past
 * U+10FFFF (RFC 3629, section 4).  0, or -1 with bad_utf8 set.
 */
static int
js_utf8(struct jscan *s, unsigned char c)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	int		more, i;

	if (c >= 0xc2 && c <= 0xdf)
		more = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		more = 2;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		more = 3;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		more = -1;
	for (i = 0; i < more && s->p < s->end; i++, lo = 0x80, hi = 0xbf)
		if (*s->p < lo || *s->p++ > hi)
			break;
	if (more < 0 || i < more) {
		s->bad_utf8 = 1;
		return -1;
	}
	return 0;
}

static int
js_escape(struct jscan *s)
{
	unsigned char	c;
	int		i;

	if (s->p >= s->end)
		return -1;
	c = *s->p++;
	if (c != 'u')
		return c != '\0' && strchr("\"\\/bfnrt", c) != NULL ? 0 : -1;
	if (s->end - s->p < 4)
		return -1;
	for (i = 0; i < 4; i++)
		if (!js_hex(*s->p++))
			return -1;
	return 0;
}

/* At an opening quote; leaves p after the closing one.  0 or -1. */
static int
js_string(struct jscan *s)
{
	unsigned char	c;

	for (s->p++; s->p < s->end; ) {
		/* The hot loop: most bytes of an event are plain text. */
		while (s->p < s->end && !js_special[*s->p])
			s->p++;
		if (s->p >= s->end)
			return -1;
		c = *s->p++;
		if (c == '"')
			return 0;
		if (c >= 0x80) {
			if (js_utf8(s, c) == -1)
				return -1;
		} else if (c != '\\' || js_escape(s) == -1)
			return -1;
	}
	return -1;
}

static int
js_digits(struct jscan *s)
{
	const unsigned char	*start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start ? 0 : -1;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int
js_number(struct jscan *s)
{
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (js_digits(s) == -1)
		return -1;
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (js_digits(s) == -1)
			return -1;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (js_digits(s) == -1)
			return -1;
	}
	return 0;
}

static int
js_literal(struct jscan *s, const char *word)
{
	size_t	len = strlen(word);

	if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0)
		return -1;
	s->p += len;
	return 0;
}

/* Open a container; an empty one closes at once. */
static enum jstate
js_open(struct jscan *s, unsigned char open, unsigned char close)
{
	if (s->depth == JSON_DEPTH_MAX) {
		s->too_deep = 1;
		return JS_FAIL;
	}
	s->stack[s->depth++] = open;
	s->p++;
	js_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return JS_AFTER;
	}
	return open == '{' ? JS_KEY : JS_VALUE;
}

static enum jstate
js_value(struct jscan *s)
{
	const unsigned char	*start;
	int			 is_type = s->type_next;

	s->type_next = 0;
	js_ws(s);
	if (s->p >= s->end)
		return JS_FAIL;
	/* The last "type" wins, as in json-c: a later non-string unsets it. */
	if (is_type && *s->p != '"')
		s->ev->type = NULL;
	switch (*s->p) {
	case '{':
		return js_open(s, '{', '}');
	case '[':
		return js_open(s, '[', ']');
	case '"':
		start = s->p + 1;
		if (js_string(s) == -1)
			return JS_FAIL;
		if (is_type) {
			s->ev->type = (const char *)start;
			s->ev->type_len = (size_t)(s->p - 1 - start);
		}
		return JS_AFTER;
	case 't':
		return js_literal(s, "true") == 0 ? JS_AFTER : JS_FAIL;
	case 'f':
		return js_literal(s, "false") == 0 ? JS_AFTER : JS_FAIL;
	case 'n':
		return js_literal(s, "null") == 0 ? JS_AFTER : JS_FAIL;
	default:
		return js_number(s) == 0 ? JS_AFTER : JS_FAIL;
	}
}

/* After a value: a separator, a closing bracket, or the end. */
static enum jstate
js_after(struct jscan *s)
{
	unsigned char	c, top;

	js_ws(s);
	if (s->depth == 0)
		return s->p == s->end ? JS_DONE : JS_FAIL;
	if (s->p >= s->end)
		return JS_FAIL;
	c = *s->p++;
	top = s->stack[s->depth - 1];
	if (c == ',')
		return top == '{' ? JS_KEY : JS_VALUE;
	if ((c == '}' && top == '{') || (c == ']' && top == '[')) {
		s->depth--;
		return JS_AFTER;
	}
	return JS_FAIL;
}

static enum jstate
js_key(struct jscan *s)
{
	const unsigned char	*start;

	js_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return JS_FAIL;
	start = s->p + 1;
	if (js_string(s) == -1)
		return JS_FAIL;
	if (s->depth == 1 && s->p - 1 - start == 4 &&
	    memcmp(start, "type", 4) == 0)
		s->type_next = 1;
	js_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return JS_FAIL;
	s->p++;
	return JS_VALUE;
}

/*
 * Check buf and, for an event, point ev->type at the raw bytes of its
 * "type" value (inside buf, not NUL-terminated; the last one wins if the
 * key repeats).
 */
enum json_verdict
json_event_check(const char *buf, size_t len, struct json_event *ev)
{
	struct jscan	s;
	enum jstate	st = JS_VALUE;

	memset(&s, 0, sizeof(s));
	memset(ev, 0, sizeof(*ev));
	s.p = (const unsigned char *)buf;
	s.end = s.p + len;
	s.ev = ev;
	js_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		return JSON_NOT_OBJECT;
	while (st != JS_DONE && st != JS_FAIL) {
		switch (st) {
		case JS_VALUE:
			st = js_value(&s);
			break;
		case JS_AFTER:
			st = js_after(&s);
			break;
		default:
			st = js_key(&s);
			break;
		}
	}
	if (st == JS_FAIL)
		return s.too_deep ? JSON_TOO_DEEP : s.bad_utf8 ? JSON_NOT_UTF8 :
		    JSON_INVALID;
	return ev->type != NULL ? JSON_EVENT : JSON_NO_TYPE;
}

const char *
json_verdict_name(enum json_verdict v)
{
	switch (v) {
	case JSON_EVENT:	return "event";
	case JSON_NOT_OBJECT:	return "not a JSON object";
	case JSON_INVALID:	return "invalid JSON";
	case JSON_TOO_DEEP:	return "nested too deep";
	case JSON_NO_TYPE:	return "no string \"type\" member";
	case JSON_NOT_UTF8:	return "not UTF-8";
	default:		return "unknown";
	}
}
