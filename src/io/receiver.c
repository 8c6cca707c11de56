/* SPDX-License-Identifier: MIT */
/*
 * Provided-buffer rings and multishot receivers (the opt-in receive fast
 * path; see urt.h).
 *
 * A bufring is nbufs buffers plus the backend's ring through which the
 * kernel takes free ones (struct urt__backend: bufring_*; io_uring's
 * io_uring_buf_ring). On a backend without one the buffers still exist and
 * receivers use their plain fallback.
 *
 * A receiver keeps one multishot recv armed (the backend's recv_multi,
 * buffers selected from the ring), with the life of io/multishot.h. Every
 * completion names a buffer the kernel filled; the receiver queues it until its
 * task takes it, lends it to the caller until the next call, then puts it
 * back in the ring. Queues are linked through the bufring's per-buffer
 * next[] array (a buffer is in at most one queue), so they never allocate.
 *
 * The request ends (a completion without URT__MORE) at EOF, on an error,
 * when the ring runs dry (-ENOBUFS), on a CQ overflow, or when cancelled.
 * The receiver re-arms lazily, at the next urt_receiver_recv, so a dry
 * pool is not hammered by re-arms that fail at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/multishot.h"

struct urt_bufring {
	void *ring;         /* the backend's, shared with the kernel (NULL: none) */
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
	struct urt__mshot s; /* first: its m is the multishot record; fallback:
				one plain recv per call into priv */
	urt_bufring *br;
	bool eof;
	urt_task *task; /* the task inside urt_receiver_recv, if any (s.busy) */
	int err;        /* sticky error, reported once the queue is drained */
	uint16_t head, tail; /* queued buffers, NO_BUF when empty */
	uint16_t cur;   /* buffer lent to the caller, NO_BUF if none */
	urt_task *waiter;
	char *priv;     /* private buffer for the fallback and a dry pool */
};

/* Put buffer bid back in the ring for the kernel to fill. */
static void recycle(urt_bufring *br, uint16_t bid)
{
	if (br->ring) /* (none: no ring to give it to) */
		urt__L->be->bufring_recycle(br->ring, br->mem + (size_t)bid * br->stride,
					    (unsigned)br->buf_size, bid, br->nbufs);
	br->avail++;
}

static void bufring_destroy(urt_bufring *br, bool unregister)
{
	if (br->ring)
		urt__L->be->bufring_unregister(urt__L, br->ring, br->ring_bytes,
					       unregister ? br->bgid : -1);
	urt__list_del(&br->link);
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
	br->mask = nbufs - 1;
	br->buf_size = buf_size;
	br->stride = (buf_size + 63) & ~(size_t)63; /* 64-byte aligned: fast kernel copies */
	int r = -ENOMEM;
	if (br->stride > SIZE_MAX / nbufs)
		goto fail;
	br->mem = aligned_alloc(4096, (br->stride * nbufs + 4095) & ~(size_t)4095);
	br->next = malloc(nbufs * sizeof *br->next);
	br->len = malloc(nbufs * sizeof *br->len);
	if (!br->mem || !br->next || !br->len)
		goto fail;
	if (L->be->bufring_register) {
		r = L->be->bufring_register(L, &br->ring, &br->ring_bytes, br->mem, buf_size,
					    br->stride, nbufs, &br->bgid);
		if (r)
			goto fail;
	}
	br->avail = nbufs;
	br->refs = 1;
	urt__list_add_tail(&L->bufrings, &br->link);
	urt__close_hook_add(L, bufrings_free_all, URT__CLOSE_SHARED);
	*out = br;
	return 0;
fail:
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
	urt_receiver *r = urt__container_of(m, urt_receiver, s.m);
	urt__list_del(&r->s.m.link);
	bufring_put(r->br);
	free(r->priv);
	free(r);
}

/* At loop close the ring is already gone: no recycling, no unregistering. */
static void receiver_destroy_at_close(struct urt__multi *m)
{
	urt_receiver *r = urt__container_of(m, urt_receiver, s.m);
	r->br->refs--; /* bufrings_free_all, a later close hook, frees the pool itself */
	urt__list_del(&r->s.m.link);
	free(r->priv);
	free(r);
}

static void receiver_on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	urt_receiver *r = urt__container_of(m, urt_receiver, s.m);
	bool refused;
	urt__mshot_cqe(&r->s, res, flags, &refused);
	if (flags & URT__BUF) {
		uint16_t bid = (uint16_t)(flags >> URT__BUF_SHIFT);
		r->br->avail--;
		if (r->s.orphan || res <= 0) {
			recycle(r->br, bid);
		} else {
			r->s.ever_ok = true;
			enqueue(r, bid, (uint32_t)res);
		}
	} else if (!r->s.orphan && !refused) { /* refused: no multishot recv here */
		if (res == 0)
			r->eof = true;
		else if (res < 0 && res != -ENOBUFS)
			r->err = res; /* -ENOBUFS just ends the request: re-armed lazily */
	}
	if (r->s.orphan) {
		if (urt__mshot_gone(&r->s))
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
	r->br = br;
	br->refs++;
	r->head = r->tail = r->cur = NO_BUF;
	urt__mshot_init(&r->s, L, fd, L->be->recv_multi && br->ring, receiver_on_cqe,
			receiver_destroy_at_close);
	*out = r;
	return 0;
}

static void arm(urt_receiver *r)
{
	urt__L->be->recv_multi(&r->s.m, r->s.fd, r->br->bgid);
	r->s.armed = true;
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
	ssize_t n = urt_recv(r->s.fd, r->priv, r->br->buf_size, 0);
	if (n > 0)
		*data = r->priv;
	return n;
}

static ssize_t receive(urt_receiver *r, const void **data);

ssize_t urt_receiver_recv(urt_receiver *r, const void **data)
{
	if (!r || !data)
		return -EINVAL;
	if (r->s.busy)
		return -EBUSY;
	int c = urt__op_check();
	if (c)
		return c;
	if (r->cur != NO_BUF) {
		recycle(r->br, r->cur);
		r->cur = NO_BUF;
	}
	/* r stays alive while a task is in here, even if it is freed meanwhile */
	r->s.busy = 1;
	r->task = urt__L->current;
	ssize_t n = receive(r, data);
	r->s.busy = 0;
	r->task = NULL;
	if (r->s.orphan) { /* urt_receiver_free ran while we waited */
		if (urt__mshot_gone(&r->s))
			receiver_destroy(&r->s.m);
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
		if (r->s.fallback)
			return recv_private(r, data);
		if (!r->s.armed) {
			if (br->avail == 0)
				return recv_private(r, data); /* nothing to arm with */
			arm(r);
		}
		r->waiter = t;
		int w = urt__wait_user(t->deadline);
		r->waiter = NULL;
		if (r->s.orphan)
			return -ECANCELED;
		if (w < 0)
			return w;
	}
}

/*
 * A task waiting in urt_receiver_recv is woken (or its private recv
 * cancelled) and returns -ECANCELED; the object outlives it and the
 * request's last completion, then frees itself.
 */
void urt_receiver_free(urt_receiver *r)
{
	if (!r)
		return;
	release_all(r);
	urt__mshot_orphan(&r->s);
	if (r->waiter) {
		urt__wake(r->waiter, 0); /* it sees orphan and leaves */
		r->waiter = NULL;
	} else if (r->task && r->task->state == URT__WAIT_IO) {
		urt__op_cancel(r->task); /* its recv into r->priv */
	}
	if (urt__mshot_gone(&r->s))
		receiver_destroy(&r->s.m);
}
