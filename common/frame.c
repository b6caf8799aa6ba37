/*
 * frame.c — send and receive one IPC frame on a SOCK_SEQPACKET socket.
 *
 * A frame is one datagram, so a short read can only mean a malformed frame
 * and MSG_TRUNC tells us the sender exceeded the bound.  Callers decide what
 * to do with a bad peer; this file only reports what it saw.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"

static ssize_t
frame_sendmsg(int fd, struct msghdr *msg)
{
	ssize_t	n;

	do {
		n = sendmsg(fd, msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return FRAME_EAGAIN;
	if (errno == EMSGSIZE)
		return FRAME_ETOOBIG;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
		return FRAME_ECLOSED;
	return FRAME_EIO;
}

static ssize_t
frame_send_full(int fd, uint8_t type, uint64_t seq, uint64_t ts,
    const void *buf, size_t len, int pass_fd)
{
	struct mai_frame_hdr	 hdr;
	struct iovec		 iov[2];
	struct msghdr		 msg;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct cmsghdr		*cmsg;
	ssize_t			 n;

	if (len > MAI_FRAME_PAYLOAD_MAX)
		return FRAME_ETOOBIG;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = MAI_IPC_VERSION;
	hdr.type = type;
	hdr.len = (uint32_t)len;
	hdr.seq = seq;
	hdr.ts_ns = ts;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)buf;
	iov[1].iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = len > 0 ? 2 : 1;
	if (pass_fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
	}
	n = frame_sendmsg(fd, &msg);
	return n < 0 ? n : (ssize_t)len;
}

/* Never blocks: a full peer gives FRAME_EAGAIN and the caller keeps the data. */
ssize_t
frame_send(int fd, uint8_t type, uint64_t seq, const void *buf, size_t len)
{
	return frame_send_full(fd, type, seq, 0, buf, len, -1);
}

/* An ARI event: seq from the supervisor, ts from the ws-worker's read. */
ssize_t
frame_send_event(int fd, uint64_t seq, uint64_t ts, const void *buf,
    size_t len)
{
	return frame_send_full(fd, MAI_MSG_EVENT, seq, ts, buf, len, -1);
}

/* Any frame of the event stream (EVENT, GAP_BEGIN, GAP_END). */
ssize_t
frame_send_stream(int fd, uint8_t type, uint64_t seq, uint64_t ts,
    const void *buf, size_t len)
{
	return frame_send_full(fd, type, seq, ts, buf, len, -1);
}

/* CLOCK_MONOTONIC is one clock for all processes on the host. */
uint64_t
frame_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

ssize_t
frame_send_fd(int fd, uint8_t type, const void *buf, size_t len, int pass_fd)
{
	return frame_send_full(fd, type, 0, 0, buf, len, pass_fd);
}

/* Keep at most one passed descriptor; close any extra a peer forced on us. */
static int
frame_take_fd(struct msghdr *msg)
{
	struct cmsghdr	*cmsg;
	int		 fd = -1, extra;
	size_t		 i, n;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&extra, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (fd == -1)
				fd = extra;
			else
				close(extra);
		}
	}
	return fd;
}

/*
 * Read one frame.  Returns the payload length, or a FRAME_E* code.
 * If fdp is not NULL it receives a passed descriptor or -1; otherwise any
 * passed descriptor is closed, so a peer cannot fill our fd table.
 */
ssize_t
frame_recv(int fd, struct mai_frame_hdr *hdr, void *buf, size_t size, int *fdp)
{
	struct iovec	 iov[2];
	struct msghdr	 msg;
	char		 cbuf[CMSG_SPACE(sizeof(int) * 4)];
	ssize_t		 n;
	int		 passed;

	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(*hdr);
	iov[1].iov_base = buf;
	iov[1].iov_len = size;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	do {
		n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return FRAME_EAGAIN;
		return errno == ECONNRESET ? FRAME_ECLOSED : FRAME_EIO;
	}
	/*
	 * Descriptors first: an empty datagram can carry them too, and
	 * would leave them open in our table if it were read as EOF first.
	 */
	passed = frame_take_fd(&msg);
	if (fdp != NULL)
		*fdp = passed;
	else if (passed != -1)
		close(passed);
	if (n == 0)
		return FRAME_ECLOSED;
	if (msg.msg_flags & MSG_TRUNC)
		return FRAME_ETOOBIG;
	if ((size_t)n < sizeof(*hdr))
		return FRAME_ESHORT;
	if (hdr->version != MAI_IPC_VERSION || hdr->reserved != 0)
		return FRAME_EVERSION;
	if (hdr->len != (size_t)n - sizeof(*hdr))
		return FRAME_ELEN;
	return (ssize_t)hdr->len;
}

const char *
frame_error(ssize_t e)
{
	switch (e) {
	case FRAME_ECLOSED:	return "peer closed";
	case FRAME_EAGAIN:	return "would block";
	case FRAME_EIO:		return strerror(errno);
	case FRAME_ETOOBIG:	return "frame over size bound";
	case FRAME_ESHORT:	return "frame shorter than header";
	case FRAME_EVERSION:	return "bad version or reserved bits";
	case FRAME_ELEN:	return "length field disagrees with frame";
	default:		return "unknown frame error";
	}
}
