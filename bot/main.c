/*
 * main.c — mai-bot's life, top to bottom.
 *
 * Read the configuration, load the engines (models and voices are read
 * here, while files may still be opened), bind the sockets, drop to
 * BOT_USER, load the seccomp allow-list, run the loop, and on TERM/INT
 * end every session (each long request answered) before exiting.
 */
#include <sys/prctl.h>

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "privsep.h"
#include "bot.h"

struct bot_config	 bot_conf;
struct event_base	*bot_base;
const struct stt_backend *stt;
const struct tts_backend *tts;

#ifdef MAI_SANITIZED
/*
 * sphinxbase's JSGF parser and model loaders keep blocks LeakSanitizer
 * calls lost (inside the library, not ours): not reported.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libsphinxbase.so\nleak:libpocketsphinx.so\n";
}
#endif

uint64_t
bot_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Same order and checks as common/privsep.c, for a user given by name. */
static void
bot_drop_privileges(const char *user)
{
	struct passwd	*pw;
	uid_t		 ruid, euid, suid;

	if (*user != '\0') {
		if (geteuid() != 0)
			fatalx("can't drop privileges: BOT_USER set but not "
			    "root");
		if ((pw = getpwnam(user)) == NULL)
			fatalx("can't drop privileges: no user %s", user);
		if (setgroups(1, &pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("can't drop privileges to %s", user);
		if (getresuid(&ruid, &euid, &suid) == -1 ||
		    ruid != pw->pw_uid || euid != pw->pw_uid ||
		    suid != pw->pw_uid || setresuid(0, 0, 0) != -1)
			fatalx("can't drop privileges: ids did not change");
	} else if (geteuid() == 0)
		log_warnx("running as root: set BOT_USER to drop privileges");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("can't set no_new_privs");
	/* API keys live in memory: no ptrace or /proc/PID/mem by peers. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("can't clear dumpable");
}

#define BOT_EXIT_FLUSH_MS	200	/* answers written before exit */

static bool	stopping;

static void
bot_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (stopping) {
		log_warnx("second signal: exiting at once");
		exit(1);
	}
	stopping = true;
	log_info("stopping signal=%d sessions=%d", (int)sig, session_count());
	sessions_stop_all();
	/* Let the answers to the long requests reach their clients. */
	event_base_loopexit(bot_base, &(struct timeval){ 0, BOT_EXIT_FLUSH_MS *
	    1000 });
}

static void
bot_engines_load(void)
{
	stt = strcmp(bot_conf.stt_backend, "http") == 0 ? &stt_http :
	    &stt_sphinx;
	tts = strcmp(bot_conf.tts_backend, "http") == 0 ? &tts_http :
	    &tts_espeak;
	if (bot_conf.dialogue_file[0] != '\0')
		dialogue_load(bot_conf.dialogue_file);
	engine_init(bot_conf.engine_threads);
	stt->load();
	/* espeak is the last resort for apologies, loaded whatever TTS is. */
	tts_espeak.load();
	if (tts != &tts_espeak)
		tts->load();
}

int
main(int argc, char *argv[])
{
	struct event	*sigterm, *sigint;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: mai-bot (configured by BOT_* "
		    "variables; see docs/bot.md)\n");
		return 64;
	}
	log_init("bot", LOG_LVL_INFO, 0);
	config_load(&bot_conf);
	log_setlevel(bot_conf.log_level, bot_conf.log_json);
	signal(SIGPIPE, SIG_IGN);
	if ((bot_base = event_base_new()) == NULL)
		fatalx("can't create the event loop");
	metrics_init();
	curlev_init();
	bot_engines_load();
	probe_init();
	media_init();
	rtp_init();
	http_init();
	ws_init();
	bot_drop_privileges(bot_conf.user);
	/*
	 * Its own listening sockets (HTTP, WebSocket, RTP), outbound HTTP to
	 * the engines, threads; models and voices are loaded by now.
	 */
	sandbox_load(SANDBOX_CLIENT | SANDBOX_SERVER | SANDBOX_LISTEN, "bot");
	sigterm = evsignal_new(bot_base, SIGTERM, bot_signal, NULL);
	sigint = evsignal_new(bot_base, SIGINT, bot_signal, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	log_info("started version=%s http=%s rtp=%s ws=%s stt=%s tts=%s "
	    "brain=%s threads=%d", MAI_VERSION, bot_conf.http_listen,
	    bot_conf.rtp_listen, bot_conf.ws_listen[0] ? bot_conf.ws_listen :
	    "off", stt->name, tts->name, bot_conf.llm_url[0] ? "llm" :
	    "dialogue", bot_conf.engine_threads);
	event_base_dispatch(bot_base);

	ws_shutdown();
	http_shutdown();
	rtp_shutdown();
	media_shutdown();
	probe_shutdown();
	curlev_shutdown();
	engine_shutdown();
	event_free(sigterm);
	event_free(sigint);
	event_base_free(bot_base);
	log_info("exiting");
	return 0;
}
