/*
 * pidfile.c — pidfiles in MAI_RUNDIR for the supervisor and each worker.
 *
 * Ops restart one worker with `kill -TERM $(cat $MAI_RUNDIR/ws-worker.pid)`.
 * The supervisor's own pidfile is also a lock (flock), so a second
 * supervisor on the same run directory refuses to start instead of
 * fighting the first over sockets and pidfiles.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

static void
pidfile_path(char *dst, size_t size, const char *dir, const char *name)
{
	snprintf(dst, size, "%s/%s.pid", dir, name);
}

/* Returns the locked fd, or -1 with err set. */
int
pidfile_lock(const char *dir, char *err, size_t errlen)
{
	char	path[PATH_MAX + 32], buf[32];
	int	fd, n;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "MAI_RUNDIR=%s cannot be created: %s",
		    dir, strerror(errno));
		return -1;
	}
	pidfile_path(path, sizeof(path), dir, "supervisor");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: cannot open %s: %s", dir,
		    path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, "MAI_RUNDIR=%s is in use by another "
		    "mai-supervisor (%s is locked): stop it or use another "
		    "MAI_RUNDIR", dir, path);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: cannot write %s: %s", dir,
		    path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Write to a temporary name and rename: readers never see half a file. */
void
pidfile_write(const char *dir, const char *name, pid_t pid)
{
	char	path[PATH_MAX + 32], tmp[PATH_MAX + 48];
	FILE	*fp;

	pidfile_path(path, sizeof(path), dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "we")) == NULL) {
		log_warn("pidfile %s", tmp);
		return;
	}
	fprintf(fp, "%d\n", (int)pid);
	if (fclose(fp) != 0 || rename(tmp, path) == -1)
		log_warn("pidfile %s", path);
}

void
pidfile_remove(const char *dir, const char *name)
{
	char	path[PATH_MAX + 32];

	pidfile_path(path, sizeof(path), dir, name);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
}
