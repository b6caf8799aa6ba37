/*
 * sandbox.c — the seccomp allow-list of each worker role (libseccomp).
 *
 * Anything not listed fails with EPERM, so a missed rarely used call shows
 * up as an error in a log line rather than a dead worker.  Calls that only
 * an attacker would want (exec, ptrace, mounts, modules, namespaces) kill
 * the process outright.  Threads are allowed only as threads: libcurl's
 * resolver runs getaddrinfo() in one, but nothing may fork.
 */
#include <sys/socket.h>

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>

#include "log.h"
#include "privsep.h"

#define SC(name)	SCMP_SYS(name)

/* What any event loop with malloc, stdio and timers needs. */
static const int sc_base[] = {
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
	SC(socketpair), SC(membarrier), SC(set_tid_address),
	SC(sendmmsg),		/* glibc's resolver: A and AAAA in one call */
};

/* Outbound TCP to Asterisk (and name resolution, which may use netlink). */
static const int sc_client[] = {
	SC(connect), SC(bind),
};

/* The health-worker accepts connections on the socket it was handed. */
static const int sc_server[] = {
	SC(accept), SC(accept4),
};

/*
 * mai-bot opens its own listening sockets (HTTP control, WebSocket media,
 * RTP) and reads RTP in batches; espeak-ng asks for the working directory
 * when it opens its voice files.
 */
static const int sc_listen[] = {
	SC(listen), SC(recvmmsg), SC(getcwd),
};

/* Only an intruder wants these: end the process instead of failing. */
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
sandbox_add(scmp_filter_ctx ctx, uint32_t action, const int *list, size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		/* A call this kernel/arch does not know comes back negative. */
		if (list[i] < 0)
			continue;
		if ((rc = seccomp_rule_add(ctx, action, list[i], 0)) < 0)
			fatalx("seccomp_rule_add syscall=%d: %d", list[i], rc);
	}
}

/*
 * socket(): IP for Asterisk, netlink for getaddrinfo(AI_ADDRCONFIG), unix
 * for nscd lookups.  clone(): threads only, never a new process.  clone3
 * hides its flags in memory BPF cannot read, so it answers ENOSYS and
 * glibc falls back to clone().
 */
static void
sandbox_add_conditional(scmp_filter_ctx ctx)
{
	static const int domains[] = { AF_INET, AF_INET6, AF_NETLINK, AF_UNIX };
	size_t	i;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)domains[i])) < 0)
			fatalx("seccomp rule for socket failed");
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SC(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0)
		fatalx("seccomp rule for clone failed");
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SC(clone3), 0) < 0)
		fatalx("seccomp rule for clone3 failed");
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Load the base list, the kill list and what needs says (SANDBOX_*).
 * Sanitized bot builds skip the load: their runtimes make calls outside
 * the list (e.g. at exit); the workers' builds keep it (worker.c turns
 * LeakSanitizer's ptrace pass off instead).
 */
void
sandbox_load(unsigned int needs, const char *who)
{
	scmp_filter_ctx	ctx;
	int		rc;

	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL)
		fatalx("seccomp_init failed");
	sandbox_add(ctx, SCMP_ACT_ALLOW, sc_base, NELEM(sc_base));
	sandbox_add(ctx, SCMP_ACT_KILL_PROCESS, sc_kill, NELEM(sc_kill));
	sandbox_add_conditional(ctx);
	if (needs & SANDBOX_CLIENT)
		sandbox_add(ctx, SCMP_ACT_ALLOW, sc_client, NELEM(sc_client));
	if (needs & SANDBOX_SERVER)
		sandbox_add(ctx, SCMP_ACT_ALLOW, sc_server, NELEM(sc_server));
	if (needs & SANDBOX_LISTEN)
		sandbox_add(ctx, SCMP_ACT_ALLOW, sc_listen, NELEM(sc_listen));
#if defined(MAI_SANITIZED)
	if (needs & SANDBOX_LISTEN) {
		seccomp_release(ctx);
		log_debug("sanitized build: seccomp not loaded for %s", who);
		return;
	}
#endif
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load failed: %d", rc);
	seccomp_release(ctx);
	log_debug("seccomp allow-list loaded role=%s", who);
}

/* Each worker's list: all are clients; the health-worker also accepts. */
void
sandbox_enter(enum mai_role role)
{
	switch (role) {
	case MAI_ROLE_HEALTH:
		sandbox_load(SANDBOX_CLIENT | SANDBOX_SERVER, role_name(role));
		break;
	case MAI_ROLE_WS:
	case MAI_ROLE_FLOW:
		sandbox_load(SANDBOX_CLIENT, role_name(role));
		break;
	default:
		fatalx("sandbox: unknown role %d", (int)role);
	}
}
