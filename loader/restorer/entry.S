/* SPDX-License-Identifier: MIT */
/*
 * Entry of the restorer blob; must be the first bytes of the blob.
 * crload jumps here with rdi = struct rst_args * and rsp on a blob stack.
 */
	.section .text.entry, "ax"
	.globl rst_entry
rst_entry:
	and	$-16, %rsp
	call	rst_main
	ud2

/*
 * long rst_clone_thread(struct sc_clone_args *ca, uint64_t size,
 *			 void (*fn)(void *, long), void *arg, long idx)
 * The child starts on ca->stack and calls fn(arg, idx); it never returns.
 */
	.text
	.globl rst_clone_thread
	.hidden rst_clone_thread
rst_clone_thread:
	push	%r12
	push	%r13
	push	%r14
	mov	%rdx, %r12
	mov	%rcx, %r13
	mov	%r8, %r14
	mov	$435, %eax		/* __NR_clone3 */
	syscall
	test	%rax, %rax
	jz	1f
	pop	%r14
	pop	%r13
	pop	%r12
	ret
1:	xor	%ebp, %ebp
	mov	%r13, %rdi
	mov	%r14, %rsi
	and	$-16, %rsp
	call	*%r12
	ud2

/*
 * void rst_leave(uint64_t sp, uint64_t target, uint64_t rax, const uint64_t args[6])
 * Leaves blob code for good: switches to sp and jumps to target in the
 * restored memory with rax and the syscall argument registers (rdi, rsi,
 * rdx, r10, r8, r9) loaded from args. target is the runtime's tail or the
 * "syscall; ret" gadget (doc/restore.md).
 */
	.globl rst_leave
	.hidden rst_leave
rst_leave:
	mov	%rdi, %rsp
	mov	%rsi, %r11
	mov	%rdx, %rax
	mov	(%rcx), %rdi
	mov	8(%rcx), %rsi
	mov	16(%rcx), %rdx
	mov	24(%rcx), %r10
	mov	32(%rcx), %r8
	mov	40(%rcx), %r9
	jmp	*%r11

	.section .note.GNU-stack,"",@progbits
