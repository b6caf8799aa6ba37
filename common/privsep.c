/*
 * privsep.c — give up the user and the right to regain privileges.
 *
 * Order matters and every step is checked: supplementary groups first
 * (they need root), then gid, then uid, then no_new_privs so that no
 * setuid binary or file capability can bring privileges back.  A process
 * that could not drop everything must not go on: fatal() ends it.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privsep.h"

/*
 * The supervisor hands a root worker CAP_SETUID and CAP_SETGID as
 * inheritable capabilities only (its bounding set is empty, proc.c);
 * the user switch cleared the permitted set, this clears the rest.
 */
static void
privsep_clear_inheritable(void)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("can't drop privileges: capset");
}

static void
privsep_switch_user(uid_t uid, gid_t gid)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (setgroups(1, &gid) == -1)
		fatal("can't drop privileges: setgroups gid=%u", (unsigned)gid);
	if (setresgid(gid, gid, gid) == -1)
		fatal("can't drop privileges: setresgid gid=%u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("can't drop privileges: setresuid uid=%u", (unsigned)uid);
	/* Trust, but verify: a silently ignored switch would be worse. */
	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1)
		fatal("can't drop privileges: getresuid");
	if (ruid != uid || euid != uid || suid != uid ||
	    rgid != gid || egid != gid || sgid != gid)
		fatalx("can't drop privileges: ids did not change");
	if (setresuid(0, 0, 0) != -1)
		fatalx("can't drop privileges: root came back");
	privsep_clear_inheritable();
}

void
privsep_drop(const struct mai_config *conf)
{
	if (conf->drop_user) {
		if (geteuid() != 0)
			fatalx("can't drop privileges: MAI_USER set but not root");
		privsep_switch_user((uid_t)conf->uid, (gid_t)conf->gid);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("can't set no_new_privs");
	/*
	 * Not dumpable: another process of the same user cannot ptrace us
	 * or read /proc/PID/mem, where the ARI password lives.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("can't clear dumpable");
	log_debug("privileges dropped uid=%u gid=%u", (unsigned)getuid(),
	    (unsigned)getgid());
}
