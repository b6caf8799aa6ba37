/*
 * control.c — the operator's control socket, MAI_RUNDIR/control.sock.
 *
 * One line in, a few lines out, then close: `status`, `restart WORKER`,
 * `reload`, `stop`.  The socket is mode 0660 and every peer's uid is
 * checked (root or our own), so no other local user can steer mai.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define CONTROL_LINE_MAX	256
#define CONTROL_TIMEOUT_S	2	/* a client that says nothing */

struct control_client {
	struct event	*ev;
	int		 fd;
	size_t		 len;
	char		 buf[CONTROL_LINE_MAX];
};

static const char *const state_names[] = {
	"down", "starting", "running", "stopping"
};

static int
control_path(char *dst, size_t size, const char *rundir)
{
	return snprintf(dst, size, "%s/control.sock", rundir) >= (int)size ?
	    -1 : 0;
}

void
control_status(char *out, size_t size)
{
	struct worker	*w;
	struct relay	*r = &sup->relay;
	size_t		 o;
	int		 i;

	o = (size_t)snprintf(out, size, "%-14s %7s %-9s %8s %10s %9s %s\n",
	    "worker", "pid", "state", "restarts", "backoff_ms", "last_exit",
	    "crashloop");
	for (i = 0; i < MAI_ROLE_COUNT && o < size; i++) {
		w = &sup->workers[i];
		o += (size_t)snprintf(out + o, size - o,
		    "%-14s %7d %-9s %8u %10u %9d %s\n", w->name, (int)w->pid,
		    state_names[w->state], w->restarts, w->backoff_ms,
		    w->last_exit, w->fast_exits >= CRASHLOOP_EXITS ? "yes" : "no");
	}
	for (i = 0; i < MAI_FLAG_COUNT && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "flag %s=%s\n",
		    flag_name((enum mai_flag)i), sup->flags[i] ? "true" : "false");
	if (o < size)
		snprintf(out + o, size - o, "events relayed=%llu acked=%llu "
		    "dropped=%llu queued=%llu replayed=%llu\n",
		    (unsigned long long)r->relayed, (unsigned long long)r->acked,
		    (unsigned long long)r->dropped, (unsigned long long)r->count,
		    (unsigned long long)r->replayed);
}

int
control_restart(const char *name)
{
	int	role = role_from_name(name);

	if (role < 0 || sup->workers[role].pid <= 0)
		return -1;
	log_info("restart requested worker=%s", name);
	proc_stop(&sup->workers[role], true);
	return 0;
}

static void
control_execute(const char *line, char *out, size_t size)
{
	if (strcmp(line, "status") == 0)
		control_status(out, size);
	else if (strncmp(line, "restart ", 8) == 0) {
		if (control_restart(line + 8) == 0)
			snprintf(out, size, "ok restarting %s\n", line + 8);
		else
			snprintf(out, size, "error: no running worker named "
			    "'%.64s' (ws-worker, flow-worker, health-worker)\n",
			    line + 8);
	} else if (strcmp(line, "reload") == 0) {
		snprintf(out, size, "ok reloading\n");
		lifecycle_reload();
	} else if (strcmp(line, "drain") == 0) {
		/* Before a stop: calls in progress end, no new one is claimed
		   (docs/scaling.md; Kubernetes' preStop). */
		snprintf(out, size, "ok draining\n");
		sup->draining = true;
		readiness_changed();
	} else if (strcmp(line, "stop") == 0) {
		snprintf(out, size, "ok stopping\n");
		sup->stopping = true;
		lifecycle_stop();
	} else
		snprintf(out, size, "error: unknown command '%.64s' (status, "
		    "restart WORKER, reload, drain, stop)\n", line);
}

static void
control_client_free(struct control_client *c)
{
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
control_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct control_client	*c = arg;
	char			 out[4096], *nl;
	ssize_t			 n;

	if (ev & EV_TIMEOUT) {
		control_client_free(c);
		return;
	}
	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0) {
		if (n == -1 && errno == EAGAIN)
			return;
		control_client_free(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((nl = strchr(c->buf, '\n')) == NULL) {
		if (c->len < sizeof(c->buf) - 1)
			return;		/* wait for the rest of the line */
		snprintf(out, sizeof(out), "error: line too long\n");
	} else {
		*nl = '\0';
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		control_execute(c->buf, out, sizeof(out));
	}
	(void)!write(fd, out, strlen(out));
	control_client_free(c);
}

/* Only root or our own uid may talk to us, whatever the file mode says. */
static bool
control_peer_ok(int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
control_accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct control_client	*c;
	struct timeval		 tv = { CONTROL_TIMEOUT_S, 0 };
	int			 fd;

	(void)ev;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (!control_peer_ok(fd) || (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control connection refused: peer uid not allowed");
		close(fd);
		return;
	}
	c->fd = fd;
	c->ev = event_new(sup->base, fd, EV_READ | EV_PERSIST, control_read_cb, c);
	if (c->ev == NULL) {
		close(fd);
		free(c);
		return;
	}
	event_add(c->ev, &tv);
}

int
control_listen(const char *rundir)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (control_path(sun.sun_path, sizeof(sun.sun_path), rundir) == -1)
		fatalx("MAI_RUNDIR=%s is too long for a unix socket path",
		    rundir);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("control socket");
	/*
	 * The pidfile lock says the name is ours, and rundir_check() that
	 * only root or we can have put anything there; unlink() removes a
	 * planted symlink, never its target.  The umask makes the socket
	 * 0660 from its first moment: there is no window before a chmod.
	 */
	(void)unlink(sun.sun_path);
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", sun.sun_path);
	umask(old);
	if (listen(fd, 16) == -1)
		fatal("listen %s", sun.sun_path);
	sup->ev_control = event_new(sup->base, fd, EV_READ | EV_PERSIST,
	    control_accept_cb, NULL);
	if (sup->ev_control == NULL)
		fatalx("event_new control");
	event_add(sup->ev_control, NULL);
	return fd;
}

void
control_cleanup(const char *rundir)
{
	char	path[PATH_MAX + 32];

	if (control_path(path, sizeof(path), rundir) == 0)
		(void)unlink(path);
}

/* `mai-supervisor ctl CMD [ARG]`: send one line, print the answer. */
void
control_client(const char *rundir, int argc, char **argv)
{
	struct sockaddr_un	sun;
	char			line[CONTROL_LINE_MAX], buf[4096];
	ssize_t			n;
	int			fd, ok = 1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (argc < 1 || control_path(sun.sun_path, sizeof(sun.sun_path),
	    rundir) == -1)
		fatalx("usage: mai-supervisor ctl status|reload|stop|restart "
		    "WORKER");
	snprintf(line, sizeof(line), "%s%s%s\n", argv[0], argc > 1 ? " " : "",
	    argc > 1 ? argv[1] : "");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("cannot reach the supervisor at %s (is it running, and "
		    "is MAI_RUNDIR the same?)", sun.sun_path);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		fatal("write %s", sun.sun_path);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (strncmp(buf, "error", 5) == 0)
			ok = 0;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	exit(ok ? 0 : 1);
}
