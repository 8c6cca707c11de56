/* SPDX-License-Identifier: MIT */
/* What the files of exec/ share. */
#ifndef URT__EXEC_EXEC_H
#define URT__EXEC_EXEC_H

#include "core/core.h"

/* start.c: open a loop on the calling thread with its backend chosen
   (backend/select.c), its executor hook and its remote queue. */
int urt__exec_loop_open(const struct urt_options *o, bool embedded, struct urt_loop **out);

/* remote.c: make L's remote queue (sets L->intake); other threads may
   submit once it is enabled (urt__remote_enable: loop thread only). */
int urt__remote_init(struct urt_loop *L);
void urt__remote_enable(struct urt_loop *L);

/* offload.c: the loop's run_blocking (core.h). */
int urt__offload_wait(void *(*fn)(void *), void *arg, void **result);

/* loops.c: may loops of rt ring each other through their backends
   (struct urt__backend: msg_ring)? */
bool urt__rt_msg_ring(struct urt__runtime *rt);
void urt__rt_no_msg_ring(struct urt__runtime *rt); /* the kernel said no */

#endif
