/* SPDX-License-Identifier: MIT */
/*
 * The io_uring floor for the echo benchmark: a raw liburing, single-threaded
 * TCP echo server with no runtime, written the way a careful io_uring
 * programmer would:
 *
 *   - ring with IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
 *     (plain ring if the kernel says EINVAL);
 *   - one multishot accept on the listening socket;
 *   - one multishot recv per connection, buffers picked by the kernel from a
 *     provided-buffer ring (IOSQE_BUFFER_SELECT, one buffer group);
 *   - every received buffer is sent straight back (IORING_OP_SEND) and
 *     returned to the buffer ring when its send completes; one send in
 *     flight per connection, later buffers queue behind it in arrival order,
 *     short sends resubmit the rest;
 *   - a multishot that ends without IORING_CQE_F_MORE is re-armed (after
 *     ENOBUFS: as soon as a buffer comes back to the ring);
 *   - EOF or an error closes the connection (IORING_OP_CLOSE) once none of
 *     its operations is in flight;
 *   - one loop: io_uring_submit_and_wait(1), then reap every CQE with
 *     io_uring_for_each_cqe + io_uring_cq_advance.
 *
 * Same command line as epoll_echo: `raw_echo [PORT]` (0 or nothing picks a
 * free port), listens on 127.0.0.1 and prints
 * "raw-echo: listening on 127.0.0.1:PORT" when ready. SIGTERM or SIGINT
 * (read from a signalfd on the ring) stops it, exit status 0. Plain file descriptors (not registered ones),
 * as in the other servers of the benchmark.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 16384
#ifndef BUF_SIZE
#define BUF_SIZE 16384 /* as epoll_echo's per-connection buffer */
#endif
#ifndef NBUFS
#define NBUFS 4096 /* power of two, < 65536 */
#endif
#define BGID 0

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SIGNAL };
#define OP_MASK 7u

struct conn {
	int fd;
	int recv_armed; /* multishot recv in flight */
	int send_busy;  /* a send in flight */
	int closing;
	int qhead, qtail; /* FIFO of buffer ids to send (linked through meta[].next) */
	unsigned qoff;    /* bytes of the head buffer already sent */
	struct conn *sprev, *snext; /* on the starved list (recv ended with ENOBUFS) */
	int starved;
} __attribute__((aligned(16)));

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static struct {
	int next;
	unsigned len;
} meta[NBUFS];
static int nfree;    /* buffers the kernel can pick from */
static int nreturn;  /* buffers added to the ring since the last advance */
static struct conn *starved;
static int lfd;
static int stop;
static struct signalfd_siginfo sig_info;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	while (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void set_data(struct io_uring_sqe *sqe, struct conn *c, unsigned op)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | op);
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	set_data(sqe, NULL, OP_ACCEPT);
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	set_data(sqe, c, OP_RECV);
	c->recv_armed = 1;
}

static void buf_return(int bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(NBUFS), nreturn);
	nreturn++;
	nfree++;
}

static void send_head(struct conn *c)
{
	int bid = c->qhead;
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_send(sqe, c->fd, bufs + (size_t)bid * BUF_SIZE + c->qoff,
			   meta[bid].len - c->qoff, MSG_NOSIGNAL);
	set_data(sqe, c, OP_SEND);
	c->send_busy = 1;
}

static void starve_del(struct conn *c)
{
	if (!c->starved)
		return;
	if (c->sprev)
		c->sprev->snext = c->snext;
	else
		starved = c->snext;
	if (c->snext)
		c->snext->sprev = c->sprev;
	c->starved = 0;
}

/* Tear down: close the fd once nothing of ours is in flight on it. */
static void maybe_free(struct conn *c)
{
	if (!c->closing || c->recv_armed || c->send_busy)
		return;
	starve_del(c);
	while (c->qhead >= 0) {
		int bid = c->qhead;
		c->qhead = meta[bid].next;
		buf_return(bid);
	}
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_close(sqe, c->fd);
	set_data(sqe, NULL, OP_CLOSE);
	free(c);
}

static void conn_close(struct conn *c)
{
	if (!c->closing) {
		c->closing = 1;
		if (c->recv_armed) { /* the multishot recv ends with -ECANCELED */
			struct io_uring_sqe *sqe = sqe_get();
			io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)c | OP_RECV, 0);
			set_data(sqe, NULL, OP_CANCEL);
		}
	}
	maybe_free(c);
}

static void on_accept(struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE) && !stop)
		arm_accept();
	if (cqe->res < 0) {
		if (cqe->res != -ECONNABORTED && cqe->res != -EINTR && cqe->res != -EAGAIN)
			fprintf(stderr, "raw-echo: accept: %s\n", strerror(-cqe->res));
		return;
	}
	int fd = cqe->res, one = 1;
	struct conn *c = malloc(sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->qhead = c->qtail = -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	arm_recv(c);
}

static void on_recv(struct conn *c, struct io_uring_cqe *cqe)
{
	int more = cqe->flags & IORING_CQE_F_MORE;
	if (!more)
		c->recv_armed = 0;
	if (cqe->res > 0) {
		int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		nfree--;
		if (c->closing) {
			buf_return(bid);
		} else {
			meta[bid].len = (unsigned)cqe->res;
			meta[bid].next = -1;
			if (c->qtail >= 0)
				meta[c->qtail].next = bid;
			else
				c->qhead = bid;
			c->qtail = bid;
			if (!c->send_busy)
				send_head(c);
			if (!more) /* CQ overflow or the like: keep receiving */
				arm_recv(c);
		}
	} else if (cqe->res == -ENOBUFS && !more && !c->closing) {
		/* no buffer in the ring: re-arm when one comes back */
		c->starved = 1;
		c->sprev = NULL;
		c->snext = starved;
		if (starved)
			starved->sprev = c;
		starved = c;
	} else if (!more) { /* EOF, error or our cancel */
		conn_close(c);
		return;
	}
	if (c->closing)
		maybe_free(c);
}

static void on_send(struct conn *c, struct io_uring_cqe *cqe)
{
	c->send_busy = 0;
	if (cqe->res < 0 || c->closing) {
		conn_close(c);
		return;
	}
	int bid = c->qhead;
	c->qoff += (unsigned)cqe->res;
	if (c->qoff < meta[bid].len) { /* short send: the rest */
		send_head(c);
		return;
	}
	c->qoff = 0;
	c->qhead = meta[bid].next;
	if (c->qhead < 0)
		c->qtail = -1;
	buf_return(bid);
	if (c->qhead >= 0)
		send_head(c);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/*
	 * SIGTERM/SIGINT arrive through a signalfd read on the ring (a flag set
	 * by a handler could land between the loop's check and the wait). A
	 * background job of a non-interactive shell starts with SIGINT ignored,
	 * and an ignored signal is dropped even while blocked: default it first.
	 */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	signal(SIGINT, SIG_DFL);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("raw-echo: signalfd");
		return 1;
	}

	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
					     IORING_SETUP_DEFER_TASKRUN,
				    .cq_entries = CQ_ENTRIES};
	int r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof p);
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = CQ_ENTRIES;
		r = io_uring_queue_init_params(SQ_ENTRIES, &ring, &p);
	}
	if (r < 0) {
		fprintf(stderr, "raw-echo: io_uring_queue_init: %s\n", strerror(-r));
		return 1;
	}

	/* The provided-buffer ring: liburing 2.3 has no io_uring_setup_buf_ring. */
	size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
	long pg = sysconf(_SC_PAGESIZE);
	ring_bytes = (ring_bytes + (size_t)pg - 1) & ~((size_t)pg - 1);
	br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bufs = aligned_alloc(4096, (size_t)NBUFS * BUF_SIZE);
	if (br == MAP_FAILED || !bufs) {
		fprintf(stderr, "raw-echo: out of memory\n");
		return 1;
	}
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = NBUFS,
				       .bgid = BGID};
	r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r < 0) {
		fprintf(stderr, "raw-echo: io_uring_register_buf_ring: %s\n", strerror(-r));
		return 1;
	}
	io_uring_buf_ring_init(br);
	for (int i = 0; i < NBUFS; i++)
		buf_return(i);
	io_uring_buf_ring_advance(br, nreturn);
	nreturn = 0;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
		perror("raw-echo: listen");
		return 1;
	}
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	arm_accept();
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_read(sqe, sfd, &sig_info, sizeof sig_info, 0);
	set_data(sqe, NULL, OP_SIGNAL);
	printf("raw-echo: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);

	while (!stop) {
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			fprintf(stderr, "raw-echo: io_uring_submit_and_wait: %s\n", strerror(-r));
			return 1;
		}
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			n++;
			uint64_t ud = cqe->user_data;
			struct conn *c = (struct conn *)(uintptr_t)(ud & ~(uint64_t)OP_MASK);
			switch (ud & OP_MASK) {
			case OP_ACCEPT: on_accept(cqe); break;
			case OP_RECV: on_recv(c, cqe); break;
			case OP_SEND: on_send(c, cqe); break;
			case OP_SIGNAL: stop = 1; break;
			default: break; /* close, cancel: nothing to do */
			}
		}
		io_uring_cq_advance(&ring, n);
		if (nreturn) {
			io_uring_buf_ring_advance(br, nreturn);
			nreturn = 0;
		}
		/* Buffers came back: connections whose recv ran dry can go on. */
		while (starved && nfree > 0) {
			struct conn *c = starved;
			starve_del(c);
			arm_recv(c);
		}
	}
	close(lfd);
	close(sfd);
	io_uring_queue_exit(&ring);
	return 0;
}
