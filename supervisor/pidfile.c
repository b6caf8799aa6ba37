/*
 * pidfile.c — pidfiles in MAI_RUNDIR for the supervisor and each worker.
 *
 * Ops restart one worker with `kill -TERM $(cat $MAI_RUNDIR/ws-worker.pid)`.
 * The supervisor's own pidfile is also a lock (flock), so a second
 * supervisor on the same run directory refuses to start instead of
 * fighting the first over sockets and pidfiles.
 *
 * Root writes into this directory, so it must be one nobody else can write
 * to: a local user who made it first (anything under /tmp) could plant
 * symlinks and have root overwrite their targets, or swap control.sock.
 * rundir_check() refuses such a directory (and such a path to it); files
 * are then opened with O_NOFOLLOW, temporaries with O_EXCL, as a second
 * line of defence.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

/*
 * One directory on the way to the run directory: owned by root or by us,
 * and writable by nobody else, unless it is sticky (/tmp), where others
 * may create names but not rename or remove ours.  0, or -1 with err set.
 */
static int
rundir_check_one(const char *dir, const char *path, bool last, char *err,
    size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: %s is not a directory",
		    dir, path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: %s is owned by uid %u, "
		    "not by root or by us: remove it or use a directory only "
		    "root can write to, e.g. /run/mai", dir, path,
		    (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (last || (st.st_mode & S_ISVTX) == 0)) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: %s is writable by group "
		    "or others (mode %04o): chmod go-w it, or use a directory "
		    "only root can write to, e.g. /run/mai", dir, path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * The run directory and every directory above it (symlinks resolved), so
 * that nobody can rename it away and put another in its place.
 */
static int
rundir_check(const char *dir, char *err, size_t errlen)
{
	char		real[PATH_MAX], *slash;
	struct stat	st;

	/* Whoever owns a symlink can point it elsewhere after our check. */
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0 &&
	    st.st_uid != geteuid()) {
		snprintf(err, errlen, "MAI_RUNDIR=%s is a symlink owned by uid "
		    "%u: point MAI_RUNDIR at the directory itself", dir,
		    (unsigned)st.st_uid);
		return -1;
	}
	if (realpath(dir, real) == NULL) {
		snprintf(err, errlen, "MAI_RUNDIR=%s: %s", dir, strerror(errno));
		return -1;
	}
	if (rundir_check_one(dir, real, true, err, errlen) == -1)
		return -1;
	while ((slash = strrchr(real, '/')) != NULL && slash != real) {
		*slash = '\0';
		if (rundir_check_one(dir, real, false, err, errlen) == -1)
			return -1;
	}
	return rundir_check_one(dir, "/", false, err, errlen);
}

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
	if (rundir_check(dir, err, errlen) == -1)
		fatal_config("%s", err);
	pidfile_path(path, sizeof(path), dir, "supervisor");
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1) {
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

/*
 * A fresh temporary file, never an existing one: O_EXCL fails on any name
 * already there, symlink included.  A leftover (a crash between create and
 * rename) is removed once; unlink() removes a symlink, not its target.
 */
static int
pidfile_tmp_open(const char *tmp)
{
	int	fd, flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	if ((fd = open(tmp, flags, 0644)) == -1 && errno == EEXIST &&
	    unlink(tmp) == 0)
		fd = open(tmp, flags, 0644);
	return fd;
}

/* Write to a temporary name and rename: readers never see half a file. */
void
pidfile_write(const char *dir, const char *name, pid_t pid)
{
	char	path[PATH_MAX + 32], tmp[PATH_MAX + 48], buf[32];
	int	fd, n;

	pidfile_path(path, sizeof(path), dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = pidfile_tmp_open(tmp)) == -1) {
		log_warn("pidfile %s", tmp);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, (size_t)n) != n) {
		log_warn("pidfile %s", tmp);
		close(fd);
		(void)unlink(tmp);
		return;
	}
	/* rename() replaces whatever has the name; it follows no symlink. */
	if (close(fd) != 0 || rename(tmp, path) == -1) {
		log_warn("pidfile %s", path);
		(void)unlink(tmp);
	}
}

void
pidfile_remove(const char *dir, const char *name)
{
	char	path[PATH_MAX + 32];

	pidfile_path(path, sizeof(path), dir, name);
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
}
