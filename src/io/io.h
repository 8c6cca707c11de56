/* SPDX-License-Identifier: MIT */
/* What the files of io/ share beyond io/req.h. */
#ifndef URT__IO_IO_H
#define URT__IO_IO_H

/* registered.c: close fd now, without an op (outside a task, or where
   waiting is not wanted); a fixed fd empties its slot. */
int urt__close_sync(int fd);

#endif
