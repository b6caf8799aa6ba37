/*
 * dialogue.c — the scripted brain, for when no LLM is configured.
 *
 * BOT_DIALOGUE_FILE (JSON, see bot/dialogue.json and docs/bot.md): a
 * greeting, rules in priority order (any keyword, matched as whole words
 * in the transcript, picks the rule: it says its answer and may end the
 * call with a result and variables), a fallback answer, and a turn limit
 * after which the bot says goodbye.  The keywords and "words" also make
 * the embedded STT's grammar (stt_sphinx.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "bot.h"

#define DIALOGUE_WORDS_MAX	512

static struct json_object	*dlg;
static struct json_object	*rules;
static const char		*words[DIALOGUE_WORDS_MAX];
static int			 nwords;

static const char *
dstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Split a keyword into words for the grammar (strings live in dlg). */
static void
dialogue_collect(const char *kw)
{
	static char	pool[16384];
	static size_t	used;
	const char	*p = kw;
	size_t		 n;

	while (*p != '\0' && nwords < DIALOGUE_WORDS_MAX) {
		p += strspn(p, " \t,.");
		if ((n = strcspn(p, " \t,.")) == 0)
			break;
		if (used + n + 1 > sizeof(pool))
			return;
		memcpy(pool + used, p, n);
		pool[used + n] = '\0';
		words[nwords++] = pool + used;
		used += n + 1;
		p += n;
	}
}

static void
dialogue_check(const char *path)
{
	struct json_object	*r, *kw, *w;
	size_t			 i, k;

	if (dstr(dlg, "greeting") == NULL || dstr(dlg, "fallback") == NULL)
		fatalx("BOT_DIALOGUE_FILE=%s: needs \"greeting\" and "
		    "\"fallback\" strings", path);
	if (!json_object_object_get_ex(dlg, "rules", &rules) ||
	    !json_object_is_type(rules, json_type_array))
		fatalx("BOT_DIALOGUE_FILE=%s: needs a \"rules\" array", path);
	for (i = 0; i < json_object_array_length(rules); i++) {
		r = json_object_array_get_idx(rules, i);
		if (!json_object_object_get_ex(r, "keywords", &kw) ||
		    !json_object_is_type(kw, json_type_array) ||
		    dstr(r, "say") == NULL)
			fatalx("BOT_DIALOGUE_FILE=%s: rule %zu needs "
			    "\"keywords\" (array) and \"say\"", path, i);
		for (k = 0; k < json_object_array_length(kw); k++)
			if ((w = json_object_array_get_idx(kw, k)) != NULL &&
			    json_object_is_type(w, json_type_string))
				dialogue_collect(json_object_get_string(w));
	}
	if (json_object_object_get_ex(dlg, "words", &kw) &&
	    json_object_is_type(kw, json_type_array))
		for (k = 0; k < json_object_array_length(kw); k++)
			if ((w = json_object_array_get_idx(kw, k)) != NULL &&
			    json_object_is_type(w, json_type_string))
				dialogue_collect(json_object_get_string(w));
}

void
dialogue_load(const char *path)
{
	if ((dlg = json_object_from_file(path)) == NULL ||
	    !json_object_is_type(dlg, json_type_object)) {
		fprintf(stderr, "mai-bot: bad configuration: BOT_DIALOGUE_FILE: "
		    "%s is not a readable JSON object (%s)\n", path,
		    json_util_get_last_err());
		exit(78);
	}
	dialogue_check(path);
	log_info("dialogue loaded file=%s rules=%zu words=%d", path,
	    json_object_array_length(rules), nwords);
}

bool
dialogue_loaded(void)
{
	return dlg != NULL;
}

const char *
dialogue_greeting(void)
{
	return dstr(dlg, "greeting");
}

int
dialogue_words(const char ***out)
{
	*out = words;
	return nwords;
}

/* " text " lowercased with punctuation as spaces: whole-word search. */
static void
dialogue_norm(const char *in, char *out, size_t size)
{
	size_t	o = 0;

	out[o++] = ' ';
	for (; *in != '\0' && o < size - 2; in++)
		out[o++] = isalnum((unsigned char)*in) || *in == '\'' ?
		    (char)tolower((unsigned char)*in) : ' ';
	out[o++] = ' ';
	out[o] = '\0';
}

static bool
dialogue_match(struct json_object *rule, const char *text)
{
	struct json_object	*kw;
	char			 k[256];
	size_t			 i;

	json_object_object_get_ex(rule, "keywords", &kw);
	for (i = 0; i < json_object_array_length(kw); i++) {
		const char *w = json_object_get_string(
		    json_object_array_get_idx(kw, i));
		dialogue_norm(w != NULL ? w : "", k, sizeof(k));
		if (k[1] != ' ' && strstr(text, k) != NULL)
			return true;
	}
	return false;
}

static void
dialogue_apply(struct session *s, struct json_object *rule)
{
	struct json_object	*set;

	if (json_object_object_get_ex(rule, "set", &set) &&
	    json_object_is_type(set, json_type_object)) {
		json_object_object_foreach(set, key, val)
			session_set(s, key, json_object_get_string(val));
	}
	turn_reply_text(s, dstr(rule, "say"));
	turn_reply_end(s, dstr(rule, "result"), -1);
}

void
dialogue_reply(struct session *s, const char *transcript)
{
	char			 text[BOT_TEXT_MAX + 2];
	struct json_object	*r, *mt;
	size_t			 i;

	dialogue_norm(transcript, text, sizeof(text));
	for (i = 0; i < json_object_array_length(rules); i++) {
		r = json_object_array_get_idx(rules, i);
		if (dialogue_match(r, text)) {
			log_debug("dialogue id=%llu rule=%zu",
			    (unsigned long long)s->id, i);
			dialogue_apply(s, r);
			return;
		}
	}
	if (json_object_object_get_ex(dlg, "max_turns", &mt) &&
	    s->turns >= json_object_get_int(mt)) {
		turn_reply_text(s, dstr(dlg, "max_turns_say") != NULL ?
		    dstr(dlg, "max_turns_say") : "Thank you for calling. "
		    "Goodbye.");
		turn_reply_end(s, dstr(dlg, "max_turns_result") != NULL ?
		    dstr(dlg, "max_turns_result") : "goodbye", -1);
		return;
	}
	turn_reply_text(s, dstr(dlg, "fallback"));
	turn_reply_end(s, NULL, -1);
}
