/* SPDX-License-Identifier: MIT */
/* Small pieces of the runtime that must be assembly. */
	.text

/*
 * selfckpt_restore_tail: the restorer's way out, kept in the runtime
 * because the runtime stays mapped in a restored process while the
 * restorer blob must not. The restorer enters it with rsp at a prepared
 * rt_sigframe (past pretcode) and
 *	rdi: counter to decrement once this thread no longer runs blob code
 *	     (0: none)
 *	rsi, rdx: range to munmap, the blob itself (rsi 0: none)
 *	r10: non-zero when crload --lazy restored the process, noted in
 *	     rt_restored_lazily (a variable of the runtime's, reached
 *	     rip-relative: the restorer does not know where it is)
 */
	.globl selfckpt_restore_tail
	.type selfckpt_restore_tail, @function
selfckpt_restore_tail:
	test	%rdi, %rdi
	jz	1f
	lock decl (%rdi)
1:	test	%r10, %r10
	jz	3f
	movb	$1, rt_restored_lazily(%rip)
3:	test	%rsi, %rsi
	jz	2f
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	$11, %eax		/* __NR_munmap */
	syscall
2:	mov	$15, %eax		/* __NR_rt_sigreturn */
	syscall
	ud2
	.size selfckpt_restore_tail, .-selfckpt_restore_tail

/* bool rt_restored_lazily: the tail's note, read by checkpoint.c. */
	.bss
	.globl rt_restored_lazily
	.hidden rt_restored_lazily
	.type rt_restored_lazily, @object
rt_restored_lazily:
	.byte	0
	.size rt_restored_lazily, 1
	.text

/* void rt_call_on_stack(void (*fn)(void *), void *stack_top, void *arg) */
	.globl rt_call_on_stack
	.hidden rt_call_on_stack
	.type rt_call_on_stack, @function
rt_call_on_stack:
	/* Frame-pointer CFI: an unwinder (crinfo bt) gets from fn's stack
	 * back to the caller's through rbp. */
	.cfi_startproc
	push	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	mov	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	and	$-16, %rsi
	mov	%rsi, %rsp
	mov	%rdi, %rax
	mov	%rdx, %rdi
	call	*%rax
	mov	%rbp, %rsp
	pop	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size rt_call_on_stack, .-rt_call_on_stack

	.section .note.GNU-stack,"",@progbits
