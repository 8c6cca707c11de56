/* SPDX-License-Identifier: MIT */
/*
 * Sockets: thin wrappers over io_uring's socket ops (see op.h), the
 * send-all loop, close with cancel-by-fd, and small address helpers.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uring/op.h"


/* IORING_OP_SOCKET needs Linux 5.19; probed once per process. */
static int have_socket_op;

int urt_socket(int domain, int type, int protocol)
{
	if (have_socket_op == 0 && urt__L) {
		struct io_uring_probe *p = io_uring_get_probe_ring(&urt__L->ring);
		have_socket_op = p && io_uring_opcode_supported(p, IORING_OP_SOCKET) ? 1 : -1;
		free(p);
	}
	if (have_socket_op < 0) {
		int r = urt__op_check();
		if (r)
			return r;
		int fd = socket(domain, type, protocol);
		return fd < 0 ? -errno : fd;
	}
	OP_BEGIN_OR_RETURN;
	io_uring_prep_socket(sqe, domain, type, protocol, 0);
	return urt__op_wait(&op, sqe);
}

int urt_connect(int fd, const struct sockaddr *addr, unsigned addrlen)
{
	if (!addr)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_connect(sqe, fd, addr, addrlen);
	return urt__op_wait(&op, sqe);
}

int urt_accept(int fd, struct sockaddr *addr, unsigned *addrlen, int flags)
{
	if (addr && !addrlen)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_accept(sqe, fd, addr, (socklen_t *)addrlen, flags);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_recv(int fd, void *buf, size_t n, int flags)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_recv(sqe, fd, buf, urt__clamp_len(n), flags);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_send(int fd, const void *buf, size_t n, int flags)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_send(sqe, fd, buf, urt__clamp_len(n), flags | MSG_NOSIGNAL);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_send_all(int fd, const void *buf, size_t n, int flags, size_t *done)
{
	size_t put = 0;
	ssize_t r = 0;
	while (put < n) {
		r = urt_send(fd, (const char *)buf + put, n - put, flags);
		if (r == 0)
			r = -EIO; /* no progress and no error: do not spin */
		if (r < 0)
			break;
		put += (size_t)r;
	}
	if (done)
		*done = put;
	return r < 0 ? r : (ssize_t)put;
}

ssize_t urt_recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_recvmsg(sqe, fd, msg, (unsigned)flags);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_sendmsg(sqe, fd, msg, (unsigned)flags | MSG_NOSIGNAL);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
		   unsigned tolen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr m = {.msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
			   .msg_iov = &iov, .msg_iovlen = 1};
	return urt_sendmsg(fd, &m, flags);
}

ssize_t urt_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
		     unsigned *fromlen)
{
	if (from && !fromlen)
		return -EFAULT;
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr m = {.msg_name = from, .msg_namelen = from ? *fromlen : 0,
			   .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r = urt_recvmsg(fd, &m, flags);
	if (r >= 0 && from)
		*fromlen = m.msg_namelen;
	return r;
}

int urt_shutdown(int fd, int how)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_shutdown(sqe, fd, how);
	return urt__op_wait(&op, sqe);
}

int urt_sock_close(int fd)
{
	if (fd < 0 && !URT_IS_FIXED_FD(fd))
		return -EBADF;
	/* Like urt_close, this always closes: the cancel-by-fd is not itself
	   cancelled (a cancellation or an expired deadline of the caller stays
	   pending), and outside a task the fd is closed directly. */
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start_nocancel(&op);
	if (sqe) {
		io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
		if (URT_IS_FIXED_FD(fd)) {
			sqe->fd = fd - URT_FIXED_FD(0);
			sqe->cancel_flags |= IORING_ASYNC_CANCEL_FD_FIXED;
		}
		urt__op_wait(&op, sqe); /* count cancelled, or -ENOENT: none */
	}
	return urt_close(fd);
}

/* ---------------------------------------------------------------------- */
/* Address helpers                                                         */

static int parse_addr(const char *ip, int port, struct sockaddr_storage *ss, unsigned *len)
{
	if (port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (!ip) {
		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(INADDR_ANY);
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
	} else if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
	} else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
	} else {
		return -EINVAL; /* not a numeric address */
	}
	return 0;
}

static int set_flag(int fd, int level, int name, bool on)
{
	int v = on;
	return setsockopt(fd, level, name, &v, sizeof v) < 0 ? -errno : 0;
}

int urt_set_reuseaddr(int fd, bool on)
{
	return set_flag(fd, SOL_SOCKET, SO_REUSEADDR, on);
}

int urt_set_reuseport(int fd, bool on)
{
	return set_flag(fd, SOL_SOCKET, SO_REUSEPORT, on);
}

int urt_set_nodelay(int fd, bool on)
{
	return set_flag(fd, IPPROTO_TCP, TCP_NODELAY, on);
}

int urt_tcp_listen(const char *ip, int port, int backlog)
{
	struct sockaddr_storage ss;
	unsigned len;
	int r = parse_addr(ip, port, &ss, &len);
	if (r)
		return r;
	/* bind and listen never block: plain syscalls */
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((r = urt_set_reuseaddr(fd, true)) == 0) {
		if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog > 0 ? backlog : 511) < 0)
			r = -errno;
	}
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

static int connect_addr(const struct sockaddr *sa, unsigned len)
{
	int fd = urt_socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int r = urt_connect(fd, sa, len);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int urt_tcp_connect(const char *host, int port)
{
	if (!host)
		return -EINVAL;
	struct sockaddr_storage ss;
	unsigned len;
	int r = parse_addr(host, port, &ss, &len);
	if (r == 0)
		return connect_addr((struct sockaddr *)&ss, len);
	if (port < 0 || port > 65535)
		return r;
	/* a name: resolve on the offload pool, try each address in turn */
	char service[8];
	snprintf(service, sizeof service, "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res;
	r = urt_getaddrinfo(host, service, &hints, &res);
	if (r)
		return r;
	r = -ENOENT;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		r = connect_addr(ai->ai_addr, ai->ai_addrlen);
		if (r >= 0 || r == -ECANCELED || r == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return r;
}

int urt_udp_bind(const char *ip, int port)
{
	struct sockaddr_storage ss;
	unsigned len;
	int r = parse_addr(ip, port, &ss, &len);
	if (r)
		return r;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int urt_sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}
