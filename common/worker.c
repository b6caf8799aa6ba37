/*
 * worker.c — the worker side of the supervisor handshake.
 *
 * A worker starts with one socket at MAI_IPC_FD.  It says HELLO, then
 * waits (bounded) for its CONFIG; until then it has nothing to act on.
 * These calls block on purpose: they run before the event loop exists.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

/* How long a worker waits for the supervisor before giving up. */
#define WORKER_HANDSHAKE_MS	10000

#ifdef MAI_SANITIZED
/*
 * LeakSanitizer inspects the process with ptrace from a helper process at
 * exit, which the seccomp filter forbids (as it should).  Sanitized worker
 * builds keep ASan and UBSan but skip that final leak pass.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

void
worker_hello(enum mai_role role)
{
	struct mai_hello	hello;
	int			type;
	socklen_t		len = sizeof(type);

	if (getsockopt(MAI_IPC_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET)
		fatalx("fd %d is not the supervisor socket: start workers "
		    "through mai-supervisor", MAI_IPC_FD);
	memset(&hello, 0, sizeof(hello));
	hello.pid = (uint32_t)getpid();
	hello.role = (uint8_t)role;
	strncpy(hello.version, MAI_VERSION, sizeof(hello.version) - 1);
	if (frame_send(MAI_IPC_FD, MAI_MSG_HELLO, 0, &hello, sizeof(hello)) < 0)
		fatal("hello to supervisor failed");
}

/* Wait for one frame of the wanted type; anything else here is an error. */
static ssize_t
worker_wait_frame(uint8_t want, void *buf, size_t size, int *fdp)
{
	struct mai_frame_hdr	hdr;
	struct pollfd		pfd = { .fd = MAI_IPC_FD, .events = POLLIN };
	ssize_t			n;
	int			rc;

	do {
		rc = poll(&pfd, 1, WORKER_HANDSHAKE_MS);
	} while (rc == -1 && errno == EINTR);
	if (rc == 0)
		fatalx("no %s from supervisor within %d ms", msg_name(want),
		    WORKER_HANDSHAKE_MS);
	if (rc == -1)
		fatal("poll on supervisor socket");
	n = frame_recv(MAI_IPC_FD, &hdr, buf, size, fdp);
	if (n < 0)
		fatalx("waiting for %s: %s", msg_name(want), frame_error(n));
	if (hdr.type != want || !msg_payload_ok(hdr.type, (size_t)n))
		fatalx("expected %s from supervisor, got %s len=%zd",
		    msg_name(want), msg_name(hdr.type), n);
	return n;
}

/*
 * Take a CONFIG frame's payload: the one way every worker reads it, at
 * start and after a reload.  The strings are fixed-size arrays filled by
 * the supervisor; each is cut at its last byte here, so nothing after
 * this reads past one.  -1 when the size is wrong (nothing taken).
 */
int
worker_take_config(struct mai_config *conf, const void *buf, size_t len)
{
	if (len != sizeof(*conf)) {
		log_warnx("config from supervisor has len=%zu, ignored", len);
		return -1;
	}
	memcpy(conf, buf, sizeof(*conf));
#define CUT(s)	((s)[sizeof(s) - 1] = '\0')
	CUT(conf->ari_host);
	CUT(conf->ari_user);
	CUT(conf->ari_password);
	CUT(conf->ari_app);
	CUT(conf->flows_file);
	CUT(conf->bot_media);
	CUT(conf->bot_format);
	CUT(conf->bot_transport);
	CUT(conf->bot_control);
#undef CUT
	log_setlevel(conf->log_level, conf->log_json);
	return 0;
}

void
worker_recv_config(struct mai_config *conf)
{
	struct mai_config	wire;
	ssize_t			n;

	n = worker_wait_frame(MAI_MSG_CONFIG, &wire, sizeof(wire), NULL);
	if (worker_take_config(conf, &wire, (size_t)n) == -1)
		fatalx("config from supervisor has the wrong size");
	explicit_bzero(&wire, sizeof(wire));
}

/*
 * The flow file's bytes (FLOWS), which the supervisor sends to the
 * flow-worker right after CONFIG, empty when it has no file.  Returns
 * their length; buf must hold MAI_FRAME_PAYLOAD_MAX bytes.
 */
size_t
worker_recv_flows(void *buf, size_t size)
{
	return (size_t)worker_wait_frame(MAI_MSG_FLOWS, buf, size, NULL);
}

int
worker_recv_listener(void)
{
	char	dummy[1];
	int	fd = -1;

	worker_wait_frame(MAI_MSG_LISTENER, dummy, sizeof(dummy), &fd);
	if (fd == -1)
		fatalx("listener frame carried no socket");
	return fd;
}

void
worker_send_flag(enum mai_flag flag, int value)
{
	struct mai_flag_report	rep;
	ssize_t			n;

	memset(&rep, 0, sizeof(rep));
	rep.flag = (uint8_t)flag;
	rep.value = value ? 1 : 0;
	if ((n = frame_send(MAI_IPC_FD, MAI_MSG_FLAG, 0, &rep, sizeof(rep))) < 0)
		log_warnx("flag report failed flag=%s: %s", flag_name(flag),
		    frame_error(n));
}

void
worker_send_counters(const struct mai_counters *c)
{
	ssize_t	n;

	if ((n = frame_send(MAI_IPC_FD, MAI_MSG_COUNTERS, 0, c, sizeof(*c))) < 0)
		log_debug("counters report failed: %s", frame_error(n));
}

/*
 * Answer a PING (seq), or say unasked that the loop runs (seq 0).  Called
 * from the worker's event loop only: that is what makes it a heartbeat.
 * A full socket loses this one; the next PING asks again.
 */
ssize_t
worker_send_pong(uint64_t seq, uint64_t ari_oldest_ms)
{
	struct mai_pong	pong;
	ssize_t		n;

	memset(&pong, 0, sizeof(pong));
	pong.ari_oldest_ms = ari_oldest_ms;
	if ((n = frame_send(MAI_IPC_FD, MAI_MSG_PONG, seq, &pong,
	    sizeof(pong))) < 0)
		log_debug("heartbeat answer failed seq=%llu: %s",
		    (unsigned long long)seq, frame_error(n));
	return n;
}
