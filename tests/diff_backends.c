/* SPDX-License-Identifier: MIT */
/*
 * diff_backends: differential testing of the two backends (issue 23).
 *
 *   diff_backends SEED_FIRST COUNT [--verbose]
 *
 * For each seed a small PRNG generates a sequence of 30-60 ops (reads,
 * writes, sends, receives, shutdowns, closes, polls, deadlines, cancels,
 * fsync, ftruncate, statx) over fds made fresh for the sequence: a pipe,
 * an AF_UNIX socketpair, a TCP loopback pair, a connected UDP pair and a
 * regular temp file. The sequence runs in one urt_run on io_uring and
 * again on epoll; every op's result (return value, hash of the bytes
 * read) and the final state (bytes left in each pipe and socket, the
 * file's contents) are compared. A difference prints the seed, the op,
 * both results and the ops up to it, and the program exits 1.
 *
 * The generator keeps a model of what each fd holds, and only makes ops
 * whose result Linux decides alone: a wait that nobody would end runs
 * under a deadline, in a task that gets cancelled, or with MSG_DONTWAIT;
 * lengths stay far below every kernel buffer size; MSG_WAITALL only where
 * the bytes are known to be there. Ops that differ on purpose between the
 * backends (README, "Backends") are not generated.
 *
 * The suite runs 1000 seeds (tests/meson.build); a long local run:
 *   build/tests/diff_backends 1 100000
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "urt.h"

/* the fds of a sequence */
enum { PR, PW, UA, UB, TC, TS, D0, D1, FI, NEP };
static const char *const ep_name[NEP] = { "pipe.r", "pipe.w", "unix.a", "unix.b", "tcp.c",
					  "tcp.s",  "udp.0",  "udp.1",  "file" };
static const int ep_peer[NEP] = { PW, PR, UB, UA, TS, TC, D1, D0, -1 };

enum op_kind {
	OP_WRITE,	/* urt_write */
	OP_READ,	/* urt_read */
	OP_SEND,	/* urt_send, flags */
	OP_RECV,	/* urt_recv, flags */
	OP_SHUTDOWN,	/* urt_shutdown, how in flags */
	OP_CLOSE,	/* urt_close */
	OP_POLL,	/* urt_poll, events in flags, timeout in arg */
	OP_DL_READ,	/* urt_read under a deadline of arg ns */
	OP_DL_RECV,	/* urt_recv under a deadline */
	OP_DL_POLL,	/* urt_poll(POLLIN, -1) under a deadline */
	OP_CANCEL,	/* a task blocked in urt_read (flags 0), urt_recv (1), urt_poll (2), cancelled */
	OP_FSYNC,
	OP_FTRUNCATE,	/* to arg bytes */
	OP_STATX,	/* stx_size */
	OP_NKINDS
};
static const char *const op_name[OP_NKINDS] = {
	"write", "read", "send", "recv", "shutdown", "close", "poll", "deadline+read",
	"deadline+recv", "deadline+poll", "cancel", "fsync", "ftruncate", "statx",
};

struct op {
	uint8_t kind, ep;
	int flags;
	uint32_t n;	/* length */
	int64_t off;	/* file offset, -1 */
	int64_t arg;	/* timeout, deadline, truncate length */
	uint32_t fill;	/* seed of the bytes written */
};

#define MAX_OPS 64
#define MAX_LEN 512	 /* per op */
#define MAX_QUEUED 4000	 /* per direction: far below any pipe or socket buffer */
#define MAX_DGRAMS 32

struct seq {
	uint64_t seed;
	bool pipe_nonblock, unix_nonblock; /* O_NONBLOCK: -EAGAIN, not a wait */
	int nops;
	struct op ops[MAX_OPS];
};

struct rec {
	int64_t r;
	uint64_t h;
	int64_t r2; /* a cancelled task's own result */
};

/* the final state: bytes left in each fd that receives, the file */
#define NFINAL (NEP + 1)

struct run {
	const struct seq *s;
	struct rec recs[MAX_OPS];
	int64_t final[NFINAL];
	int fds[NEP];
	int done;	/* ops executed */
	int err;	/* setup failure */
};

/* ---- PRNG, hashing ---------------------------------------------------- */

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint32_t pick(uint64_t *s, uint32_t n)
{
	return (uint32_t)(xs(s) % n);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

#define FNV0 0xcbf29ce484222325ull

static void fill(unsigned char *buf, size_t n, uint32_t seed)
{
	uint64_t s = seed | 0x100000000ull;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)xs(&s);
}

/* ---- the generator and its model ---------------------------------------- */

struct model {
	bool closed[NEP], shut_rd[NEP], shut_wr[NEP];
	bool dirty[NEP];	/* the stream into ep saw a shutdown or close: counts unsure */
	uint32_t rx[NEP];	/* bytes queued towards ep (streams, pipe) */
	uint32_t dq[NEP][MAX_DGRAMS], ndq[NEP]; /* datagrams queued towards ep */
};

static bool is_sock(int ep)
{
	return ep >= UA && ep <= D1;
}

static bool is_stream(int ep)
{
	return ep >= UA && ep <= TS;
}

static bool is_udp(int ep)
{
	return ep == D0 || ep == D1;
}

/* a read or recv (no flags) on ep returns without waiting */
static bool m_ready(const struct model *m, int ep)
{
	if (m->closed[ep] || ep == PW || ep == FI)
		return true;
	if (is_udp(ep))
		return m->ndq[ep] > 0;
	int p = ep_peer[ep];
	return m->rx[ep] > 0 || m->closed[p] || m->shut_wr[p] || m->shut_rd[ep];
}

/* the effect of a read (recv: a socket call) of n bytes (peek: none) */
static void m_consume(struct model *m, int ep, uint32_t n, bool peek, bool recv)
{
	if (m->closed[ep] || peek || (recv && !is_sock(ep)))
		return;
	if (is_udp(ep)) {
		if (m->ndq[ep]) {
			memmove(m->dq[ep], m->dq[ep] + 1, (m->ndq[ep] - 1) * sizeof m->dq[ep][0]);
			m->ndq[ep]--;
		}
		return;
	}
	if (ep != FI && ep != PW)
		m->rx[ep] -= n < m->rx[ep] ? n : m->rx[ep];
}

/* may a write of n bytes from ep be generated (no wait for buffer space)? */
static bool m_write_ok(const struct model *m, int ep, uint32_t n)
{
	int p = ep_peer[ep];
	if (p < 0 || m->closed[ep] || ep == PR)
		return true;
	if (is_udp(ep))
		return m->ndq[p] < MAX_DGRAMS;
	/* TCP data to an end that shut its reading down is answered with an
	   RST, on the kernel's schedule */
	if ((ep == TC || ep == TS) && m->shut_rd[p])
		return false;
	return m->rx[p] + n <= MAX_QUEUED;
}

static void m_write(struct model *m, int ep, uint32_t n)
{
	int p = ep_peer[ep];
	if (p < 0 || m->closed[ep] || ep == PR || m->closed[p] || m->shut_wr[ep])
		return; /* -EBADF, -EPIPE: nothing queued */
	if (is_udp(ep)) {
		m->dq[p][m->ndq[p]++] = n;
		return;
	}
	if ((ep == UA || ep == UB) && m->shut_rd[p])
		return; /* AF_UNIX: -EPIPE */
	m->rx[p] += n;
}

/* TCP only ever shuts down (a close with unread bytes is an RST, whose
   effects on the peer arrive on the kernel's schedule); UDP neither (a
   datagram to a closed port is an ICMP error, later). */
static bool may_close(int ep)
{
	return ep == PR || ep == PW || ep == UA || ep == UB || ep == FI;
}

static int rand_ep(uint64_t *s)
{
	return (int)pick(s, NEP);
}

static int rand_rx_ep(uint64_t *s)
{
	static const int eps[] = { PR, UA, UB, TC, TS, D0, D1 };
	return eps[pick(s, sizeof eps / sizeof eps[0])];
}

static uint32_t rand_len(uint64_t *s)
{
	return 1 + pick(s, xs(s) & 1 ? 16 : MAX_LEN);
}

static void gen_write(struct model *m, uint64_t *s, struct op *o, bool send)
{
	o->kind = send ? OP_SEND : OP_WRITE;
	o->n = rand_len(s);
	o->fill = (uint32_t)xs(s);
	o->off = -1;
	if (o->ep == FI && pick(s, 4))
		o->off = pick(s, 8192);
	if (send && pick(s, 3) == 0)
		o->flags = MSG_DONTWAIT;
	if (!m_write_ok(m, o->ep, o->n)) {
		o->ep = FI; /* nothing may be queued there: write the file instead */
		o->off = pick(s, 8192);
		o->kind = OP_WRITE;
	}
	if (o->kind == OP_WRITE || is_sock(o->ep)) /* (else -ENOTSOCK) */
		m_write(m, o->ep, o->n);
}

/* a read, recv or poll that could wait: a deadline, or a cancelled task */
static void gen_wait(struct model *m, uint64_t *s, struct op *o)
{
	o->ep = rand_rx_ep(s);
	o->n = rand_len(s);
	bool ready = m_ready(m, o->ep);
	if (!ready && !m->closed[o->ep] && pick(s, 3) == 0) {
		o->kind = OP_CANCEL;
		o->flags = is_sock(o->ep) ? (int)pick(s, 3) : 2 * (int)pick(s, 2);
		return;
	}
	static const uint8_t k[] = { OP_DL_READ, OP_DL_RECV, OP_DL_POLL };
	o->kind = k[pick(s, 3)];
	/* Not ready: the deadline ends it (0: expired at the push; else
	   50-550 us). Ready: it completes at once, and a generous deadline
	   keeps a preempted test from timing out. */
	if (ready)
		o->arg = 1000000000;
	else
		o->arg = pick(s, 6) == 0 ? 0 : 50000 + pick(s, 500000);
	if (ready && o->kind != OP_DL_POLL)
		m_consume(m, o->ep, o->n, false, o->kind == OP_DL_RECV);
}

static void gen_recv(struct model *m, uint64_t *s, struct op *o)
{
	o->kind = OP_RECV;
	o->n = rand_len(s);
	int ep = o->ep;
	switch (pick(s, 4)) {
	case 0:
		o->flags = MSG_DONTWAIT;
		break;
	case 1:
		o->flags = MSG_PEEK | (pick(s, 2) ? MSG_DONTWAIT : 0);
		break;
	case 2:
		if (is_stream(ep) && !m->closed[ep] && !m->dirty[ep] && m->rx[ep] >= 1) {
			o->flags = MSG_WAITALL;
			o->n = 1 + pick(s, m->rx[ep] < MAX_LEN ? m->rx[ep] : MAX_LEN);
		}
		break;
	}
	if (!(o->flags & MSG_DONTWAIT) && !m_ready(m, ep))
		o->flags |= MSG_DONTWAIT;
	m_consume(m, ep, o->n, o->flags & MSG_PEEK, true);
}

static void gen_one(struct model *m, uint64_t *s, struct op *o)
{
	memset(o, 0, sizeof *o);
	o->off = -1;
	o->ep = (uint8_t)rand_ep(s);
	unsigned r = pick(s, 100);
	if (r < 22) {
		gen_write(m, s, o, false);
	} else if (r < 34) {
		o->ep = (uint8_t)(pick(s, 5) ? rand_rx_ep(s) : rand_ep(s));
		gen_write(m, s, o, true);
	} else if (r < 48) {
		o->kind = OP_READ;
		o->n = rand_len(s);
		if (o->ep == FI && pick(s, 4))
			o->off = pick(s, 8192);
		if (!m_ready(m, o->ep)) {
			gen_wait(m, s, o);
			return;
		}
		m_consume(m, o->ep, o->n, false, false);
	} else if (r < 62) {
		o->ep = (uint8_t)(pick(s, 6) ? rand_rx_ep(s) : rand_ep(s));
		gen_recv(m, s, o);
	} else if (r < 72) {
		gen_wait(m, s, o);
	} else if (r < 80) {
		o->kind = OP_POLL;
		static const int ev[] = { POLLIN, POLLOUT, POLLIN | POLLOUT, POLLRDHUP,
					  POLLIN | POLLRDHUP, POLLPRI | POLLIN, 0 };
		o->flags = ev[pick(s, sizeof ev / sizeof ev[0])];
		o->arg = pick(s, 3) ? 0 : 50000 + pick(s, 300000);
	} else if (r < 85) {
		o->kind = OP_SHUTDOWN;
		if (is_udp(o->ep))
			o->ep = UA; /* UDP: see may_close */
		static const int how[] = { SHUT_RD, SHUT_WR, SHUT_RDWR };
		o->flags = how[pick(s, 3)];
		int ep = o->ep;
		if (is_stream(ep) && !m->closed[ep]) {
			int p = ep_peer[ep];
			if (o->flags != SHUT_WR)
				m->shut_rd[ep] = true, m->dirty[ep] = true;
			if (o->flags != SHUT_RD)
				m->shut_wr[ep] = true, m->dirty[p] = true;
		}
	} else if (r < 89) {
		o->kind = OP_CLOSE;
		if (!may_close(o->ep))
			o->ep = pick(s, 2) ? PW : UB;
		o->flags = pick(s, 3) == 0; /* urt_sock_close (on any fd) */
		if (!m->closed[o->ep] && o->ep != FI)
			m->dirty[ep_peer[o->ep]] = true;
		m->closed[o->ep] = true;
	} else if (r < 92) {
		o->kind = OP_FSYNC;
		if (pick(s, 4))
			o->ep = FI;
	} else if (r < 96) {
		o->kind = OP_FTRUNCATE;
		o->arg = pick(s, 8192);
		if (pick(s, 4))
			o->ep = FI;
	} else {
		o->kind = OP_STATX;
	}
}

static void gen(struct seq *q, uint64_t seed)
{
	struct model m;
	memset(&m, 0, sizeof m);
	memset(q, 0, sizeof *q);
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < 8; i++)
		xs(&s);
	q->seed = seed;
	q->pipe_nonblock = pick(&s, 4) == 0;
	q->unix_nonblock = pick(&s, 4) == 0;
	q->nops = 30 + (int)pick(&s, 31);
	for (int i = 0; i < q->nops; i++)
		gen_one(&m, &s, &q->ops[i]);
}

/* ---- the executor --------------------------------------------------------- */

static unsigned char rbuf[MAX_LEN], wbuf[MAX_LEN];

/* Loopback delivers in the sender's softirq, except when the kernel
   defers it to ksoftirqd under load: wait (outside urt, briefly) until the
   receiving end has something, so that what it holds does not depend on
   the scheduler. */
static void settle(const struct run *R, int ep)
{
	int p = ep_peer[ep];
	if (!(ep >= TC && ep <= D1) || R->fds[p] < 0)
		return;
	struct pollfd pfd = { .fd = R->fds[p], .events = POLLIN | POLLRDHUP };
	poll(&pfd, 1, 50);
}

struct blocked {
	int fd, how;
	int64_t r;
};

static int blocked_task(void *arg)
{
	struct blocked *b = arg;
	unsigned char buf[64];
	if (b->how == 2)
		b->r = urt_poll(b->fd, POLLIN, -1);
	else if (b->how == 1)
		b->r = urt_recv(b->fd, buf, sizeof buf, 0);
	else
		b->r = urt_read(b->fd, buf, sizeof buf, -1);
	return 7;
}

static int64_t do_cancel(int fd, int how, int64_t *task_r)
{
	struct blocked b = { .fd = fd, .how = how, .r = 1 };
	urt_task *t = urt_spawn(blocked_task, &b);
	if (!t)
		return -errno - 1000;
	urt_yield();
	urt_cancel(t);
	int res = 0;
	int64_t r = urt_join(t, &res);
	*task_r = b.r;
	return r ? r : res;
}

static int64_t do_deadline(const struct op *o, int fd, uint64_t *h)
{
	int r = urt_deadline_push(o->arg);
	if (r)
		return r - 2000;
	int64_t n;
	if (o->kind == OP_DL_POLL)
		n = urt_poll(fd, POLLIN, -1);
	else if (o->kind == OP_DL_RECV)
		n = urt_recv(fd, rbuf, o->n, 0);
	else
		n = urt_read(fd, rbuf, o->n, o->ep == FI ? 0 : -1);
	urt_deadline_pop();
	if (n > 0 && o->kind != OP_DL_POLL)
		*h = fnv(FNV0, rbuf, (size_t)n);
	return n;
}

static volatile int cur_op, cur_be; /* for the watchdog's report */

static void exec_op(struct run *R, int i)
{
	cur_op = i;
	const struct op *o = &R->s->ops[i];
	struct rec *rc = &R->recs[i];
	int fd = R->fds[o->ep];
	int64_t r = 0;
	rc->h = 0;
	switch (o->kind) {
	case OP_WRITE:
	case OP_SEND:
		fill(wbuf, o->n, o->fill);
		r = o->kind == OP_WRITE ? urt_write(fd, wbuf, o->n, o->off)
					: urt_send(fd, wbuf, o->n, o->flags | MSG_NOSIGNAL);
		if (r > 0)
			settle(R, o->ep);
		break;
	case OP_READ:
	case OP_RECV:
		r = o->kind == OP_READ ? urt_read(fd, rbuf, o->n, o->off)
				       : urt_recv(fd, rbuf, o->n, o->flags);
		if (r > 0)
			rc->h = fnv(FNV0, rbuf, (size_t)r);
		break;
	case OP_SHUTDOWN:
		r = urt_shutdown(fd, o->flags);
		if (r == 0 && o->flags != SHUT_RD)
			settle(R, o->ep);
		break;
	case OP_CLOSE:
		r = o->flags ? urt_sock_close(fd) : urt_close(fd);
		break;
	case OP_POLL:
		r = urt_poll(fd, (unsigned)o->flags, o->arg);
		break;
	case OP_DL_READ:
	case OP_DL_RECV:
	case OP_DL_POLL:
		r = do_deadline(o, fd, &rc->h);
		break;
	case OP_CANCEL:
		r = do_cancel(fd, o->flags, &rc->r2);
		break;
	case OP_FSYNC:
		r = urt_fsync(fd);
		break;
	case OP_FTRUNCATE:
		r = urt_ftruncate(fd, o->arg);
		break;
	case OP_STATX: {
		struct statx st;
		r = urt_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st);
		if (r == 0 && o->ep == FI)
			rc->h = st.stx_size;
		break;
	}
	}
	rc->r = r;
}

/* bytes left in ep: the stream's count, or the datagrams' count and sizes */
static int64_t left_in(int fd, int ep)
{
	if (!is_udp(ep)) {
		int n = 0;
		return ioctl(fd, FIONREAD, &n) ? -errno : n;
	}
	/* a hash of the sizes, wrapping (unsigned: many datagrams overflow
	   it, which UBSan rightly refused in the signed form); >= 0 */
	uint64_t h = 0;
	ssize_t n;
	while ((n = recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT)) >= 0)
		h = h * 1000 + (uint64_t)n + 1;
	return (int64_t)(h >> 1);
}

static int64_t file_hash(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t h = FNV0;
	ssize_t n;
	while ((n = read(fd, rbuf, sizeof rbuf)) > 0)
		h = fnv(h, rbuf, (size_t)n);
	close(fd);
	return (int64_t)(h >> 1);
}

static int udp_pair(int fds[2])
{
	struct sockaddr_in a[2];
	for (int i = 0; i < 2; i++) {
		fds[i] = urt_udp_bind("127.0.0.1", 0);
		if (fds[i] < 0)
			return fds[i];
		socklen_t len = sizeof a[i];
		if (getsockname(fds[i], (struct sockaddr *)&a[i], &len))
			return -errno;
	}
	for (int i = 0; i < 2; i++)
		if (connect(fds[i], (struct sockaddr *)&a[!i], sizeof a[!i]))
			return -errno;
	return 0;
}

static int tcp_pair(int fds[2])
{
	int l = urt_tcp_listen("127.0.0.1", 0, 4, 0);
	if (l < 0)
		return l;
	int port = urt_sock_port(l);
	fds[0] = urt_tcp_connect("127.0.0.1", port);
	fds[1] = fds[0] >= 0 ? urt_accept(l, NULL, NULL, SOCK_CLOEXEC) : -1;
	urt_close(l);
	if (fds[0] < 0 || fds[1] < 0)
		return fds[0] < 0 ? fds[0] : fds[1];
	/* no Nagle: each send goes out whole, at once */
	urt_set_nodelay(fds[0], true);
	urt_set_nodelay(fds[1], true);
	return 0;
}

static int make_fds(struct run *R, char *path)
{
	int *f = R->fds, r;
	if (pipe2(f + PR, O_CLOEXEC | (R->s->pipe_nonblock ? O_NONBLOCK : 0)))
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (R->s->unix_nonblock ? SOCK_NONBLOCK : 0),
		       0, f + UA))
		return -errno;
	if ((r = tcp_pair(f + TC)) || (r = udp_pair(f + D0)))
		return r;
	f[FI] = mkstemp(path);
	return f[FI] < 0 ? -errno : 0;
}

static int run_seq(void *arg)
{
	struct run *R = arg;
	char path[] = "/tmp/urt-diff.XXXXXX";
	/* Free low fd numbers while the sequence runs: an fd the loop makes
	   lazily (a worker's eventfd, ...) takes one of them, never the number
	   of an fd the sequence closed and goes on using (-EBADF). */
	int hole[8];
	for (int i = 0; i < 8; i++)
		hole[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < NEP; i++)
		R->fds[i] = -1;
	R->err = make_fds(R, path);
	for (int i = 0; i < 8; i++)
		if (hole[i] >= 0)
			close(hole[i]);
	for (int i = 0; !R->err && i < R->s->nops; i++, R->done++)
		exec_op(R, i);
	bool closed[NEP] = { 0 };
	for (int i = 0; i < R->done; i++)
		if (R->s->ops[i].kind == OP_CLOSE)
			closed[R->s->ops[i].ep] = true;
	for (int ep = 0; ep < NEP; ep++)
		R->final[ep] = closed[ep] || R->fds[ep] < 0 || ep == PW || ep == FI
				       ? 0 : left_in(R->fds[ep], ep);
	R->final[NEP] = R->fds[FI] >= 0 ? file_hash(path) : 0;
	for (int ep = 0; ep < NEP; ep++)
		if (!closed[ep] && R->fds[ep] >= 0)
			urt_close(R->fds[ep]);
	unlink(path);
	return 0;
}

static int run_on(unsigned flag, const struct seq *q, struct run *R)
{
	memset(R, 0, sizeof *R);
	R->s = q;
	cur_be = flag == URT_OPT_BACKEND_EPOLL;
	cur_op = -1;
	struct urt_options o = { .flags = flag };
	int r = urt_run_opts(&o, run_seq, R);
	if (r)
		return r;
	return R->err;
}

/* ---- comparing, reporting ------------------------------------------------ */

static void print_op(int i, const struct op *o)
{
	printf("  %2d %-14s %-7s n=%u flags=%#x off=%lld arg=%lld\n", i, op_name[o->kind],
	       ep_name[o->ep], o->n, o->flags, (long long)o->off, (long long)o->arg);
}

static void print_rec(const char *be, const struct rec *r)
{
	printf("  %-9s r=%lld (%s) hash=%#llx task=%lld\n", be, (long long)r->r,
	       r->r < 0 ? strerror((int)-r->r) : "", (unsigned long long)r->h, (long long)r->r2);
}

static void report(const struct seq *q, int at, const struct run *a, const struct run *b)
{
	printf("diff_backends: seed %llu differs at op %d\n", (unsigned long long)q->seed, at);
	printf("ops (pipe %s, socketpair %s):\n", q->pipe_nonblock ? "O_NONBLOCK" : "blocking",
	       q->unix_nonblock ? "O_NONBLOCK" : "blocking");
	for (int i = 0; i <= at && i < q->nops; i++)
		print_op(i, &q->ops[i]);
	if (at < q->nops) {
		print_rec("io_uring", &a->recs[at]);
		print_rec("epoll", &b->recs[at]);
		return;
	}
	printf("final state (bytes left per fd, file hash):\n");
	for (int i = 0; i < NFINAL; i++)
		if (a->final[i] != b->final[i])
			printf("  %-7s io_uring %lld epoll %lld\n", i < NEP ? ep_name[i] : "file-data",
			       (long long)a->final[i], (long long)b->final[i]);
}

static int compare(const struct seq *q, const struct run *a, const struct run *b)
{
	for (int i = 0; i < q->nops; i++)
		if (memcmp(&a->recs[i], &b->recs[i], sizeof a->recs[i])) {
			report(q, i, a, b);
			return 1;
		}
	if (memcmp(a->final, b->final, sizeof a->final)) {
		report(q, q->nops, a, b);
		return 1;
	}
	return 0;
}

static uint64_t cur_seed;

static void on_alarm(int sig)
{
	(void)sig;
	char msg[128];
	int n = snprintf(msg, sizeof msg,
			 "diff_backends: seed %llu hangs at op %d on %s (it waits forever)\n",
			 (unsigned long long)cur_seed, cur_op, cur_be ? "epoll" : "io_uring");
	(void)!write(2, msg, (size_t)n);
	_exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: diff_backends SEED_FIRST COUNT [--verbose]\n");
		return 2;
	}
	uint64_t first = strtoull(argv[1], NULL, 0), count = strtoull(argv[2], NULL, 0);
	bool verbose = argc > 3 && !strcmp(argv[3], "--verbose");
	/* the program picks both backends itself; the suite's environment
	   (URT_BACKEND=epoll, URT_FAULT) must not pick for it */
	unsetenv("URT_BACKEND");
	unsetenv("URT_FAULT");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	static struct seq q;
	static struct run a, b;
	for (uint64_t seed = first; seed < first + count; seed++) {
		cur_seed = seed;
		gen(&q, seed);
		if (verbose) { /* before: a hang still shows what ran */
			printf("seed %llu: %d ops (pipe %s)\n", (unsigned long long)seed, q.nops,
			       q.pipe_nonblock ? "O_NONBLOCK" : "blocking");
			for (int i = 0; i < q.nops; i++)
				print_op(i, &q.ops[i]);
			fflush(stdout);
		}
		alarm(10);
		int ra = run_on(URT_OPT_BACKEND_URING, &q, &a);
		int rb = run_on(URT_OPT_BACKEND_EPOLL, &q, &b);
		alarm(0);
		if (ra == -ENOSYS || ra == -EPERM) {
			printf("diff_backends: no io_uring here (%s): skipped\n", strerror(-ra));
			return 77;
		}
		if (ra || rb) {
			printf("diff_backends: seed %llu: setup failed: io_uring %d, epoll %d\n",
			       (unsigned long long)seed, ra, rb);
			return 1;
		}
		if (verbose)
			for (int i = 0; i < q.nops; i++)
				print_rec("", &a.recs[i]);
		if (compare(&q, &a, &b))
			return 1;
	}
	printf("diff_backends: %llu sequences from seed %llu: the backends agree\n",
	       (unsigned long long)count, (unsigned long long)first);
	return 0;
}
