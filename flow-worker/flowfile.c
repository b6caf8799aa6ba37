/*
 * flowfile.c — a parsed flow file to a struct flowset.
 *
 * A file is taken whole or not at all: everything is checked here, in
 * flowact.c and in flowcheck.c before a call can use it, and the first
 * problem ends the load with one line that names the file, the flow, the
 * state and what is wrong.  Strings stay inside the parsed JSON tree,
 * which the flowset keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "flow.h"

static const char *const top_keys[] = { "version", "description", "flows",
    "routes", NULL };
static const char *const flow_keys[] = { "description", "initial",
    "fallback", "states", NULL };
static const char *const state_keys[] = { "description", "actions", "on",
    "timeout_ms", NULL };
static const char *const route_keys[] = { "exten", "default", "flow",
    NULL };
static const char *const branch_keys[] = { "when", "to", NULL };

/* Names go into MAI_STATE as "FLOW/STATE/SEQ": no '/', bounded. */
static int
flowfile_name(struct fparse *p, const char *what, const char *name)
{
	if (name[0] != '\0' && strlen(name) < FLOW_NAME_MAX &&
	    strchr(name, '/') == NULL)
		return 0;
	fparse_err(p, "%s name \"%.64s\" must be 1..%d bytes without '/'",
	    what, name, FLOW_NAME_MAX - 1);
	return -1;
}

int
flowdef_state(const struct flowdef *fd, const char *name)
{
	size_t	i;

	for (i = 0; name != NULL && i < fd->nstates; i++)
		if (strcmp(fd->states[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
flowset_flow(const struct flowset *fs, const char *name)
{
	size_t	i;

	for (i = 0; fs != NULL && name != NULL && i < fs->nflows; i++)
		if (strcmp(fs->flows[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* "bot_media", "var:NAME" or "var:NAME=VALUE". */
static int
flowfile_cond(struct fparse *p, const char *s, struct branch *b)
{
	const char	*eq;
	size_t		 n;

	if (strcmp(s, "bot_media") == 0) {
		b->cond = COND_BOT_MEDIA;
		return 0;
	}
	if (strncmp(s, "var:", 4) == 0) {
		s += 4;
		eq = strchr(s, '=');
		n = eq != NULL ? (size_t)(eq - s) : strlen(s);
		if (n > 0 && n < sizeof(b->var)) {
			memcpy(b->var, s, n);
			b->var[n] = '\0';
			b->cond = eq != NULL ? COND_VAR_EQ : COND_VAR_SET;
			b->value = eq != NULL ? eq + 1 : NULL;
			return 0;
		}
	}
	fparse_err(p, "condition \"%.64s\" is not bot_media, var:NAME or "
	    "var:NAME=VALUE", s);
	return -1;
}

static int
flowfile_branch(struct fparse *p, struct flowdef *fd, struct json_object *o,
    struct branch *b, const char *ev)
{
	struct json_object	*v;

	if (json_object_is_type(o, json_type_string)) {
		b->to_name = json_object_get_string(o);
	} else if (json_object_is_type(o, json_type_object)) {
		if (fparse_keys(p, o, "a transition", branch_keys) == -1)
			return -1;
		if (json_object_object_get_ex(o, "when", &v) &&
		    (!json_object_is_type(v, json_type_string) ||
		    flowfile_cond(p, json_object_get_string(v), b) == -1)) {
			fparse_err(p, "\"when\" of \"%s\" must be a string", ev);
			return -1;
		}
		if (json_object_object_get_ex(o, "to", &v) &&
		    json_object_is_type(v, json_type_string))
			b->to_name = json_object_get_string(v);
	}
	if (b->to_name == NULL) {
		fparse_err(p, "transition \"%s\" needs a state name or "
		    "{\"when\": ..., \"to\": STATE}", ev);
		return -1;
	}
	if ((b->to = flowdef_state(fd, b->to_name)) == -1) {
		fparse_err(p, "transition \"%s\" goes to a missing state "
		    "\"%.64s\"", ev, b->to_name);
		return -1;
	}
	return 0;
}

/* "on": {"EVENT": "STATE" | [{"when": COND, "to": STATE}, ...]} */
static int
flowfile_on(struct fparse *p, struct flowdef *fd, struct state *st,
    struct json_object *on)
{
	struct trans	*t;
	size_t		 i, n;

	if (!json_object_is_type(on, json_type_object)) {
		fparse_err(p, "\"on\" must be an object of event: state");
		return -1;
	}
	st->on = calloc((size_t)json_object_object_length(on) + 1,
	    sizeof(*st->on));
	if (st->on == NULL)
		fatal("flow transitions");
	json_object_object_foreach(on, ev, target) {
		int	list = json_object_is_type(target, json_type_array);

		if (!flowcheck_event(ev)) {
			fparse_err(p, "unknown event \"%.64s\" (see "
			    "docs/flows.md: done, dtmf, dtmf:D, digits, "
			    "digits:DIGITS, no_input, timeout, bot_ended, "
			    "dial_failed, dial_ended, webhook_failed, error)",
			    ev);
			return -1;
		}
		t = &st->on[st->non++];
		t->event = ev;
		n = list ? json_object_array_length(target) : 1;
		if (n == 0 || n > FLOW_STATES_MAX ||
		    (t->br = calloc(n, sizeof(*t->br))) == NULL) {
			fparse_err(p, "transition \"%s\" has no target", ev);
			return -1;
		}
		t->nbr = n;
		for (i = 0; i < n; i++)
			if (flowfile_branch(p, fd, list ?
			    json_object_array_get_idx(target, i) : target,
			    &t->br[i], ev) == -1)
				return -1;
	}
	return 0;
}

static int
flowfile_state(struct fparse *p, struct flowdef *fd, struct state *st,
    struct json_object *o)
{
	struct json_object	*v;
	size_t			 i;
	int64_t			 ms;

	if (!json_object_is_type(o, json_type_object)) {
		fparse_err(p, "a state must be an object");
		return -1;
	}
	if (fparse_keys(p, o, "a state", state_keys) == -1)
		return -1;
	if (json_object_object_get_ex(o, "timeout_ms", &v)) {
		ms = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || ms < 1 ||
		    ms > FLOW_STATE_TIMEOUT_MAX_MS) {
			fparse_err(p, "timeout_ms must be 1..%d",
			    FLOW_STATE_TIMEOUT_MAX_MS);
			return -1;
		}
		st->timeout_ms = (unsigned int)ms;
	}
	if (json_object_object_get_ex(o, "actions", &v)) {
		if (!json_object_is_type(v, json_type_array) ||
		    json_object_array_length(v) > FLOW_ACTIONS_MAX) {
			fparse_err(p, "\"actions\" must be a list of at most %d",
			    FLOW_ACTIONS_MAX);
			return -1;
		}
		st->nacts = json_object_array_length(v);
		if ((st->acts = calloc(st->nacts + 1, sizeof(*st->acts))) ==
		    NULL)
			fatal("flow actions");
		for (i = 0; i < st->nacts; i++)
			if (flowact_parse(p, json_object_array_get_idx(v, i),
			    &st->acts[i]) == -1)
				return -1;
	}
	if (json_object_object_get_ex(o, "on", &v) &&
	    flowfile_on(p, fd, st, v) == -1)
		return -1;
	return 0;
}

/* Names first, so that transitions can point forward. */
static int
flowfile_flow_states(struct fparse *p, struct flowdef *fd,
    struct json_object *states)
{
	size_t	n = 0;

	fd->nstates = (size_t)json_object_object_length(states);
	if (fd->nstates == 0 || fd->nstates > FLOW_STATES_MAX) {
		fparse_err(p, "needs 1..%d states", FLOW_STATES_MAX);
		return -1;
	}
	if ((fd->states = calloc(fd->nstates, sizeof(*fd->states))) == NULL)
		fatal("flow states");
	json_object_object_foreach(states, name, o) {
		(void)o;
		if (flowfile_name(p, "state", name) == -1)
			return -1;
		fd->states[n++].name = name;
	}
	n = 0;
	json_object_object_foreach(states, name2, o2) {
		p->state = name2;
		if (flowfile_state(p, fd, &fd->states[n++], o2) == -1)
			return -1;
	}
	p->state = NULL;
	return 0;
}

static int
flowfile_flow(struct fparse *p, struct flowdef *fd, struct json_object *o)
{
	struct json_object	*states, *v;

	fd->initial = fd->fallback = -1;
	if (!json_object_is_type(o, json_type_object)) {
		fparse_err(p, "a flow must be an object");
		return -1;
	}
	if (fparse_keys(p, o, "a flow", flow_keys) == -1)
		return -1;
	if (!json_object_object_get_ex(o, "states", &states) ||
	    !json_object_is_type(states, json_type_object)) {
		fparse_err(p, "no \"states\" object");
		return -1;
	}
	if (flowfile_flow_states(p, fd, states) == -1)
		return -1;
	if (!json_object_object_get_ex(o, "initial", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		fparse_err(p, "missing initial state (\"initial\": STATE)");
		return -1;
	}
	if ((fd->initial = flowdef_state(fd, json_object_get_string(v))) ==
	    -1) {
		fparse_err(p, "initial state \"%.64s\" does not exist",
		    json_object_get_string(v));
		return -1;
	}
	if (json_object_object_get_ex(o, "fallback", &v) &&
	    (fd->fallback = flowdef_state(fd, json_object_get_string(v))) ==
	    -1) {
		fparse_err(p, "fallback state \"%.64s\" does not exist",
		    json_object_get_string(v));
		return -1;
	}
	return flowcheck_flow(p, fd);
}

static int
flowfile_flows(struct fparse *p, struct flowset *fs, struct json_object *o)
{
	size_t	n = 0;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) > FLOW_FLOWS_MAX) {
		fparse_err(p, "\"flows\" must be an object of at most %d flows",
		    FLOW_FLOWS_MAX);
		return -1;
	}
	fs->nflows = (size_t)json_object_object_length(o);
	if ((fs->flows = calloc(fs->nflows + 1, sizeof(*fs->flows))) == NULL)
		fatal("flows");
	json_object_object_foreach(o, name, fo) {
		p->flow = fs->flows[n].name = name;
		if (flowfile_name(p, "flow", name) == -1)
			return -1;
		if (flowfile_flow(p, &fs->flows[n], fo) == -1)
			return -1;
		fs->nstates += fs->flows[n++].nstates;
	}
	p->flow = NULL;
	return 0;
}

static int
flowfile_routed(const struct flowset *fs, const char *exten)
{
	size_t	i;

	for (i = 0; i < fs->nroutes; i++)
		if (strcmp(fs->routes[i].exten, exten) == 0)
			return 1;
	return 0;
}

static int
flowfile_route(struct fparse *p, struct flowset *fs, struct json_object *o,
    size_t i)
{
	struct json_object	*ex, *fl, *def;
	struct route		*r = &fs->routes[fs->nroutes];
	int			 isdef;

	if (!json_object_is_type(o, json_type_object) ||
	    fparse_keys(p, o, "a route", route_keys) == -1) {
		fparse_err(p, "route %zu must be {\"exten\": ..., \"flow\": ...}"
		    " or {\"default\": true, \"flow\": ...}", i);
		return -1;
	}
	isdef = json_object_object_get_ex(o, "default", &def) &&
	    json_object_get_boolean(def);
	if (!json_object_object_get_ex(o, "flow", &fl) ||
	    (r->flow = flowset_flow(fs, json_object_get_string(fl))) == -1) {
		fparse_err(p, "route %zu goes to a missing flow \"%.64s\"", i,
		    fl != NULL ? json_object_get_string(fl) : "");
		return -1;
	}
	if (isdef) {
		if (fs->dflt != -1) {
			fparse_err(p, "route %zu: a second default route", i);
			return -1;
		}
		fs->dflt = r->flow;
		return 0;
	}
	if (!json_object_object_get_ex(o, "exten", &ex) ||
	    !json_object_is_type(ex, json_type_string) ||
	    flowfile_routed(fs, json_object_get_string(ex))) {
		fparse_err(p, "route %zu needs an \"exten\" not routed before, "
		    "or \"default\": true", i);
		return -1;
	}
	r->exten = json_object_get_string(ex);
	fs->nroutes++;
	return 0;
}

static int
flowfile_top(struct fparse *p, struct flowset *fs)
{
	struct json_object	*root = fs->root, *v;
	size_t			 i, n;

	if (!json_object_is_type(root, json_type_object)) {
		fparse_err(p, "the file must hold one JSON object");
		return -1;
	}
	if (fparse_keys(p, root, "the file", top_keys) == -1)
		return -1;
	if (!json_object_object_get_ex(root, "version", &v) ||
	    json_object_get_int(v) != 1) {
		fparse_err(p, "\"version\": 1 is missing");
		return -1;
	}
	if (!json_object_object_get_ex(root, "flows", &v) ||
	    flowfile_flows(p, fs, v) == -1) {
		fparse_err(p, "no \"flows\" object");
		return -1;
	}
	if (!json_object_object_get_ex(root, "routes", &v))
		return 0;
	n = json_object_is_type(v, json_type_array) ?
	    json_object_array_length(v) : FLOW_ROUTES_MAX + 1;
	if (n > FLOW_ROUTES_MAX) {
		fparse_err(p, "\"routes\" must be a list of at most %d",
		    FLOW_ROUTES_MAX);
		return -1;
	}
	if ((fs->routes = calloc(n + 1, sizeof(*fs->routes))) == NULL)
		fatal("routes");
	for (i = 0; i < n; i++)
		if (flowfile_route(p, fs, json_object_array_get_idx(v, i),
		    i) == -1)
			return -1;
	return 0;
}

/*
 * Check the flow file `name` whose bytes are buf.  NULL with one line in
 * err when it cannot be used; the caller decides whether that keeps older
 * flows or none.
 */
struct flowset *
flowset_parse(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct fparse	 p;
	struct flowset	*fs;

	memset(&p, 0, sizeof(p));
	p.file = name;
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		fatal("flowset");
	fs->refs = 1;
	fs->dflt = -1;
	if (len == 0)
		fparse_err(&p, "empty file");
	else if (len > FLOW_FILE_MAX)
		fparse_err(&p, "larger than %d bytes", FLOW_FILE_MAX);
	if (p.err[0] != '\0' || (fs->root = flowjson_parse(&p, buf, len)) ==
	    NULL || flowfile_top(&p, fs) == -1) {
		snprintf(err, errlen, "%s", p.err);
		flowset_unref(fs);
		return NULL;
	}
	return fs;
}

/* The same, reading FILE first (mai-flow-worker --check). */
struct flowset *
flowset_load(const char *file, char *err, size_t errlen)
{
	struct fparse	 p;
	struct flowset	*fs = NULL;
	char		*buf;
	size_t		 len = 0;

	memset(&p, 0, sizeof(p));
	p.file = file;
	if ((buf = malloc(FLOW_FILE_MAX + 1)) == NULL)
		fatal("flow file buffer");
	if (flowjson_read(&p, buf, &len) == -1)
		snprintf(err, errlen, "%s", p.err);
	else
		fs = flowset_parse(file, buf, len, err, errlen);
	free(buf);
	return fs;
}

void
flowset_unref(struct flowset *fs)
{
	size_t	i, j, k;

	if (fs == NULL || --fs->refs > 0)
		return;
	for (i = 0; i < fs->nflows; i++) {
		for (j = 0; fs->flows[i].states != NULL &&
		    j < fs->flows[i].nstates; j++) {
			struct state	*st = &fs->flows[i].states[j];

			for (k = 0; k < st->non; k++)
				free(st->on[k].br);
			free(st->on);
			free(st->acts);
		}
		free(fs->flows[i].states);
	}
	free(fs->flows);
	free(fs->routes);
	json_object_put(fs->root);
	free(fs);
}

/* StasisStart's first argument may name a flow; else the extension. */
int
flowset_route(const struct flowset *fs, const char *exten, const char *arg)
{
	size_t	i;
	int	n;

	if (fs == NULL)
		return -1;
	if (arg != NULL && (n = flowset_flow(fs, arg)) != -1)
		return n;
	for (i = 0; exten != NULL && i < fs->nroutes; i++)
		if (strcmp(fs->routes[i].exten, exten) == 0)
			return fs->routes[i].flow;
	return fs->dflt;
}
