/* SPDX-License-Identifier: MIT */
/*
 * Kernel ABI structures as the x86_64 kernel lays them out.
 *
 * glibc's ucontext_t differs from the kernel's (a 1024-bit sigset, an
 * embedded fpregs copy), so the restorer builds signal frames from these
 * definitions instead. Shared by the runtime, crload and the restorer.
 */
#ifndef SELFCKPT_KERNEL_H
#define SELFCKPT_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

/* struct sigcontext (arch/x86/include/uapi/asm/sigcontext.h) */
struct sc_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* pointer to the XSAVE area */
	uint64_t reserved1[8];
};

/* The kernel's struct sigevent, for timer_create(2). */
struct sc_sigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid; /* with SC_SIGEV_THREAD_ID */
	int32_t pad[11];
};

struct sc_itimerspec {
	int64_t interval_sec, interval_nsec, value_sec, value_nsec;
};

struct sc_stack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct sc_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct sc_stack uc_stack;
	struct sc_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

#define SC_UC_FP_XSTATE 0x1
#define SC_UC_SIGCONTEXT_SS 0x2
#define SC_UC_STRICT_RESTORE_SS 0x4

/* rt_sigreturn expects rsp to point just past pretcode. */
struct sc_rt_sigframe {
	uint64_t pretcode;
	struct sc_ucontext uc;
	uint8_t info[128]; /* siginfo_t */
};

/* The software-reserved bytes at offset 464 of the FXSAVE header. */
struct sc_fpx_sw_bytes {
	uint32_t magic1;
	uint32_t extended_size; /* xstate_size + FP_XSTATE_MAGIC2_SIZE */
	uint64_t xfeatures;
	uint32_t xstate_size;
	uint32_t padding[7];
};

#define SC_FPX_SW_OFFSET 464
#define SC_FP_XSTATE_MAGIC1 0x46505853U
#define SC_FP_XSTATE_MAGIC2 0x46505845U
#define SC_FP_XSTATE_MAGIC2_SIZE 4
#define SC_XSAVE_MAX 16384 /* generous bound; AMX needs about 11 KiB */
#define SC_SIGINFO_SIZE 128 /* siginfo_t */
#define SC_MAX_PENDING 1024 /* queued signals kept per thread or process */
#define SC_ITIMER_MAX_US (1ULL << 60) /* beyond what setitimer takes back */
#define SC_TIMER_MAX_NS (1ULL << 62)  /* a timespec's seconds fit, as timer_settime wants */
#define SC_MAX_POSIX_TIMERS 65536

/* A POSIX timer's clock that the restored process can make it on again:
 * the system clocks (REALTIME, MONOTONIC, BOOTTIME, their ALARM kinds,
 * TAI), and its own CPU clock, which the kernel keeps as pid 0's
 * (~0 << 3 | PROF 0, VIRT 1 or SCHED 2: -8, -7, -6). */
static inline bool sc_timer_clock_ok(int clock)
{
	return clock == 0 || clock == 1 || clock == 7 || clock == 8 || clock == 9 ||
	       clock == 11 || (clock >= -8 && clock <= -6);
}
/* sigev_notify: tell the thread sigevent's tid names, with SIGEV_SIGNAL */
#define SC_SIGEV_THREAD_ID 4
/* prctl: timer_create takes the id it is given (Linux 6.15) */
#define SC_PR_TIMER_CREATE_RESTORE_IDS 77

#define SC_USER_CS 0x33
#define SC_USER_SS 0x2b

struct sc_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

struct sc_prctl_mm_map {
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv; /* pointer */
	uint32_t auxv_size;
	uint32_t exe_fd;
};

struct sc_kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#define SC_RSEQ_SIG 0x53053053U

/* Credentials (doc/credentials.md). */
#define SC_MAX_GROUPS 65536 /* NGROUPS_MAX */
#define SC_SECUREBITS_ALL 0xfffU /* every securebit to Linux 6.14's exec bits, and locks */
#define SC_SECBIT_NO_SETUID_FIXUP 0x4U /* a uid change leaves the capabilities alone */
#define SC_SUID_DUMP_USER 1 /* PR_SET_DUMPABLE's "dumpable" */
#define SC_SUID_DUMP_ROOT 2 /* core dumps readable by root only (fs.suid_dumpable 2) */

#endif
