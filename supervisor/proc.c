/*
 * proc.c — start, watch and restart the workers.
 *
 * Each worker is a fresh exec (own address space and ASLR) that inherits
 * stdio and exactly one socket, at MAI_IPC_FD.  Its environment is a short
 * fixed list: nothing secret is ever placed there.  A dead worker is
 * restarted after an exponential backoff, as s6 and docs/architecture.md describe.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

static const char *const worker_bins[MAI_ROLE_COUNT] = {
	[MAI_ROLE_WS] = "mai-ws-worker",
	[MAI_ROLE_FLOW] = "mai-flow-worker",
	[MAI_ROLE_HEALTH] = "mai-health-worker",
};

/* Variables a worker may see: none secret, all for the C runtime. */
static const char *const env_passthrough[] = {
	"TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
};

static void	proc_restart_cb(evutil_socket_t, short, void *);
static void	proc_stable_cb(evutil_socket_t, short, void *);
static bool	proc_reap_retired(pid_t, int);

static uint64_t
ms_since(const struct timespec *t)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (uint64_t)((now.tv_nsec - t->tv_nsec) / 1000000);
}

static void
ms_to_tv(uint32_t ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

void
proc_init(void)
{
	struct worker	*w;
	int		 r;

	for (r = 0; r < MAI_ROLE_COUNT; r++) {
		w = &sup->workers[r];
		memset(w, 0, sizeof(*w));
		w->role = (enum mai_role)r;
		w->name = role_name(w->role);
		w->fd = -1;
		w->backoff_ms = RESTART_BACKOFF_MIN_MS;
		w->ev_timer = evtimer_new(sup->base, proc_restart_cb, w);
		w->ev_stable = evtimer_new(sup->base, proc_stable_cb, w);
		if (w->ev_timer == NULL || w->ev_stable == NULL)
			fatalx("evtimer_new");
	}
}

struct worker *
proc_by_pid(pid_t pid)
{
	int	r;

	for (r = 0; r < MAI_ROLE_COUNT; r++)
		if (pid > 0 && sup->workers[r].pid == pid)
			return &sup->workers[r];
	return NULL;
}

/*
 * In the child, before exec: empty the capability bounding set, so that
 * nothing the worker executes could ever gain a capability back (a file
 * capability, a setuid-root binary).  As root the worker still has to
 * switch to MAI_USER after exec, which needs CAP_SETUID and CAP_SETGID:
 * those two are made inheritable first, which exec keeps for uid 0 with
 * an empty bounding set, and the worker clears them with its user switch
 * (privsep.c).  Not root: there is nothing to drop and no right to.
 * Raw system calls only (async-signal-safe); 0, or -1 if a drop failed.
 */
static int
proc_drop_bounding(bool keep_setid)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	data[2];
	int				cap;

	if (geteuid() != 0)
		return 0;
	if (keep_setid) {
		if (syscall(SYS_capget, &hdr, data) == -1)
			return -1;
		data[0].inheritable = (1U << CAP_SETUID) | (1U << CAP_SETGID);
		data[1].inheritable = 0;
		if (syscall(SYS_capset, &hdr, data) == -1)
			return -1;
	}
	/* Up to the kernel's CAP_LAST_CAP, whatever this build knew of. */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return -1;
	return 0;
}

/* In the child: runs between fork and exec, so only async-signal-safe. */
static void __attribute__((noreturn))
proc_exec_child(struct worker *w, int fd, const char *path)
{
	char		*argv[2], *envp[8];
	char		 envbuf[4][256];
	const char	*v;
	sigset_t	 none;
	size_t		 i, n = 0, kl, vl;
	int		 null;

	envp[n++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	for (i = 0; i < 4; i++) {
		if ((v = getenv(env_passthrough[i])) == NULL)
			continue;
		kl = strlen(env_passthrough[i]);
		vl = strlen(v);
		if (kl + vl + 2 > sizeof(envbuf[i]))
			continue;
		memcpy(envbuf[i], env_passthrough[i], kl);
		envbuf[i][kl] = '=';
		memcpy(envbuf[i] + kl + 1, v, vl + 1);
		envp[n++] = envbuf[i];
	}
	envp[n] = NULL;
	argv[0] = (char *)w->name;
	argv[1] = NULL;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((null = open("/dev/null", O_RDONLY)) != -1 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	if (fd == MAI_IPC_FD)
		fcntl(fd, F_SETFD, 0);
	else if (dup2(fd, MAI_IPC_FD) == -1)
		_exit(127);
	/* Nothing but stdio and the supervisor socket crosses exec. */
	close_range(MAI_IPC_FD + 1, ~0U, 0);
	if (proc_drop_bounding(sup->conf.drop_user) == -1) {
		/* Never run a worker that could regain root; say why. */
		static const char msg[] = "mai-supervisor: cannot empty the "
		    "capability bounding set before exec (give the supervisor "
		    "CAP_SETPCAP): worker not started\n";

		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	execve(path, argv, envp);
	_exit(127);
}

void
proc_spawn(struct worker *w)
{
	char		path[PATH_MAX + 64];
	struct timeval	tv;
	int		sv[2];
	pid_t		pid;

	snprintf(path, sizeof(path), "%s/%s", sup->conf.libexec_dir,
	    worker_bins[w->role]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sv) == -1)
		fatal("socketpair");
	fcntl(sv[1], F_SETFL, 0);	/* the worker starts blocking */
	if ((pid = fork()) == -1) {
		log_warn("fork worker=%s", w->name);
		close(sv[0]);
		close(sv[1]);
		proc_schedule_restart(w);
		return;
	}
	if (pid == 0)
		proc_exec_child(w, sv[1], path);
	close(sv[1]);
	w->pid = pid;
	w->fd = sv[0];
	w->state = MAI_WSTATE_STARTING;
	w->untrusted = false;
	w->restart_now = false;
	clock_gettime(CLOCK_MONOTONIC, &w->started);
	dispatch_attach(w);
	pidfile_write(sup->conf.rundir, w->name, pid);
	ms_to_tv(HELLO_TIMEOUT_MS, &tv);
	evtimer_add(w->ev_timer, &tv);
	log_info("worker started worker=%s pid=%d path=%s", w->name, (int)pid,
	    path);
	readiness_changed();
}

static void
proc_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)ev;
	if (w->state == MAI_WSTATE_DOWN && !sup->stopping)
		proc_spawn(w);
	else if (w->state == MAI_WSTATE_STARTING) {
		log_warnx("worker said no hello in time worker=%s pid=%d "
		    "timeout_ms=%d", w->name, (int)w->pid, HELLO_TIMEOUT_MS);
		proc_distrust(w, "hello timeout");
	}
}

/* Ran long enough: the next failure starts the backoff from the bottom. */
static void
proc_stable_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)ev;
	if (w->state != MAI_WSTATE_RUNNING)
		return;
	w->backoff_ms = RESTART_BACKOFF_MIN_MS;
	if (w->fast_exits >= CRASHLOOP_EXITS)
		log_info("worker recovered from crash loop worker=%s", w->name);
	w->fast_exits = 0;
	readiness_changed();
}

void
proc_schedule_restart(struct worker *w)
{
	struct timeval	tv;
	uint32_t	delay = w->backoff_ms;

	if (sup->stopping)
		return;
	if (w->restart_now)
		delay = 0;
	else if (w->backoff_ms < RESTART_BACKOFF_MAX_MS)
		w->backoff_ms = w->backoff_ms * 2 > RESTART_BACKOFF_MAX_MS ?
		    RESTART_BACKOFF_MAX_MS : w->backoff_ms * 2;
	ms_to_tv(delay, &tv);
	evtimer_add(w->ev_timer, &tv);
	if (delay > 0)
		log_info("worker restart scheduled worker=%s delay_ms=%u "
		    "restarts=%u", w->name, delay, w->restarts + 1);
}

/*
 * Killed from outside (an operator's kill -9 or TERM, the OOM killer)
 * after it ran a while: not the worker's own failure.  Every ms it stays
 * down is a ms of calls refused (a ws-worker down is Asterisk refusing
 * every call), so it comes back at once, and the kill counts toward
 * neither the backoff nor a crash loop.  Having run
 * RESTART_KILLED_MIN_RUN_MS keeps s6's rule: never more than one start a
 * second.  Crash signals (SEGV, ABRT, ...) and deaths soon after start
 * still back off.
 */
static bool
proc_killed_outside(int status, uint64_t ran)
{
	if (!WIFSIGNALED(status) || ran < RESTART_KILLED_MIN_RUN_MS)
		return false;
	switch (WTERMSIG(status)) {
	case SIGKILL:
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
		return true;
	default:
		return false;
	}
}

static void
proc_exited(struct worker *w, int status)
{
	uint64_t	ran = ms_since(&w->started);
	bool		hung;

	if (WIFSIGNALED(status)) {
		w->last_exit = -WTERMSIG(status);
		log_warnx("worker killed worker=%s pid=%d signal=%d (%s) "
		    "ran_ms=%llu", w->name, (int)w->pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)), (unsigned long long)ran);
	} else if ((w->last_exit = WEXITSTATUS(status)) != 0)
		log_warnx("worker exited worker=%s pid=%d code=%d ran_ms=%llu",
		    w->name, (int)w->pid, w->last_exit, (unsigned long long)ran);
	else
		log_info("worker exited worker=%s pid=%d code=0 ran_ms=%llu",
		    w->name, (int)w->pid, (unsigned long long)ran);
	hung = w->hung_kill;
	w->hung_kill = false;
	dispatch_detach(w);
	evtimer_del(w->ev_timer);
	evtimer_del(w->ev_stable);
	heartbeat_stop(w);
	pidfile_remove(sup->conf.rundir, w->name);
	w->pid = 0;
	w->state = MAI_WSTATE_DOWN;
	readiness_clear_role(w->role);
	if (w->role == MAI_ROLE_FLOW)
		relay_rewind(&sup->relay);
	if (sup->stopping)
		return;
	w->restarts++;
	/*
	 * A clean exit (code 0, e.g. after an operator's SIGTERM) of a worker
	 * that ran a while is a restart request, not a failure: no backoff.
	 * Neither for a hung worker we killed: it said hello and then missed
	 * a whole heartbeat deadline, so these restarts are at least that far
	 * apart anyway, and every ms of delay is a ms of calls unanswered.
	 * Hangs still count as fast exits: one that hangs again and again
	 * is marked crash-looping like one that crashes.
	 */
	if (hung || (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    ran >= RESTART_CLEAN_MIN_RUN_MS) || proc_killed_outside(status,
	    ran))
		w->restart_now = true;
	if (ran >= RESTART_STABLE_MS) {
		w->backoff_ms = RESTART_BACKOFF_MIN_MS;
		w->fast_exits = 0;
	} else if ((hung || !w->restart_now) &&
	    ++w->fast_exits == CRASHLOOP_EXITS)
		log_warnx("worker is crash-looping worker=%s fast_exits=%u",
		    w->name, w->fast_exits);
	proc_schedule_restart(w);
	readiness_changed();
}

/* SIGCHLD: collect every child that ended; flags go down at once. */
void
proc_reap(void)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = proc_by_pid(pid)) == NULL) {
			if (!proc_reap_retired(pid, status))
				log_debug("reaped unknown child pid=%d",
				    (int)pid);
			continue;
		}
		proc_exited(w, status);
	}
	if (sup->stopping)
		lifecycle_stop();
	else if (sup->rolling >= 0)
		lifecycle_roll_next();
}

/* Ask a worker to go; with restart, it comes back without backoff. */
void
proc_stop(struct worker *w, bool restart)
{
	if (w->pid <= 0)
		return;
	w->restart_now = restart;
	w->state = MAI_WSTATE_STOPPING;
	if (kill(w->pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("kill TERM worker=%s pid=%d", w->name, (int)w->pid);
}

/*
 * A worker that broke the protocol is not trusted further: stop reading
 * it, drop its flags, kill it without a grace period, let it restart.
 */
void
proc_distrust(struct worker *w, const char *why)
{
	if (w->pid <= 0 || w->untrusted)
		return;
	w->untrusted = true;
	w->frames_refused++;
	log_warnx("worker not trusted any more worker=%s pid=%d reason=\"%s\""
	    " action=kill", w->name, (int)w->pid, why);
	dispatch_detach(w);
	readiness_clear_role(w->role);
	kill(w->pid, SIGKILL);
	readiness_changed();
}

/*
 * A worker that missed its heartbeat deadline (heartbeat.c) is stopped,
 * deadlocked or starved: it cannot vouch for anything, so its flags go
 * at once and /readyz names it until its successor says hello.  SIGKILL,
 * not TERM: a stopped process does not act on TERM, and a stuck one
 * would not finish a drain.  proc_exited() restarts it without delay.
 */
void
proc_kill_hung(struct worker *w)
{
	if (w->pid <= 0 || w->untrusted || w->hung_kill)
		return;
	w->hung = true;
	w->hung_kill = true;
	w->hung_kills++;
	dispatch_detach(w);
	readiness_clear_role(w->role);
	if (kill(w->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("kill KILL worker=%s pid=%d", w->name, (int)w->pid);
	readiness_changed();
}

void
proc_mark_running(struct worker *w)
{
	struct timeval	tv;

	evtimer_del(w->ev_timer);
	w->state = MAI_WSTATE_RUNNING;
	ms_to_tv(RESTART_STABLE_MS, &tv);
	evtimer_add(w->ev_stable, &tv);
}

/*
 * A worker that said DRAINING no longer serves new work but finishes what
 * it has.  It leaves its slot at once, so the successor starts now and the
 * drain overlaps the start-up instead of preceding it.  Its flags go with
 * it; its pid is kept only to reap it and to stop it on shutdown.
 */
void
proc_retire(struct worker *w)
{
	int	i;

	if (sup->stopping || (w->state != MAI_WSTATE_RUNNING &&
	    w->state != MAI_WSTATE_STOPPING))
		return;
	for (i = 0; i < RETIRED_MAX && sup->retired[i] != 0; i++)
		;
	if (i == RETIRED_MAX) {
		log_warnx("too many draining workers: worker=%s pid=%d restarts"
		    " when it exits", w->name, (int)w->pid);
		return;
	}
	sup->retired[i] = w->pid;
	log_info("worker draining, starting its successor worker=%s pid=%d",
	    w->name, (int)w->pid);
	dispatch_detach(w);
	evtimer_del(w->ev_timer);
	evtimer_del(w->ev_stable);
	heartbeat_stop(w);
	readiness_clear_role(w->role);
	w->pid = 0;
	w->state = MAI_WSTATE_DOWN;
	w->restarts++;
	w->restart_now = true;
	proc_schedule_restart(w);
	readiness_changed();
}

static bool
proc_reap_retired(pid_t pid, int status)
{
	int	i;

	for (i = 0; i < RETIRED_MAX; i++) {
		if (sup->retired[i] != pid)
			continue;
		sup->retired[i] = 0;
		log_info("drained worker exited pid=%d code=%d", (int)pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    -WTERMSIG(status));
		return true;
	}
	return false;
}

int
proc_retired_count(void)
{
	int	i, n = 0;

	for (i = 0; i < RETIRED_MAX; i++)
		n += sup->retired[i] != 0;
	return n;
}

void
proc_retired_signal(int sig)
{
	int	i;

	for (i = 0; i < RETIRED_MAX; i++)
		if (sup->retired[i] != 0)
			kill(sup->retired[i], sig);
}
