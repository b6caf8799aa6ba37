/*
 * mai-ari-sim: command line, lws context and vhosts, signal handling and
 * the service loop.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct sim sim;

static volatile sig_atomic_t stopping;

/* asterisk-info.json of the Asterisk 22 fixtures, byte for byte. */
static const char default_info[] =
    "{\n"
    " \"build\": {\n"
    "  \"os\": \"Linux\",\n"
    "  \"kernel\": \"unknown\",\n"
    "  \"machine\": \"unknown\",\n"
    "  \"options\": \"OPTIONAL_API, TEST_FRAMEWORK\",\n"
    "  \"date\": \"2026-07-20 21:35:32 UTC\",\n"
    "  \"user\": \"nobody\"\n"
    " },\n"
    " \"system\": {\n"
    "  \"version\": \"22.10.1+dfsg+~cs6.17.60671434-1\",\n"
    "  \"entity_id\": \"02:fc:00:00:00:01\"\n"
    " },\n"
    " \"config\": {\n"
    "  \"name\": \"\",\n"
    "  \"default_language\": \"en\",\n"
    "  \"setid\": {\n"
    "   \"user\": \"\",\n"
    "   \"group\": \"\"\n"
    "  }\n"
    " },\n"
    " \"status\": {\n"
    "  \"startup_time\": \"2026-11-23T23:49:34.072+0000\",\n"
    "  \"last_reload_time\": \"2026-11-23T23:56:34.222+0000\"\n"
    " }\n"
    "}";

/* The vhosts never ping or hang up idle sockets: Asterisk does neither. */
static const lws_retry_bo_t no_idle_policy = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

static const struct lws_protocols protocols[] = {
	/* first protocol: the default for HTTP and for upgrades naming none */
	{ "ari", sim_callback, sizeof(struct sim_pss), 4096, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mai-ari-sim --port N --user U --password P "
	    "[--control-port M] [--info-file PATH] [--quiet]\n");
	exit(2);
}

static int
parse_port(const char *s)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 65535)
		return -1;
	return (int)n;
}

static void
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port",		required_argument, NULL, 'p' },
		{ "user",		required_argument, NULL, 'u' },
		{ "password",		required_argument, NULL, 'P' },
		{ "control-port",	required_argument, NULL, 'c' },
		{ "info-file",		required_argument, NULL, 'i' },
		{ "quiet",		no_argument,	   NULL, 'q' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if ((sim.conf.port = parse_port(optarg)) == -1)
				usage();
			break;
		case 'c':
			if ((sim.conf.ctl_port = parse_port(optarg)) == -1)
				usage();
			break;
		case 'u':
			sim.conf.user = optarg;
			break;
		case 'P':
			sim.conf.pass = optarg;
			break;
		case 'i':
			sim.conf.info_file = optarg;
			break;
		case 'q':
			sim.conf.quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || sim.conf.port <= 0 || sim.conf.user == NULL ||
	    sim.conf.pass == NULL || sim.conf.ctl_port == sim.conf.port)
		usage();
}

/* The /ari/asterisk/info body: the embedded fixture or --info-file. */
static int
load_info(const char *path)
{
	FILE	*f;
	long	 len;

	if (path == NULL) {
		sim.info_len = sizeof(default_info) - 1;
		sim.info = strdup(default_info);
		return sim.info == NULL ? -1 : 0;
	}
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) == -1 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 ||
	    (sim.info = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	sim.info_len = fread(sim.info, 1, (size_t)len, f);
	fclose(f);
	return sim.info_len == (size_t)len ? 0 : -1;
}

static struct lws_vhost *
make_vhost(const char *name, int port)
{
	struct lws_context_creation_info	vi;

	memset(&vi, 0, sizeof(vi));
	vi.vhost_name = name;
	vi.port = port;
	vi.iface = "127.0.0.1";		/* loopback only, never 0.0.0.0 */
	vi.protocols = protocols;
	vi.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	vi.keepalive_timeout = 15;	/* Asterisk's session_keep_alive */
	vi.retry_and_idle_policy = &no_idle_policy;
	return lws_create_vhost(sim.ctx, &vi);
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	/* wake the poll() at once; it only writes to lws's event pipe */
	if (sim.ctx != NULL)
		lws_cancel_service(sim.ctx);
}

static void
install_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int
start(void)
{
	struct lws_context_creation_info	info;

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_DISABLE_IPV6;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.gid = -1;
	info.uid = -1;
	info.max_http_header_data = 8192;
	if ((sim.ctx = lws_create_context(&info)) == NULL) {
		fprintf(stderr, "ari-sim: cannot create lws context\n");
		return -1;
	}
	if ((sim.ari_vh = make_vhost("ari", sim.conf.port)) == NULL) {
		fprintf(stderr, "ari-sim: cannot listen on 127.0.0.1:%d\n",
		    sim.conf.port);
		return -1;
	}
	if (sim.conf.ctl_port > 0 &&
	    (sim.ctl_vh = make_vhost("ctl", sim.conf.ctl_port)) == NULL) {
		fprintf(stderr, "ari-sim: cannot listen on 127.0.0.1:%d\n",
		    sim.conf.ctl_port);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int	rc = 1;

	parse_args(argc, argv);
	if (sim_calls_init() == -1) {
		fprintf(stderr, "ari-sim: out of memory\n");
		return 1;
	}
	if (load_info(sim.conf.info_file) == -1) {
		fprintf(stderr, "ari-sim: cannot read info file %s\n",
		    sim.conf.info_file);
		return 1;
	}
	lws_set_log_level(sim.conf.quiet ? LLL_ERR : LLL_ERR | LLL_WARN,
	    NULL);
	install_signals();
	if (start() == 0) {
		/* the line tests wait for: both ports are listening now */
		printf("ari-sim listening port=%d\n", sim.conf.port);
		fflush(stdout);
		if (sim.conf.ctl_port > 0)
			sim_log("control port=%d", sim.conf.ctl_port);
		while (!stopping)
			if (lws_service(sim.ctx, 0) < 0)
				break;
		rc = stopping ? 0 : 1;
	}
	/* before the context: the timers' lws_sul belongs to it */
	sim_calls_free();
	if (sim.ctx != NULL)
		lws_context_destroy(sim.ctx);
	sim_apps_free();
	free(sim.info);
	return rc;
}
