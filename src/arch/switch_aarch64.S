/* SPDX-License-Identifier: MIT */
/*
 * AArch64 (AAPCS64) context switch for urt tasks.
 *
 * Saved frame, from the saved stack pointer upwards (176 bytes):
 *   +0   x19 x20   +16  x21 x22   +32  x23 x24   +48  x25 x26
 *   +64  x27 x28   +80  x29 (fp) x30 (resume address)
 *   +96  d8 d9     +112 d10 d11   +128 d12 d13   +144 d14 d15
 *   +160 FPCR (rounding mode etc.), +168 padding
 * We resume with ret, as on x86-64 (see switch_x86_64.S for the measurement):
 * br would leave the return-address stack unbalanced.
 */
	.text

	.globl	urt__ctx_switch
	.hidden	urt__ctx_switch
	.type	urt__ctx_switch, %function
	.p2align 4
urt__ctx_switch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x9, sp
	str	x9, [x0]
	ldr	x9, [x1]
	mov	sp, x9
	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	ldr	x9, [sp, #160]
	msr	fpcr, x9
	add	sp, sp, #176
	ret
	.size	urt__ctx_switch, .-urt__ctx_switch

/* void urt__ctx_make(struct urt__ctx *c, void *stack_lo, size_t size, void (*entry)(void)) */
	.globl	urt__ctx_make
	.hidden	urt__ctx_make
	.type	urt__ctx_make, %function
	.p2align 4
urt__ctx_make:
	add	x9, x1, x2
	and	x9, x9, #~15
	sub	x9, x9, #176
	mov	x10, #0
	mov	x11, #0
	stp	x10, x11, [x9, #0]
	stp	x10, x11, [x9, #16]
	stp	x10, x11, [x9, #32]
	stp	x10, x11, [x9, #48]
	stp	x10, x11, [x9, #64]
	stp	x10, x3, [x9, #80]	/* fp = 0, resume address = entry */
	stp	x10, x11, [x9, #96]
	stp	x10, x11, [x9, #112]
	stp	x10, x11, [x9, #128]
	stp	x10, x11, [x9, #144]
	mrs	x10, fpcr		/* inherit the creator's FP control state */
	str	x10, [x9, #160]
	str	x9, [x0]
	ret
	.size	urt__ctx_make, .-urt__ctx_make

	.section .note.GNU-stack,"",%progbits
