/*
 * config.c — mai-bot's configuration, from the environment only.
 *
 * A bad value ends the process with exit code 78 (EX_CONFIG, what the
 * supervisor and systemd treat as "do not restart") and one line that
 * names the variable and says how to fix it.  Secrets come from *_FILE
 * variables (or the plain variable) and are never printed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "bot.h"

#define EX_CONFIG	78

static void __attribute__((noreturn, format(printf, 2, 3)))
config_die(const char *name, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mai-bot: bad configuration: %s: %s\n", name, msg);
	exit(EX_CONFIG);
}

static void
conf_str(const char *name, char *dst, size_t size, const char *def)
{
	const char	*v = getenv(name);

	if (v == NULL || *v == '\0')
		v = def;
	if (strlen(v) >= size)
		config_die(name, "longer than %zu bytes; shorten it", size - 1);
	snprintf(dst, size, "%s", v);
}

static int
conf_int(const char *name, int def, int min, int max)
{
	const char	*v = getenv(name);
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		config_die(name, "\"%s\" is not a whole number in %d..%d; "
		    "set one or unset it for %d", v, min, max, def);
	return (int)n;
}

static void
conf_choice(const char *name, char *dst, size_t size, const char *def,
    const char *const *choices)
{
	int	i;

	conf_str(name, dst, size, def);
	for (i = 0; choices[i] != NULL; i++)
		if (strcmp(dst, choices[i]) == 0)
			return;
	config_die(name, "\"%s\" is not one of %s%s%s%s%s", dst, choices[0],
	    choices[1] ? ", " : "", choices[1] ? choices[1] : "",
	    choices[1] && choices[2] ? ", " : "",
	    choices[1] && choices[2] ? choices[2] : "");
}

/* HOST:PORT with a numeric port; the address itself is checked at bind. */
static void
conf_addr(const char *name, char *dst, size_t size, const char *def,
    bool may_be_empty)
{
	const char	*colon;
	char		*end;
	long		 port;

	conf_str(name, dst, size, def);
	if (*dst == '\0' && may_be_empty)
		return;
	if ((colon = strrchr(dst, ':')) == NULL || colon == dst)
		config_die(name, "\"%s\" is not HOST:PORT (e.g. 0.0.0.0:%s)",
		    dst, strchr(def, ':') ? strchr(def, ':') + 1 : "18090");
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535)
		config_die(name, "port of \"%s\" is not 0..65535", dst);
}

/* A secret: NAME_FILE (first line) wins over NAME; never echoed. */
static void
conf_secret(const char *name, char *dst, size_t size)
{
	char	 fname[64], line[512];
	const char *path;
	FILE	*f;

	snprintf(fname, sizeof(fname), "%s_FILE", name);
	if ((path = getenv(fname)) == NULL || *path == '\0') {
		conf_str(name, dst, size, "");
		return;
	}
	if ((f = fopen(path, "r")) == NULL)
		config_die(fname, "can't read %s: %s; point it at a readable "
		    "file", path, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || strlen(line) >= size)
		config_die(fname, "%s holds no key on its first line (or one "
		    "over %zu bytes)", path, size - 1);
	snprintf(dst, size, "%s", line);
}

static void
conf_urls(struct bot_config *c)
{
	static const char *const stt_b[] = { "sphinx", "http", NULL };
	static const char *const tts_b[] = { "espeak", "http", NULL };
	static const char *const gram[] = { "auto", "lm", "grammar", NULL };

	conf_choice("BOT_STT", c->stt_backend, sizeof(c->stt_backend),
	    "sphinx", stt_b);
	conf_str("BOT_STT_URL", c->stt_url, sizeof(c->stt_url), "");
	conf_str("BOT_STT_MODEL", c->stt_model, sizeof(c->stt_model),
	    "whisper-1");
	conf_secret("BOT_STT_API_KEY", c->stt_key, sizeof(c->stt_key));
	conf_choice("BOT_STT_GRAMMAR", c->stt_grammar, sizeof(c->stt_grammar),
	    "auto", gram);
	c->stt_timeout_ms = conf_int("BOT_STT_TIMEOUT_MS", 5000, 100, 120000);
	if (strcmp(c->stt_backend, "http") == 0 && c->stt_url[0] == '\0')
		config_die("BOT_STT_URL", "BOT_STT=http needs the server's base "
		    "URL, e.g. http://whisper:8080");
	conf_str("BOT_LLM_URL", c->llm_url, sizeof(c->llm_url), "");
	conf_str("BOT_LLM_MODEL", c->llm_model, sizeof(c->llm_model),
	    "default");
	conf_secret("BOT_LLM_API_KEY", c->llm_key, sizeof(c->llm_key));
	conf_str("BOT_LLM_PROMPT", c->llm_prompt, sizeof(c->llm_prompt),
	    "You are a friendly phone agent. Answer in one or two short "
	    "spoken sentences, no lists, no markup. When the caller wants a "
	    "human, end with [[result:transfer]]; when the caller is done, "
	    "say goodbye and end with [[result:goodbye]].");
	c->llm_timeout_ms = conf_int("BOT_LLM_TIMEOUT_MS", 15000, 100, 600000);
	c->llm_idle_ms = conf_int("BOT_LLM_IDLE_MS", 5000, 50, 600000);
	conf_choice("BOT_TTS", c->tts_backend, sizeof(c->tts_backend),
	    "espeak", tts_b);
	conf_str("BOT_TTS_URL", c->tts_url, sizeof(c->tts_url), "");
	conf_str("BOT_TTS_MODEL", c->tts_model, sizeof(c->tts_model), "tts-1");
	conf_str("BOT_TTS_VOICE", c->tts_voice, sizeof(c->tts_voice), "alloy");
	conf_secret("BOT_TTS_API_KEY", c->tts_key, sizeof(c->tts_key));
	c->tts_timeout_ms = conf_int("BOT_TTS_TIMEOUT_MS", 5000, 100, 120000);
	if (strcmp(c->tts_backend, "http") == 0 && c->tts_url[0] == '\0')
		config_die("BOT_TTS_URL", "BOT_TTS=http needs the server's base "
		    "URL, e.g. http://tts:8000");
}

static void
conf_engines(struct bot_config *c)
{
	long	ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 1)
		ncpu = 1;
	c->engine_threads = conf_int("BOT_ENGINE_THREADS", (int)ncpu, 1, 64);
	c->stt_decoders = conf_int("BOT_STT_DECODERS",
	    c->engine_threads * 8, 1, 256);
	conf_str("BOT_SPHINX_HMM", c->sphinx_hmm, sizeof(c->sphinx_hmm),
	    "/usr/share/pocketsphinx/model/en-us/en-us");
	conf_str("BOT_SPHINX_DICT", c->sphinx_dict, sizeof(c->sphinx_dict),
	    "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict");
	conf_str("BOT_SPHINX_LM", c->sphinx_lm, sizeof(c->sphinx_lm),
	    "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin");
	conf_str("BOT_ESPEAK_VOICE", c->espeak_voice, sizeof(c->espeak_voice),
	    "en-us");
	c->espeak_rate = conf_int("BOT_ESPEAK_RATE", 160, 80, 450);
}

void
config_load(struct bot_config *c)
{
	const char	*lvl;

	memset(c, 0, sizeof(*c));
	c->log_level = LOG_LVL_INFO;
	if ((lvl = getenv("BOT_LOG_LEVEL")) != NULL && *lvl != '\0' &&
	    (c->log_level = log_level_parse(lvl)) < 0)
		config_die("BOT_LOG_LEVEL", "\"%s\" is not error, warn, info "
		    "or debug", lvl);
	c->log_json = conf_int("BOT_LOG_JSON", 0, 0, 1);
	conf_addr("BOT_HTTP_LISTEN", c->http_listen, sizeof(c->http_listen),
	    "0.0.0.0:18090", false);
	conf_addr("BOT_RTP_LISTEN", c->rtp_listen, sizeof(c->rtp_listen),
	    "0.0.0.0:18092", false);
	conf_addr("BOT_WS_LISTEN", c->ws_listen, sizeof(c->ws_listen),
	    "0.0.0.0:18091", true);
	conf_str("BOT_USER", c->user, sizeof(c->user), "");
	c->vad_silence_ms = conf_int("BOT_VAD_SILENCE_MS", 400, 100, 5000);
	c->vad_min_speech_ms = conf_int("BOT_VAD_MIN_SPEECH_MS", 60, 20, 1000);
	c->vad_margin_db = conf_int("BOT_VAD_MARGIN_DB", 12, 3, 40);
	c->vad_floor_db = conf_int("BOT_VAD_FLOOR_DB", -50, -90, -10);
	c->barge_in_ms = conf_int("BOT_BARGE_IN_MS", 100, 20, 2000);
	c->barge_in_margin_db = conf_int("BOT_BARGE_IN_MARGIN_DB", 6, 0, 40);
	c->utterance_max_ms = conf_int("BOT_UTTERANCE_MAX_MS", 15000, 1000,
	    60000);
	c->no_input_ms = conf_int("BOT_NO_INPUT_MS", 30000, 1000, 3600000);
	c->slin16_pt = conf_int("BOT_SLIN16_PT", 118, 96, 127);
	c->max_turns = conf_int("BOT_MAX_TURNS", 20, 1, 1000);
	conf_str("BOT_DIALOGUE_FILE", c->dialogue_file,
	    sizeof(c->dialogue_file), "");
	conf_str("BOT_GREETING", c->greeting, sizeof(c->greeting),
	    "Hello, how can I help you?");
	conf_str("BOT_APOLOGY", c->apology, sizeof(c->apology),
	    "Sorry, something went wrong on our side. Goodbye.");
	conf_urls(c);
	conf_engines(c);
	if (c->llm_url[0] == '\0' && c->dialogue_file[0] == '\0')
		config_die("BOT_DIALOGUE_FILE", "no BOT_LLM_URL and no dialogue "
		    "file: set one (the demo: bot/dialogue.json)");
}
