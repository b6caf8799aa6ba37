/*
 * stt_sphinx.c — the embedded STT: pocketsphinx (Debian's 5prealpha,
 * the en-us model from pocketsphinx-en-us), fed while the caller speaks.
 *
 * Decoders are expensive (the model, dictionary and search), so a pool of
 * BOT_STT_DECODERS is made at start and a session holds one only for the
 * length of an utterance.  A session without a free decoder keeps its
 * audio until one frees (bounded by BOT_UTTERANCE_MAX_MS).  Each stream
 * has at most one job on the engine threads; audio arriving meanwhile is
 * sent with the next job, so decoding keeps pace in chunks.
 *
 * Search: the full language model when an LLM answers (open vocabulary);
 * with a scripted dialogue (BOT_STT_GRAMMAR=auto) a JSGF grammar over the
 * dialogue's words and common fillers, far more accurate for its keywords
 * and lighter on CPU.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include "log.h"
#include "bot.h"

#define SPHINX_GRAMMAR_MAX	32768	/* the JSGF text */

struct decoder {
	TAILQ_ENTRY(decoder)	 entry;
	ps_decoder_t		*ps;
	bool			 in_utt;	/* an utterance was left open */
};
TAILQ_HEAD(decoderq, decoder);

struct sphinx_job {
	struct job		 job;
	struct stt_stream	*st;
	int16_t			*pcm;
	size_t			 n;
	bool			 final;
	bool			 closing;	/* end the utterance, no result */
	char			*hyp;
};

struct stt_stream {
	TAILQ_ENTRY(stt_stream)	 wait;
	uint64_t		 sid;
	struct decoder		*dec;
	int16_t			*pend;
	size_t			 npend, cap;
	bool			 busy, finishing, closed, waiting;
	struct sphinx_job	 sj;
};

static struct decoderq		 idle = TAILQ_HEAD_INITIALIZER(idle);
static TAILQ_HEAD(, stt_stream)	 waiters = TAILQ_HEAD_INITIALIZER(waiters);
static int			 ndecoders;
static const char *const	*extra_words;
static int			 nextra;

/* Words a caller says around the keywords; kept if the dictionary has them. */
static const char *const fillers[] = {
	"a", "about", "an", "and", "are", "at", "be", "can", "could", "do",
	"does", "for", "from", "get", "have", "hello", "hi", "how", "i",
	"i'd", "i'm", "in", "is", "it", "know", "like", "me", "my", "need",
	"no", "not", "of", "okay", "on", "please", "so", "some", "tell",
	"thank", "thanks", "that", "the", "there", "this", "to", "want",
	"we", "what", "when", "where", "which", "who", "why", "will",
	"with", "would", "yes", "you", "your", NULL
};

void
sphinx_set_words(const char *const *words, int n)
{
	extra_words = words;
	nextra = n;
}

static void
grammar_add(ps_decoder_t *ps, char *g, size_t *len, const char *w)
{
	char	 lw[64];
	char	*p, *dup;
	size_t	 i;

	for (i = 0; w[i] != '\0' && i < sizeof(lw) - 1; i++)
		lw[i] = (char)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] + 32 : w[i]);
	lw[i] = '\0';
	if ((dup = ps_lookup_word(ps, lw)) == NULL)
		return;
	ckd_free(dup);
	snprintf(g + *len, 72, " %s |", lw);
	p = g + *len;
	if (strstr(g, p) != p)	/* already there */
		g[*len] = '\0';
	else
		*len += strlen(p);
}

static void
sphinx_grammar(ps_decoder_t *ps)
{
	char	*g = calloc(1, SPHINX_GRAMMAR_MAX + 128);
	size_t	 len;
	int	 i;

	if (g == NULL)
		fatal("calloc");
	len = (size_t)snprintf(g, SPHINX_GRAMMAR_MAX, "#JSGF V1.0;\ngrammar "
	    "bot;\npublic <utt> = <w>+;\n<w> =");
	for (i = 0; fillers[i] != NULL; i++)
		grammar_add(ps, g, &len, fillers[i]);
	for (i = 0; i < nextra && len < SPHINX_GRAMMAR_MAX - 80; i++)
		grammar_add(ps, g, &len, extra_words[i]);
	g[len - 1] = ';';	/* the last '|' */
	if (ps_set_jsgf_string(ps, "bot", g) != 0 ||
	    ps_set_search(ps, "bot") != 0)
		fatalx("pocketsphinx refused the dialogue grammar");
	free(g);
}

static bool
sphinx_wanted(const char *w, size_t len)
{
	int	i;

	for (i = 0; fillers[i] != NULL; i++)
		if (strlen(fillers[i]) == len && strncmp(fillers[i], w, len) == 0)
			return true;
	for (i = 0; i < nextra; i++)
		if (strlen(extra_words[i]) == len &&
		    strncasecmp(extra_words[i], w, len) == 0)
			return true;
	return false;
}

/*
 * A grammar needs only its own words: a dictionary of those (in a memfd,
 * no file left behind) instead of all of cmudict's 135,000 makes each
 * decoder ~1 MB instead of ~30 MB.  Returns the path to pass as -dict.
 */
static const char *
sphinx_small_dict(void)
{
	static char	 path[64];
	char		 line[512];
	FILE		*in, *out;
	size_t		 len;
	int		 fd;

	if ((in = fopen(bot_conf.sphinx_dict, "r")) == NULL)
		fatal("BOT_SPHINX_DICT=%s", bot_conf.sphinx_dict);
	if ((fd = memfd_create("bot-dict", 0)) == -1 ||
	    (out = fdopen(dup(fd), "w")) == NULL)
		fatal("memfd_create");
	while (fgets(line, sizeof(line), in) != NULL) {
		len = strcspn(line, " \t(");
		if (sphinx_wanted(line, len))
			fputs(line, out);
	}
	fclose(in);
	if (fclose(out) != 0)
		fatal("small dictionary");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return path;
}

static bool
sphinx_use_grammar(void)
{
	if (strcmp(bot_conf.stt_grammar, "grammar") == 0)
		return true;
	if (strcmp(bot_conf.stt_grammar, "lm") == 0)
		return false;
	return bot_conf.llm_url[0] == '\0' && nextra > 0;
}

static ps_decoder_t *
sphinx_new(bool grammar, const char *dict)
{
	cmd_ln_t	*cfg;
	ps_decoder_t	*ps;

	cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", bot_conf.sphinx_hmm,
	    "-dict", dict, "-samprate", "16000",
	    grammar ? NULL : "-lm", bot_conf.sphinx_lm, NULL);
	if (cfg == NULL)
		fatalx("pocketsphinx: bad model paths (BOT_SPHINX_HMM=%s "
		    "BOT_SPHINX_DICT=%s)", bot_conf.sphinx_hmm,
		    bot_conf.sphinx_dict);
	if ((ps = ps_init(cfg)) == NULL)
		fatalx("pocketsphinx can't load its model from %s",
		    bot_conf.sphinx_hmm);
	cmd_ln_free_r(cfg);
	if (grammar)
		sphinx_grammar(ps);
	return ps;
}

static void
sphinx_load(void)
{
	struct decoder	*d;
	const char	*dict;
	bool		 grammar;
	int		 i;

	err_set_logfp(NULL);
	if (dialogue_loaded())
		nextra = dialogue_words((const char ***)&extra_words);
	grammar = sphinx_use_grammar();
	dict = grammar ? sphinx_small_dict() : bot_conf.sphinx_dict;
	for (i = 0; i < bot_conf.stt_decoders; i++) {
		if ((d = calloc(1, sizeof(*d))) == NULL)
			fatal("calloc");
		d->ps = sphinx_new(grammar, dict);
		TAILQ_INSERT_TAIL(&idle, d, entry);
	}
	ndecoders = bot_conf.stt_decoders;
	log_info("pocketsphinx loaded decoders=%d search=%s", ndecoders,
	    grammar ? "grammar" : "lm");
}

static bool
sphinx_ready(void)
{
	return ndecoders > 0;
}

/* Engine thread: the only place a decoder is used. */
static void
sphinx_run(struct job *j)
{
	struct sphinx_job	*sj = (struct sphinx_job *)j;
	struct decoder		*d = sj->st->dec;
	const char		*hyp;
	int32			 score;

	if (!d->in_utt) {
		ps_start_utt(d->ps);
		d->in_utt = true;
	}
	if (sj->n > 0)
		ps_process_raw(d->ps, sj->pcm, sj->n, FALSE, FALSE);
	if (sj->final || sj->closing) {
		ps_end_utt(d->ps);
		d->in_utt = false;
		if (sj->final && (hyp = ps_get_hyp(d->ps, &score)) != NULL)
			sj->hyp = strdup(hyp);
	}
}

static void	sphinx_done(struct job *);

static void
sphinx_submit(struct stt_stream *st, bool final, bool closing)
{
	struct sphinx_job	*sj = &st->sj;

	memset(sj, 0, sizeof(*sj));
	sj->job.run = sphinx_run;
	sj->job.done = sphinx_done;
	sj->st = st;
	sj->pcm = st->pend;
	sj->n = st->npend;
	sj->final = final;
	sj->closing = closing;
	st->pend = NULL;
	st->npend = st->cap = 0;
	st->busy = true;
	engine_submit(&sj->job);
}

/* Send what waits, if the stream has a decoder and no job out. */
static void
sphinx_kick(struct stt_stream *st)
{
	if (st->busy || st->dec == NULL)
		return;
	if (st->finishing)
		sphinx_submit(st, true, false);
	else if (st->npend > 0)
		sphinx_submit(st, false, false);
}

static void
sphinx_release(struct decoder *d)
{
	struct stt_stream	*st;

	if ((st = TAILQ_FIRST(&waiters)) != NULL) {
		TAILQ_REMOVE(&waiters, st, wait);
		st->waiting = false;
		st->dec = d;
		sphinx_kick(st);
		return;
	}
	TAILQ_INSERT_HEAD(&idle, d, entry);
}

static void
sphinx_free(struct stt_stream *st)
{
	struct decoder	*d = st->dec;

	if (st->waiting)
		TAILQ_REMOVE(&waiters, st, wait);
	free(st->pend);
	free(st);
	if (d != NULL)
		sphinx_release(d);
}

static void
sphinx_done(struct job *j)
{
	struct sphinx_job	*sj = (struct sphinx_job *)j;
	struct stt_stream	*st = sj->st;
	struct session		*s;
	char			*hyp = sj->hyp;

	free(sj->pcm);
	st->busy = false;
	if (st->closed) {
		free(hyp);
		if (st->dec->in_utt) {	/* close it on an engine thread */
			sphinx_submit(st, false, true);
			return;
		}
		sphinx_free(st);
		return;
	}
	if (!sj->final) {
		sphinx_kick(st);
		return;
	}
	s = session_by_id(st->sid);
	sphinx_free(st);
	if (s != NULL)
		turn_transcript(s, hyp != NULL ? hyp : "", -1);
	free(hyp);
}

static struct stt_stream *
sphinx_open(struct session *s)
{
	struct stt_stream	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		fatal("calloc");
	st->sid = s->id;
	if ((st->dec = TAILQ_FIRST(&idle)) != NULL)
		TAILQ_REMOVE(&idle, st->dec, entry);
	else {
		TAILQ_INSERT_TAIL(&waiters, st, wait);
		st->waiting = true;
	}
	return st;
}

static void
sphinx_feed(struct stt_stream *st, const int16_t *pcm, size_t n)
{
	size_t	max = (size_t)bot_conf.utterance_max_ms * (BOT_STT_RATE / 1000);

	if (n == 0 || st->npend + n > max)
		return;
	if (st->npend + n > st->cap) {
		st->cap = (st->npend + n) * 2;
		if ((st->pend = realloc(st->pend, st->cap * sizeof(*pcm))) ==
		    NULL)
			fatal("realloc");
	}
	memcpy(st->pend + st->npend, pcm, n * sizeof(*pcm));
	st->npend += n;
	sphinx_kick(st);
}

static void
sphinx_finish(struct stt_stream *st)
{
	st->finishing = true;
	sphinx_kick(st);
}

static void
sphinx_close(struct stt_stream *st)
{
	if (st->busy) {
		st->closed = true;	/* sphinx_done() frees it */
		return;
	}
	if (st->dec != NULL && st->dec->in_utt) {
		/* Let an engine thread close the utterance. */
		st->closed = true;
		free(st->pend);
		st->pend = NULL;
		st->npend = 0;
		sphinx_submit(st, false, true);
		return;
	}
	sphinx_free(st);
}

const struct stt_backend stt_sphinx = {
	.name = "pocketsphinx",
	.load = sphinx_load,
	.ready = sphinx_ready,
	.open = sphinx_open,
	.feed = sphinx_feed,
	.finish = sphinx_finish,
	.close = sphinx_close,
};
