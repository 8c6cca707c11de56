/* SPDX-License-Identifier: MIT */
/*
 * Provided-buffer rings and multishot receivers (the opt-in receive fast
 * path; see urt.h).
 *
 * A bufring is nbufs buffers plus an io_uring_buf_ring through which the
 * kernel takes free ones. liburing 2.3 has io_uring_register_buf_ring but
 * not io_uring_setup_buf_ring, so the ring is mapped here: it must be
 * page-aligned, hence mmap rather than malloc.
 *
 * A receiver keeps one multishot recv armed (IOSQE_BUFFER_SELECT). Every
 * CQE names a buffer the kernel filled; the receiver queues it until its
 * task takes it, lends it to the caller until the next call, then puts it
 * back in the ring. Queues are linked through the bufring's per-buffer
 * next[] array (a buffer is in at most one queue), so they never allocate.
 *
 * The request ends (a CQE without IORING_CQE_F_MORE) at EOF, on an error,
 * when the ring runs dry (-ENOBUFS), on a CQ overflow, or when cancelled.
 * The receiver re-arms lazily, at the next urt_receiver_recv, so a dry
 * pool is not hammered by re-arms that fail at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uring/op.h"

struct urt_bufring {
	struct io_uring_buf_ring *ring; /* shared with the kernel */
	size_t ring_bytes;
	char *mem;          /* buffer i at mem + i * stride */
	size_t buf_size, stride;
	uint16_t *next;     /* receiver queue links, per buffer */
	uint32_t *len;      /* bytes received into each queued buffer */
	unsigned nbufs, mask;
	unsigned avail;     /* buffers in the ring, free for the kernel to take */
	unsigned refs;      /* receivers, plus one until urt_bufring_free */
	uint16_t bgid;
	struct urt_list link; /* loop->bufrings */
};

#define NO_BUF 0xffffu

struct urt_receiver {
	struct urt__multi m;
	urt_bufring *br;
	int fd;
	bool armed;     /* the multishot request is in flight */
	bool fallback;  /* one plain recv per call into priv */
	bool ever_ok;
	bool orphan;    /* freed by the user: freed itself once the request's
			   last CQE is in and no task is inside recv */
	bool eof;
	urt_task *busy; /* the task inside urt_receiver_recv, if any */
	int err;        /* sticky error, reported once the queue is drained */
	uint16_t head, tail; /* queued buffers, NO_BUF when empty */
	uint16_t cur;   /* buffer lent to the caller, NO_BUF if none */
	urt_task *waiter;
	char *priv;     /* private buffer for the fallback and a dry pool */
};

/* Put buffer bid back in the ring for the kernel to fill. */
static void recycle(urt_bufring *br, uint16_t bid)
{
	if (!br->ring) { /* epoll: no ring to give it to */
		br->avail++;
		return;
	}
	io_uring_buf_ring_add(br->ring, br->mem + (size_t)bid * br->stride, (unsigned)br->buf_size,
			      bid, br->mask, 0);
	/* the release store in advance orders the entry before the new tail */
	io_uring_buf_ring_advance(br->ring, 1);
	br->avail++;
}

static void bufring_destroy(urt_bufring *br, bool unregister)
{
	if (unregister && br->ring)
		io_uring_unregister_buf_ring(URT__RING(urt__L), br->bgid);
	urt__list_del(&br->link);
	if (br->ring) /* (none on epoll) */
		munmap(br->ring, br->ring_bytes);
	free(br->mem);
	free(br->next);
	free(br->len);
	free(br);
}

static void bufring_put(urt_bufring *br)
{
	if (--br->refs == 0)
		bufring_destroy(br, true);
}

static void bufrings_free_all(struct urt_loop *L);

int urt_bufring_new(unsigned nbufs, size_t buf_size, urt_bufring **out)
{
	struct urt_loop *L = urt__L;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!L)
		return -EPERM;
	if (nbufs == 0 || nbufs > 32768 || (nbufs & (nbufs - 1)) || buf_size == 0 ||
	    buf_size > INT32_MAX)
		return -EINVAL;
	urt_bufring *br = calloc(1, sizeof *br);
	if (!br)
		return -ENOMEM;
	urt__list_init(&br->link);
	br->nbufs = nbufs;
	br->mask = (unsigned)io_uring_buf_ring_mask(nbufs);
	br->buf_size = buf_size;
	br->stride = (buf_size + 63) & ~(size_t)63; /* 64-byte aligned: fast kernel copies */
	long page = sysconf(_SC_PAGESIZE);
	br->ring_bytes = (nbufs * sizeof(struct io_uring_buf) + (size_t)page - 1) & ~((size_t)page - 1);
	int r = -ENOMEM;
	if (br->stride > SIZE_MAX / nbufs)
		goto fail;
	if (!urt__on_uring(L)) {
		/* epoll: the buffers exist (urt_bufring_* work), but receivers
		   use their plain fallback and nothing is registered */
		br->mem = aligned_alloc(4096, (br->stride * nbufs + 4095) & ~(size_t)4095);
		br->next = malloc(nbufs * sizeof *br->next);
		br->len = malloc(nbufs * sizeof *br->len);
		if (!br->mem || !br->next || !br->len)
			goto fail;
		br->avail = nbufs;
		br->refs = 1;
		urt__list_add_tail(&L->bufrings, &br->link);
		urt__close_hook_add(L, bufrings_free_all, URT__CLOSE_SHARED);
		*out = br;
		return 0;
	}
	br->ring = mmap(NULL, br->ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (br->ring == MAP_FAILED) {
		br->ring = NULL;
		goto fail;
	}
	br->mem = aligned_alloc(4096, (br->stride * nbufs + 4095) & ~(size_t)4095);
	br->next = malloc(nbufs * sizeof *br->next);
	br->len = malloc(nbufs * sizeof *br->len);
	if (!br->mem || !br->next || !br->len)
		goto fail;
	/* find a free group id (ids of freed rings are reused after a wrap) */
	for (unsigned tries = 0; tries < 65536; tries++) {
		struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br->ring,
					       .ring_entries = nbufs,
					       .bgid = L->next_bgid++};
		r = io_uring_register_buf_ring(URT__RING(L), &reg, 0);
		if (r != -EEXIST) {
			br->bgid = reg.bgid;
			break;
		}
	}
	if (r)
		goto fail;
	io_uring_buf_ring_init(br->ring);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(br->ring, br->mem + (size_t)i * br->stride, (unsigned)buf_size,
				      (unsigned short)i, br->mask, (int)i);
	io_uring_buf_ring_advance(br->ring, (int)nbufs);
	br->avail = nbufs;
	br->refs = 1;
	urt__list_add_tail(&L->bufrings, &br->link);
	urt__close_hook_add(L, bufrings_free_all, URT__CLOSE_SHARED);
	*out = br;
	return 0;
fail:
	if (br->ring)
		munmap(br->ring, br->ring_bytes);
	free(br->mem);
	free(br->next);
	free(br->len);
	free(br);
	return r;
}

void urt_bufring_free(urt_bufring *br)
{
	if (br)
		bufring_put(br);
}

static void bufrings_free_all(struct urt_loop *L)
{
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &L->bufrings)
		bufring_destroy(urt__container_of(pos, urt_bufring, link), false); /* ring is gone */
}

/* ---------------------------------------------------------------------- */
/* Receivers                                                               */

static void enqueue(urt_receiver *r, uint16_t bid, uint32_t len)
{
	urt_bufring *br = r->br;
	br->next[bid] = NO_BUF;
	br->len[bid] = len;
	if (r->tail == NO_BUF)
		r->head = bid;
	else
		br->next[r->tail] = bid;
	r->tail = bid;
}

/* Give every buffer the receiver holds back to the ring. */
static void release_all(urt_receiver *r)
{
	if (r->cur != NO_BUF) {
		recycle(r->br, r->cur);
		r->cur = NO_BUF;
	}
	while (r->head != NO_BUF) {
		uint16_t bid = r->head;
		r->head = r->br->next[bid];
		recycle(r->br, bid);
	}
	r->tail = NO_BUF;
}

static void receiver_destroy(struct urt__multi *m)
{
	urt_receiver *r = urt__container_of(m, urt_receiver, m);
	urt__list_del(&r->m.link);
	bufring_put(r->br);
	free(r->priv);
	free(r);
}

/* At loop close the ring is already gone: no recycling, no unregistering. */
static void receiver_destroy_at_close(struct urt__multi *m)
{
	urt_receiver *r = urt__container_of(m, urt_receiver, m);
	r->br->refs--; /* bufrings_free_all, a later close hook, frees the pool itself */
	urt__list_del(&r->m.link);
	free(r->priv);
	free(r);
}

static void receiver_on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	urt_receiver *r = urt__container_of(m, urt_receiver, m);
	bool more = flags & IORING_CQE_F_MORE;
	if (!more)
		r->armed = false;
	if (flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
		r->br->avail--;
		if (r->orphan || res <= 0) {
			recycle(r->br, bid);
		} else {
			r->ever_ok = true;
			enqueue(r, bid, (uint32_t)res);
		}
	} else if (!r->orphan) {
		if (res == 0)
			r->eof = true;
		else if (res == -EINVAL && !r->ever_ok && !more)
			r->fallback = true; /* no multishot recv in this kernel */
		else if (res < 0 && res != -ENOBUFS)
			r->err = res; /* -ENOBUFS just ends the request: re-armed lazily */
	}
	if (r->orphan) {
		if (!more && !r->busy)
			receiver_destroy(m);
		return;
	}
	if (r->waiter) {
		urt__wake(r->waiter, 0);
		r->waiter = NULL;
	}
}

int urt_receiver_new(int fd, urt_bufring *br, urt_receiver **out)
{
	struct urt_loop *L = urt__L;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!L)
		return -EPERM;
	if (!br)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	urt_receiver *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->m.on_cqe = receiver_on_cqe;
	r->m.destroy = receiver_destroy_at_close;
	r->br = br;
	br->refs++;
	r->fd = fd;
	r->head = r->tail = r->cur = NO_BUF;
	r->fallback = (L->opt_flags & URT_OPT_NO_MULTISHOT) || !urt__on_uring(L); /* epoll: plain recv */
	urt__list_add_tail(&L->multis, &r->m.link);
	urt__close_hook_add(L, urt__multis_free_all, URT__CLOSE_OBJECTS);
	*out = r;
	return 0;
}

static void arm(urt_receiver *r)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_recv_multishot(sqe, r->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = r->br->bgid;
	urt__sqe_queue(sqe, (uint64_t)(uintptr_t)&r->m | URT__UD_MULTI);
	r->armed = true;
}

/* One plain recv into the private buffer: the fallback, and the way past a
   pool that is dry with nothing queued. */
static ssize_t recv_private(urt_receiver *r, const void **data)
{
	if (!r->priv) {
		r->priv = aligned_alloc(64, r->br->stride);
		if (!r->priv)
			return -ENOMEM;
	}
	ssize_t n = urt_recv(r->fd, r->priv, r->br->buf_size, 0);
	if (n > 0)
		*data = r->priv;
	return n;
}

static ssize_t receive(urt_receiver *r, const void **data);

ssize_t urt_receiver_recv(urt_receiver *r, const void **data)
{
	if (!r || !data)
		return -EINVAL;
	if (r->busy)
		return -EBUSY;
	int c = urt__op_check();
	if (c)
		return c;
	if (r->cur != NO_BUF) {
		recycle(r->br, r->cur);
		r->cur = NO_BUF;
	}
	/* r stays alive while a task is in here, even if it is freed meanwhile */
	r->busy = urt__L->current;
	ssize_t n = receive(r, data);
	r->busy = NULL;
	if (r->orphan) { /* urt_receiver_free ran while we waited */
		if (!r->armed)
			receiver_destroy(&r->m);
		return -ECANCELED; /* a chunk received meanwhile went with it */
	}
	return n;
}

static ssize_t receive(urt_receiver *r, const void **data)
{
	urt_task *t = urt__L->current;
	urt_bufring *br = r->br;
	for (;;) {
		if (r->head != NO_BUF) {
			uint16_t bid = r->head;
			r->head = br->next[bid];
			if (r->head == NO_BUF)
				r->tail = NO_BUF;
			r->cur = bid;
			*data = br->mem + (size_t)bid * br->stride;
			return br->len[bid];
		}
		if (r->err)
			return r->err;
		if (r->eof)
			return 0;
		if (r->fallback)
			return recv_private(r, data);
		if (!r->armed) {
			if (br->avail == 0)
				return recv_private(r, data); /* nothing to arm with */
			arm(r);
		}
		r->waiter = t;
		int w = urt__wait_user(t->deadline);
		r->waiter = NULL;
		if (r->orphan)
			return -ECANCELED;
		if (w < 0)
			return w;
	}
}

/*
 * A task waiting in urt_receiver_recv is woken (or its private recv
 * cancelled) and returns -ECANCELED; the object outlives it and the
 * request's last CQE, then frees itself.
 */
void urt_receiver_free(urt_receiver *r)
{
	if (!r)
		return;
	release_all(r);
	r->orphan = true;
	if (r->waiter) {
		urt__wake(r->waiter, 0); /* it sees orphan and leaves */
		r->waiter = NULL;
	} else if (r->busy && r->busy->state == URT__WAIT_IO) {
		urt__op_cancel(r->busy); /* its recv into r->priv */
	}
	if (r->armed)
		urt__cancel_ud((uint64_t)(uintptr_t)&r->m | URT__UD_MULTI);
	else if (!r->busy)
		receiver_destroy(&r->m);
}
