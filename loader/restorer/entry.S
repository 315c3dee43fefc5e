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
 * void rst_enter(uint64_t frame_sp, uint64_t tail, uint64_t counter,
 *		  uint64_t unmap_start, uint64_t unmap_len)
 * Switches to the signal frame and leaves through the runtime's tail.
 */
	.globl rst_enter
	.hidden rst_enter
rst_enter:
	mov	%rdi, %rsp
	mov	%rsi, %rax
	mov	%rdx, %rdi
	mov	%rcx, %rsi
	mov	%r8, %rdx
	jmp	*%rax

	.section .note.GNU-stack,"",@progbits
