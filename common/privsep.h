/*
 * privsep.h — what every worker does before it touches the network:
 * drop to the unprivileged user, forbid regaining privileges, and load the
 * seccomp allow-list of its role.  Also the worker side of the handshake.
 */
#ifndef MAI_PRIVSEP_H
#define MAI_PRIVSEP_H

#include "ipc.h"

/* privsep.c */
void	privsep_drop(const struct mai_config *);

/* sandbox.c: what a process needs beyond the base list */
#define SANDBOX_CLIENT	0x1	/* connect, bind: TCP/UDP out */
#define SANDBOX_SERVER	0x2	/* accept on a socket it was handed */
#define SANDBOX_LISTEN	0x4	/* listen on its own sockets (mai-bot) */
void	sandbox_load(unsigned int, const char *);
void	sandbox_enter(enum mai_role);

/* worker.c */
void	worker_hello(enum mai_role);
int	worker_take_config(struct mai_config *, const void *, size_t);
void	worker_recv_config(struct mai_config *);
size_t	worker_recv_flows(void *, size_t);
int	worker_recv_listener(void);
void	worker_send_flag(enum mai_flag, int);
void	worker_send_counters(const struct mai_counters *);
ssize_t	worker_send_pong(uint64_t, uint64_t);

#endif /* MAI_PRIVSEP_H */
