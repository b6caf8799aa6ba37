/*
 * fuzz_frame.c — the frame checks a process applies to what its peer
 * sends: common/frame.c frame_recv() (size, version, length field, passed
 * descriptors) and common/role.c msg_payload_ok(), over a real
 * SOCK_SEQPACKET socketpair as between the supervisor and a worker.
 *
 * Input: one control byte, then the datagram.  The control byte's low
 * two bits are how many descriptors go with it (SCM_RIGHTS), bit 2
 * whether the reader asks for one (fdp) or has them all closed.
 * Properties: an accepted frame's length is exactly the datagram's
 * payload, and no passed descriptor is left open behind the reader.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FDS_MAX		3

static int	sv[2] = { -1, -1 };
static int	devnull = -1;
static char	payload[MAI_FRAME_PAYLOAD_MAX];

static void
setup(void)
{
	int	sndbuf = 4 * MAI_FRAME_MAX;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
}

/* The lowest free descriptor: moves if a passed one leaked. */
static int
lowest_free_fd(void)
{
	int	fd = dup(devnull);

	if (fd == -1)
		abort();
	close(fd);
	return fd;
}

static int
send_datagram(const uint8_t *buf, size_t len, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
	}		 cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	int		 fds[FDS_MAX], i;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		for (i = 0; i < nfds; i++)
			fds[i] = devnull;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	return sendmsg(sv[0], &msg, MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mai_frame_hdr	 hdr;
	ssize_t			 n;
	int			 nfds, want_fd, passed = -1, before;

	if (sv[0] == -1)
		setup();
	if (size < 1)
		return 0;
	nfds = data[0] & 3;
	want_fd = (data[0] & 4) != 0;
	before = lowest_free_fd();
	if (send_datagram(data + 1, size - 1, nfds) == -1)
		return 0;	/* over the socket's own bound: never read */
	memset(&hdr, 0, sizeof(hdr));
	n = frame_recv(sv[1], &hdr, payload, sizeof(payload),
	    want_fd ? &passed : NULL);
	(void)frame_error(n);
	if (n >= 0) {
		if (size - 1 < sizeof(hdr) ||
		    (size_t)n != size - 1 - sizeof(hdr) ||
		    hdr.version != MAI_IPC_VERSION || hdr.reserved != 0)
			abort();
		(void)msg_payload_ok(hdr.type, (size_t)n);
		(void)msg_name(hdr.type);
	}
	if (passed != -1) {
		if (nfds == 0)
			abort();
		close(passed);
	} else if (want_fd && nfds > 0)
		abort();	/* a descriptor came and was lost */
	if (lowest_free_fd() != before)
		abort();	/* a passed descriptor leaked */
	return 0;
}
