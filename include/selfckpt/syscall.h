/* SPDX-License-Identifier: MIT */
/*
 * Raw x86_64 system calls.
 *
 * Used where libc must not be: the runtime's freeze path (another thread
 * may hold a libc lock) and the freestanding restorer (libc is gone).
 * Only kernel uapi and compiler headers may be included from here.
 * Return values follow the kernel convention: -errno on failure.
 */
#ifndef SELFCKPT_SYSCALL_H
#define SELFCKPT_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>

static inline long sc_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SC_ARG(x) ((long)(x))
#define sc_sys0(nr) sc_syscall6(nr, 0, 0, 0, 0, 0, 0)
#define sc_sys1(nr, a) sc_syscall6(nr, SC_ARG(a), 0, 0, 0, 0, 0)
#define sc_sys2(nr, a, b) sc_syscall6(nr, SC_ARG(a), SC_ARG(b), 0, 0, 0, 0)
#define sc_sys3(nr, a, b, c) sc_syscall6(nr, SC_ARG(a), SC_ARG(b), SC_ARG(c), 0, 0, 0)
#define sc_sys4(nr, a, b, c, d) sc_syscall6(nr, SC_ARG(a), SC_ARG(b), SC_ARG(c), SC_ARG(d), 0, 0)
#define sc_sys5(nr, a, b, c, d, e)                                                                 \
	sc_syscall6(nr, SC_ARG(a), SC_ARG(b), SC_ARG(c), SC_ARG(d), SC_ARG(e), 0)
#define sc_sys6(nr, a, b, c, d, e, f)                                                              \
	sc_syscall6(nr, SC_ARG(a), SC_ARG(b), SC_ARG(c), SC_ARG(d), SC_ARG(e), SC_ARG(f))

#define SC_IS_ERR(r) ((unsigned long)(r) >= (unsigned long)-4095)

#endif
