/*
 * lifecycle.c — stop, reload and status, the operator-facing verbs.
 *
 * Semantics follow nginx and s6: TERM/INT stop gracefully (workers get
 * TERM, then KILL after MAI_STOP_GRACE_MS); HUP re-reads configuration and
 * restarts the ws- and health-worker one at a time, each only after the
 * previous one is back, while the flow-worker reloads in place so calls
 * go on; USR1 writes the status table to the log.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "supervisor.h"

static bool	stop_started;
static bool	roll_stopped;

static void
lifecycle_kill_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker	*w;
	int		 r;

	(void)fd;
	(void)ev;
	(void)arg;
	proc_retired_signal(SIGKILL);
	for (r = 0; r < MAI_ROLE_COUNT; r++) {
		w = &sup->workers[r];
		if (w->pid > 0) {
			log_warnx("worker did not stop in time worker=%s pid=%d"
			    " grace_ms=%u action=kill", w->name, (int)w->pid,
			    sup->conf.stop_grace_ms);
			kill(w->pid, SIGKILL);
		}
	}
}

static void
lifecycle_begin_stop(void)
{
	struct timeval	tv;
	int		r;

	stop_started = true;
	log_info("stopping workers grace_ms=%u", sup->conf.stop_grace_ms);
	for (r = 0; r < MAI_ROLE_COUNT; r++) {
		evtimer_del(sup->workers[r].ev_timer);
		proc_stop(&sup->workers[r], false);
	}
	proc_retired_signal(SIGTERM);
	tv.tv_sec = sup->conf.stop_grace_ms / 1000;
	tv.tv_usec = (sup->conf.stop_grace_ms % 1000) * 1000;
	sup->ev_stop_timer = evtimer_new(sup->base, lifecycle_kill_cb, NULL);
	if (sup->ev_stop_timer == NULL)
		fatalx("evtimer_new");
	evtimer_add(sup->ev_stop_timer, &tv);
}

/* Called on the stop request and after every reap while stopping. */
void
lifecycle_stop(void)
{
	int	r;

	sup->stopping = true;
	if (!stop_started)
		lifecycle_begin_stop();
	for (r = 0; r < MAI_ROLE_COUNT; r++)
		if (sup->workers[r].pid > 0)
			return;
	if (proc_retired_count() > 0)
		return;
	log_info("all workers stopped");
	event_base_loopexit(sup->base, NULL);
}

/* Settings that need a new socket or directory are kept until restart. */
static void
lifecycle_apply(struct sup_config *next)
{
	if (strcmp(next->http_listen, sup->conf.http_listen) != 0) {
		log_warnx("HTTP_LISTEN changed to %s: takes effect after a full"
		    " restart, keeping %s", next->http_listen,
		    sup->conf.http_listen);
		strcpy(next->http_listen, sup->conf.http_listen);
	}
	if (strcmp(next->rundir, sup->conf.rundir) != 0) {
		log_warnx("MAI_RUNDIR changed: takes effect after a full "
		    "restart, keeping %s", sup->conf.rundir);
		strcpy(next->rundir, sup->conf.rundir);
	}
	config_free(&sup->conf);
	sup->conf = *next;	/* takes over its flows_buf */
	log_setlevel(sup->conf.log_level, sup->conf.log_json);
	heartbeat_configure();
}

void
lifecycle_reload(void)
{
	struct sup_config	next;
	char			err[512];

	if (sup->stopping)
		return;
	log_info("reload requested");
	if (config_load(&next, err, sizeof(err)) == -1) {
		log_warnx("reload refused, configuration unchanged: %s", err);
		config_free(&next);
		return;
	}
	lifecycle_apply(&next);
	explicit_bzero(&next, sizeof(next));
	sup->rolling = 0;
	roll_stopped = false;
	lifecycle_roll_next();
}

/* One worker at a time: stop it, wait until its successor said hello. */
void
lifecycle_roll_next(void)
{
	struct worker	*w;

	while (sup->rolling >= 0 && sup->rolling < MAI_ROLE_COUNT) {
		w = &sup->workers[sup->rolling];
		if (!roll_stopped) {
			/*
			 * Calls live in the flow-worker: it re-reads its
			 * flows in place instead of being restarted, and
			 * keeps the old ones if the new file is broken.
			 */
			if (w->role == MAI_ROLE_FLOW &&
			    w->state == MAI_WSTATE_RUNNING) {
				log_info("reload: worker=%s reloads in place",
				    w->name);
				dispatch_send_config(w);
				sup->rolling++;
				continue;
			}
			if (w->state == MAI_WSTATE_RUNNING) {
				log_info("reload: restarting worker=%s",
				    w->name);
				proc_stop(w, true);
				roll_stopped = true;
				return;
			}
			/* Not running: it starts with the new config anyway. */
			sup->rolling++;
			continue;
		}
		if (w->state != MAI_WSTATE_RUNNING ||
		    w->pid <= 0 || w->restart_now)
			return;
		roll_stopped = false;
		sup->rolling++;
	}
	if (sup->rolling >= MAI_ROLE_COUNT) {
		sup->rolling = -1;
		log_info("reload done");
	}
}

void
lifecycle_status_log(void)
{
	char	buf[4096], *line, *save = NULL;

	control_status(buf, sizeof(buf));
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_info("status %s", line);
}
