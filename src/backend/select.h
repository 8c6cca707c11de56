/* SPDX-License-Identifier: MIT */
#ifndef URT__BACKEND_SELECT_H
#define URT__BACKEND_SELECT_H

struct urt_loop;
struct urt_options;

/* Open the backend a new loop runs on (backend/select.c): the argument
   core's urt__loop_open takes. 0 or a negative errno. */
int urt__backend_open(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq);

/* backend/fault.c: wrap L's backend in the fault-injecting one (L->fault
   set: URT_FAULT, a -Dfault_injection=true build). */
void urt__fault_wrap(struct urt_loop *L);

#endif
