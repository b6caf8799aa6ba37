/*
 * main.c — mai-supervisor: the life of the parent process, in order.
 *
 * Read the configuration, take the run directory, bind the HTTP socket,
 * start the three workers, then move frames, keep flags and restart
 * workers until told to stop.  It never parses ARI JSON or HTTP.
 */
#include <sys/wait.h>

#include <errno.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"
#include "supervisor.h"

struct supervisor	*sup;
static struct supervisor supervisor;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: mai-supervisor [-t] [-h] [-V]\n"
	    "       mai-supervisor ctl status|reload|stop|restart WORKER\n"
	    "  -t, --test-config  check the configuration, print it (password\n"
	    "                     masked) and exit: 0 if valid, 78 if not\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         this text\n"
	    "Configuration comes from the environment (see README.md):\n"
	    "  ARI_HOST ARI_PORT ARI_USER ARI_PASSWORD|ARI_PASSWORD_FILE ARI_APP\n"
	    "  HTTP_LISTEN MAI_USER MAI_RUNDIR LOG_LEVEL LOG_FORMAT ...\n"
	    "Signals: TERM/INT stop, HUP reload, USR1 log status.\n");
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("signal=%s: stopping", sig == SIGTERM ? "TERM" : "INT");
		lifecycle_stop();
		break;
	case SIGHUP:
		lifecycle_reload();
		break;
	case SIGUSR1:
		lifecycle_status_log();
		break;
	case SIGCHLD:
		proc_reap();
		break;
	}
}

static void
signals_setup(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD };
	struct event	*ev;
	size_t		 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if ((ev = evsignal_new(sup->base, sigs[i], signal_cb, NULL)) ==
		    NULL || evsignal_add(ev, NULL) == -1)
			fatalx("evsignal for signal %d", sigs[i]);
	}
}

/* A missing worker binary is a deployment error, caught before start. */
static int
check_binaries(const struct sup_config *c, char *err, size_t errlen)
{
	static const char *const bins[] = { "mai-ws-worker", "mai-flow-worker",
	    "mai-health-worker" };
	char	path[PATH_MAX + 64];
	size_t	i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", c->libexec_dir, bins[i]);
		if (access(path, X_OK) == -1) {
			snprintf(err, errlen, "MAI_LIBEXEC_DIR=%.256s: %s is missing"
			    " or not executable: install the workers there or "
			    "point MAI_LIBEXEC_DIR at them", c->libexec_dir,
			    bins[i]);
			return -1;
		}
	}
	return 0;
}

/*
 * The child of check_flows(): it becomes what a flow-worker is (the
 * workers' user, no_new_privs) and runs the flow-worker's own check on
 * the bytes the supervisor read, which come on stdin; the check loads the
 * flow-worker's seccomp filter before it parses them.
 */
static void
check_flows_child(const struct sup_config *c, int rd, int wr)
{
	struct mai_config	w;
	char			path[PATH_MAX + 64];

	close(wr);
	if (dup2(rd, STDIN_FILENO) == -1)
		_exit(127);
	close(rd);
	config_to_wire(c, &w);
	privsep_drop(&w);
	explicit_bzero(&w, sizeof(w));
	snprintf(path, sizeof(path), "%s/mai-flow-worker", c->libexec_dir);
	execl(path, "mai-flow-worker", "--check", c->flows_file, "-",
	    (char *)NULL);
	_exit(127);
}

/*
 * -t also checks the flow file, with the flow-worker's own parser, with
 * privileges dropped as a worker would: the supervisor itself never
 * parses JSON, and no parser runs as root.
 */
static int
check_flows(const struct sup_config *c)
{
	const char	*p = c->flows_buf;
	size_t		 left = c->flows_len;
	ssize_t		 n;
	pid_t		 pid;
	int		 fds[2], status;

	signal(SIGPIPE, SIG_IGN);	/* a child that died early: EPIPE */
	if (pipe(fds) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0)
		check_flows_child(c, fds[0], fds[1]);
	close(fds[0]);
	while (left > 0 && ((n = write(fds[1], p, left)) > 0 ||
	    (n == -1 && errno == EINTR))) {
		if (n > 0) {
			p += n;
			left -= (size_t)n;
		}
	}
	close(fds[1]);
	if (waitpid(pid, &status, 0) == -1)
		fatal("waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void
load_or_exit(bool test)
{
	char	err[512];

	if (config_load(&sup->conf, err, sizeof(err)) == -1 ||
	    check_binaries(&sup->conf, err, sizeof(err)) == -1)
		fatal_config("%s", err);
	log_setlevel(sup->conf.log_level, sup->conf.log_json);
	if (test) {
		config_print(&sup->conf, stdout);
		fflush(stdout);
		if (check_flows(&sup->conf) == -1)
			fatal_config("FLOWS_FILE=%s is not a valid flow file "
			    "(see the line above and docs/flows.md)",
			    sup->conf.flows_file);
		printf("configuration ok\n");
		exit(0);
	}
}

static void
startup(void)
{
	char	err[512];
	int	r;

	if ((sup->pidfile_fd = pidfile_lock(sup->conf.rundir, err,
	    sizeof(err))) == -1) {
		log_warnx("cannot start: %s", err);
		exit(1);
	}
	if ((sup->listen_fd = listen_http(sup->conf.http_listen, err,
	    sizeof(err))) == -1)
		fatal_config("%s", err);
	if ((sup->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	signals_setup();
	relay_init(&sup->relay);
	proc_init();
	readiness_init();
	heartbeat_init();
	sup->control_fd = control_listen(sup->conf.rundir);
	sup->rolling = -1;
	sup->started_at = time(NULL);
	log_info("mai-supervisor %s starting http_listen=%s ari=%s:%u app=%s "
	    "user=%s rundir=%s", MAI_VERSION, sup->conf.http_listen,
	    sup->conf.ari_host, sup->conf.ari_port, sup->conf.ari_app,
	    sup->conf.mai_user[0] ? sup->conf.mai_user : "(self)",
	    sup->conf.rundir);
	for (r = 0; r < MAI_ROLE_COUNT; r++)
		proc_spawn(&sup->workers[r]);
}

static void
shutdown_cleanup(void)
{
	int	r;

	for (r = 0; r < MAI_ROLE_COUNT; r++)
		pidfile_remove(sup->conf.rundir, role_name((enum mai_role)r));
	control_cleanup(sup->conf.rundir);
	pidfile_remove(sup->conf.rundir, "supervisor");
	config_free(&sup->conf);
	log_info("mai-supervisor stopped");
}

static const char *
ctl_rundir(void)
{
	static char	def[64];
	const char	*d = getenv("MAI_RUNDIR");

	if (d != NULL && *d != '\0')
		return d;
	if (geteuid() == 0)
		return "/run/mai";
	snprintf(def, sizeof(def), "/tmp/mai-%u", (unsigned)geteuid());
	return def;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "test-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool	test = false;
	int	ch;

	sup = &supervisor;
	log_init("supervisor", LOG_LVL_INFO, 0);
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
		control_client(ctl_rundir(), argc - 2, argv + 2);
	while ((ch = getopt_long(argc, argv, "tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			test = true;
			break;
		case 'V':
			printf("mai-supervisor %s\n", MAI_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	config_capture_env();
	load_or_exit(test);
	startup();
	event_base_dispatch(sup->base);
	shutdown_cleanup();
	return 0;
}
