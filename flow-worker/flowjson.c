/*
 * flowjson.c — the flow file as text: read it, parse it strictly, and
 * say where it is wrong.  Every error is one line, "FILE: flow F state S:
 * what"; JSON syntax errors give the line, column and byte offset that
 * json-c's tokener stopped at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "flow.h"

void
fparse_err(struct fparse *p, const char *fmt, ...)
{
	char	msg[FLOW_ERR_MAX];
	va_list	ap;
	size_t	len;
	int	n;

	if (p->err[0] != '\0')
		return;		/* the first problem is the one to fix */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A line cut at FLOW_ERR_MAX still names where and begins what. */
	if (p->flow != NULL && p->state != NULL)
		n = snprintf(p->err, sizeof(p->err), "%s: flow \"%s\" state "
		    "\"%s\": ", p->file, p->flow, p->state);
	else if (p->flow != NULL)
		n = snprintf(p->err, sizeof(p->err), "%s: flow \"%s\": ",
		    p->file, p->flow);
	else
		n = snprintf(p->err, sizeof(p->err), "%s: ", p->file);
	if (n < 0 || (size_t)n >= sizeof(p->err))
		return;
	len = strlen(msg);
	if (len >= sizeof(p->err) - (size_t)n)
		len = sizeof(p->err) - (size_t)n - 1;
	memcpy(p->err + n, msg, len);
	p->err[n + len] = '\0';
}

/* Every key of obj must be in `known`: a typo is an error, not a no-op. */
int
fparse_keys(struct fparse *p, struct json_object *obj, const char *what,
    const char *const *known)
{
	char	list[FLOW_STR_MAX];
	size_t	i, off = 0;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		list[0] = '\0';
		for (i = 0; known[i] != NULL && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", known[i]);
		fparse_err(p, "unknown key \"%.64s\" in %s (known: %s)", key,
		    what, list);
		return -1;
	}
	return 0;
}

/* Line and column of a byte offset, for a JSON syntax error. */
static void
flowjson_where(const char *buf, size_t off, int *line, int *col)
{
	size_t	i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

struct json_object *
flowjson_parse(struct fparse *p, const char *buf, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*root;
	enum json_tokener_error	 jerr;
	size_t			 end;
	int			 line, col;

	if ((tok = json_tokener_new()) == NULL)
		fatalx("json_tokener_new");
	/* Strict: a trailing comma or a single quote is an error, not luck. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success)
		while (end < len && strchr(" \t\r\n", buf[end]) != NULL)
			end++;
	if (jerr == json_tokener_success && end == len)
		return root;
	json_object_put(root);
	flowjson_where(buf, end, &line, &col);
	if (jerr == json_tokener_continue)
		fparse_err(p, "JSON syntax error at line %d column %d "
		    "(offset %zu): unexpected end of file", line, col, end);
	else if (jerr == json_tokener_success)
		fparse_err(p, "JSON syntax error at line %d column %d "
		    "(offset %zu): text after the end of the object", line,
		    col, end);
	else
		fparse_err(p, "JSON syntax error at line %d column %d "
		    "(offset %zu): %s", line, col, end,
		    json_tokener_error_desc(jerr));
	return NULL;
}

/* The file's bytes into buf (FLOW_FILE_MAX + 1); -1 with the error. */
int
flowjson_read(struct fparse *p, char *buf, size_t *len)
{
	FILE	*fp;

	if ((fp = fopen(p->file, "r")) == NULL) {
		fparse_err(p, "cannot open: %s", strerror(errno));
		return -1;
	}
	*len = fread(buf, 1, FLOW_FILE_MAX + 1, fp);
	if (ferror(fp))
		fparse_err(p, "cannot read: %s", strerror(errno));
	fclose(fp);
	return p->err[0] == '\0' ? 0 : -1;
}

