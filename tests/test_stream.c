/* SPDX-License-Identifier: MIT */
/*
 * Buffered streams (include/urt.h, "Streams"), each test over a pipe and
 * over a connected TCP pair on 127.0.0.1:
 *  - urt_stream_read: buffered bytes first, 0 at EOF, large reads that skip
 *    the buffer;
 *  - urt_stream_read_exact: across many small writes, short count at EOF;
 *  - urt_stream_read_until / readline: several records per read, delimiters
 *    split across reads, multi-byte delimiters, the max boundary
 *    (-EMSGSIZE, nothing consumed), -ENODATA after a partial record, clean
 *    EOF, -EINVAL, compaction with a 64-byte read buffer;
 *  - urt_stream_write / flush / write_all: buffering (nothing reaches the
 *    peer before a flush), large writes, a closed peer (-EPIPE/-ECONNRESET,
 *    no SIGPIPE on sockets);
 *  - init with a bad fd or absurd buffer size, calls after urt_stream_destroy;
 *  - cancellation and deadlines of a blocked readline (the stream keeps
 *    working);
 *  - a 1000-line echo round trip through streams on both sides.
 *
 * The writer side feeds data in awkward pieces with urt_yield or
 * urt_sleep_ms(1) between them, so the reader needs several reads. Timeouts
 * are hang guards only; "has the data arrived" is checked with FIONREAD.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(stream, .timeout = 60);

/* The init test asks for absurd buffer sizes: let ASan's allocator return
   NULL instead of aborting (only linked into the ASan build's use). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

#define LOCAL "127.0.0.1"
#define HANG SEC(10) /* hang guard for calls that must not block */

enum { PIPE = 1, TCP = 2 };

/* ---------------------------------------------------------------------- */
/* Transports                                                             */

/* One direction: bytes written to wfd come out of rfd. For TCP the two are
   the ends of one connection (so the other direction works too). */
struct xp {
	int kind;
	int rfd, wfd, lfd;
};

static void xp_open(struct xp *x, int kind)
{
	x->kind = kind;
	x->lfd = -1;
	if (kind == PIPE) {
		int p[2];
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		x->rfd = p[0];
		x->wfd = p[1];
		return;
	}
	x->lfd = urt_tcp_listen(LOCAL, 0, 16, 0);
	cr_assert_geq(x->lfd, 0, "urt_tcp_listen: %d", x->lfd);
	int port = urt_sock_port(x->lfd);
	cr_assert_gt(port, 0);
	x->wfd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(x->wfd, 0, "urt_tcp_connect: %d", x->wfd);
	x->rfd = urt_accept(x->lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(x->rfd, 0, "urt_accept: %d", x->rfd);
}

static void xp_close_w(struct xp *x)
{
	if (x->wfd >= 0)
		close(x->wfd);
	x->wfd = -1;
}

static void xp_close(struct xp *x)
{
	if (x->rfd >= 0)
		close(x->rfd);
	if (x->wfd >= 0)
		close(x->wfd);
	if (x->lfd >= 0)
		close(x->lfd);
	x->rfd = x->wfd = x->lfd = -1;
}

/* Raw (unbuffered) write of all n bytes to the writer end. */
static void raw_send(struct xp *x, const void *p, size_t n)
{
	ssize_t r = x->kind == TCP ? urt_send_all(x->wfd, p, n, 0, NULL)
				   : urt_write_all(x->wfd, p, n, -1);
	cr_assert_eq(r, (ssize_t)n, "raw_send");
}

/* Bytes waiting to be read on fd. */
static int avail(int fd)
{
	int n = -1;
	cr_assert_eq(ioctl(fd, FIONREAD, &n), 0, "FIONREAD: %s", strerror(errno));
	return n;
}

/* Wait (polling; the test timeout is the hang guard) until fd has n bytes. */
static void wait_avail(int fd, int n)
{
	while (avail(fd) < n)
		OK(urt_sleep_ms(1));
	cr_assert_eq(avail(fd), n);
}

/* Raw read of exactly n bytes from fd (up to EOF). */
static ssize_t raw_read_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = urt_read(fd, (char *)buf + got, n - got, -1);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}


/* ---------------------------------------------------------------------- */
/* Feeder: writes pieces to the writer end with a pause between them       */

struct piece {
	const char *p;
	size_t n;
};
#define P(s) {(s), sizeof(s) - 1}

enum { GAP_YIELD, GAP_SLEEP };

struct feed {
	struct xp *x;
	/* either pieces ... */
	const struct piece *pc;
	int npc;
	/* ... or data cut into chunk-sized pieces */
	const void *data;
	size_t len, chunk;
	int gap;
	bool close_after; /* close the writer end when done (EOF) */
};

static void gap(int g)
{
	if (g == GAP_SLEEP)
		OK(urt_sleep_ms(1));
	else
		OK(urt_yield());
}

static int feeder(void *arg)
{
	struct feed *f = arg;
	if (f->pc) {
		for (int i = 0; i < f->npc; i++) {
			if (i)
				gap(f->gap);
			raw_send(f->x, f->pc[i].p, f->pc[i].n);
		}
	} else {
		for (size_t off = 0; off < f->len; off += f->chunk) {
			if (off)
				gap(f->gap);
			size_t n = f->len - off < f->chunk ? f->len - off : f->chunk;
			raw_send(f->x, (const char *)f->data + off, n);
		}
	}
	if (f->close_after)
		xp_close_w(f->x);
	return 0;
}

/* Test bodies take the transport kind; each is registered for both. */
#define BOTH(name)                                                             \
	static int name##_body(int kind);                                      \
	static int name##_main(void *arg)                                      \
	{                                                                      \
		return name##_body((int)(intptr_t)arg);                        \
	}                                                                      \
	Test(stream, name##_pipe)                                              \
	{                                                                      \
		RUN(name##_main, (void *)(intptr_t)PIPE);                      \
	}                                                                      \
	Test(stream, name##_tcp)                                               \
	{                                                                      \
		RUN(name##_main, (void *)(intptr_t)TCP);                       \
	}                                                                      \
	static int name##_body(int kind)

/* Expect the next record read with urt_stream_read_until to be want. */
#define EXPECT_UNTIL(s, d, dl, max, want)                                      \
	do {                                                                   \
		char eu_buf__[512];                                            \
		memset(eu_buf__, '#', sizeof eu_buf__);                        \
		ssize_t eu_r__ = urt_stream_read_until((s), (d), (dl), eu_buf__, (max)); \
		cr_assert_eq(eu_r__, (ssize_t)(sizeof(want) - 1), "record %s", #want); \
		cr_assert_eq(memcmp(eu_buf__, (want), sizeof(want) - 1), 0,   \
			     "record content: want %s", #want);                \
	} while (0)

#define EXPECT_LINE(s, max, want) EXPECT_UNTIL(s, "\n", 1, max, want)

/* ---------------------------------------------------------------------- */
/* urt_stream_read                                                        */

/* Buffered bytes come first: after a readline, a read returns exactly the
   rest of what was buffered, not more, and without another read. */
BOTH(read_buffered_first)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	raw_send(&x, "hello\nworld", 11);
	wait_avail(x.rfd, 11);
	EXPECT_LINE(&s, 64, "hello\n");
	cr_assert_eq(avail(x.rfd), 0); /* the one read took everything */
	raw_send(&x, "MORE", 4);
	wait_avail(x.rfd, 4);
	char buf[100];
	OK(urt_deadline_push(HANG));
	ssize_t r = urt_stream_read(&s, buf, sizeof buf);
	urt_deadline_pop();
	cr_assert_eq(r, (ssize_t)5);
	cr_assert_eq(memcmp(buf, "world", 5), 0);
	cr_assert_eq(avail(x.rfd), 4); /* "MORE" not touched */
	/* n == 0 is a no-op */
	CHECK(urt_stream_read(&s, buf, 0), 0);
	cr_assert_eq(urt_stream_read(&s, buf, sizeof buf), (ssize_t)4);
	cr_assert_eq(memcmp(buf, "MORE", 4), 0);
	/* A small read leaves the rest buffered. */
	raw_send(&x, "0123456789", 10);
	wait_avail(x.rfd, 10);
	cr_assert_eq(urt_stream_read(&s, buf, 3), (ssize_t)3);
	cr_assert_eq(memcmp(buf, "012", 3), 0);
	cr_assert_eq(avail(x.rfd), 0);
	cr_assert_eq(urt_stream_read(&s, buf, 4), (ssize_t)4);
	cr_assert_eq(memcmp(buf, "3456", 4), 0);
	cr_assert_eq(urt_stream_read(&s, buf, sizeof buf), (ssize_t)3);
	cr_assert_eq(memcmp(buf, "789", 3), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_eof_returns_zero)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static const struct piece pc[] = {P("a"), P("b"), P("c")};
	struct feed f = {.x = &x, .pc = pc, .npc = 3, .gap = GAP_SLEEP, .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	char buf[100];
	size_t got = 0;
	for (;;) {
		ssize_t r = urt_stream_read(&s, buf + got, sizeof buf - got);
		cr_assert_geq(r, (ssize_t)0);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	cr_assert_eq(got, (size_t)3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	CHECK(join_ok(t), 0);
	/* EOF stays EOF, for every kind of read. */
	CHECK(urt_stream_read(&s, buf, sizeof buf), 0);
	CHECK(urt_stream_read(&s, buf, 1000), 0); /* >= the buffer size */
	CHECK(urt_stream_read_exact(&s, buf, 10), 0);
	CHECK(urt_stream_readline(&s, buf, 64), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

struct bulk {
	struct xp *x;
	const uint8_t *data;
	size_t len;
};

static int bulk_sender(void *arg)
{
	struct bulk *b = arg;
	raw_send(b->x, b->data, b->len);
	xp_close_w(b->x);
	return 0;
}

/* Reads of at least the buffer size: buffered bytes first, then straight
   reads; a 1 MiB transfer read in >= rcap pieces arrives intact. */
BOTH(read_large)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	char small[16];
	raw_send(&x, "0123456789", 10);
	wait_avail(x.rfd, 10);
	cr_assert_eq(urt_stream_read(&s, small, 3), (ssize_t)3);
	cr_assert_eq(memcmp(small, "012", 3), 0);

	enum { N = 1 << 20 };
	uint8_t *data = malloc(N), *got = malloc(N + 4096);
	cr_assert_not_null(data);
	cr_assert_not_null(got);
	test_fill(data, N, 7);
	/* 5000 more bytes, all there before the next read */
	raw_send(&x, data, 5000);
	wait_avail(x.rfd, 5000);
	ssize_t r = urt_stream_read(&s, got, 4096);
	cr_assert_eq(r, (ssize_t)7); /* only what was buffered */
	cr_assert_eq(memcmp(got, "3456789", 7), 0);
	r = urt_stream_read(&s, got, 4096);
	cr_assert_gt(r, (ssize_t)0);
	cr_assert_leq(r, (ssize_t)4096);
	size_t have = (size_t)r;
	r = urt_stream_read_exact(&s, got + have, 5000 - have);
	cr_assert_eq(r, (ssize_t)(5000 - have));
	cr_assert_eq(memcmp(got, data, 5000), 0);

	/* 1 MiB from a concurrent sender (the pipe/socket fills up). */
	struct bulk b = {.x = &x, .data = data, .len = N};
	urt_task *t = spawn_ok(bulk_sender, &b);
	size_t total = 0;
	int reads = 0;
	for (;;) {
		size_t want = 64 + (size_t)(reads * 977) % 4000; /* always >= rcap */
		r = urt_stream_read(&s, got + total, want);
		cr_assert_geq(r, (ssize_t)0);
		if (r == 0)
			break;
		cr_assert_leq(r, (ssize_t)want);
		total += (size_t)r;
		cr_assert_leq(total, (size_t)N);
		reads++;
	}
	cr_assert_eq(total, (size_t)N);
	cr_assert_eq(memcmp(got, data, N), 0);
	CHECK(join_ok(t), 0);
	free(data);
	free(got);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* urt_stream_read_exact                                                  */

BOTH(read_exact_many_small_writes)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	enum { N = 700 };
	static uint8_t data[N];
	uint8_t got[N + 1];
	test_fill(data, N, 3);
	/* 1 byte at a time for the first 100, then 7-byte pieces */
	struct feed f1 = {.x = &x, .data = data, .len = 100, .chunk = 1, .gap = GAP_SLEEP};
	urt_task *t = spawn_ok(feeder, &f1);
	CHECK(urt_stream_read_exact(&s, got, 100), 100);
	cr_assert_eq(memcmp(got, data, 100), 0);
	CHECK(join_ok(t), 0);
	struct feed f2 = {.x = &x, .data = data + 100, .len = N - 100, .chunk = 7, .gap = GAP_YIELD};
	t = spawn_ok(feeder, &f2);
	/* reads of odd sizes, one larger than the read buffer */
	CHECK(urt_stream_read_exact(&s, got + 100, 33), 33);
	CHECK(urt_stream_read_exact(&s, got + 133, 200), 200);
	CHECK(urt_stream_read_exact(&s, got + 333, 1), 1);
	CHECK(urt_stream_read_exact(&s, got + 334, N - 334), N - 334);
	cr_assert_eq(memcmp(got, data, N), 0);
	CHECK(join_ok(t), 0);
	CHECK(urt_stream_read_exact(&s, got, 0), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_exact_short_at_eof)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static uint8_t data[30];
	uint8_t got[100];
	test_fill(data, sizeof data, 9);
	struct feed f = {.x = &x, .data = data, .len = 30, .chunk = 4, .gap = GAP_SLEEP,
			 .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	memset(got, 0, sizeof got);
	CHECK(urt_stream_read_exact(&s, got, 100), 30); /* the short count is the EOF */
	cr_assert_eq(memcmp(got, data, 30), 0);
	CHECK(join_ok(t), 0);
	CHECK(urt_stream_read_exact(&s, got, 100), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_exact_eof_at_once)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	xp_close_w(&x);
	uint8_t got[10];
	CHECK(urt_stream_read_exact(&s, got, sizeof got), 0);
	CHECK(urt_stream_read_exact(&s, got, 1000), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* urt_stream_read_until / readline                                       */

BOTH(readline_several_lines_in_one_chunk)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	raw_send(&x, "one\ntwo\n\nthree\n", 15);
	wait_avail(x.rfd, 15);
	EXPECT_LINE(&s, 64, "one\n");
	cr_assert_eq(avail(x.rfd), 0);
	EXPECT_LINE(&s, 64, "two\n");
	EXPECT_LINE(&s, 64, "\n");
	EXPECT_LINE(&s, 64, "three\n");
	xp_close_w(&x);
	CHECK(urt_stream_readline(&s, (char[64]){0}, 64), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_until_delimiter_split_across_reads)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static const struct piece pc[] = {
		P("ab"), P("c\r"), P("\n"), P("de\r"), P("\nfg"), P("\r"), P("\n"),
		P("x\ry"), P("\r"), P("\r"), P("\n"), P("\r"), P("\n"), P("z"),
	};
	struct feed f = {.x = &x, .pc = pc, .npc = sizeof pc / sizeof pc[0], .gap = GAP_SLEEP,
			 .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "abc\r\n");
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "de\r\n");
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "fg\r\n");
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "x\ry\r\r\n"); /* a lone \r is data */
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "\r\n");
	/* "z" then EOF: a partial record */
	char buf[64];
	CHECK(urt_stream_read_until(&s, "\r\n", 2, buf, 64), -ENODATA);
	CHECK(join_ok(t), 0);
	cr_assert_eq(urt_stream_read(&s, buf, sizeof buf), (ssize_t)1);
	cr_assert_eq(buf[0], 'z');
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* The same records fed one byte at a time. */
BOTH(read_until_one_byte_at_a_time)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static const char data[] = "abc\r\nde\r\n\r\nx\r\r\ny\r\n\r\n";
	struct feed f = {.x = &x, .data = data, .len = sizeof data - 1, .chunk = 1,
			 .gap = GAP_SLEEP, .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "abc\r\n");
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "de\r\n");
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "\r\n");
	EXPECT_UNTIL(&s, "\r\n\r\n", 4, 64, "x\r\r\ny\r\n\r\n"); /* overlapping prefixes */
	CHECK(urt_stream_read_until(&s, "\r\n", 2, (char[64]){0}, 64), 0);
	CHECK(join_ok(t), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* An HTTP-like head ending in "\r\n\r\n", split at every point of the
   delimiter in turn, followed by a body read with read_exact. */
BOTH(read_until_multibyte_delimiter)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static const char msg[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
	const size_t mlen = sizeof msg - 1, hlen = mlen - 4;
	for (size_t cut = hlen - 5; cut <= hlen + 1; cut++) {
		struct piece pc[2] = {{msg, cut}, {msg + cut, mlen - cut}};
		struct feed f = {.x = &x, .pc = pc, .npc = 2, .gap = GAP_SLEEP};
		urt_task *t = spawn_ok(feeder, &f);
		char buf[64];
		memset(buf, 0, sizeof buf);
		ssize_t r = urt_stream_read_until(&s, "\r\n\r\n", 4, buf, 64);
		cr_assert_eq(r, (ssize_t)hlen, "cut at %zu", cut);
		cr_assert_eq(memcmp(buf, msg, hlen), 0, "cut at %zu", cut);
		CHECK(urt_stream_read_exact(&s, buf, 4), 4);
		cr_assert_eq(memcmp(buf, "BODY", 4), 0, "cut at %zu", cut);
		CHECK(join_ok(t), 0);
	}
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* A record exactly max long (delimiter included) is returned; one byte
   more is -EMSGSIZE and consumes nothing. */
BOTH(read_until_max_boundary)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	char a[64], b[65], buf[200];
	memset(a, 'a', 62);
	memcpy(a + 62, "\r\n", 2);
	memset(b, 'b', 63);
	memcpy(b + 63, "\r\n", 2);

	/* 64 bytes with max = rcap = 64, in 5-byte pieces */
	struct feed f = {.x = &x, .data = a, .len = 64, .chunk = 5, .gap = GAP_SLEEP};
	urt_task *t = spawn_ok(feeder, &f);
	memset(buf, 0, sizeof buf);
	CHECK(urt_stream_read_until(&s, "\r\n", 2, buf, 64), 64);
	cr_assert_eq(memcmp(buf, a, 64), 0);
	CHECK(join_ok(t), 0);

	/* 65 bytes with max 64: -EMSGSIZE once 64 bytes are in, nothing taken */
	f = (struct feed){.x = &x, .data = b, .len = 65, .chunk = 5, .gap = GAP_SLEEP};
	t = spawn_ok(feeder, &f);
	OK(urt_deadline_push(HANG));
	CHECK(urt_stream_read_until(&s, "\r\n", 2, buf, 64), -EMSGSIZE);
	CHECK(urt_stream_read_until(&s, "\r\n", 2, buf, 64), -EMSGSIZE); /* still */
	urt_deadline_pop();
	CHECK(join_ok(t), 0);
	memset(buf, 0, sizeof buf);
	ssize_t r = urt_stream_read(&s, buf, sizeof buf);
	cr_assert_gt(r, (ssize_t)0);
	cr_assert_leq(r, (ssize_t)65);
	cr_assert_eq(memcmp(buf, b, (size_t)r), 0); /* the same bytes, from the start */
	CHECK(urt_stream_read_exact(&s, buf + r, 65 - (size_t)r), 65 - r);
	cr_assert_eq(memcmp(buf, b, 65), 0);

	/* max below rcap: 11-byte record, max 10 then 11 (a retry works) */
	raw_send(&x, "123456789\r\n", 11);
	wait_avail(x.rfd, 11);
	CHECK(urt_stream_read_until(&s, "\r\n", 2, buf, 10), -EMSGSIZE);
	EXPECT_UNTIL(&s, "\r\n", 2, 11, "123456789\r\n");

	/* exactly max with the delimiter split across reads */
	static const struct piece pc[] = {P("12345678\r"), P("\n")};
	f = (struct feed){.x = &x, .pc = pc, .npc = 2, .gap = GAP_SLEEP};
	t = spawn_ok(feeder, &f);
	EXPECT_UNTIL(&s, "\r\n", 2, 10, "12345678\r\n");
	CHECK(join_ok(t), 0);

	/* max bytes without a delimiter and an idle peer: -EMSGSIZE, no wait */
	raw_send(&x, "0123456789", 10);
	OK(urt_deadline_push(HANG));
	CHECK(urt_stream_readline(&s, buf, 10), -EMSGSIZE);
	urt_deadline_pop();
	CHECK(urt_stream_read_exact(&s, buf, 10), 10);
	cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_until_enodata_after_partial_record)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	static const struct piece pc[] = {P("fu"), P("ll\npa"), P("rt"), P("ial")};
	struct feed f = {.x = &x, .pc = pc, .npc = 4, .gap = GAP_SLEEP, .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	EXPECT_LINE(&s, 64, "full\n");
	char buf[64];
	CHECK(urt_stream_readline(&s, buf, 64), -ENODATA);
	CHECK(join_ok(t), 0);
	CHECK(urt_stream_readline(&s, buf, 64), -ENODATA); /* still there */
	memset(buf, 0, sizeof buf);
	cr_assert_eq(urt_stream_read(&s, buf, sizeof buf), (ssize_t)7);
	cr_assert_eq(memcmp(buf, "partial", 7), 0);
	CHECK(urt_stream_readline(&s, buf, 64), 0); /* now a clean EOF */
	CHECK(urt_stream_read(&s, buf, sizeof buf), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_until_clean_eof)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	char buf[64];
	static const struct piece pc[] = {P("a\n"), P("b\n")};
	struct feed f = {.x = &x, .pc = pc, .npc = 2, .gap = GAP_SLEEP, .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	EXPECT_LINE(&s, 64, "a\n");
	EXPECT_LINE(&s, 64, "b\n");
	CHECK(urt_stream_readline(&s, buf, 64), 0);
	CHECK(urt_stream_readline(&s, buf, 64), 0);
	CHECK(urt_stream_read_until(&s, "\r\n\r\n", 4, buf, 64), 0);
	CHECK(join_ok(t), 0);
	urt_stream_destroy(&s);
	xp_close(&x);

	/* EOF before any byte */
	xp_open(&x, kind);
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	xp_close_w(&x);
	CHECK(urt_stream_readline(&s, buf, 64), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(read_until_einval)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	char buf[128];
	raw_send(&x, "data\n", 5);
	wait_avail(x.rfd, 5);
	CHECK(urt_stream_read_until(&s, "\n", 1, buf, 65), -EINVAL); /* max > rbuf */
	CHECK(urt_stream_readline(&s, buf, 65), -EINVAL);
	CHECK(urt_stream_read_until(&s, "\n", 0, buf, 64), -EINVAL); /* dlen 0 */
	CHECK(urt_stream_read_until(&s, NULL, 1, buf, 64), -EINVAL);
	cr_assert_eq(avail(x.rfd), 5); /* none of them read anything */
	EXPECT_LINE(&s, 64, "data\n");
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* Lines of 1..64 bytes through a 64-byte read buffer, fed in 13-byte
   pieces: records straddle refills and the buffer must compact. */
BOTH(readline_small_buffer_compaction)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	enum { LINES = 300 };
	static char data[LINES * 64];
	static size_t lens[LINES];
	size_t len = 0;
	uint32_t rng = 12345;
	for (int i = 0; i < LINES; i++) {
		rng = rng * 1103515245u + 12345u;
		size_t l = 1 + (rng >> 16) % 64;
		if (i % 50 == 7)
			l = 64; /* some exactly rcap long */
		for (size_t j = 0; j + 1 < l; j++)
			data[len + j] = (char)('A' + (i + j) % 26);
		data[len + l - 1] = '\n';
		lens[i] = l;
		len += l;
	}
	struct feed f = {.x = &x, .data = data, .len = len, .chunk = 13, .gap = GAP_YIELD,
			 .close_after = true};
	urt_task *t = spawn_ok(feeder, &f);
	size_t off = 0;
	char buf[64];
	for (int i = 0; i < LINES; i++) {
		memset(buf, 0, sizeof buf);
		ssize_t r = urt_stream_readline(&s, buf, 64);
		cr_assert_eq(r, (ssize_t)lens[i], "line %d", i);
		cr_assert_eq(memcmp(buf, data + off, lens[i]), 0, "line %d", i);
		off += lens[i];
	}
	CHECK(urt_stream_readline(&s, buf, 64), 0);
	CHECK(join_ok(t), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* urt_stream_write / flush / write_all                                   */

/* Nothing is at the peer's end (FIONREAD, and for TCP a non-blocking recv). */
static void assert_nothing_sent(struct xp *x)
{
	cr_assert_eq(avail(x->rfd), 0);
	if (x->kind == TCP) {
		char c;
		errno = 0;
		cr_assert_eq(recv(x->rfd, &c, 1, MSG_DONTWAIT), (ssize_t)-1);
		cr_assert_eq(errno, EAGAIN);
	}
}

BOTH(write_buffers_until_flush)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	char buf[128];
	CHECK(urt_stream_write(&w, "0123456789", 10), 10);
	assert_nothing_sent(&x);
	CHECK(urt_stream_write(&w, "abcdefghijklmnopqrst", 20), 20);
	CHECK(urt_stream_write(&w, "", 0), 0);
	OK(urt_sleep_ms(1)); /* give a stray write every chance to show */
	assert_nothing_sent(&x);
	OK(urt_stream_flush(&w));
	wait_avail(x.rfd, 30);
	CHECK(raw_read_exact(x.rfd, buf, 30), 30);
	cr_assert_eq(memcmp(buf, "0123456789abcdefghijklmnopqrst", 30), 0);
	OK(urt_stream_flush(&w)); /* nothing buffered: a no-op */
	assert_nothing_sent(&x);

	/* 40 + 40 overflows the 64-byte buffer: some goes out, the rest on flush */
	char a[40], b[40];
	memset(a, 'A', sizeof a);
	memset(b, 'B', sizeof b);
	CHECK(urt_stream_write(&w, a, 40), 40);
	assert_nothing_sent(&x);
	CHECK(urt_stream_write(&w, b, 40), 40);
	/* the buffer filled, so part went out (polling: TCP may hold a small
	   segment back until the previous one is acknowledged)... */
	while (avail(x.rfd) == 0)
		OK(urt_sleep_ms(1));
	OK(urt_sleep_ms(2));
	/* ...but not all of it */
	int sent = avail(x.rfd);
	cr_assert_gt(sent, 0);
	cr_assert_lt(sent, 80);
	OK(urt_stream_flush(&w));
	CHECK(raw_read_exact(x.rfd, buf, 80), 80);
	cr_assert_eq(memcmp(buf, a, 40), 0);
	cr_assert_eq(memcmp(buf + 40, b, 40), 0);
	assert_nothing_sent(&x);
	urt_stream_destroy(&w);
	xp_close(&x);
	return 0;
}

struct drain {
	int fd;
	uint8_t *buf;
	size_t want, got;
};

static int drainer(void *arg)
{
	struct drain *d = arg;
	ssize_t r = raw_read_exact(d->fd, d->buf, d->want);
	if (r < 0)
		return (int)r;
	d->got = (size_t)r;
	return 0;
}

/* Writes below, at and above the 64-byte buffer, mixed, arrive in order. */
BOTH(write_larger_than_buffer)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	static const size_t sizes[] = {10, 1000, 5, 70, 64, 3, 63, 1, 256 * 1024, 7, 64, 64, 129};
	size_t total = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		total += sizes[i];
	uint8_t *data = malloc(total), *got = malloc(total + 1);
	cr_assert_not_null(data);
	cr_assert_not_null(got);
	test_fill(data, total, 5);
	struct drain d = {.fd = x.rfd, .buf = got, .want = total};
	urt_task *t = spawn_ok(drainer, &d);
	size_t off = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		CHECK(urt_stream_write(&w, data + off, sizes[i]), sizes[i]);
		off += sizes[i];
	}
	OK(urt_stream_flush(&w));
	CHECK(join_ok(t), 0);
	cr_assert_eq(d.got, total);
	cr_assert_eq(memcmp(got, data, total), 0);
	assert_nothing_sent(&x);
	free(data);
	free(got);
	urt_stream_destroy(&w);
	xp_close(&x);
	return 0;
}

BOTH(write_all_flushes)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	char buf[2000];
	CHECK(urt_stream_write_all(&w, "hello", 5), 5);
	wait_avail(x.rfd, 5);
	CHECK(raw_read_exact(x.rfd, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	/* buffered bytes go out first */
	CHECK(urt_stream_write(&w, "abc", 3), 3);
	assert_nothing_sent(&x);
	CHECK(urt_stream_write_all(&w, "defg", 4), 4);
	wait_avail(x.rfd, 7);
	CHECK(raw_read_exact(x.rfd, buf, 7), 7);
	cr_assert_eq(memcmp(buf, "abcdefg", 7), 0);
	/* larger than the buffer */
	static uint8_t big[1500];
	test_fill(big, sizeof big, 77);
	CHECK(urt_stream_write(&w, "<", 1), 1);
	CHECK(urt_stream_write_all(&w, big, sizeof big), (ssize_t)sizeof big);
	wait_avail(x.rfd, 1 + (int)sizeof big);
	CHECK(raw_read_exact(x.rfd, buf, 1 + sizeof big), 1 + (ssize_t)sizeof big);
	cr_assert_eq(buf[0], '<');
	cr_assert_eq(memcmp(buf + 1, big, sizeof big), 0);
	urt_stream_destroy(&w);
	xp_close(&x);
	return 0;
}

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* A TCP peer that closed: -EPIPE/-ECONNRESET and no SIGPIPE. */
static int closed_peer_tcp_main(void *arg)
{
	(void)arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigpipe;
	cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
	sigpipes = 0;
	struct xp x;
	xp_open(&x, TCP);
	close(x.rfd);
	x.rfd = -1;
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	char buf[1024];
	memset(buf, 'z', sizeof buf);
	ssize_t r = 0;
	int i;
	for (i = 0; i < 10000; i++) { /* bound: a hang guard */
		r = urt_stream_write_all(&w, buf, sizeof buf);
		if (r < 0)
			break;
		cr_assert_eq(r, (ssize_t)sizeof buf);
		OK(urt_sleep_ms(1)); /* let the RST come back */
	}
	cr_assert(r == -EPIPE || r == -ECONNRESET, "write_all to closed peer: %zd (%s) after %d",
		  r, strerror((int)-r), i);
	/* A small buffered write then flush fails too. */
	CHECK(urt_stream_write(&w, "x", 1), 1);
	CHECK(urt_stream_flush(&w), -EPIPE);
	CHECK(urt_stream_write_all(&w, "y", 1), -EPIPE);
	cr_assert_eq(sigpipes, 0);
	urt_stream_destroy(&w);
	xp_close(&x);
	return 0;
}

Test(stream, write_to_closed_peer_tcp_no_sigpipe)
{
	RUN(closed_peer_tcp_main, NULL);
}

/* A pipe with no reader: -EPIPE (the kernel raises SIGPIPE for pipes, as
   write(2) does; it is ignored here). */
static int closed_peer_pipe_main(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	struct xp x;
	xp_open(&x, PIPE);
	close(x.rfd);
	x.rfd = -1;
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	CHECK(urt_stream_write(&w, "abc", 3), 3); /* buffered: no error yet */
	CHECK(urt_stream_flush(&w), -EPIPE);
	CHECK(urt_stream_write_all(&w, "abc", 3), -EPIPE);
	char big[200] = {0};
	CHECK(urt_stream_write(&w, big, sizeof big), -EPIPE); /* the unbuffered path */
	urt_stream_destroy(&w);
	xp_close(&x);
	return 0;
}

Test(stream, write_to_closed_pipe_epipe)
{
	RUN(closed_peer_pipe_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* init / free                                                            */

static void assert_all_einval(urt_stream *s)
{
	char buf[16];
	CHECK(urt_stream_read(s, buf, sizeof buf), -EINVAL);
	CHECK(urt_stream_read(s, buf, 0), -EINVAL);
	CHECK(urt_stream_read_exact(s, buf, sizeof buf), -EINVAL);
	CHECK(urt_stream_read_until(s, "\n", 1, buf, 8), -EINVAL);
	CHECK(urt_stream_readline(s, buf, 8), -EINVAL);
	CHECK(urt_stream_write(s, "abc", 3), -EINVAL);
	CHECK(urt_stream_flush(s), -EINVAL);
	CHECK(urt_stream_write_all(s, "abc", 3), -EINVAL);
}

static int init_bad_fd_main(void *arg)
{
	(void)arg;
	urt_stream s;
	CHECK(urt_stream_init(&s, -1, 64, 64), -EBADF);
	assert_all_einval(&s);
	urt_stream_destroy(&s); /* harmless after a failed init */
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	close(p[1]);
	CHECK(urt_stream_init(&s, p[0], 0, 0), -EBADF); /* a closed fd */
	assert_all_einval(&s);
	return 0;
}

Test(stream, init_bad_fd_ebadf)
{
	RUN(init_bad_fd_main, NULL);
}

/* Buffer sizes whose 64-byte round-up overflows size_t must fail
   (-ENOMEM), not yield a stream whose buffer is smaller than its size.
   The results are checked outside the loop (a failed assert inside a task
   longjmps off the task's stack, which ASan reports on its own). */
static int init_huge_main(void *arg)
{
	int *res = arg;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	urt_stream s;
	res[0] = urt_stream_init(&s, p[0], SIZE_MAX - 10, 64);
	if (res[0] == 0)
		urt_stream_destroy(&s);
	res[1] = urt_stream_init(&s, p[1], 64, SIZE_MAX - 62);
	if (res[1] == 0)
		urt_stream_destroy(&s);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(stream, init_huge_buffer_enomem)
{
	int res[2] = {12345, 12345};
	RUN(init_huge_main, res);
	CHECK(res[0], -ENOMEM); /* rbuf = SIZE_MAX - 10 */
	CHECK(res[1], -ENOMEM); /* wbuf = SIZE_MAX - 62 */
}

BOTH(calls_after_free_einval)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 0, 0)); /* default sizes */
	raw_send(&x, "line\n", 5);
	EXPECT_LINE(&s, 64, "line\n");
	urt_stream_destroy(&s);
	assert_all_einval(&s);
	urt_stream_destroy(&s); /* twice is fine */
	urt_stream_destroy(NULL); /* as is NULL, as for every release */

	/* unflushed output is dropped by free */
	urt_stream w;
	OK(urt_stream_init(&w, x.wfd, 64, 64));
	CHECK(urt_stream_write(&w, "lost", 4), 4);
	urt_stream_destroy(&w);
	assert_all_einval(&w);
	assert_nothing_sent(&x);
	/* the fd is still the caller's, open and working */
	raw_send(&x, "ok", 2);
	char buf[2];
	CHECK(raw_read_exact(x.rfd, buf, 2), 2);
	cr_assert_eq(memcmp(buf, "ok", 2), 0);
	xp_close(&x);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Cancellation and deadlines                                             */

struct liner {
	urt_stream *s;
	volatile bool started;
	ssize_t r;
	char buf[64];
};

static int liner_task(void *arg)
{
	struct liner *l = arg;
	l->started = true;
	l->r = urt_stream_readline(l->s, l->buf, sizeof l->buf);
	return (int)l->r;
}

BOTH(cancel_blocked_readline)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));

	/* idle peer */
	struct liner l = {.s = &s, .r = 12345};
	urt_task *t = spawn_ok(liner_task, &l);
	while (!l.started)
		OK(urt_yield());
	cr_assert(!urt_task_done(t));
	urt_cancel(t);
	int res = 0;
	OK(urt_wait_for(t, &res, HANG));
	CHECK(res, -ECANCELED);
	CHECK(l.r, -ECANCELED);

	/* cancelled after part of a line was buffered: the part survives */
	l = (struct liner){.s = &s, .r = 12345};
	t = spawn_ok(liner_task, &l);
	while (!l.started)
		OK(urt_yield());
	raw_send(&x, "par", 3);
	while (avail(x.rfd) != 0) /* the reader has taken it */
		OK(urt_sleep_ms(1));
	cr_assert(!urt_task_done(t));
	urt_cancel(t);
	OK(urt_wait_for(t, &res, HANG));
	CHECK(res, -ECANCELED);
	CHECK(l.r, -ECANCELED);

	/* the stream still works; nothing was lost */
	raw_send(&x, "tial\nnext\n", 10);
	OK(urt_deadline_push(HANG));
	EXPECT_LINE(&s, 64, "partial\n");
	EXPECT_LINE(&s, 64, "next\n");
	urt_deadline_pop();
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

BOTH(deadline_on_readline_then_stream_works)
{
	struct xp x;
	xp_open(&x, kind);
	urt_stream s;
	OK(urt_stream_init(&s, x.rfd, 64, 64));
	char buf[64];
	OK(urt_deadline_push(MS(20)));
	ssize_t r = urt_stream_readline(&s, buf, sizeof buf);
	urt_deadline_pop();
	CHECK(r, -ETIMEDOUT);

	/* data that arrives later is read correctly */
	raw_send(&x, "late\n", 5);
	EXPECT_LINE(&s, 64, "late\n");

	/* a deadline while part of a record is buffered */
	raw_send(&x, "par", 3);
	wait_avail(x.rfd, 3);
	OK(urt_deadline_push(MS(20)));
	r = urt_stream_read_until(&s, "\r\n", 2, buf, sizeof buf);
	urt_deadline_pop();
	CHECK(r, -ETIMEDOUT);
	cr_assert_eq(avail(x.rfd), 0); /* "par" is in the stream's buffer */
	raw_send(&x, "tial\r", 5);
	OK(urt_deadline_push(MS(20)));
	r = urt_stream_read_until(&s, "\r\n", 2, buf, sizeof buf);
	urt_deadline_pop();
	CHECK(r, -ETIMEDOUT);
	raw_send(&x, "\nrest", 5);
	EXPECT_UNTIL(&s, "\r\n", 2, 64, "partial\r\n");
	CHECK(urt_stream_read_exact(&s, buf, 4), 4);
	cr_assert_eq(memcmp(buf, "rest", 4), 0);

	/* read_exact under a deadline, then the data */
	OK(urt_deadline_push(MS(20)));
	r = urt_stream_read_exact(&s, buf, 4);
	urt_deadline_pop();
	CHECK(r, -ETIMEDOUT);
	raw_send(&x, "abcd", 4);
	CHECK(urt_stream_read_exact(&s, buf, 4), 4);
	cr_assert_eq(memcmp(buf, "abcd", 4), 0);
	urt_stream_destroy(&s);
	xp_close(&x);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Round trip                                                             */

enum { RT_LINES = 1000, RT_MAXLINE = 200 };

/* Line i of the exchange (seeded): 1..200 bytes, the last one '\n'. */
static size_t rt_line(uint32_t *rng, char *out)
{
	*rng = *rng * 1103515245u + 12345u;
	size_t len = 1 + (*rng >> 8) % RT_MAXLINE;
	for (size_t j = 0; j + 1 < len; j++) {
		*rng = *rng * 1103515245u + 12345u;
		char c = (char)(*rng >> 16);
		out[j] = c == '\n' ? '.' : c; /* any byte but the delimiter */
	}
	out[len - 1] = '\n';
	return len;
}

struct rt {
	int kind;
	int c_r, c_w, s_r, s_w; /* client read/write, server read/write fds */
	int lines;              /* echoed by the server */
};

static void half_close(int kind, int fd)
{
	if (kind == TCP)
		OK(urt_shutdown(fd, SHUT_WR));
	else
		close(fd);
}

static int rt_server(void *arg)
{
	struct rt *rt = arg;
	urt_stream rs, ws, *w = &rs;
	OK(urt_stream_init(&rs, rt->s_r, 300, 128));
	if (rt->s_w != rt->s_r) {
		OK(urt_stream_init(&ws, rt->s_w, 300, 128));
		w = &ws;
	}
	char buf[256];
	for (;;) {
		ssize_t n = urt_stream_readline(&rs, buf, sizeof buf);
		if (n == 0)
			break;
		cr_assert_gt(n, (ssize_t)0, "server readline");
		CHECK(urt_stream_write(w, buf, (size_t)n), n);
		if (++rt->lines % 5 == 0)
			OK(urt_stream_flush(w));
	}
	OK(urt_stream_flush(w));
	half_close(rt->kind, rt->s_w);
	urt_stream_destroy(&rs);
	if (w != &rs)
		urt_stream_destroy(&ws);
	return 0;
}

static int rt_client_writer(void *arg)
{
	struct rt *rt = arg;
	urt_stream ws;
	OK(urt_stream_init(&ws, rt->c_w, 256, 100));
	uint32_t rng = 4242;
	char line[RT_MAXLINE];
	for (int i = 0; i < RT_LINES; i++) {
		size_t len = rt_line(&rng, line);
		CHECK(urt_stream_write(&ws, line, len), len);
		if (i % 17 == 0)
			OK(urt_stream_flush(&ws));
		if (i % 97 == 0)
			OK(urt_yield());
	}
	OK(urt_stream_flush(&ws));
	half_close(rt->kind, rt->c_w);
	urt_stream_destroy(&ws);
	return 0;
}

BOTH(round_trip_1000_lines)
{
	struct rt rt = {.kind = kind};
	struct xp a, b;
	xp_open(&a, kind);
	if (kind == TCP) {
		rt.c_r = rt.c_w = a.wfd;
		rt.s_r = rt.s_w = a.rfd;
	} else {
		xp_open(&b, kind);
		rt.c_w = a.wfd;
		rt.s_r = a.rfd;
		rt.s_w = b.wfd;
		rt.c_r = b.rfd;
	}
	urt_task *srv = spawn_ok(rt_server, &rt);
	urt_task *cw = spawn_ok(rt_client_writer, &rt);
	urt_stream rs;
	OK(urt_stream_init(&rs, rt.c_r, 256, 64));
	uint32_t rng = 4242;
	char want[RT_MAXLINE], got[256];
	for (int i = 0; i < RT_LINES; i++) {
		size_t len = rt_line(&rng, want);
		ssize_t r = urt_stream_readline(&rs, got, sizeof got);
		cr_assert_eq(r, (ssize_t)len, "line %d", i);
		cr_assert_eq(memcmp(got, want, len), 0, "line %d differs", i);
	}
	CHECK(urt_stream_readline(&rs, got, sizeof got), 0);
	CHECK(join_ok(cw), 0);
	CHECK(join_ok(srv), 0);
	cr_assert_eq(rt.lines, RT_LINES);
	urt_stream_destroy(&rs);
	if (kind == TCP) {
		xp_close(&a);
	} else {
		a.wfd = -1; /* closed by the half-closes */
		b.wfd = -1;
		xp_close(&a);
		xp_close(&b);
	}
	return 0;
}
