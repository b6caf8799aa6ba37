/*
 * main.c — mai-flow-worker: the life of the call-flow process, in order.
 *
 * Handshake with the supervisor (CONFIG, then the flow file's bytes),
 * drop privileges, set up the REST client, load the seccomp allow-list,
 * take over calls a previous flow-worker left in Stasis, then drive calls
 * from ARI events until the supervisor goes away or SIGTERM arrives.  Calls stay in
 * Asterisk when this process ends: the next flow-worker resumes them.
 *
 * `mai-flow-worker --check FILE` only reads and checks a flow file, for
 * operators (and for `mai-supervisor -t`): exit 0 when it can be used.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "privsep.h"
#include "ari_rest.h"
#include "flow.h"

static void
flow_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct flow	*f = arg;

	(void)ev;
	log_info("signal=%d: exiting", (int)sig);
	event_base_loopexit(f->base, NULL);
}

/*
 * The flow file's bytes from the supervisor (FLOWS: at start and after a
 * reload).  A broken file never replaces working flows; at start it
 * leaves none, and calls continue in the dialplan until a reload brings a
 * valid one.
 */
void
flow_flows_take(struct flow *f, const char *buf, size_t len)
{
	struct flowset	*fs;
	char		 err[FLOW_ERR_MAX];
	int		 reload = f->flows_seen;

	fs = flowset_parse(f->conf.flows_file, buf, len, err, sizeof(err));

	f->flows_seen = 1;
	if (fs == NULL) {
		if (reload)
			f->counters.v[MAI_CNT_FLOW_RELOAD_FAILS]++;
		log_warnx("call flows not %s: %s; %s", reload ? "reloaded" :
		    "loaded", err, f->fs != NULL ? "the previous flows stay" :
		    "calls continue in the dialplan until a valid file is "
		    "loaded (SIGHUP to the supervisor)");
		return;
	}
	flowset_unref(f->fs);
	f->fs = fs;
	log_info("call flows %s file=%s flows=%zu states=%zu routes=%zu "
	    "default=%s", reload ? "reloaded" : "loaded", f->conf.flows_file,
	    fs->nflows, fs->nstates, fs->nroutes, fs->dflt >= 0 ?
	    fs->flows[fs->dflt].name : "-");
}

/*
 * The supervisor sends the flow file's bytes right after CONFIG: this
 * process opens no files.  They are taken before events and the takeover
 * of running calls, so that resumed calls find their flows.
 */
static void
flow_first_flows(struct flow *f)
{
	char	*buf;
	size_t	 n;

	if ((buf = malloc(MAI_FRAME_PAYLOAD_MAX)) == NULL)
		fatal("flows buffer");
	n = worker_recv_flows(buf, MAI_FRAME_PAYLOAD_MAX);
	flow_flows_take(f, buf, n);
	free(buf);
}

/*
 * The bytes of a flow file on stdin (mai-supervisor -t sends what it
 * read), then the seccomp filter: the parser meets the file as the
 * running flow-worker meets its FLOWS frame, sandboxed.  NULL: too long
 * or unreadable, said in err.
 */
static struct flowset *
flow_check_stdin(const char *file, char *err, size_t errlen)
{
	struct flowset	*fs;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;

	if ((buf = malloc(FLOW_FILE_MAX + 1)) == NULL)
		fatal("flow file buffer");
	while (len <= FLOW_FILE_MAX && ((n = read(STDIN_FILENO, buf + len,
	    FLOW_FILE_MAX + 1 - len)) > 0 || (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	sandbox_enter(MAI_ROLE_FLOW);
	if (len > FLOW_FILE_MAX) {
		snprintf(err, errlen, "%s: over %d bytes", file, FLOW_FILE_MAX);
		fs = NULL;
	} else
		fs = flowset_parse(file, buf, len, err, errlen);
	free(buf);
	return fs;
}

/*
 * --check FILE: read FILE and check it, for operators.  --check FILE -:
 * the bytes of FILE come on stdin (from mai-supervisor -t, which runs
 * this with privileges dropped).
 */
static int
flow_check_file(const char *file, int from_stdin)
{
	struct flowset	*fs;
	char		 err[FLOW_ERR_MAX];

	log_init("flow-worker", LOG_LVL_WARN, 0);
	fs = from_stdin ? flow_check_stdin(file, err, sizeof(err)) :
	    flowset_load(file, err, sizeof(err));
	if (fs == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: ok: flows=%zu states=%zu routes=%zu default=%s\n", file,
	    fs->nflows, fs->nstates, fs->nroutes, fs->dflt >= 0 ?
	    fs->flows[fs->dflt].name : "-");
	flowset_unref(fs);
	return 0;
}

static void
flow_setup(struct flow *f)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	if ((f->rest = ari_rest_new(f->base, &f->conf)) == NULL)
		fatalx("ARI REST client: out of memory");
	/* Warm: a burst of calls finds its connections open (ari_pool.c). */
	if (ari_rest_pool(f->rest, ARI_REST_CONNS_DEF, 1) == -1)
		fatalx("ARI REST client: pool size");
	if ((f->botctl = ari_rest_new(f->base, &f->conf)) == NULL ||
	    ari_rest_limit(f->botctl, FLOW_BOT_CONTROL_MAX) == -1)
		fatalx("bot control client: out of memory");
	calls_init(f);
	backlog_init(f);
	flow_first_flows(f);
}

static void
flow_teardown(struct flow *f)
{
	latency_log(f, 1);
	calls_free_all(f);
	reconcile_free(f);
	claim_free_all(f);
	resync_free(f);
	hungup_free(f);
	lease_free(f);
	adopt_free(f);
	ari_rest_free(f->botctl);
	ari_rest_free(f->rest);
	flowset_unref(f->fs);
	curl_global_cleanup();
}

int
main(int argc, char *argv[])
{
	struct flow	*flow;
	struct event	*ev_term, *ev_int;

	if ((argc == 3 || (argc == 4 && strcmp(argv[3], "-") == 0)) &&
	    strcmp(argv[1], "--check") == 0)
		return flow_check_file(argv[2], argc == 4);
	if (argc != 1) {
		fprintf(stderr, "usage: mai-flow-worker [--check FILE [-]]\n");
		return 2;
	}
	/* Big (the call table): on the heap, not the stack. */
	if ((flow = calloc(1, sizeof(*flow))) == NULL)
		fatal("flow");
	log_init("flow-worker", LOG_LVL_INFO, 0);
	worker_hello(MAI_ROLE_FLOW);
	worker_recv_config(&flow->conf);
	privsep_drop(&flow->conf);
	signal(SIGPIPE, SIG_IGN);
	if ((flow->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	flow_setup(flow);
	sandbox_enter(MAI_ROLE_FLOW);
	ev_term = evsignal_new(flow->base, SIGTERM, flow_signal_cb, flow);
	ev_int = evsignal_new(flow->base, SIGINT, flow_signal_cb, flow);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) ||
	    evsignal_add(ev_int, NULL))
		fatalx("evsignal");
	flow_ipc_attach(flow);
	log_info("flow-worker running app=%s", flow->conf.ari_app);
	reconcile_start(flow, 1);
	lease_start(flow);
	event_base_dispatch(flow->base);
	flow_teardown(flow);
	explicit_bzero(&flow->conf, sizeof(flow->conf));
	free(flow);
	return 0;
}
