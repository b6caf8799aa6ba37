/*
 * ARI resources for media: POST /channels/{id}/play[/{playbackId}],
 * POST /channels/{id}/record, /playbacks/{id} and /recordings/live/{name},
 * with Asterisk 22's checks, status codes and messages.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

#define CALLS	(sim.calls)

/* A playback id like ast_uuid_generate_str(), unique per run. */
static void
make_uuid(char *buf, size_t len)
{
	uint64_t	x = ++CALLS.uuid_seq * 0x9E3779B97F4A7C15ULL;

	x ^= x >> 31;
	snprintf(buf, len, "%08x-%04x-4%03x-8%03x-%012llx",
	    (unsigned)(x >> 32), (unsigned)(x >> 16) & 0xffff,
	    (unsigned)x & 0xfff, (unsigned)(x >> 20) & 0xfff,
	    (unsigned long long)CALLS.uuid_seq);
}

static struct sim_playback *
playback_new(struct sim_chan *c, const char *id, const char **media,
    int nmedia, const char *lang)
{
	struct sim_playback	*p;
	int			 i;

	if (CALLS.nplaybacks >= SIM_MAX_PLAYBACKS ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->op.kind = SIM_OP_PLAYBACK;
	if (id != NULL)
		snprintf(p->id, sizeof(p->id), "%s", id);
	else
		make_uuid(p->id, sizeof(p->id));
	for (i = 0; i < nmedia; i++)
		if ((p->media[p->nmedia++] = strdup(media[i])) == NULL) {
			while (p->nmedia > 0)
				free(p->media[--p->nmedia]);
			free(p);
			return NULL;
		}
	snprintf(p->lang, sizeof(p->lang), "%s", lang);
	snprintf(p->target, sizeof(p->target), "channel:%s", c->id);
	p->h.key = p->id;
	sim_tab_add(&CALLS.playbacks, &p->h);
	CALLS.nplaybacks++;
	return p;
}

/*
 * Parameters of play, checked in Asterisk's order.  NULL when they pass,
 * else the error message with its status in *st.
 */
static const char *
play_check(const struct sim_req *r, char *buf, size_t len,
    const char **media, int *nmedia, unsigned int *st)
{
	long long	skip, off;
	int		i;

	*st = 400;
	if (sim_arg_num(r, "skipms", 0, -0x7fffffffLL, 0x7fffffffLL,
	    &skip) == -1 || skip < 0)
		return "skipms cannot be negative";
	if (sim_arg_num(r, "offsetms", 0, -0x7fffffffLL, 0x7fffffffLL,
	    &off) == -1 || off < 0)
		return "offsetms cannot be negative";
	*nmedia = sim_arg_list(r, "media", buf, len, media,
	    SIM_PLAY_MAX_MEDIA);
	if (*nmedia == -1)
		return "Too many media URIs (simulator bound)";
	if (*nmedia == 0)
		return "Missing parameter media";
	*st = 500;
	for (i = 0; i < *nmedia; i++)
		if (media[i][0] == '\0' || strlen(media[i]) >= SIM_MEDIA_LEN)
			return "Failed to queue media for playback";
	return NULL;
}

/* POST /channels/{id}/play and /channels/{id}/play/{playbackId}. */
int
sim_media_play(struct lws *wsi, struct sim_req *r, const char *chan_id,
    const char *path_pbid)
{
	char			 buf[SIM_QBUF_LEN], loc[SIM_ID_LEN + 16];
	const char		*media[SIM_PLAY_MAX_MEDIA], *id, *lang, *err;
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_playback	*p;
	struct sim_chan		*c;
	unsigned int		 st;
	int			 nmedia, rc;

	sim_rest_count(SIM_REST_PLAY);
	if ((c = sim_chan_control(wsi, chan_id, &rc)) == NULL)
		return rc;
	if ((err = play_check(r, buf, sizeof(buf), media, &nmedia, &st)))
		return sim_http_msg(wsi, st, err);
	id = path_pbid != NULL ? path_pbid : sim_arg(r, "playbackId");
	if (id != NULL && (id[0] == '\0' || strlen(id) >= SIM_ID_LEN))
		id = NULL;
	if (id != NULL && sim_playback_find(id) != NULL)
		return sim_http_msg(wsi, 409, "Playback with this ID already "
		    "exists (simulator)");
	lang = sim_arg(r, "lang");
	if (lang == NULL || lang[0] == '\0' || strlen(lang) >= 16)
		lang = "en";
	if ((p = playback_new(c, id, media, nmedia, lang)) == NULL)
		return sim_http_msg(wsi, 500, "Failed to queue media for "
		    "playback");
	sim_playback_json(&b, p, "queued");
	snprintf(loc, sizeof(loc), "/playbacks/%s", p->id);
	rc = sim_http_created(wsi, &b, loc);
	sb_free(&b);
	sim_op_enqueue(c, &p->op);
	return rc;
}

/* Formats Asterisk 22 has file formats for (ast_get_format_for_file_ext). */
static int
format_known(const char *f)
{
	static const char	*fmts[] = { "wav", "WAV", "wav49", "gsm",
	    "ulaw", "ul", "mu", "pcm", "alaw", "al", "alw", "sln", "raw",
	    "slin", "sln12", "sln16", "sln24", "sln32", "sln44", "sln48",
	    "sln96", "sln192", "wav16", "g722", "g719", "g723", "g726-16",
	    "g726-24", "g726-32", "g726-40", "g729", "ilbc", "ogg", "opus",
	    "siren7", "siren14", "vox", "h263", "h264" };
	size_t			 i;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		if (strcmp(f, fmts[i]) == 0)
			return 1;
	return 0;
}

/* stasis_app_recording_termination_parse(); -1 for invalid. */
static int
terminate_parse(const char *s)
{
	if (s == NULL || s[0] == '\0' || strcasecmp(s, "none") == 0)
		return 0;
	if (strcasecmp(s, "any") == 0)
		return 'A';
	if (strcmp(s, "#") == 0 || strcmp(s, "*") == 0)
		return s[0];
	return -1;
}

static int
if_exists_ok(const char *s)
{
	return s == NULL || s[0] == '\0' || strcasecmp(s, "fail") == 0 ||
	    strcasecmp(s, "overwrite") == 0 || strcasecmp(s, "append") == 0;
}

/*
 * Checks after find_control().  NULL when they pass, else the message
 * (in msg when it quotes the name) with its status in *st.
 */
static const char *
record_check(const struct sim_req *r, int *term, char *msg, size_t len,
    unsigned int *st)
{
	const char	*name = sim_arg(r, "name"), *fmt = sim_arg(r, "format");

	*st = 400;
	if (name == NULL || name[0] == '\0')
		return "Missing parameter name";
	if (fmt == NULL || fmt[0] == '\0')
		return "Missing parameter format";
	if ((*term = terminate_parse(sim_arg(r, "terminateOn"))) == -1)
		return "terminateOn invalid";
	if (!if_exists_ok(sim_arg(r, "ifExists")))
		return "ifExists invalid";
	if (!format_known(fmt)) {
		*st = 422;
		return "specified format is unknown on this system";
	}
	if (strlen(name) >= SIM_ID_LEN || strstr(name, "..") != NULL)
		return "Recording name invalid";
	*st = 409;
	if (sim_recording_find(name) != NULL) {
		snprintf(msg, len, "Recording '%s' already exists and can not "
		    "be overwritten", name);
		return msg;
	}
	*st = 500;
	if (CALLS.nrecordings >= SIM_MAX_RECORDINGS)
		return "Internal Server Error";
	return NULL;
}

static struct sim_recording *
recording_new(const struct sim_chan *c, const struct sim_req *r, int term,
    long long maxdur, long long maxsil)
{
	struct sim_recording	*rec;

	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return NULL;
	rec->op.kind = SIM_OP_RECORDING;
	snprintf(rec->name, sizeof(rec->name), "%s", sim_arg(r, "name"));
	snprintf(rec->format, sizeof(rec->format), "%s",
	    sim_arg(r, "format"));
	snprintf(rec->target, sizeof(rec->target), "channel:%s", c->id);
	rec->terminate_on = (char)term;
	rec->max_duration_s = maxdur;
	rec->max_silence_s = maxsil;
	rec->h.key = rec->name;
	sim_tab_add(&CALLS.recordings, &rec->h);
	CALLS.nrecordings++;
	return rec;
}

/* POST /channels/{id}/record */
int
sim_media_record(struct lws *wsi, struct sim_req *r, const char *chan_id)
{
	char			 loc[SIM_ID_LEN + 32], msg[SIM_ID_LEN + 64];
	const char		*err;
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_recording	*rec;
	struct sim_chan		*c;
	long long		 maxdur, maxsil;
	unsigned int		 st;
	int			 rc, term;

	sim_rest_count(SIM_REST_RECORD);
	if (sim_arg_num(r, "maxDurationSeconds", 0, -0x7fffffffLL,
	    0x7fffffffLL, &maxdur) == -1 || maxdur < 0)
		return sim_http_msg(wsi, 400, "max_duration_seconds cannot "
		    "be negative");
	if (sim_arg_num(r, "maxSilenceSeconds", 0, -0x7fffffffLL,
	    0x7fffffffLL, &maxsil) == -1 || maxsil < 0)
		return sim_http_msg(wsi, 400, "max_silence_seconds cannot "
		    "be negative");
	if ((c = sim_chan_control(wsi, chan_id, &rc)) == NULL)
		return rc;
	if ((err = record_check(r, &term, msg, sizeof(msg), &st)) != NULL)
		return sim_http_msg(wsi, st, err);
	if ((rec = recording_new(c, r, term, maxdur, maxsil)) == NULL)
		return sim_http_msg(wsi, 500, "Out of memory");
	sim_recording_json(&b, rec, "queued", -1);
	snprintf(loc, sizeof(loc), "/recordings/live/%s", rec->name);
	rc = sim_http_created(wsi, &b, loc);
	sb_free(&b);
	sim_op_enqueue(c, &rec->op);
	return rc;
}

/* /playbacks/{id}: GET and DELETE (stop). */
int
sim_media_route_playbacks(struct lws *wsi, struct sim_req *r,
    char seg[][SIM_ID_LEN], int nseg)
{
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_playback	*p;
	int			 rc;

	sim_rest_count(nseg == 1 && r->method == LWSHUMETH_DELETE ?
	    SIM_REST_STOP_PLAYBACK : SIM_REST_OTHER);
	if (nseg != 1)
		return sim_http_msg(wsi, 404, "Not found");
	if (r->method != LWSHUMETH_GET && r->method != LWSHUMETH_DELETE)
		return sim_http_msg(wsi, 405, "Invalid method");
	if ((p = sim_playback_find(seg[0])) == NULL)
		return sim_http_msg(wsi, 404, "Playback not found");
	if (r->method == LWSHUMETH_DELETE) {
		sim_playback_stop(p);
		return sim_http_reply(wsi, 204, NULL, 0, 0);
	}
	sim_playback_json(&b, p, p->op.running ? "playing" : "queued");
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}

/* /recordings/live/{name}: GET, DELETE (cancel), POST .../stop. */
int
sim_media_route_recordings(struct lws *wsi, struct sim_req *r,
    char seg[][SIM_ID_LEN], int nseg)
{
	struct sim_buf		 b = { NULL, 0, 0, 0 };
	struct sim_recording	*rec;
	int			 stop, rc;

	sim_rest_count(SIM_REST_OTHER);
	stop = nseg == 2 && strcmp(seg[1], "stop") == 0;
	if (nseg != 1 && !stop)
		return sim_http_msg(wsi, 404, "Not found");
	if (stop ? r->method != LWSHUMETH_POST : (r->method !=
	    LWSHUMETH_GET && r->method != LWSHUMETH_DELETE))
		return sim_http_msg(wsi, 405, "Invalid method");
	if ((rec = sim_recording_find(seg[0])) == NULL)
		return sim_http_msg(wsi, 404, "Recording not found");
	if (stop || r->method == LWSHUMETH_DELETE) {
		sim_recording_finish(rec, stop ? "done" : "canceled");
		return sim_http_reply(wsi, 204, NULL, 0, 0);
	}
	sim_recording_json(&b, rec, rec->op.running ? "recording" :
	    "queued", -1);
	rc = sim_http_json(wsi, 200, &b);
	sb_free(&b);
	return rc;
}
