/* SPDX-License-Identifier: MIT */
/*
 * What crload hands the freestanding restorer blob.
 *
 * crload lays out, in one region no target VMA uses, the blob code, this
 * structure, every array it points to and the restorer's stacks, then
 * jumps to the blob with rdi = args and rsp at the main stack. All
 * pointers are absolute addresses inside that region.
 */
#ifndef SELFCKPT_RESTORER_H
#define SELFCKPT_RESTORER_H

#include <stdint.h>

#include "selfckpt/kernel.h"

#define RST_STACK_SIZE 65536UL

struct rst_range {
	uint64_t start, end;
};

struct rst_move {
	uint64_t from, to, len;
};

struct rst_thread {
	int32_t tid;
	uint32_t xsave_size;
	uint64_t xsave;		/* address of the saved XSAVE area */
	uint64_t stack_top;	/* restorer stack for this thread */
	uint64_t fs_base;
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	uint64_t robust_list, robust_list_len;
	uint64_t clear_child_tid;
	uint64_t sigmask;
	struct sc_stack altstack;
	struct sc_sigcontext regs;	/* fpstate filled in by the restorer */
	char name[16];
	uint64_t pending;	/* siginfo_t[n_pending] queued to it again */
	uint32_t n_pending;
	/* The runtime's checkpointing thread: it stopped on the runtime's
	 * own stack, which has room, maybe inside a handler of the app's on
	 * the alternate stack, whose frames must stay as they are. */
	uint32_t frame_below_sp;
	/* Its frame holds AMX tile data, which rt_sigreturn takes only once
	 * the thread has used AMX (doc/xsave.md). */
	uint32_t enlarge_xstate;
};

/* A POSIX timer to make again, with its id. */
struct rst_timer {
	int32_t id, clock, notify, signo, tid, pad;
	uint64_t sigev_value, value_ns, interval_ns;
};

/*
 * An established TCP connection, rebuilt in repair mode: it leaves repair
 * mode once every process of the tree is restored, since leaving sends a
 * window probe, which a peer not restored yet would answer with a reset.
 */
struct rst_tcp {
	int32_t fd;
	int32_t reuseaddr; /* SO_REUSEADDR, which leaving repair mode clears */
};

/*
 * The credentials every thread takes, once nothing privileged is left to
 * do (doc/credentials.md); the flags say which steps differ from what the
 * thread has, so that an unprivileged crload makes no call it may not.
 */
#define RST_CREDS_GROUPS 1 /* setgroups */
#define RST_CREDS_IDS 2	   /* setresgid, setfsgid, setresuid, setfsuid */
struct rst_creds {
	uint32_t uid[4], gid[4]; /* real, effective, saved, filesystem */
	uint64_t groups;	 /* uint32_t[n_groups] */
	uint32_t n_groups, flags;
	uint64_t cap_inheritable, cap_permitted, cap_effective, cap_bounding, cap_ambient;
	uint32_t securebits;
	uint32_t no_new_privs;
	uint32_t dumpable;	/* for PR_SET_DUMPABLE: 0 or 1 */
	uint32_t last_cap;	/* the highest capability this kernel has */
};

/* Steps, reported with the errno when one fails. */
enum rst_step {
	RST_UNMAP = 1,
	RST_VDSO,
	RST_MREMAP,
	RST_XCOMP,
	RST_CLONE,
	RST_THREAD,
	RST_SIGNALS,
	RST_RELEASE,
	RST_TIMERS,
	RST_TCP,
	RST_GROUPS,
	RST_IDS,
	RST_CAPS,
	RST_SECUREBITS,
	RST_DUMPABLE,
	RST_LAZY,
};

struct rst_args {
	uint64_t blob_start, blob_len;

	uint32_t n_unmap, n_moves, n_vdso, n_threads;
	uint64_t unmap;		/* struct rst_range[n_unmap]: the loader */
	uint64_t moves;		/* struct rst_move[n_moves]: premapped VMAs */
	uint64_t vdso;		/* struct rst_move[n_vdso]: vvar/vdso family */
	uint64_t vdso_scratch;	/* a hole to park the family on the way */
	uint64_t threads;	/* struct rst_thread[n_threads]; [0] is main */

	struct sc_prctl_mm_map mm_map; /* auxv points into the region */
	int32_t exe_fd;		/* -1: leave /proc/PID/exe alone */
	int32_t status_fd;	/* crload reads "K" or "E"+step+errno */
	uint64_t xcomp_perm;	/* ARCH_REQ_XCOMP_PERM feature, 0: none */
	uint64_t restore_tail;	/* selfckpt_restore_tail in target memory, 0: none */
	uint64_t gadget_syscall;	/* without it: "syscall; ret" in target memory */
	uint64_t gadget_sigreturn;	/* and "mov $15, %eax; syscall" (doc/restore.md) */
	uint64_t shared_pending;	/* siginfo_t[n_shared_pending] for the process */
	uint32_t n_shared_pending;
	uint32_t n_timers;
	uint64_t timers;	/* struct rst_timer[n_timers] */
	uint64_t tcp;		/* struct rst_tcp[n_tcp] */
	uint32_t n_tcp;
	int32_t threads_left;	/* threads still running blob code */
	int32_t unwatched;	/* a futex word nobody waits on (restorer.c) */
	/* A byte from crload here means every process of the tree is
	 * restored: no thread runs its own code before (-1: no wait). */
	int32_t release_fd;
	int32_t released;	/* futex: the main thread read that byte */
	struct rst_creds creds;
	int32_t creds_left;	/* futex: threads still to take their credentials */
	/* The runtime's dirty-page tracker, armed again at track_fd over
	 * struct rst_range[n_tracked] (doc/incremental.md); 0: none. */
	uint32_t n_tracked;
	int32_t track_fd;
	uint64_t tracked;
	/* crload --lazy (doc/lazy-restore.md): the private anonymous ranges
	 * left empty, struct rst_range[n_lazy], registered with a new
	 * userfaultfd that goes, with a pidfd of the process, to crload's
	 * page server over the socket lazy_fd; 0: none. */
	uint32_t n_lazy;
	int32_t lazy_fd;
	uint64_t lazy;
};

struct rst_status {
	char tag;	/* 'K': restored, 'E': failed */
	uint8_t step;
	uint16_t tid_index;
	int32_t err;
};

#endif
