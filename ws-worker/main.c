/*
 * main.c — the life of the ws-worker, top to bottom.
 *
 * Started by the supervisor with one SOCK_SEQPACKET socket at fd 3: say
 * hello, take the config, drop privileges, build the lws context (every
 * file it needs, such as the CA bundle, is opened here), enter the seccomp
 * sandbox, then connect to ARI and run the loop until told to stop.
 * SIGTERM/SIGINT close the WebSocket with a Close frame and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"
#include "urlenc.h"
#include "ws.h"

/* System CA bundle for wss:// (Debian's ca-certificates). */
#define WS_CA_BUNDLE		"/etc/ssl/certs/ca-certificates.crt"
/* lws reads the socket in chunks of this size. */
#define WS_SERV_BUF		(32 * 1024)
/* One WebSocket frame up to this size reaches us in one piece. */
#define WS_RX_BUFFER		MAI_FRAME_PAYLOAD_MAX
/* Request line and headers; the URL carries three encoded settings. */
#define WS_HEADER_MAX		8192
/* TCP connect, TLS and upgrade must finish within this. */
#define WS_CONNECT_TIMEOUT_S	5
/* A few sockets at most; lws sizes tables by this, not by ulimit -n. */
#define WS_FD_LIMIT		32
/* How long a stop waits for the Close handshake before it gives up. */
#define WS_STOP_GRACE_MS	2000

struct mai_config	 ws_conf;

struct ws_main {
	struct lws_context	*ctx;
	int			 sigpipe[2];	/* self-pipe: handler -> loop */
	bool			 stopping;
	bool			 finished;
	int			 exit_code;
	lws_sorted_usec_list_t	 sul_grace;
};

static struct ws_main	wm = { .sigpipe = { -1, -1 } };
static volatile sig_atomic_t	ws_signalled;	/* set by the handler only */

static int	ws_signal_callback(struct lws *, enum lws_callback_reasons,
		    void *, void *, size_t);

static const struct lws_protocols ws_protocols[] = {
	{ "mai-ari", link_callback, 0, WS_RX_BUFFER, 0, NULL, 0 },
	{ "mai-evfilter", evfilter_callback, 0, 0, 0, NULL, 0 },
	{ "mai-delivery", delivery_callback, 0, 0, 0, NULL, 0 },
	{ "mai-reclaim", reclaim_callback, 0, 0, 0, NULL, 0 },
	{ "mai-parent", parent_callback, 0, 0, 0, NULL, 0 },
	{ "mai-signal", ws_signal_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

void
ws_conf_defaults(struct mai_config *c)
{
	if (c->ping_interval_ms == 0)
		c->ping_interval_ms = KEEPALIVE_INTERVAL_MS;
	if (c->ping_timeout_ms == 0)
		c->ping_timeout_ms = KEEPALIVE_TIMEOUT_MS;
	if (c->ari_port == 0)
		c->ari_port = c->ari_tls ? 443 : 8088;
}

/*
 * A signal only sets a flag, and writes a byte to the self-pipe so that the
 * loop wakes up to see it: poll() may have started just before the flag
 * was set.  The stop itself runs in ws_signal_callback().
 */
static void
ws_on_signal(int sig)
{
	int	saved = errno;

	ws_signalled = sig;
	(void)!write(wm.sigpipe[1], "", 1);
	errno = saved;
}

static int
ws_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	char	drain[16];

	(void)wsi;
	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	while (read(wm.sigpipe[0], drain, sizeof(drain)) > 0)
		continue;
	if (ws_signalled != 0)
		ws_stop(0, ws_signalled == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}

static void
ws_signals_init(void)
{
	struct sigaction	sa;

	if (pipe2(wm.sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = ws_on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	/* A dead peer is an error return; reloads come as CONFIG frames. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		fatal("sigaction");
}

/*
 * lws's own warnings and errors, through our log: api_key masked, and
 * errors rate-limited, since lws repeats one for every failed attempt.
 */
static void
ws_lws_log(int level, const char *line)
{
	static struct ratelim	rl;
	char			buf[512];
	size_t			n;
	uint64_t		suppressed;

	urlenc_mask_api_key(buf, sizeof(buf), line);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if ((level & LLL_ERR) && ratelim_pass(&rl, &suppressed))
		log_warnx("lws: %s suppressed=%llu", buf,
		    (unsigned long long)suppressed);
	else
		log_debug("lws: %s", buf);
}

static struct lws_context *
ws_context_create(struct lws_vhost **vh)
{
	struct lws_context_creation_info	info;
	struct lws_context			*ctx;

	lws_set_log_level(LLL_ERR | LLL_WARN, ws_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = ws_protocols;
	info.pt_serv_buf_size = WS_SERV_BUF;
	info.max_http_header_data = WS_HEADER_MAX;
	info.timeout_secs = WS_CONNECT_TIMEOUT_S;
	info.fd_limit_per_thread = WS_FD_LIMIT;
	if (ws_conf.ari_tls) {
		if (access(WS_CA_BUNDLE, R_OK) == -1)
			fatal("ARI_TLS needs the CA bundle %s", WS_CA_BUNDLE);
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.client_ssl_ca_filepath = WS_CA_BUNDLE;
	}
	if ((ctx = lws_create_context(&info)) == NULL)
		fatalx("can't create the lws context");
	if ((*vh = lws_get_vhost_by_name(ctx, "default")) == NULL)
		fatalx("lws context has no default vhost");
	return ctx;
}

static void
ws_signal_adopt(struct lws_vhost *vh)
{
	lws_sock_file_fd_type	fd;

	fd.filefd = wm.sigpipe[0];
	if (lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	    "mai-signal", NULL) == NULL)
		fatalx("can't adopt the signal pipe into the event loop");
}

static void
ws_grace_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	log_warnx("WebSocket close not acknowledged within %d ms",
	    WS_STOP_GRACE_MS);
	wm.finished = true;
}

/*
 * Begin the end: close the WebSocket cleanly (bounded by WS_STOP_GRACE_MS),
 * then leave the loop.  Safe to call more than once.
 */
void
ws_stop(int code, const char *why)
{
	if (wm.stopping)
		return;
	wm.stopping = true;
	wm.exit_code = code;
	if (code == 0)
		log_info("stopping reason=\"%s\"", why);
	else
		log_warnx("stopping reason=\"%s\"", why);
	evfilter_stop();
	delivery_stop();
	link_close();
	lws_sul_schedule(wm.ctx, 0, &wm.sul_grace, ws_grace_cb,
	    WS_STOP_GRACE_MS * MSEC);
}

int
main(int argc, char *argv[])
{
	struct lws_vhost	*vh;

	(void)argv;
	log_init("ws-worker", LOG_LVL_INFO, 0);
	if (argc != 1)
		fatalx("usage: mai-ws-worker (started by mai-supervisor)");
	worker_hello(MAI_ROLE_WS);
	worker_recv_config(&ws_conf);
	ws_conf_defaults(&ws_conf);
	privsep_drop(&ws_conf);
	ws_signals_init();
	wm.ctx = ws_context_create(&vh);
	inbox_init();
	parent_init(wm.ctx, vh);
	ws_signal_adopt(vh);
	link_init(wm.ctx, vh);
	evfilter_init(wm.ctx, vh);
	delivery_init(wm.ctx, vh);
	reclaim_init(wm.ctx, vh);

	sandbox_enter(MAI_ROLE_WS);
	log_info("started app=%s host=%s port=%u tls=%u ping_ms=%u/%u "
	    "event_filter=%u", ws_conf.ari_app, ws_conf.ari_host,
	    ws_conf.ari_port, ws_conf.ari_tls, ws_conf.ping_interval_ms,
	    ws_conf.ping_timeout_ms, ws_conf.ari_event_filter);
	link_start();
	while (!wm.finished) {
		if (lws_service(wm.ctx, 0) < 0)
			fatalx("lws event loop failed");
		if (wm.stopping && link_is_down())
			wm.finished = true;
	}

	lws_sul_cancel(&wm.sul_grace);
	parent_shutdown();
	lws_context_destroy(wm.ctx);
	log_info("exiting code=%d", wm.exit_code);
	return wm.exit_code;
}
