/* SPDX-License-Identifier: MIT */
/*
 * Regression tests for the backend defects of issue 20 (points 1-7), one
 * per bug and named after it. They were found by running the same small
 * programs on io_uring and on epoll and comparing, so every test here runs
 * on all three configurations (meson registers this area three times) and
 * asserts the one documented behaviour: where the two backends disagreed,
 * io_uring's answer (or the syscall's) is the reference.
 *
 * "A wait is woken" is checked with a hang guard: every wait runs under a
 * deadline far longer than the wake takes, and the assertion is about the
 * result (the byte arrived), not about how long it took.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(regress_backend, .timeout = 60);

#define LOCAL "127.0.0.1"
#define GUARD SEC(5) /* hang guard of a wait that must be woken */

/* The number the next new fd gets (the lowest free one). */
static int next_fd(void)
{
	int probe = dup(0);
	cr_assert_geq(probe, 0);
	close(probe);
	return probe;
}

/* Where the files go: $TMPDIR (tmpfs, ext4...) or /tmp. */
static const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");
	return d && *d ? d : "/tmp";
}

static int closed_port(void)
{
	int l = urt_tcp_listen(LOCAL, 0, 1, 0);
	cr_assert_geq(l, 0);
	int port = urt_sock_port(l);
	close(l);
	return port;
}

static void local_addr(struct sockaddr_in *sa, int port)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, LOCAL, &sa->sin_addr);
}

/* ---------------------------------------------------------------------- */
/* "Every wait is woken": a reader waits on an empty fd, a writer task
   writes one byte once the reader has suspended. */

enum wait_how { W_READ, W_RECV, W_POLL, W_HOW_N };

struct waitcase {
	int rfd, wfd;
	enum wait_how how;
	long res;
	char got;
};

static int waiter_task(void *arg)
{
	struct waitcase *w = arg;
	char c = 0;
	urt_deadline_push(GUARD);
	switch (w->how) {
	case W_READ:
		w->res = urt_read(w->rfd, &c, 1, -1);
		break;
	case W_RECV:
		w->res = urt_recv(w->rfd, &c, 1, 0);
		break;
	default:
		w->res = urt_poll(w->rfd, POLLIN, -1);
		if (w->res > 0)
			w->res = read(w->rfd, &c, 1);
		break;
	}
	urt_deadline_pop();
	w->got = c;
	return 0;
}

/* Wait on rfd (empty) and have the byte written to wfd once the waiter
   sleeps; true if the waiter got it. */
static bool wait_is_woken(int rfd, int wfd, enum wait_how how)
{
	struct waitcase w = {.rfd = rfd, .wfd = wfd, .how = how, .res = -1};
	urt_task *t = spawn_ok(waiter_task, &w);
	for (int i = 0; i < 4; i++)
		urt_yield(); /* the waiter tried, got EAGAIN and waits */
	cr_assert_eq(write(wfd, "x", 1), 1);
	join_ok(t);
	if (w.res != 1 || w.got != 'x')
		cr_log_error("wait on fd %d (how %d) not woken: %ld", rfd, (int)how, w.res);
	return w.res == 1 && w.got == 'x';
}

/* ---------------------------------------------------------------------- */
/* Point 1: a failed urt_tcp_connect closed its socket with close(2), and
   the epoll record of that socket (edge-triggered, registered) outlived it. */

static int failed_connect_main(void *arg)
{
	(void)arg;
	int port = closed_port();
	int num = next_fd();
	CHECK(urt_tcp_connect(LOCAL, port), -ECONNREFUSED);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(p[0], num, "the pipe should reuse the socket's number");
	cr_assert(wait_is_woken(p[0], p[1], W_READ));
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(regress_backend, failed_connect_stale_record_hangs_next_fd)
{
	RUN(failed_connect_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Point 2: the same class through urt.h's own rules. An fd urt made and
   never waited on is closed with close(2); a pipe reuses the number and is
   waited on; that pipe is closed with close(2) (a foreign fd); the next
   pipe on the number must be woken too. */

static int plain_close_chain_main(void *arg)
{
	(void)arg;
	int num = next_fd();
	int s = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(s, num);
	close(s); /* made by urt, never waited on: plain close allowed */
	for (int round = 0; round < 3; round++) {
		int p[2];
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		cr_assert_eq(p[0], num);
		cr_assert(wait_is_woken(p[0], p[1], round == 1 ? W_POLL : W_READ),
			  "round %d", round);
		close(p[0]); /* foreign: plain close allowed */
		close(p[1]);
	}
	return 0;
}

Test(regress_backend, plain_close_of_foreign_fd_leaves_record_that_skips_arming)
{
	RUN(plain_close_chain_main, NULL);
}

/*
 * Point 2, randomized: fds of every origin (pipes and socketpairs made by
 * the caller, TCP sockets made by urt_socket/urt_connect and urt_accept)
 * are created, waited on (read, recv, poll), and closed through urt_close
 * or close(2) wherever urt.h allows the plain close (a foreign fd, or one
 * urt made and never waited on), in a seeded random order that keeps
 * reusing the same few fd numbers. Every wait must be woken.
 */
enum obj_kind { O_PIPE, O_SOCKPAIR, O_TCP };

struct obj {
	bool live;
	enum obj_kind kind;
	int fd[2];        /* a pipe: read end, write end; sockets: either way */
	bool by_urt[2];   /* made by urt (urt_socket, urt_accept) */
	bool waited[2];
};

struct fuzz {
	uint64_t seed, seed0; /* the state, and the seed it started from */
	int lfd, port;
	unsigned waits, plain_closes;
	struct obj o[5];
};

static uint64_t rnd(struct fuzz *f)
{
	f->seed ^= f->seed << 13;
	f->seed ^= f->seed >> 7;
	f->seed ^= f->seed << 17;
	return f->seed;
}

static void obj_make(struct fuzz *f, struct obj *o)
{
	memset(o, 0, sizeof *o);
	/* mostly foreign fds: they are the ones that could inherit a record */
	unsigned k = (unsigned)(rnd(f) % 10);
	o->kind = k < 4 ? O_PIPE : k < 8 ? O_SOCKPAIR : O_TCP;
	switch (o->kind) {
	case O_PIPE:
		cr_assert_eq(pipe2(o->fd, O_CLOEXEC), 0);
		break;
	case O_SOCKPAIR:
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, o->fd), 0);
		break;
	default: {
		struct sockaddr_in sa;
		local_addr(&sa, f->port);
		int c = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_geq(c, 0);
		OK(urt_connect(c, (struct sockaddr *)&sa, sizeof sa));
		int s = urt_accept(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		cr_assert_geq(s, 0);
		o->fd[0] = c;
		o->fd[1] = s;
		o->by_urt[0] = o->by_urt[1] = true;
		/* the connecting end may have waited for the handshake (count
		   it so); the accepted one came from the queue */
		o->waited[0] = true;
		break;
	}
	}
	o->live = true;
}

static void fd_close(struct fuzz *f, int fd, bool by_urt, bool waited)
{
	bool plain_ok = !by_urt || !waited; /* what urt.h allows */
	if (plain_ok && rnd(f) % 4) {
		f->plain_closes++;
		cr_assert_eq(close(fd), 0);
	} else {
		OK(urt_close(fd));
	}
}

static void obj_close(struct fuzz *f, struct obj *o)
{
	int first = (int)(rnd(f) & 1); /* either number may be freed first */
	fd_close(f, o->fd[first], o->by_urt[first], o->waited[first]);
	fd_close(f, o->fd[!first], o->by_urt[!first], o->waited[!first]);
	o->live = false;
}

static int fd_reuse_fuzz_main(void *arg)
{
	struct fuzz *f = arg;
	f->lfd = urt_tcp_listen(LOCAL, 0, 64, 0);
	cr_assert_geq(f->lfd, 0);
	f->port = urt_sock_port(f->lfd);
	for (int step = 0; step < 1500; step++) {
		struct obj *o = &f->o[rnd(f) % 5];
		if (!o->live) {
			obj_make(f, o);
			continue;
		}
		if (rnd(f) % 3 == 0) {
			obj_close(f, o);
			continue;
		}
		/* wait on one end (a pipe: its read end), written from the other */
		int r = o->kind == O_PIPE ? 0 : (int)(rnd(f) & 1);
		enum wait_how how = (enum wait_how)(rnd(f) % W_HOW_N);
		if (how == W_RECV && o->kind == O_PIPE)
			how = W_READ;
		cr_assert(wait_is_woken(o->fd[r], o->fd[!r], how),
			  "seed %llu step %d: kind %d fd %d (by urt %d) not woken",
			  (unsigned long long)f->seed0, step, (int)o->kind, o->fd[r], (int)o->by_urt[r]);
		f->waits++;
		o->waited[r] = true;
	}
	for (int i = 0; i < 5; i++)
		if (f->o[i].live)
			obj_close(f, &f->o[i]);
	OK(urt_close(f->lfd));
	return 0;
}

Test(regress_backend, fd_reuse_random_closes_every_wait_woken)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct fuzz f = {.seed = seed * 0x9e3779b97f4a7c15ull, .seed0 = seed};
		RUN(fd_reuse_fuzz_main, &f);
		cr_assert_gt(f.waits, 300);
		cr_assert_gt(f.plain_closes, 100);
	}
}

/* A TCP pair on loopback: made by urt (epoll: edge-triggered records) or
   with plain syscalls (foreign: one-shot, level-triggered waits). */
static void tcp_pair2(bool by_urt, int *c, int *s, int *l)
{
	*l = urt_tcp_listen(LOCAL, 0, 8, 0);
	cr_assert_geq(*l, 0);
	if (by_urt) {
		*c = urt_tcp_connect(LOCAL, urt_sock_port(*l));
		*s = urt_accept(*l, NULL, NULL, SOCK_CLOEXEC);
	} else {
		struct sockaddr_in sa;
		local_addr(&sa, urt_sock_port(*l));
		*c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(connect(*c, (struct sockaddr *)&sa, sizeof sa), 0);
		*s = accept4(*l, NULL, NULL, SOCK_CLOEXEC);
	}
	cr_assert_geq(*c, 0);
	cr_assert_geq(*s, 0);
}

/* ---------------------------------------------------------------------- */
/* Point 3: MSG_WAITALL waits for all n bytes (or EOF, an error, the
   deadline); epoll ORed MSG_DONTWAIT in and returned the first chunk. */

struct waitall {
	int fd;
	bool msg;     /* urt_recvmsg over two iovecs instead of urt_recv */
	int64_t deadline;
	long res;
	char buf[10];
};

static int waitall_task(void *arg)
{
	struct waitall *w = arg;
	if (w->deadline)
		urt_deadline_push(w->deadline);
	if (w->msg) {
		struct iovec iov[2] = {{w->buf, 3}, {w->buf + 3, 7}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		w->res = urt_recvmsg(w->fd, &mh, MSG_WAITALL);
	} else {
		w->res = urt_recv(w->fd, w->buf, sizeof w->buf, MSG_WAITALL);
	}
	if (w->deadline)
		urt_deadline_pop();
	return 0;
}

/* The reader asks for 10 bytes with MSG_WAITALL; 5 come, then (end) 5
   more, EOF, or nothing. Returns what the reader got. */
enum waitall_end { WA_MORE, WA_EOF, WA_NOTHING };

static long waitall_run(int rfd, int wfd, bool msg, enum waitall_end end, char *out)
{
	struct waitall w = {.fd = rfd, .msg = msg, .res = -1,
			    .deadline = end == WA_NOTHING ? MS(100) : GUARD};
	urt_task *t = spawn_ok(waitall_task, &w);
	for (int i = 0; i < 4; i++)
		urt_yield();
	cr_assert_eq(send(wfd, "01234", 5, 0), 5);
	/* the reader takes the 5 and waits for more (a sleep, so that the
	   loop looks at its fds: yields alone need not) */
	OK(urt_sleep_ns(MS(20)));
	if (end == WA_MORE)
		cr_assert_eq(send(wfd, "56789", 5, 0), 5);
	else if (end == WA_EOF)
		cr_assert_eq(shutdown(wfd, SHUT_WR), 0);
	join_ok(t);
	memcpy(out, w.buf, sizeof w.buf);
	return w.res;
}

static int recv_waitall_main(void *arg)
{
	(void)arg;
	for (int msg = 0; msg < 2; msg++) {
		for (int end = WA_MORE; end <= WA_NOTHING; end++) {
			int sv[2];
			cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
			char got[10];
			long n = waitall_run(sv[0], sv[1], msg, (enum waitall_end)end, got);
			long want = end == WA_MORE ? 10 : 5;
			cr_assert_eq(n, want, "recv%s MSG_WAITALL, end %d", msg ? "msg" : "", end);
			cr_assert(!memcmp(got, "0123456789", (size_t)want));
			close(sv[0]);
			close(sv[1]);
		}
	}
	/* a TCP connection urt made (epoll: edge-triggered, with the
	   short-read hint that a plain recv keeps) */
	int c, s, l;
	tcp_pair2(true, &c, &s, &l);
	char got[10];
	cr_assert_eq(waitall_run(s, c, false, WA_MORE, got), 10);
	cr_assert(!memcmp(got, "0123456789", 10));
	OK(urt_close(s));
	OK(urt_close(c));
	OK(urt_close(l));
	return 0;
}

Test(regress_backend, recv_waitall_returns_first_short_chunk)
{
	RUN(recv_waitall_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Point 4: a send waiting on a full socket whose peer did shutdown(SHUT_WR)
   busy-looped on epoll (EPOLLRDHUP, ready for good, was part of every
   wait). The wait must sleep: a handful of switches, not thousands. */

/* Fill fd's send buffer (and the peer's receive buffer) until a send
   after a pause still finds no room. */
static int fill_socket(int fd)
{
	static char junk[65536];
	long total = 0;
	for (int quiet = 0; quiet < 3;) {
		ssize_t n = send(fd, junk, sizeof junk, MSG_DONTWAIT);
		if (n > 0) {
			total += n;
			quiet = 0;
			cr_assert_lt(total, 1L << 30);
			continue;
		}
		if (errno != EAGAIN)
			return -errno;
		quiet++;
		urt_sleep_ns(MS(5)); /* (ACKs may still free room) */
	}
	return 0;
}

static int send_rdhup_main(void *arg)
{
	(void)arg;
	for (int by_urt = 0; by_urt < 2; by_urt++) {
		int c, s, l;
		tcp_pair2(by_urt, &c, &s, &l);
		int small = 4096;
		cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
		cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
		OK(fill_socket(c));
		cr_assert_eq(shutdown(s, SHUT_WR), 0); /* the peer half-closes */
		OK(urt_sleep_ns(MS(10)));               /* (the FIN arrives) */
		struct urt_stats a, b;
		OK(urt_stats_get(&a));
		static char more[4096];
		urt_deadline_push(MS(200));
		CHECK(urt_send(c, more, sizeof more, 0), -ETIMEDOUT);
		urt_deadline_pop();
		OK(urt_stats_get(&b));
		cr_assert_lt(b.switches - a.switches, 50, "%s pair: the send's wait spun: %llu switches",
			     by_urt ? "urt-made" : "foreign",
			     (unsigned long long)(b.switches - a.switches));
		OK(urt_close(s));
		OK(urt_close(c));
		OK(urt_close(l));
	}
	return 0;
}

Test(regress_backend, send_full_socket_peer_shut_wr_busy_loops)
{
	RUN(send_rdhup_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Point 5: urt_splice from an empty pipe ran as a blocking splice on a
   worker: it ignored its deadline and cancellation and blocked shutdown. */

struct splicer {
	int in, out;
	long res;
};

static int splice_task(void *arg)
{
	struct splicer *s = arg;
	s->res = urt_splice(s->in, -1, s->out, -1, 4096, 0);
	return 0;
}

static int splice_block_main(void *arg)
{
	(void)arg;
	int a[2], b[2];
	cr_assert_eq(pipe2(a, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(b, O_CLOEXEC), 0);
	/* deadline */
	urt_deadline_push(MS(100));
	CHECK(urt_splice(a[0], -1, b[1], -1, 4096, 0), -ETIMEDOUT);
	urt_deadline_pop();
	/* cancellation */
	struct splicer sp = {.in = a[0], .out = b[1], .res = 1};
	urt_task *t = spawn_ok(splice_task, &sp);
	for (int i = 0; i < 4; i++)
		urt_yield();
	urt_cancel(t);
	join_ok(t);
	CHECK(sp.res, -ECANCELED);
	/* data that arrives while it waits is moved */
	sp.res = -1;
	t = spawn_ok(splice_task, &sp);
	for (int i = 0; i < 4; i++)
		urt_yield();
	cr_assert_eq(write(a[1], "hello", 5), 5);
	join_ok(t);
	CHECK(sp.res, 5);
	char got[8];
	cr_assert_eq(read(b[0], got, sizeof got), 5);
	cr_assert(!memcmp(got, "hello", 5));
	/* a full output pipe: the splice waits for room, under the deadline */
	cr_assert_eq(fcntl(b[1], F_SETPIPE_SZ, 4096), 4096);
	static char page[4096];
	cr_assert_eq(write(b[1], page, sizeof page), (ssize_t)sizeof page);
	cr_assert_eq(write(a[1], "x", 1), 1);
	urt_deadline_push(MS(100));
	CHECK(urt_splice(a[0], -1, b[1], -1, 4096, 0), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(read(b[0], page, sizeof page), (ssize_t)sizeof page);
	CHECK(urt_splice(a[0], -1, b[1], -1, 4096, 0), 1);
	/* a file at both ends of a pipe still works */
	char path[256];
	snprintf(path, sizeof path, "%s/urt_splice_XXXXXX", tmp_dir());
	int f = mkstemp(path);
	cr_assert_geq(f, 0);
	unlink(path);
	cr_assert_eq(write(f, "filedata", 8), 8);
	CHECK(urt_splice(f, 0, a[1], -1, 100, 0), 8);
	CHECK(urt_splice(a[0], -1, f, 100, 100, 0), 8);
	char back[8];
	cr_assert_eq(pread(f, back, 8, 100), 8);
	cr_assert(!memcmp(back, "filedata", 8));
	close(f);
	/* an empty pipe with its writer gone: EOF at once (the output pipe
	   emptied first: splice(2) waits for room before it looks at the
	   input) */
	cr_assert_eq(read(b[0], page, sizeof page), 1);
	close(a[1]);
	CHECK(urt_splice(a[0], -1, b[1], -1, 4096, 0), 0);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	return 0;
}

Test(regress_backend, splice_empty_pipe_ignores_deadline)
{
	RUN(splice_block_main, NULL);
}

/* A task blocked in urt_splice when main returns: urt_run cancels it and
   returns (it blocked shutdown on epoll). */
static int splice_shutdown_main(void *arg)
{
	int *p = arg;
	static struct splicer sp;
	sp = (struct splicer){.in = p[0], .out = p[3], .res = 1};
	urt_task *t = spawn_ok(splice_task, &sp);
	urt_detach(t);
	for (int i = 0; i < 4; i++)
		urt_yield();
	return 0;
}

Test(regress_backend, splice_blocks_shutdown)
{
	int p[4];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(p + 2, O_CLOEXEC), 0);
	RUNQ(splice_shutdown_main, p);
	for (int i = 0; i < 4; i++)
		close(p[i]);
}

/* ---------------------------------------------------------------------- */
/* Point 6: opening a FIFO does not wait for the other end (urt.h): a
   write-only open with no reader is -ENXIO, a read-only one returns at
   once; neither leaves O_NONBLOCK set that the caller did not ask for. */

static int fifo_main(void *arg)
{
	const char *path = arg;
	CHECK(urt_open(path, O_WRONLY | O_CLOEXEC, 0), -ENXIO);
	int r = urt_open(path, O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(r, 0);
	cr_assert_eq(fcntl(r, F_GETFL) & O_NONBLOCK, 0);
	int w = urt_open(path, O_WRONLY | O_CLOEXEC, 0);
	cr_assert_geq(w, 0);
	cr_assert_eq(fcntl(w, F_GETFL) & O_NONBLOCK, 0);
	CHECK(urt_write(w, "abc", 3, -1), 3);
	char got[4];
	CHECK(urt_read(r, got, sizeof got, -1), 3);
	OK(urt_close(w));
	OK(urt_close(r));
	/* O_NONBLOCK when asked for stays */
	r = urt_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	cr_assert_geq(r, 0);
	cr_assert_neq(fcntl(r, F_GETFL) & O_NONBLOCK, 0);
	OK(urt_close(r));
	/* read-write needs no peer */
	int rw = urt_open(path, O_RDWR | O_CLOEXEC, 0);
	cr_assert_geq(rw, 0);
	OK(urt_close(rw));
	return 0;
}

Test(regress_backend, open_fifo_blocks_on_worker)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s/urt_fifo_XXXXXX", tmp_dir());
	cr_assert_not_null(mkdtemp(dir));
	char path[300];
	snprintf(path, sizeof path, "%s/fifo", dir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	RUN(fifo_main, path);
	unlink(path);
	rmdir(dir);
}

/* ---------------------------------------------------------------------- */
/* Point 7: misuse gives the same answer on both backends. */

/* A refused connect leaves the socket ready for a new attempt, as a
   blocking connect(2) does: the second one is refused again (epoll said
   -ECONNABORTED), and the third too. */
static int connect_again_main(void *arg)
{
	(void)arg;
	struct sockaddr_in sa;
	local_addr(&sa, closed_port());
	int s = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	for (int i = 0; i < 3; i++)
		CHECK(urt_connect(s, (struct sockaddr *)&sa, sizeof sa), -ECONNREFUSED);
	OK(urt_close(s));
	return 0;
}

Test(regress_backend, connect_again_after_refusal_aborted_on_epoll)
{
	RUN(connect_again_main, NULL);
}

/* A connect cut short by its deadline leaves the attempt in progress; a
   second connect says -EALREADY at once (connect(2) and io_uring), where
   epoll waited. A listener whose accept queue is full drops the SYN, so
   the attempt stays in SYN_SENT. */
static int connect_in_progress_main(void *arg)
{
	(void)arg;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	local_addr(&sa, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
	cr_assert_eq(listen(l, 0), 0);
	local_addr(&sa, urt_sock_port(l));
	int fill[4], nfill = 0;
	/* fill the accept queue (backlog 0 holds one) */
	for (; nfill < 4; nfill++) {
		fill[nfill] = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		urt_deadline_push(MS(100));
		int r = urt_connect(fill[nfill], (struct sockaddr *)&sa, sizeof sa);
		urt_deadline_pop();
		if (r == -ETIMEDOUT)
			break; /* this one's SYN was dropped: in progress */
		OK(r);
	}
	cr_assert_lt(nfill, 4, "the listener never dropped a SYN");
	int s = fill[nfill];
	CHECK(urt_connect(s, (struct sockaddr *)&sa, sizeof sa), -EALREADY);
	for (int i = 0; i <= nfill; i++)
		OK(urt_close(fill[i]));
	close(l);
	return 0;
}

Test(regress_backend, connect_in_progress_again_waits_on_epoll)
{
	RUN(connect_in_progress_main, NULL);
}

/* An offset on a pipe (or any fd that cannot seek) is ignored, as io_uring
   does; epoll said -ESPIPE for any offset but 0. */
static int pipe_offset_main(void *arg)
{
	(void)arg;
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	CHECK(urt_write(p[1], "hello", 5, 7), 5);
	char got[8];
	CHECK(urt_read(p[0], got, sizeof got, 7), 5);
	cr_assert(!memcmp(got, "hello", 5));
	struct iovec iov = {got, 3};
	CHECK(urt_writev(p[1], &iov, 1, 1234), 3);
	CHECK(urt_readv(p[0], &iov, 1, 99), 3);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(regress_backend, read_pipe_with_offset_espipe_on_epoll)
{
	RUN(pipe_offset_main, NULL);
}

/* urt_poll on a regular file for events it never has (POLLRDHUP,
   POLLPRI): poll(2) says not ready, so -ETIMEDOUT when the timeout runs
   out; io_uring's POLL_ADD said -EINVAL (no wait queue to wait on).
   Found by tests/diff_backends (seed 30). */
static int poll_file_rdhup_main(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-regress-poll.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	CHECK(urt_poll(fd, POLLRDHUP, 0), -ETIMEDOUT);
	CHECK(urt_poll(fd, POLLPRI, MS(2)), -ETIMEDOUT);
	CHECK(urt_poll(fd, POLLIN | POLLRDHUP, 0), POLLIN);
	CHECK(urt_poll(fd, POLLOUT | POLLPRI, -1), POLLOUT);
	OK(urt_close(fd));
	return 0;
}

Test(regress_backend, poll_file_rdhup_einval_on_uring)
{
	RUN(poll_file_rdhup_main, NULL);
}

/* A read of a regular file across a page in the cache and one not: read(2)
   and io_uring return the whole range, epoll returned the cached part only
   (RWF_NOWAIT stops at the first page it would have to wait for). Found by
   tests/diff_backends (seed 635): a file made by ftruncate alone. */
static int read_file_partly_cached_main(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-regress-short.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	OK(urt_ftruncate(fd, 5292));
	OK(urt_ftruncate(fd, 4767));
	static char buf[389];
	CHECK(urt_read(fd, buf, sizeof buf, 4090), (ssize_t)sizeof buf);
	/* at EOF a read is still short */
	CHECK(urt_read(fd, buf, sizeof buf, 4767 - 10), 10);
	OK(urt_close(fd));
	return 0;
}

Test(regress_backend, read_file_partly_cached_short_on_epoll)
{
	RUN(read_file_partly_cached_main, NULL);
}
