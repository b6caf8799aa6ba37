/*
 * sandbox.c — mai-bot's seccomp allow-list (libseccomp).
 *
 * Modelled on common/sandbox.c: what is not listed fails with EPERM (a
 * missed call shows up as an error in a log line, not a dead bot), and
 * what only an intruder wants kills the process.  The bot differs from
 * the workers in three ways: it runs engine threads (clone with
 * CLONE_THREAD), it accepts connections (HTTP control, WebSocket media)
 * and it talks UDP.  Models and voices are loaded before this runs;
 * espeak-ng may still open its voice files, so openat stays allowed.
 */
#include <sys/socket.h>

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "bot.h"

#define SC(name)	SCMP_SYS(name)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const int sc_allow[] = {
	SC(read), SC(write), SC(readv), SC(writev), SC(pread64), SC(close),
	SC(fstat), SC(newfstatat), SC(stat), SC(lstat), SC(statx), SC(lseek),
	SC(mmap), SC(munmap), SC(mprotect), SC(mremap), SC(brk), SC(madvise),
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn),
	SC(sigaltstack), SC(getpid), SC(gettid), SC(getuid), SC(geteuid),
	SC(getgid), SC(getegid), SC(getppid), SC(clock_gettime),
	SC(clock_getres), SC(clock_nanosleep), SC(nanosleep),
	SC(gettimeofday), SC(time), SC(exit), SC(exit_group), SC(futex),
	SC(epoll_create1), SC(epoll_ctl), SC(epoll_wait), SC(epoll_pwait),
	SC(poll), SC(ppoll), SC(select), SC(pselect6), SC(eventfd2),
	SC(pipe2), SC(fcntl), SC(ioctl), SC(sendmsg), SC(recvmsg), SC(sendto),
	SC(recvfrom), SC(getrandom), SC(restart_syscall), SC(tgkill),
	SC(rseq), SC(set_robust_list), SC(prlimit64), SC(getrlimit),
	SC(uname), SC(sched_yield), SC(sched_getaffinity), SC(dup), SC(dup2),
	SC(dup3), SC(sysinfo), SC(timerfd_create), SC(timerfd_settime),
	SC(timerfd_gettime), SC(getsockopt), SC(setsockopt), SC(shutdown),
	SC(getsockname), SC(getpeername), SC(openat), SC(access),
	SC(faccessat), SC(faccessat2), SC(readlink), SC(getdents64),
	SC(socketpair), SC(membarrier), SC(set_tid_address), SC(sendmmsg),
	SC(recvmmsg), SC(connect), SC(bind), SC(listen), SC(accept),
	SC(accept4), SC(getcwd),
};

static const int sc_kill[] = {
	SC(execve), SC(execveat), SC(ptrace), SC(process_vm_readv),
	SC(process_vm_writev), SC(mount), SC(umount2), SC(pivot_root),
	SC(chroot), SC(kexec_load), SC(init_module), SC(finit_module),
	SC(delete_module), SC(bpf), SC(unshare), SC(setns), SC(fork),
	SC(vfork), SC(keyctl), SC(add_key), SC(request_key),
	SC(perf_event_open), SC(setuid), SC(setgid), SC(setresuid),
	SC(setresgid), SC(setgroups),
};

static void
bot_sandbox_add(scmp_filter_ctx ctx, uint32_t action, const int *list,
    size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		if (list[i] < 0)	/* unknown on this kernel/arch */
			continue;
		if ((rc = seccomp_rule_add(ctx, action, list[i], 0)) < 0)
			fatalx("seccomp_rule_add syscall=%d: %d", list[i], rc);
	}
}

/*
 * socket(): IP for media, HTTP and engines, netlink and unix for the
 * resolver.  clone(): threads only.  clone3 hides its flags from BPF, so
 * it answers ENOSYS and glibc falls back to clone().
 */
static void
bot_sandbox_conditional(scmp_filter_ctx ctx)
{
	static const int domains[] = { AF_INET, AF_INET6, AF_NETLINK, AF_UNIX };
	size_t	i;

	for (i = 0; i < NELEM(domains); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i])) < 0)
			fatalx("seccomp rule for socket failed");
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0)
		fatalx("seccomp rule for clone failed");
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SC(clone3), 0) < 0)
		fatalx("seccomp rule for clone3 failed");
}

void
bot_sandbox_enter(void)
{
	scmp_filter_ctx	ctx;
	int		rc;

	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL)
		fatalx("seccomp_init failed");
	bot_sandbox_add(ctx, SCMP_ACT_ALLOW, sc_allow, NELEM(sc_allow));
	bot_sandbox_add(ctx, SCMP_ACT_KILL_PROCESS, sc_kill, NELEM(sc_kill));
	bot_sandbox_conditional(ctx);
	/* Sanitizer runtimes need calls outside the list (e.g. at exit). */
#ifndef MAI_SANITIZED
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load failed: %d", rc);
#else
	rc = 0;
	(void)rc;
	log_debug("sanitized build: seccomp not loaded");
#endif
	seccomp_release(ctx);
	log_debug("seccomp allow-list loaded");
}
