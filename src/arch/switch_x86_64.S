/* SPDX-License-Identifier: MIT */
/*
 * x86-64 (System V) context switch for urt tasks.
 *
 * Saved frame, from the saved stack pointer upwards (64 bytes):
 *   +0  MXCSR (4 bytes)      +4  x87 control word (2 bytes, 2 padding)
 *   +8  r15  +16 r14  +24 r13  +32 r12  +40 rbx  +48 rbp
 *   +56 resume address
 * The caller-saved registers need no saving: urt__ctx_switch is an ordinary
 * call as far as the compiler knows. The SSE/x87 control state is
 * callee-saved in the ABI, so a task that changes rounding mode keeps it
 * to itself.
 *
 * We resume with a plain ret. pop + indirect jmp is faster in a bare
 * switch loop (4.5 vs 11.5 ns here), but it leaves the return-stack buffer
 * one entry off, so every later ret in the resumed task mispredicts: in
 * the real urt_yield path ret measured 12.5 ns per yield against 20+ ns
 * for pop + jmp. Tasks mostly switch from the same call site
 * (urt__suspend), where ret predicts correctly.
 */
	.text

/* void urt__ctx_switch(struct urt__ctx *from, struct urt__ctx *to) */
	.globl	urt__ctx_switch
	.hidden	urt__ctx_switch
	.type	urt__ctx_switch, @function
	.p2align 4
urt__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	urt__ctx_switch, .-urt__ctx_switch

/*
 * void urt__ctx_make(struct urt__ctx *c, void *stack_lo, size_t size,
 *                    void (*entry)(void))
 * Builds a saved frame at the top of the stack whose resume address is
 * entry. A zero "return address" above it makes entry see the stack
 * alignment of a normal call (rsp % 16 == 8) and ends unwinder walks.
 */
	.globl	urt__ctx_make
	.hidden	urt__ctx_make
	.type	urt__ctx_make, @function
	.p2align 4
urt__ctx_make:
	.cfi_startproc
	leaq	(%rsi,%rdx), %rax
	andq	$-16, %rax
	movq	$0, -8(%rax)		/* fake return address of entry */
	movq	%rcx, -16(%rax)		/* resume address */
	movq	$0, -24(%rax)		/* rbp */
	movq	$0, -32(%rax)		/* rbx */
	movq	$0, -40(%rax)		/* r12 */
	movq	$0, -48(%rax)		/* r13 */
	movq	$0, -56(%rax)		/* r14 */
	movq	$0, -64(%rax)		/* r15 */
	leaq	-72(%rax), %rax
	stmxcsr	(%rax)			/* inherit the creator's FP control state */
	fnstcw	4(%rax)
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	urt__ctx_make, .-urt__ctx_make

	.section .note.GNU-stack,"",@progbits
