// SPDX-License-Identifier: MIT
/*
 * The restorer: freestanding, position independent, no libc, no globals.
 *
 * It runs in the process being restored after crload has premapped and
 * filled every VMA at temporary addresses. It removes the loader, moves
 * the memory into place, recreates the threads and enters each thread's
 * saved context with rt_sigreturn. It leaves through code in the
 * restored memory, so that the blob can unmap itself: the runtime's
 * selfckpt_restore_tail, or, in a process without the runtime, two
 * gadgets crload found in its executable memory (doc/restore.md).
 */
#include <asm/socket.h>
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/futex.h>
#include <linux/in.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/tcp.h>
#include <stdbool.h>

#include "selfckpt/pagescan.h"
#include "selfckpt/restorer.h"
#include "selfckpt/syscall.h"

#define ARCH_SET_FS 0x1002
#define ARCH_REQ_XCOMP_PERM 0x1023
#define RSEQ_FLAG_NONE 0
#define EINTR_NR 4
#define EEXIST_NR 17
#define SS_DISABLE_FLAG 2
#define EPIPE_NR 32
/* The 64-byte operand of ldtilecfg: palette, bytes per row and rows of
 * each tile. */
#define AMX_TILECFG_SIZE 64
#define AMX_TILECFG_PALETTE 0
#define AMX_TILECFG_COLSB0 16
#define AMX_TILECFG_ROWS0 48
#define EPERM_NR 1
#define EBADF_NR 9
#define SCM_RIGHTS_NR 1

long rst_clone_thread(struct sc_clone_args *ca, uint64_t size, void (*fn)(void *, long),
		      void *arg, long idx);
void rst_leave(uint64_t sp, uint64_t target, uint64_t rax, const uint64_t args[6])
	__attribute__((noreturn));
void rst_main(struct rst_args *a) __attribute__((noreturn));

/* The compiler may emit calls to these for struct copies. */
void *memcpy(void *d, const void *s, unsigned long n)
{
	char *dp = d;
	const char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, unsigned long n)
{
	char *dp = d;

	while (n--)
		*dp++ = (char)c;
	return d;
}

static void __attribute__((noreturn)) fail(struct rst_args *a, int step, long idx, long err)
{
	struct rst_status st = {
		.tag = 'E', .step = (uint8_t)step, .tid_index = (uint16_t)idx, .err = (int32_t)-err
	};

	sc_sys3(__NR_write, a->status_fd, &st, sizeof(st));
	sc_sys1(__NR_exit_group, 128 + 6);
	for (;;)
		;
}

/*
 * Signals that were queued and not delivered are queued again, with their
 * siginfo, by the thread to itself (the only sender the kernel lets claim
 * any si_code). Every signal is blocked here: they wait for the saved
 * mask, which rt_sigreturn sets.
 */
static void queue_again(struct rst_args *a, uint64_t infos, uint32_t n, long tid, long idx)
{
	long tgid = sc_sys0(__NR_getpid);

	for (uint32_t i = 0; i < n; i++) {
		const int32_t *info = (const int32_t *)(infos + (uint64_t)i * SC_SIGINFO_SIZE);
		long r = tid ? sc_sys4(__NR_rt_tgsigqueueinfo, tgid, tid, info[0], info)
			     : sc_sys3(__NR_rt_sigqueueinfo, tgid, info[0], info);

		if (r)
			fail(a, RST_SIGNALS, idx, r);
	}
}

/*
 * The POSIX timers, each under its own id (the kernel hands out the id it
 * is given while PR_TIMER_CREATE_RESTORE_IDS is on), once the threads
 * they may tell exist, armed with the time they had left.
 */
static void make_timers(struct rst_args *a)
{
	struct rst_timer *t = (struct rst_timer *)a->timers;
	long r;

	if (!a->n_timers)
		return;
	r = sc_sys5(__NR_prctl, SC_PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0);
	if (r)
		fail(a, RST_TIMERS, 0, r);
	for (uint32_t i = 0; i < a->n_timers; i++) {
		struct sc_sigevent ev;
		int32_t id = t[i].id;

		memset(&ev, 0, sizeof(ev));
		ev.value = t[i].sigev_value;
		ev.signo = t[i].signo;
		ev.notify = t[i].notify;
		ev.tid = t[i].tid;
		r = sc_sys3(__NR_timer_create, t[i].clock, &ev, &id);
		if (r)
			fail(a, RST_TIMERS, i, r);
	}
	sc_sys5(__NR_prctl, SC_PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
	for (uint32_t i = 0; i < a->n_timers; i++) {
		struct sc_itimerspec its = {
			(int64_t)(t[i].interval_ns / 1000000000), (int64_t)(t[i].interval_ns % 1000000000),
			(int64_t)(t[i].value_ns / 1000000000), (int64_t)(t[i].value_ns % 1000000000),
		};

		if (t[i].value_ns && (r = sc_sys4(__NR_timer_settime, t[i].id, 0, &its, 0)))
			fail(a, RST_TIMERS, i, r);
	}
}

/* Per-thread kernel state that belongs to the calling thread. */
static void set_thread_state(struct rst_args *a, struct rst_thread *t, long idx)
{
	long r;

	sc_sys2(__NR_set_robust_list, t->robust_list, t->robust_list_len);
	sc_sys1(__NR_set_tid_address, t->clear_child_tid);
	sc_sys2(__NR_prctl, PR_SET_NAME, t->name);
	if (t->rseq_ptr) {
		r = sc_sys4(__NR_rseq, t->rseq_ptr, t->rseq_len, RSEQ_FLAG_NONE, t->rseq_sig);
		if (r)
			fail(a, RST_THREAD, idx, r);
	}
	queue_again(a, t->pending, t->n_pending, t->tid, idx);
}

/* The three sets capset(2) takes, as masks of 1 << CAP_*. */
static long capset3(uint64_t permitted, uint64_t effective, uint64_t inheritable)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable },
		{ (uint32_t)(effective >> 32), (uint32_t)(permitted >> 32),
		  (uint32_t)(inheritable >> 32) },
	};

	return sc_sys2(__NR_capset, &h, d);
}

/* The calling thread's permitted and effective sets. */
static long capget2(uint64_t *permitted, uint64_t *effective)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	long r = sc_sys2(__NR_capget, &h, d);

	*permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	*effective = (uint64_t)d[1].effective << 32 | d[0].effective;
	return r;
}

/*
 * The calling thread takes its credentials; raw system calls change only
 * its own. Groups and gids go first, while it may still set them. The uids
 * change with SECBIT_NO_SETUID_FIXUP, which keeps the capabilities the
 * steps after need: the inheritable set before the bounding set shrinks
 * under it, the ambient set while permitted and inheritable hold it, the
 * securebits while CAP_SETPCAP is effective, and the final capability sets
 * last but no_new_privs, which takes no privilege. The thread keeps keep of
 * what it has beyond them, for drop_kept.
 */
static void set_creds(struct rst_args *a, long idx, uint64_t keep)
{
	const struct rst_creds *c = &a->creds;
	uint64_t prm, eff;
	long r = 0;

	if (c->flags & RST_CREDS_GROUPS) {
		r = sc_sys2(__NR_setgroups, c->n_groups, c->groups);
		if (r)
			fail(a, RST_GROUPS, idx, r);
	}
	if (c->flags & RST_CREDS_IDS) {
		long bits = sc_sys1(__NR_prctl, PR_GET_SECUREBITS);

		if (bits < 0 || (r = sc_sys2(__NR_prctl, PR_SET_SECUREBITS,
					     bits | SC_SECBIT_NO_SETUID_FIXUP)))
			fail(a, RST_SECUREBITS, idx, bits < 0 ? bits : r);
		if ((r = sc_sys3(__NR_setresgid, c->gid[0], c->gid[1], c->gid[2])) ||
		    (r = sc_sys3(__NR_setresuid, c->uid[0], c->uid[1], c->uid[2])))
			fail(a, RST_IDS, idx, r);
		/* setfs*id return the old id; the new one shows on a second call. */
		sc_sys1(__NR_setfsgid, c->gid[3]);
		sc_sys1(__NR_setfsuid, c->uid[3]);
		if ((uint32_t)sc_sys1(__NR_setfsgid, -1) != c->gid[3] ||
		    (uint32_t)sc_sys1(__NR_setfsuid, -1) != c->uid[3])
			fail(a, RST_IDS, idx, -EPERM_NR);
	}
	if ((r = capget2(&prm, &eff)) || (r = capset3(prm, eff, c->cap_inheritable)))
		fail(a, RST_CAPS, idx, r);
	/* Raised again below: those the image has and no others. */
	sc_sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (uint32_t cap = 0; cap <= c->last_cap; cap++) {
		if (!(c->cap_bounding >> cap & 1) && sc_sys2(__NR_prctl, PR_CAPBSET_READ, cap) == 1 &&
		    (r = sc_sys2(__NR_prctl, PR_CAPBSET_DROP, cap)))
			fail(a, RST_CAPS, idx, r);
		if ((c->cap_ambient >> cap & 1) &&
		    (r = sc_sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)))
			fail(a, RST_CAPS, idx, r);
	}
	if (sc_sys1(__NR_prctl, PR_GET_SECUREBITS) != c->securebits &&
	    (r = sc_sys2(__NR_prctl, PR_SET_SECUREBITS, c->securebits)))
		fail(a, RST_SECUREBITS, idx, r);
	keep &= prm;
	if ((r = capset3(c->cap_permitted | keep, c->cap_effective | keep, c->cap_inheritable)))
		fail(a, RST_CAPS, idx, r);
	if (c->no_new_privs && (r = sc_sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)))
		fail(a, RST_DUMPABLE, idx, r);
}

/* The capabilities set_creds kept go: only shrinking sets, which changes
 * neither dumpable nor anything else the kernel resets. */
static void drop_kept(struct rst_args *a)
{
	const struct rst_creds *c = &a->creds;
	long r = capset3(c->cap_permitted, c->cap_effective, c->cap_inheritable);

	if (r)
		fail(a, RST_CAPS, 0, r);
}

/*
 * Where the kernel would put a signal frame for the thread: on its
 * alternate stack if it has one and is not running on it, else below the
 * red zone of its stack. The frame is some kilobytes (the XSAVE area): a
 * goroutine's stack of 2 KiB has no room for it below its pointer, and
 * Go gives every thread an alternate stack for exactly that reason. Not
 * for the runtime's checkpointing thread: it left whatever it ran on
 * (perhaps the app's handler on the alternate stack, whose frames the
 * top of that stack holds) for the runtime's own stack, which has room.
 */
static uint64_t frame_top(const struct rst_thread *t)
{
	uint64_t sp = t->regs.rsp, base = t->altstack.ss_sp, size = t->altstack.ss_size;

	if (!t->frame_below_sp && !(t->altstack.ss_flags & SS_DISABLE_FLAG) && size &&
	    !(sp > base && sp - base <= size))
		return base + size;
	return sp - 128;
}

/* Builds an rt_sigframe where the kernel would deliver a signal to the
 * thread, and returns the rsp rt_sigreturn wants. */
static uint64_t build_frame(struct rst_thread *t)
{
	uint64_t sp = frame_top(t);
	uint64_t fpstate;
	struct sc_rt_sigframe *f;
	uint32_t magic2 = SC_FP_XSTATE_MAGIC2;

	sp -= t->xsave_size + SC_FP_XSTATE_MAGIC2_SIZE;
	sp &= ~63UL;
	fpstate = sp;
	memcpy((void *)fpstate, (void *)t->xsave, t->xsave_size);
	memcpy((void *)(fpstate + t->xsave_size), &magic2, sizeof(magic2));

	sp -= sizeof(*f);
	sp = (sp & ~15UL) - 8;
	f = (struct sc_rt_sigframe *)sp;
	memset(f, 0, sizeof(*f));
	f->uc.uc_flags = SC_UC_FP_XSTATE | SC_UC_SIGCONTEXT_SS | SC_UC_STRICT_RESTORE_SS;
	f->uc.uc_stack = t->altstack;
	f->uc.uc_mcontext = t->regs;
	f->uc.uc_mcontext.cs = SC_USER_CS;
	f->uc.uc_mcontext.ss = SC_USER_SS;
	f->uc.uc_mcontext.fpstate = fpstate;
	f->uc.uc_sigmask = t->sigmask;
	return (uint64_t)&f->uc;
}

/*
 * Enters the thread's saved context at frame (see build_frame). The last
 * thread out unmaps the blob on its way; every other one takes itself off
 * threads_left only once it runs no blob code, and wakes the last one
 * when it was the last of them.
 */
static void __attribute__((noreturn)) leave(struct rst_args *a, uint64_t frame, bool last)
{
	uint64_t args[6] = { 0 };
	uint64_t counter = (uint64_t)&a->threads_left;

	if (a->restore_tail) {
		/* The tail: rdi counter, or rsi/rdx the range to unmap; r10
		 * tells the runtime its memory is being served lazily. */
		args[3] = a->n_lazy != 0;
		if (last)
			args[1] = a->blob_start, args[2] = a->blob_len;
		else
			args[0] = counter;
		rst_leave(frame, a->restore_tail, 0, args);
	}
	/* The syscall gadget's ret pops pretcode into the sigreturn gadget,
	 * leaving rsp just past pretcode, where rt_sigreturn wants it. */
	*(uint64_t *)(frame - 8) = a->gadget_sigreturn;
	if (last) {
		args[0] = a->blob_start, args[1] = a->blob_len;
		rst_leave(frame - 8, a->gadget_syscall, __NR_munmap, args);
	}
	/* The kernel decrements the counter, atomically, after this thread
	 * left the blob: FUTEX_WAKE_OP adds -1 to *uaddr2 and wakes one
	 * waiter there if it was 1. It wakes one waiter on uaddr even with
	 * nr_wake 0: uaddr is a word nobody waits on. */
	args[0] = (uint64_t)&a->unwatched;
	args[1] = FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG;
	args[2] = 0;
	args[3] = 1; /* nr_wake2, in the timeout argument */
	args[4] = counter;
	args[5] = FUTEX_OP(FUTEX_OP_ADD, -1, FUTEX_OP_CMP_EQ, 1);
	rst_leave(frame - 8, a->gadget_syscall, __NR_futex, args);
}

/*
 * The kernel arms Extended Feature Disable for AMX tile data in every new
 * task: rt_sigreturn leaves out a frame's extended state, AVX included,
 * when the frame is larger than the task's own signal frames, which hold
 * tile data only once the task has used it. Its first tile instruction
 * raises #NM, on which the kernel enlarges the task's fpstate (XFD,
 * handle_xfd_event), the process having asked for the permission. Each
 * thread has its own fpstate, so each one whose frame holds tile data
 * loads a tile once, and lets it go; rt_sigreturn then loads its saved
 * configuration and data. Encoded in bytes so that any assembler builds
 * it (doc/xsave.md).
 */
static void use_amx_once(void)
{
	uint8_t cfg[AMX_TILECFG_SIZE];
	uint32_t row = 0;

	/* Palette 1 with tile 0 one row of 4 bytes: valid on any AMX CPU. */
	memset(cfg, 0, sizeof(cfg));
	cfg[AMX_TILECFG_PALETTE] = 1;
	cfg[AMX_TILECFG_COLSB0] = sizeof(row);
	cfg[AMX_TILECFG_ROWS0] = 1;
	/* ldtilecfg (%rax) */
	__asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0x00" : : "a"(cfg) : "memory");
	/* tileloadd (%rax,%rdx,1), %tmm0: the #NM, then the load */
	__asm__ volatile(".byte 0xc4, 0xe2, 0x7b, 0x4b, 0x04, 0x10"
			 :
			 : "a"(&row), "d"(0UL)
			 : "memory");
	/* tilerelease */
	__asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0" : : : "memory");
}

static void thread_start(void *arg, long idx)
{
	struct rst_args *a = arg;
	struct rst_thread *t = (struct rst_thread *)a->threads + idx;

	set_thread_state(a, t, idx);
	if (t->enlarge_xstate)
		use_amx_once();
	set_creds(a, idx, 0);
	if (__atomic_sub_fetch(&a->creds_left, 1, __ATOMIC_RELEASE) == 0)
		sc_sys3(__NR_futex, &a->creds_left, FUTEX_WAKE_PRIVATE, 1);
	/* Not before the whole tree is restored (rst_main). */
	while (!__atomic_load_n(&a->released, __ATOMIC_ACQUIRE))
		sc_sys4(__NR_futex, &a->released, FUTEX_WAIT_PRIVATE, 0, 0);
	leave(a, build_frame(t), false);
}

/* Every process of the tree has its sockets: the connections leave
 * repair mode, before any thread of the app can use them. */
static void leave_repair(struct rst_args *a)
{
	const struct rst_tcp *t = (const struct rst_tcp *)a->tcp;
	int off = TCP_REPAIR_OFF;

	for (uint32_t i = 0; i < a->n_tcp; i++) {
		long r = sc_sys5(__NR_setsockopt, t[i].fd, IPPROTO_TCP, TCP_REPAIR, &off,
				 sizeof(off));

		if (!r)
			r = sc_sys5(__NR_setsockopt, t[i].fd, SOL_SOCKET, SO_REUSEADDR,
				    &t[i].reuseaddr, sizeof(t[i].reuseaddr));
		if (r)
			fail(a, RST_TCP, i, r);
	}
}

/*
 * The process is restored: says so to crload, then waits until crload
 * says every process of the tree is, so that none runs its own code (and
 * talks to one still being restored) before. Without crload (it died)
 * nothing is released.
 */
static void wait_for_tree(struct rst_args *a)
{
	struct rst_status ok = { .tag = 'K' };
	long r = 1;
	char go;

	sc_sys3(__NR_write, a->status_fd, &ok, sizeof(ok));
	sc_sys1(__NR_close, a->status_fd);
	if (a->release_fd >= 0) {
		while ((r = sc_sys3(__NR_read, a->release_fd, &go, 1)) == -EINTR_NR)
			;
		sc_sys1(__NR_close, a->release_fd);
	}
	if (r != 1)
		fail(a, RST_RELEASE, 0, r ? r : -EPIPE_NR);
	leave_repair(a);
	/* Before any thread runs the app's code, which could make this one,
	 * in the same memory, run its own. */
	if (a->n_tcp)
		drop_kept(a);
	__atomic_store_n(&a->released, 1, __ATOMIC_RELEASE);
	sc_sys3(__NR_futex, &a->released, FUTEX_WAKE_PRIVATE, 0x7fffffff);
}

static void move_all(struct rst_args *a, uint64_t moves, uint32_t n, int step)
{
	struct rst_move *m = (struct rst_move *)moves;

	for (uint32_t i = 0; i < n; i++) {
		long r = sc_sys5(__NR_mremap, m[i].from, m[i].len, m[i].len,
				 MREMAP_MAYMOVE | MREMAP_FIXED, m[i].to);

		if (SC_IS_ERR(r))
			fail(a, step, i, r);
	}
}

/*
 * The runtime's dirty-page tracker (doc/incremental.md), armed again now
 * that every page holds the image's content and before any thread runs
 * the program's code: a userfaultfd in asynchronous write-protect mode at
 * the number the runtime had it, over the ranges it had registered, every
 * page protected. A write from here on takes the protection off, so the
 * runtime may leave to this image what still has it. Without it the next
 * image is full: anything that fails leaves the process untracked, never
 * unrestored.
 */
static void arm_tracker(struct rst_args *a)
{
	const struct rst_range *r = (const struct rst_range *)a->tracked;
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	long fd, ok;

	if (!a->n_tracked || sc_sys2(__NR_fcntl, a->track_fd, F_GETFD) != -EBADF_NR)
		return;
	fd = sc_sys1(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return;
	ok = !sc_sys3(__NR_ioctl, fd, UFFDIO_API, &api);
	if (ok && fd != a->track_fd) {
		long moved = sc_sys3(__NR_dup3, fd, a->track_fd, O_CLOEXEC);

		sc_sys1(__NR_close, fd);
		fd = moved;
		ok = fd == a->track_fd;
	}
	for (uint32_t i = 0; ok && i < a->n_tracked; i++) {
		struct uffdio_register reg = { .range = { r[i].start, r[i].end - r[i].start },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		struct uffdio_writeprotect wp = { .range = reg.range,
						  .mode = UFFDIO_WRITEPROTECT_MODE_WP };

		ok = !sc_sys3(__NR_ioctl, fd, UFFDIO_REGISTER, &reg) &&
		     !sc_sys3(__NR_ioctl, fd, UFFDIO_WRITEPROTECT, &wp);
	}
	if (!ok && fd >= 0)
		sc_sys1(__NR_close, fd);
}

/* The features a lazy restore needs (doc/lazy-restore.md): every change
 * the program makes to its memory map, told to the server. */
#define LAZY_FEATURES                                                                              \
	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE |          \
	 UFFD_FEATURE_EVENT_UNMAP)

/* A message of sendmsg(2) as the kernel takes it, and one cmsg of two
 * descriptors. */
struct rst_msghdr {
	void *name;
	int32_t namelen, pad;
	void *iov;
	uint64_t iovlen;
	void *control;
	uint64_t controllen;
	uint32_t flags;
};
struct rst_iovec {
	void *base;
	uint64_t len;
};
struct rst_cmsg2 {
	uint64_t len;
	int32_t level, type;
	int32_t fds[2];
};

/*
 * crload --lazy: the ranges crload left empty registered with a new
 * userfaultfd, which goes with a pidfd of this process to crload's page
 * server. From here on a touch of those ranges waits for the server,
 * which must be serving before this blob writes the threads' frames on
 * their stacks. Not in user mode only: the kernel's own accesses (read()
 * into an untouched buffer, rseq) must fault to the server too. A failure
 * fails the restore: the ranges are empty.
 */
static void arm_lazy(struct rst_args *a)
{
	const struct rst_range *r = (const struct rst_range *)a->lazy;
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_FEATURES };
	struct rst_cmsg2 cm = { .len = sizeof(cm), .level = SOL_SOCKET, .type = SCM_RIGHTS_NR };
	char byte = 'U';
	struct rst_iovec iov = { &byte, 1 };
	struct rst_msghdr msg = {
		.iov = &iov, .iovlen = 1, .control = &cm, .controllen = sizeof(cm)
	};
	long fd, pidfd, r2;

	fd = sc_sys1(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fail(a, RST_LAZY, 0, fd);
	r2 = sc_sys3(__NR_ioctl, fd, UFFDIO_API, &api);
	if (r2)
		fail(a, RST_LAZY, 0, r2);
	for (uint32_t i = 0; i < a->n_lazy; i++) {
		struct uffdio_register reg = { .range = { r[i].start, r[i].end - r[i].start },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };

		r2 = sc_sys3(__NR_ioctl, fd, UFFDIO_REGISTER, &reg);
		if (r2)
			fail(a, RST_LAZY, i + 1, r2);
	}
	pidfd = sc_sys2(__NR_pidfd_open, sc_sys0(__NR_getpid), 0);
	if (pidfd < 0)
		fail(a, RST_LAZY, 0, pidfd);
	cm.fds[0] = (int32_t)fd;
	cm.fds[1] = (int32_t)pidfd;
	r2 = sc_sys3(__NR_sendmsg, a->lazy_fd, &msg, 0);
	if (r2 != 1)
		fail(a, RST_LAZY, 0, r2 < 0 ? r2 : -EPIPE_NR);
	sc_sys1(__NR_close, fd);
	sc_sys1(__NR_close, pidfd);
	sc_sys1(__NR_close, a->lazy_fd);
}

void rst_main(struct rst_args *a)
{
	struct rst_range *u = (struct rst_range *)a->unmap;
	struct rst_thread *th = (struct rst_thread *)a->threads;
	struct rst_move *v = (struct rst_move *)a->vdso;
	long r;

	for (uint32_t i = 0; i < a->n_unmap; i++) {
		r = sc_sys2(__NR_munmap, u[i].start, u[i].end - u[i].start);
		if (r)
			fail(a, RST_UNMAP, i, r);
	}

	/* The family goes through a scratch hole: its current place may
	 * overlap where it, or a VMA, must end up. */
	uint64_t family_start = a->n_vdso ? v[0].from : 0;

	for (uint32_t i = 0; i < a->n_vdso; i++) {
		uint64_t scratch = a->vdso_scratch + (v[i].from - family_start);

		r = sc_sys5(__NR_mremap, v[i].from, v[i].len, v[i].len,
			    MREMAP_MAYMOVE | MREMAP_FIXED, scratch);
		if (SC_IS_ERR(r))
			fail(a, RST_VDSO, i, r);
		v[i].from = scratch;
	}
	move_all(a, a->vdso, a->n_vdso, RST_VDSO);
	move_all(a, a->moves, a->n_moves, RST_MREMAP);

	/* brk, arg/env and auxv bookkeeping; optional (see doc). */
	r = sc_sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm_map, sizeof(a->mm_map), 0);
	if (r && a->mm_map.exe_fd != (uint32_t)-1) {
		a->mm_map.exe_fd = (uint32_t)-1;
		sc_sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm_map, sizeof(a->mm_map), 0);
	}
	if (a->exe_fd >= 0)
		sc_sys1(__NR_close, a->exe_fd);

	if (a->xcomp_perm) {
		r = sc_sys2(__NR_arch_prctl, ARCH_REQ_XCOMP_PERM, a->xcomp_perm);
		if (r)
			fail(a, RST_XCOMP, 0, r);
	}

	/* Before any thread may run, and before the kernel writes to the
	 * memory for them (rseq areas) or the threads build their frames. */
	arm_tracker(a);
	if (a->n_lazy)
		arm_lazy(a);
	else if (a->lazy_fd >= 0)
		sc_sys1(__NR_close, a->lazy_fd); /* crload hears nothing is lazy */

	a->threads_left = a->creds_left = (int32_t)a->n_threads - 1;
	for (uint32_t i = 1; i < a->n_threads; i++) {
		struct sc_clone_args ca;
		uint64_t tid = (uint64_t)th[i].tid;

		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			   CLONE_SYSVSEM | CLONE_SETTLS;
		ca.stack = th[i].stack_top - RST_STACK_SIZE;
		ca.stack_size = RST_STACK_SIZE;
		ca.tls = th[i].fs_base;
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
		/* A tid freed by a process that just died can still be held for
		 * a moment (its exit is reported before every thread's id is
		 * released): retry for up to two seconds. */
		for (int tries = 0;; tries++) {
			struct { long sec, nsec; } ms = { 0, 1000000 };

			r = rst_clone_thread(&ca, sizeof(ca), thread_start, a, i);
			if (r != -EEXIST_NR || tries == 2000)
				break;
			sc_sys2(__NR_nanosleep, &ms, 0);
		}
		if (r < 0)
			fail(a, RST_CLONE, i, r);
	}

	make_timers(a);
	sc_sys2(__NR_arch_prctl, ARCH_SET_FS, th[0].fs_base);
	set_thread_state(a, &th[0], 0);
	if (th[0].enlarge_xstate)
		use_amx_once();
	queue_again(a, a->shared_pending, a->n_shared_pending, 0, 0);
	/* Leaving repair mode takes CAP_NET_ADMIN (leave_repair). */
	set_creds(a, 0, a->n_tcp ? 1ULL << CAP_NET_ADMIN : 0);
	/* Dumpable is the process's, and every thread's change of ids
	 * reset it: set once all are done. */
	for (int32_t left; (left = __atomic_load_n(&a->creds_left, __ATOMIC_ACQUIRE)) > 0;)
		sc_sys4(__NR_futex, &a->creds_left, FUTEX_WAIT_PRIVATE, left, 0);
	r = sc_sys2(__NR_prctl, PR_SET_DUMPABLE, a->creds.dumpable);
	if (r)
		fail(a, RST_DUMPABLE, 0, r);
	uint64_t frame = build_frame(&th[0]);

	wait_for_tree(a);
	/* Every other thread has left the blob before it goes away. The
	 * runtime's tail decrements without a wake-up. */
	for (;;) {
		int32_t left = __atomic_load_n(&a->threads_left, __ATOMIC_ACQUIRE);

		if (left <= 0)
			break;
		if (a->restore_tail)
			sc_sys0(__NR_sched_yield);
		else
			sc_sys4(__NR_futex, &a->threads_left, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, left,
				0);
	}
	leave(a, frame, true);
}
