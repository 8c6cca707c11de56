/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the stream reader (src/io/stream.c): read_until,
 * readline, read and read_exact over a pipe or a socketpair that a writer
 * task fills in chunks whose sizes come from the input.
 *
 * Input: [flags][rcap][nops][op kind, op arg]... then chunks, each [len]
 * followed by len bytes (the last one may be short). The writer writes a
 * chunk only once the previous one has been read from the fd (FIONREAD is
 * 0), so the reader sees exactly those boundaries, split further only by
 * its own buffer: the chunking is the input's, and replays are exact.
 *
 * The check is a property check against a reference that has the whole
 * byte string at hand: every result must be what the reference says,
 * whatever the chunking (read_until's answer never depends on it), every
 * byte comes out once and in order, delimiters end records and max bounds
 * them. The loop is made once (a ring per input would cost more than the
 * input); each input gets its own fds and tasks, joined before it returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urt.h>

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define MAX_OPS 8
#define MAX_STEPS 4096 /* ops per input: each consumes or fails */

static const struct { const char *d; size_t n; } delims[] = {
	{"\n", 1}, {"\r\n", 2}, {"\r\n\r\n", 4}, {"aa", 2}, {"aab", 3}, {"abab", 4}, {"\0", 1},
};
#define NDELIMS (sizeof delims / sizeof delims[0])

enum { OP_READLINE, OP_UNTIL, OP_READ, OP_EXACT, OP_KINDS };

struct op {
	int kind;
	unsigned delim;  /* OP_UNTIL: index into delims */
	size_t n;        /* max (0 and rcap + 1 included) or the read's size */
};

struct run {
	const uint8_t *chunks;  /* [len][bytes]... */
	size_t chunks_len;
	uint8_t *data;          /* the byte string the chunks make */
	size_t total;
	size_t rcap;
	bool sock;
	struct op ops[MAX_OPS];
	unsigned nops;
	int rfd, wfd;
	bool reader_done;       /* the writer stops waiting for it */
};

static size_t unread(int fd)
{
	int n = 0;
	CHECK(ioctl(fd, FIONREAD, &n) == 0);
	return (size_t)n;
}

/* Writes the chunks one at a time, each once the last has been read. */
static int writer(void *arg)
{
	struct run *r = arg;
	size_t i = 0;
	while (i < r->chunks_len && !r->reader_done) {
		size_t len = r->chunks[i++];
		if (len > r->chunks_len - i)
			len = r->chunks_len - i;
		if (len) {
			ssize_t w = r->sock ? urt_send_all(r->wfd, r->chunks + i, len, 0, NULL)
					    : urt_write_all(r->wfd, r->chunks + i, len, -1);
			CHECK(w == (ssize_t)len);
		}
		i += len;
		while (!r->reader_done && unread(r->rfd))
			CHECK(urt_yield() == 0);
	}
	/* EOF: the reader's last reads see it (urt_close: the epoll backend
	   may hold a registration for the fd) */
	CHECK(urt_close(r->wfd) == 0);
	r->wfd = -1;
	return 0;
}

/* The reference for read_until: the record length, or the expected error. */
static ssize_t ref_until(const struct run *r, size_t pos, const void *d, size_t dlen, size_t max)
{
	if (max > r->rcap)
		return -EINVAL;
	size_t rest = r->total - pos;
	const uint8_t *hit = memmem(r->data + pos, rest, d, dlen);
	if (hit && (size_t)(hit - (r->data + pos)) + dlen <= max)
		return (ssize_t)((size_t)(hit - (r->data + pos)) + dlen);
	if (rest >= max)
		return -EMSGSIZE;
	return rest ? -ENODATA : 0;
}

/* One op against the reference; the bytes consumed; *eof when it saw the end. */
static size_t step(struct run *r, urt_stream *s, const struct op *op, size_t pos, bool *eof)
{
	size_t rest = r->total - pos;
	/* exactly the size asked for: ASan catches a write past it */
	uint8_t *buf = malloc(op->n ? op->n : 1);
	CHECK(buf);
	ssize_t got, want;
	size_t took = 0;
	switch (op->kind) {
	case OP_READLINE:
	case OP_UNTIL: {
		const void *d = op->kind == OP_READLINE ? "\n" : delims[op->delim].d;
		size_t dlen = op->kind == OP_READLINE ? 1 : delims[op->delim].n;
		want = ref_until(r, pos, d, dlen, op->n);
		got = op->kind == OP_READLINE ? urt_stream_readline(s, (char *)buf, op->n)
					      : urt_stream_read_until(s, d, dlen, buf, op->n);
		CHECK(got == want);
		if (got > 0) {
			CHECK(!memcmp(buf, r->data + pos, (size_t)got));
			/* the record ends with the delimiter and holds no earlier one */
			CHECK(!memcmp(buf + got - dlen, d, dlen));
			CHECK(!memmem(buf, (size_t)got - 1, d, dlen) ||
			      memmem(buf, (size_t)got - 1, d, dlen) == buf + got - dlen);
			took = (size_t)got;
		}
		*eof = got == 0 || got == -ENODATA;
		break;
	}
	case OP_READ:
		got = urt_stream_read(s, buf, op->n);
		if (!rest || !op->n) {
			CHECK(got == 0);
		} else {
			CHECK(got >= 1 && (size_t)got <= op->n && (size_t)got <= rest);
			CHECK(!memcmp(buf, r->data + pos, (size_t)got));
			took = (size_t)got;
		}
		*eof = op->n && !rest;
		break;
	default: /* OP_EXACT */
		got = urt_stream_read_exact(s, buf, op->n);
		want = (ssize_t)(op->n < rest ? op->n : rest);
		CHECK(got == want);
		CHECK(!memcmp(buf, r->data + pos, (size_t)got));
		took = (size_t)got;
		*eof = op->n > rest;
		break;
	}
	free(buf);
	return took;
}

static int reader(void *arg)
{
	struct run *r = arg;
	urt_task *w = urt_spawn(writer, r);
	CHECK(w);
	urt_stream s;
	CHECK(urt_stream_init(&s, r->rfd, r->rcap, 16) == 0);

	size_t pos = 0;
	unsigned idle = 0; /* ops in a row that consumed nothing */
	bool eof = false;
	for (unsigned i = 0; i < MAX_STEPS && !eof && idle <= r->nops; i++) {
		size_t took = step(r, &s, &r->ops[i % r->nops], pos, &eof);
		pos += took;
		idle = took ? 0 : idle + 1;
	}
	/* the rest comes out with plain reads, in order, then EOF */
	uint8_t tail[97];
	ssize_t n;
	while ((n = urt_stream_read(&s, tail, sizeof tail)) > 0) {
		CHECK((size_t)n <= r->total - pos && !memcmp(tail, r->data + pos, (size_t)n));
		pos += (size_t)n;
	}
	CHECK(n == 0 && pos == r->total);

	r->reader_done = true;
	CHECK(urt_join(w, NULL) == 0);
	urt_stream_destroy(&s);
	CHECK(urt_close(r->rfd) == 0);
	return 0;
}

/* The input's header into r; false when it is too short to have one. */
static bool decode(struct run *r, const uint8_t *in, size_t n)
{
	if (n < 3)
		return false;
	r->sock = in[0] & 1;
	r->rcap = 1 + in[1] % 96;
	r->nops = in[2] % (MAX_OPS + 1);
	in += 3, n -= 3;
	if (n < 2 * r->nops)
		return false;
	for (unsigned i = 0; i < r->nops; i++, in += 2, n -= 2) {
		struct op *op = &r->ops[i];
		op->kind = in[0] % OP_KINDS;
		op->delim = (in[0] / OP_KINDS) % NDELIMS;
		/* 254: max 0; 255: max past the buffer (-EINVAL); reads of
		   up to twice the buffer (large ones skip it) */
		if (op->kind == OP_READ || op->kind == OP_EXACT)
			op->n = in[1] % (2 * r->rcap + 1);
		else
			op->n = in[1] == 254 ? 0 : in[1] == 255 ? r->rcap + 1 : 1 + in[1] % r->rcap;
	}
	if (!r->nops) { /* lines, as long as the buffer allows */
		r->ops[0] = (struct op){.kind = OP_READLINE, .n = r->rcap};
		r->nops = 1;
	}
	r->chunks = in;
	r->chunks_len = n;
	/* the byte string the chunks make */
	r->data = malloc(n ? n : 1);
	CHECK(r->data);
	r->total = 0;
	for (size_t i = 0; i < n;) {
		size_t len = in[i++];
		if (len > n - i)
			len = n - i;
		memcpy(r->data + r->total, in + i, len);
		r->total += len;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static urt_loop *loop;
	if (!loop)
		CHECK(urt_loop_new(NULL, &loop) == 0);

	struct run r = {0};
	if (!decode(&r, data, size))
		return 0;
	int fds[2];
	if (r.sock)
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
	else
		CHECK(pipe2(fds, O_CLOEXEC) == 0);
	r.rfd = fds[0], r.wfd = fds[1];

	urt_task *t = urt_loop_spawn(loop, reader, &r);
	CHECK(t);
	int res = -1;
	CHECK(urt_loop_run_until(loop, t, &res) == 0 && res == 0);
	CHECK(r.wfd == -1);
	free(r.data);
	return 0;
}
