/* SPDX-License-Identifier: MIT */
/*
 * The io_uring side of the objects io/ keeps for multishot requests
 * (io/acceptor.c, io/receiver.c): the requests themselves, their cancel,
 * and provided-buffer rings. struct urt__backend's multishot calls.
 *
 * liburing 2.3 has io_uring_register_buf_ring but not
 * io_uring_setup_buf_ring, so the buffer ring is mapped here: it must be
 * page-aligned, hence mmap rather than malloc.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/uring/op.h"

void urt__uring_accept_multi(struct urt__multi *m, int fd, int flags)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, flags);
	urt__sqe_queue(sqe, (uint64_t)(uintptr_t)m | URT__UD_MULTI);
}

void urt__uring_recv_multi(struct urt__multi *m, int fd, unsigned bgid)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)bgid;
	urt__sqe_queue(sqe, (uint64_t)(uintptr_t)m | URT__UD_MULTI);
}

void urt__uring_multi_cancel(struct urt__multi *m)
{
	urt__cancel_ud((uint64_t)(uintptr_t)m | URT__UD_MULTI);
}

/* Every op on fd, fire and forget: each waiter sees its own -ECANCELED. */
int urt__uring_cancel_fd(struct urt_loop *L, int fd)
{
	(void)L;
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
	urt__sqe_queue(sqe, URT__UD_IGNORE);
	return 0;
}

int urt__uring_bufring_register(struct urt_loop *L, void **ringp, size_t *ring_bytes, char *mem,
				size_t buf_size, size_t stride, unsigned nbufs, uint16_t *bgid)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t bytes = (nbufs * sizeof(struct io_uring_buf) + (size_t)page - 1) & ~((size_t)page - 1);
	struct io_uring_buf_ring *ring = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED)
		return -ENOMEM;
	/* find a free group id (ids of freed rings are reused after a wrap) */
	int r = -ENOMEM;
	for (unsigned tries = 0; tries < 65536; tries++) {
		struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)ring,
					       .ring_entries = nbufs,
					       .bgid = L->next_bgid++};
		r = io_uring_register_buf_ring(URT__RING(L), &reg, 0);
		if (r != -EEXIST) {
			*bgid = reg.bgid;
			break;
		}
	}
	if (r) {
		munmap(ring, bytes);
		return r;
	}
	int mask = io_uring_buf_ring_mask(nbufs);
	io_uring_buf_ring_init(ring);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(ring, mem + (size_t)i * stride, (unsigned)buf_size,
				      (unsigned short)i, mask, (int)i);
	io_uring_buf_ring_advance(ring, (int)nbufs);
	*ringp = ring;
	*ring_bytes = bytes;
	return 0;
}

void urt__uring_bufring_recycle(void *ring, char *buf, unsigned buf_size, uint16_t bid,
				unsigned nbufs)
{
	io_uring_buf_ring_add(ring, buf, buf_size, bid, io_uring_buf_ring_mask(nbufs), 0);
	/* the release store in advance orders the entry before the new tail */
	io_uring_buf_ring_advance(ring, 1);
}

void urt__uring_bufring_unregister(struct urt_loop *L, void *ring, size_t ring_bytes, int bgid)
{
	if (bgid >= 0)
		io_uring_unregister_buf_ring(URT__RING(L), bgid);
	munmap(ring, ring_bytes);
}
