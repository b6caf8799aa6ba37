/*
 * evil_worker.c — a worker that breaks the protocol on purpose.
 *
 * Installed as mai-ws-worker in a test libexec directory, it says a
 * proper hello, takes its config, then sends one frame over the size
 * bound, the way a compromised or buggy worker might.  The supervisor
 * must refuse it, count it, and restart this process.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

int
main(void)
{
	struct mai_frame_hdr	 hdr;
	struct mai_hello	 hello;
	struct iovec		 iov[2];
	struct msghdr		 msg;
	char			 buf[sizeof(hdr) + sizeof(struct mai_config)];
	size_t			 big = MAI_FRAME_MAX + 32 * 1024;
	char			*payload;
	int			 sndbuf = 1024 * 1024;

	memset(&hdr, 0, sizeof(hdr));
	memset(&hello, 0, sizeof(hello));
	hdr.version = MAI_IPC_VERSION;
	hdr.type = MAI_MSG_HELLO;
	hdr.len = sizeof(hello);
	hello.pid = (uint32_t)getpid();
	hello.role = MAI_ROLE_WS;
	iov[0] = (struct iovec){ &hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ &hello, sizeof(hello) };
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	if (sendmsg(MAI_IPC_FD, &msg, 0) == -1)
		return 1;
	if (read(MAI_IPC_FD, buf, sizeof(buf)) <= 0)	/* the CONFIG */
		return 1;
	setsockopt(MAI_IPC_FD, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if ((payload = calloc(1, big)) == NULL)
		return 1;
	hdr.type = MAI_MSG_EVENT;
	hdr.len = (uint32_t)big;
	iov[1] = (struct iovec){ payload, big };
	if (sendmsg(MAI_IPC_FD, &msg, 0) == -1)
		return 2;
	for (;;)
		pause();
}
