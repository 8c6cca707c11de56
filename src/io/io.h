/* SPDX-License-Identifier: MIT */
/* What the files of io/ share beyond io/req.h. */
#ifndef URT__IO_IO_H
#define URT__IO_IO_H

#include <sys/types.h>

/* registered.c: close fd now, without an op (outside a task, or where
   waiting is not wanted); a fixed fd empties its slot. */
int urt__close_sync(int fd);

/* stream.c: a transform between a stream's buffers and its fd (TLS, in
   tls/, installs one; the stream calls down through these, never up). */
struct urt__stream_layer {
	ssize_t (*read)(void *l, void *buf, size_t n);         /* as urt_recv */
	ssize_t (*write)(void *l, const void *buf, size_t n);  /* all n or -errno */
	int (*shutdown)(void *l);                              /* end the write side */
	void (*free)(void *l); /* cancels and waits for calls in flight */
};

#endif
