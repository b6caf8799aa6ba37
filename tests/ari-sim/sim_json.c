/*
 * JSON in and out: a growable buffer that answers and events are written
 * into, with string escaping, and the parameters ARI takes from a JSON
 * request body (Asterisk reads every query parameter from the body too).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sim.h"

#define SB_CHUNK	1024

void
sb_reset(struct sim_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
sb_free(struct sim_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Cut back to an earlier length, e.g. to add another event tail. */
void
sb_truncate(struct sim_buf *b, size_t len)
{
	if (b->p == NULL || len > b->len)
		return;
	b->len = len;
	b->p[len] = '\0';
}

static int
sb_reserve(struct sim_buf *b, size_t more)
{
	size_t	 cap;
	char	*np;

	if (b->err)
		return -1;
	if (b->p != NULL && b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : SB_CHUNK;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void
sb_printf(struct sim_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (sb_reserve(b, 256) == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (sb_reserve(b, (size_t)n) == -1)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* s as a quoted JSON string; client text never breaks the JSON around it. */
void
sb_str(struct sim_buf *b, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*o;

	if (sb_reserve(b, strlen(s) * 6 + 2) == -1)
		return;
	o = b->p + b->len;
	*o++ = '"';
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\') {
			*o++ = '\\';
			*o++ = (char)*u;
		} else if (*u < 0x20)
			o += sprintf(o, "\\u%04x", *u);
		else
			*o++ = (char)*u;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->p);
}

/* One body value as ARI sees a parameter; arrays become "a,b,c". */
static int
body_value(struct sim_buf *b, json_object *v)
{
	size_t	i, n;

	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		sb_printf(b, "%s", json_object_get_string(v));
		return 0;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			sb_printf(b, "%s%s", i ? "," : "", json_object_get_string(
			    json_object_array_get_idx(v, i)));
		return 0;
	default:
		return -1;
	}
}

/* Lay out "name=value" strings, NUL-separated, and count them. */
static int
body_collect(struct sim_req *r, json_object *o, struct sim_buf *b)
{
	size_t	mark;
	int	n = 0;

	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "variables") == 0 &&
		    json_object_is_type(val, json_type_object)) {
			r->variables = json_object_get(val);
			continue;
		}
		if (n == SIM_MAX_ARGS)
			break;
		mark = b->len;
		sb_printf(b, "%s=", key);
		if (body_value(b, val) == -1) {
			sb_truncate(b, mark);
			continue;
		}
		/* keep the terminating NUL as a separator */
		if (sb_reserve(b, 1) == 0)
			b->p[++b->len] = '\0';
		n++;
	}
	return b->err ? -1 : n;
}

/*
 * A JSON object body adds its members as parameters, ahead of the query
 * ones so that they win, as in Asterisk's generated *_parse_body().
 * Anything else in the body is left alone.
 */
int
sim_req_body_args(struct sim_req *r)
{
	struct sim_buf	 b = { NULL, 0, 0, 0 };
	char		*args[SIM_MAX_ARGS], *p;
	json_object	*o;
	int		 n, i, k;

	if (r->body == NULL || r->body_len == 0 || r->bargs != NULL)
		return 0;
	o = json_tokener_parse(r->body);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;
	}
	n = body_collect(r, o, &b);
	json_object_put(o);
	if (n <= 0) {
		sb_free(&b);
		return n;
	}
	r->bargs = b.p;
	for (i = 0, p = b.p; i < n; i++, p += strlen(p) + 1)
		args[i] = p;
	for (k = 0; k < r->nargs && i < SIM_MAX_ARGS; k++)
		args[i++] = r->args[k];
	memcpy(r->args, args, sizeof(args[0]) * (size_t)i);
	r->nargs = i;
	return 0;
}

void
sim_req_body_free(struct sim_req *r)
{
	free(r->bargs);
	r->bargs = NULL;
	json_object_put(r->variables);
	r->variables = NULL;
}

/* Each string member of the originate body's "variables", in order. */
void
sim_req_variables(const struct sim_req *r,
    void (*fn)(const char *, const char *, void *), void *arg)
{
	json_object	*o = r->variables;

	if (o == NULL)
		return;
	json_object_object_foreach(o, key, val) {
		if (json_object_is_type(val, json_type_string))
			fn(key, json_object_get_string(val), arg);
	}
}
