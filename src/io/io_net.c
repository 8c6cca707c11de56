/* SPDX-License-Identifier: MIT */
/*
 * Sockets: thin wrappers that run socket ops on the backend (io/req.h), the
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

#include "io/req.h"


int urt_socket(int domain, int type, int protocol)
{
	return urt__io(&(struct urt__req){.op = URT__R_SOCKET, .fd = domain, .len = (uint32_t)type,
					  .mode = (uint32_t)protocol});
}

int urt_connect(int fd, const struct sockaddr *addr, unsigned addrlen)
{
	if (!addr)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_CONNECT, .fd = fd, .addr = (void *)addr,
					  .len = addrlen});
}

int urt_accept(int fd, struct sockaddr *addr, unsigned *addrlen, int flags)
{
	if (addr && !addrlen)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_ACCEPT, .fd = fd, .addr = addr,
					  .addr2 = addrlen, .flags = (uint32_t)flags});
}

ssize_t urt_recv(int fd, void *buf, size_t n, int flags)
{
	return urt__io(&(struct urt__req){.op = URT__R_RECV, .fd = fd, .addr = buf,
					  .len = urt__clamp_len(n), .flags = (uint32_t)flags});
}

ssize_t urt_send(int fd, const void *buf, size_t n, int flags)
{
	return urt__io(&(struct urt__req){.op = URT__R_SEND, .fd = fd, .addr = (void *)buf,
					  .len = urt__clamp_len(n),
					  .flags = (uint32_t)flags | MSG_NOSIGNAL});
}

static ssize_t send_step(int fd, const char *p, size_t len, int64_t at, int flags)
{
	(void)at;
	return urt_send(fd, p, len, flags);
}

ssize_t urt_send_all(int fd, const void *buf, size_t n, int flags, size_t *done)
{
	return urt__put_all(send_step, fd, buf, n, -1, flags, done);
}

ssize_t urt_recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_RECVMSG, .fd = fd, .addr = msg,
					  .flags = (uint32_t)flags});
}

ssize_t urt_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_SENDMSG, .fd = fd, .addr = (void *)msg,
					  .flags = (uint32_t)flags | MSG_NOSIGNAL});
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
	return urt__io(&(struct urt__req){.op = URT__R_SHUTDOWN, .fd = fd, .flags = (uint32_t)how});
}

int urt_sock_close(int fd)
{
	if (fd < 0 && !URT_IS_FIXED_FD(fd))
		return -EBADF;
	/* Like urt_close, this always closes: the cancel-by-fd is not itself
	   cancelled (a cancellation or an expired deadline of the caller stays
	   pending), and outside a task the fd is closed directly. */
	if (urt__cur()) /* count cancelled, or -ENOENT: none */
		urt__io_ex(&(struct urt__req){.op = URT__R_CANCEL_FD, .fd = fd}, true);
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

int urt_tcp_listen(const char *ip, int port, int backlog, unsigned flags)
{
	if (flags & ~URT_LISTEN_REUSEPORT)
		return -EINVAL;
	struct sockaddr_storage ss;
	unsigned len;
	int r = parse_addr(ip, port, &ss, &len);
	if (r)
		return r;
	/* bind and listen never block: plain syscalls */
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* both before bind: the kernel groups only sockets bound with SO_REUSEPORT */
	r = urt_set_reuseaddr(fd, true);
	if (r == 0 && (flags & URT_LISTEN_REUSEPORT))
		r = urt_set_reuseport(fd, true);
	if (r == 0) {
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
		urt_close(fd); /* through urt: the epoll backend forgets its record */
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
