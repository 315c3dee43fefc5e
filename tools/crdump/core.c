// SPDX-License-Identifier: MIT
/*
 * A held process's threads and signal handlers, into the same messages
 * the runtime writes: registers and the XSAVE area through
 * PTRACE_GETREGSET, signal mask and rseq through their ptrace requests,
 * the robust list through get_robust_list, and what only the process can
 * tell (clear_child_tid, sigaltstack, dispositions) by syscalls run
 * inside it, with a scratch area below its stack's red zone that is put
 * back afterwards.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crdump.h"
#include "selfckpt/kernel.h"
#include "xstate.h"

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define SCRATCH_SIZE 64

/*
 * A thread stopped inside a syscall shows the kernel's restart code in
 * rax, to be turned into a restart once it resumes. The image must hold
 * what the resumed thread would do: issue the call again, with the
 * arguments still in their registers. restart_syscall cannot be used: its
 * state lives in the kernel and is not carried over.
 */
static void rewind_restart(struct cd_proc *p, struct user_regs_struct *r)
{
	long ret = (long)r->rax;
	uint8_t stub[7];

	if ((long)r->orig_rax < 0)
		return;
	if (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	    ret == -ERESTART_RESTARTBLOCK) {
		r->rax = r->orig_rax;
		r->rip -= 2;
	}
	/*
	 * Interrupted before, the thread was in restart_syscall. The call it
	 * restarts is found from a libc stub (`mov $nr, %eax; syscall`): its
	 * arguments are still in their registers.
	 */
	if (r->rax == SYS_restart_syscall &&
	    pread(p->mem_fd, stub, sizeof(stub), (off_t)(r->rip - 5)) == sizeof(stub) &&
	    stub[0] == 0xb8 && stub[5] == 0x0f && stub[6] == 0x05) {
		uint32_t nr;

		memcpy(&nr, stub + 1, sizeof(nr));
		r->rax = nr;
	}
}

/* Runs nr in th with a scratch area at *scratch; its bytes are read back
 * into out. The thread's own bytes there are restored after. */
static long call_with_scratch(struct cd_proc *p, struct pt_thread *th, long nr, long a0, long a1,
			      long a2, int scratch_arg, void *out, size_t out_len, char *err)
{
	uint64_t at = ((th->regs.rsp - 128 - SCRATCH_SIZE) & ~15ULL);
	uint8_t saved[SCRATCH_SIZE];
	long args[6] = { a0, a1, a2, 8, 0, 0 };
	long r;
	bool ok;

	if (pread(p->mem_fd, saved, sizeof(saved), (off_t)at) != sizeof(saved)) {
		snprintf(err, CD_ERR_LEN, "thread %d: its stack at %#llx cannot be read", th->tid,
			 (unsigned long long)at);
		return -1;
	}
	args[scratch_arg] = (long)at;
	r = pt_syscall(&p->pt, th, nr, args, &ok, err);
	if (ok && r == 0 && pread(p->mem_fd, out, out_len, (off_t)at) != (ssize_t)out_len)
		r = -EIO;
	if (pwrite(p->mem_fd, saved, sizeof(saved), (off_t)at) != sizeof(saved)) {
		snprintf(err, CD_ERR_LEN, "thread %d: its stack could not be put back", th->tid);
		return -1;
	}
	if (!ok)
		return -1;
	if (r) {
		snprintf(err, CD_ERR_LEN, "thread %d: syscall %ld inside it: %s", th->tid, nr,
			 strerror((int)-r));
		return -1;
	}
	return 0;
}

/*
 * The signals queued and not delivered (PTRACE_PEEKSIGINFO: the thread's
 * own, or with shared the process's), after a signal the stop took
 * (held, delivered first); each a siginfo_t for the restorer to queue
 * again. -1 with err set.
 */
static int pending_signals(pid_t tid, bool shared, const siginfo_t *held, ProtobufCBinaryData **out,
			   size_t *n, char *err)
{
	static siginfo_t all[SC_MAX_PENDING + 2];
	struct __ptrace_peeksiginfo_args req = { .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
						 .nr = SC_MAX_PENDING + 1 };
	size_t k = 0;
	long got;

	if (held)
		all[k++] = *held;
	got = ptrace(PTRACE_PEEKSIGINFO, tid, &req, all + k);
	if (got < 0) {
		snprintf(err, CD_ERR_LEN, "thread %d: its pending signals: %s", tid,
			 strerror(errno));
		return -1;
	}
	k += (size_t)got;
	if (k > SC_MAX_PENDING) {
		snprintf(err, CD_ERR_LEN, "thread %d: more than %d signals pending", tid,
			 SC_MAX_PENDING);
		return -1;
	}
	*n = k;
	*out = rt_alloc(sizeof(**out) * (k + 1));
	for (size_t i = 0; *out && i < k; i++) {
		(*out)[i].len = SC_SIGINFO_SIZE;
		if (!((*out)[i].data = rt_alloc(SC_SIGINFO_SIZE)))
			*out = NULL;
		else
			memcpy((*out)[i].data, &all[i], SC_SIGINFO_SIZE);
	}
	if (!*out) {
		snprintf(err, CD_ERR_LEN, "out of memory");
		return -1;
	}
	return 0;
}

static int thread_name(int pid, int tid, char *name)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, name, 15);
	close(fd);
	if (n <= 0)
		return -1;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return 0;
}

static Sc__ThreadCore *thread_core(struct cd_proc *p, struct pt_thread *th, char *err)
{
	Sc__ThreadCore *tc = rt_alloc(sizeof(*tc));
	Sc__GpRegs *g = rt_alloc(sizeof(*g));
	uint8_t *xsave = rt_alloc(SC_XSAVE_MAX);
	char *name = rt_alloc(16);
	struct user_regs_struct r = th->regs;
	struct iovec iov = { xsave, SC_XSAVE_MAX };
	struct __ptrace_rseq_configuration rseq = { 0 };
	struct sc_fpx_sw_bytes sw;
	struct sc_stack ss;
	uint64_t head = 0, tidaddr = 0;
	size_t len = 0;

	if (!tc || !g || !xsave || !name) {
		snprintf(err, CD_ERR_LEN, "out of memory");
		return NULL;
	}
	sc__thread_core__init(tc);
	sc__gp_regs__init(g);
	if (ptrace(PTRACE_GETREGSET, th->tid, NT_X86_XSTATE, &iov) || iov.iov_len < 512) {
		snprintf(err, CD_ERR_LEN, "thread %d: its XSAVE area: %s", th->tid,
			 strerror(errno));
		return NULL;
	}
	/* ptrace puts XCR0 where a signal frame has its software bytes
	 * (the "sw_usable" words): make them what a signal frame holds. */
	memset(&sw, 0, sizeof(sw));
	memcpy(&sw.xfeatures, xsave + SC_FPX_SW_OFFSET, sizeof(sw.xfeatures));
	sw.magic1 = SC_FP_XSTATE_MAGIC1;
	sw.xstate_size = (uint32_t)iov.iov_len;
	sw.extended_size = sw.xstate_size + SC_FP_XSTATE_MAGIC2_SIZE;
	memset(xsave + SC_FPX_SW_OFFSET, 0, 512 - SC_FPX_SW_OFFSET);
	memcpy(xsave + SC_FPX_SW_OFFSET, &sw, sizeof(sw));
	/* ptrace gives room for every component, AMX tile data included,
	 * which only a thread that used AMX can take back: store what the
	 * thread's own signal frame would hold (doc/xsave.md). */
	tc->xfeatures = sw.xfeatures;
	tc->xsave.len = sc_xstate_fit_frame(sc_xstate_this_cpu(), xsave, iov.iov_len,
					    &tc->xfeatures);
	tc->xsave.data = xsave;
	if (ptrace(PTRACE_GETSIGMASK, th->tid, sizeof(tc->sigmask), &tc->sigmask)) {
		snprintf(err, CD_ERR_LEN, "thread %d: its signal mask: %s", th->tid,
			 strerror(errno));
		return NULL;
	}
	/* Without rseq support in ptrace (before 5.13) none is assumed. */
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, th->tid, sizeof(rseq), &rseq) < 0)
		memset(&rseq, 0, sizeof(rseq));
	if (syscall(SYS_get_robust_list, th->tid, &head, &len)) {
		snprintf(err, CD_ERR_LEN, "thread %d: its robust list: %s", th->tid,
			 strerror(errno));
		return NULL;
	}
	if (call_with_scratch(p, th, SYS_prctl, PR_GET_TID_ADDRESS, 0, 0, 1, &tidaddr,
			      sizeof(tidaddr), err) ||
	    call_with_scratch(p, th, SYS_sigaltstack, 0, 0, 0, 1, &ss, sizeof(ss), err))
		return NULL;
	if (thread_name(p->pid, th->tid, name))
		name[0] = '\0';
	if (pending_signals(th->tid, false, th->held_sig ? &th->held_info : NULL,
			    &tc->pending_signals, &tc->n_pending_signals, err))
		return NULL;

	rewind_restart(p, &r);
	g->r8 = r.r8, g->r9 = r.r9, g->r10 = r.r10, g->r11 = r.r11;
	g->r12 = r.r12, g->r13 = r.r13, g->r14 = r.r14, g->r15 = r.r15;
	g->rdi = r.rdi, g->rsi = r.rsi, g->rbp = r.rbp, g->rbx = r.rbx;
	g->rdx = r.rdx, g->rax = r.rax, g->rcx = r.rcx, g->rsp = r.rsp;
	g->rip = r.rip, g->eflags = r.eflags;
	tc->tid = th->tid;
	tc->regs = g;
	tc->fs_base = r.fs_base;
	tc->gs_base = r.gs_base;
	tc->altstack_sp = ss.ss_sp;
	tc->altstack_size = ss.ss_size;
	tc->altstack_flags = (uint32_t)ss.ss_flags;
	tc->rseq_ptr = rseq.rseq_abi_pointer;
	tc->rseq_len = rseq.rseq_abi_size;
	tc->rseq_sig = rseq.signature;
	tc->robust_list = head;
	tc->robust_list_len = len;
	tc->clear_child_tid = tidaddr;
	tc->name = name;
	return tc;
}

/* What the process is asked runs in its main thread. */
static struct pt_thread *main_thread(struct cd_proc *p)
{
	for (size_t i = 0; i < p->pt.nthreads; i++)
		if (p->pt.threads[i].tid == p->pid)
			return &p->pt.threads[i];
	return &p->pt.threads[0];
}

int cd_dump_threads(struct cd_proc *p, Sc__ProcCore *core, char *err)
{
	core->threads = rt_alloc(sizeof(*core->threads) * p->pt.nthreads);
	if (!core->threads) {
		snprintf(err, CD_ERR_LEN, "out of memory");
		return -1;
	}
	/* The main thread first: the restorer runs on it. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->pt.nthreads; i++) {
			struct pt_thread *th = &p->pt.threads[i];

			if ((th->tid == p->pid) != (pass == 0))
				continue;
			if (!(core->threads[core->n_threads++] = thread_core(p, th, err)))
				return -1;
		}
	if (!core->n_threads || core->threads[0]->tid != p->pid) {
		snprintf(err, CD_ERR_LEN, "process %d: its main thread has exited", p->pid);
		return -1;
	}
	return pending_signals(p->pid, true, NULL, &core->shared_pending_signals,
			       &core->n_shared_pending_signals, err);
}

int cd_timer_gettime(void *proc, int id, struct itimerspec *its)
{
	struct cd_proc *p = proc;
	char err[CD_ERR_LEN];

	return call_with_scratch(p, main_thread(p), SYS_timer_gettime, id, 0, 0, 1, its,
				 sizeof(*its), err)
		       ? -EIO
		       : 0;
}

int cd_itimers(struct cd_proc *p, struct itimerval v[3], char *err)
{
	for (int which = 0; which < 3; which++)
		if (call_with_scratch(p, main_thread(p), SYS_getitimer, which, 0, 0, 1, &v[which],
				      sizeof(v[which]), err))
			return -1;
	return 0;
}

int cd_xcomp_perm(struct cd_proc *p, uint64_t *perm, char *err)
{
	*perm = 0;
	if (!(sc_xstate_this_cpu()->features & SC_XFEATURES_DYNAMIC))
		return 0;
	return call_with_scratch(p, main_thread(p), SYS_arch_prctl, SC_ARCH_GET_XCOMP_PERM, 0, 0, 1,
				 perm, sizeof(*perm), err);
}

int cd_dump_sigacts(struct cd_proc *p, Sc__SigActs *acts, char *err)
{
	acts->acts = rt_alloc(sizeof(*acts->acts) * 64);
	if (!acts->acts) {
		snprintf(err, CD_ERR_LEN, "out of memory");
		return -1;
	}
	for (unsigned sig = 1; sig <= 64; sig++) {
		struct sc_kernel_sigaction ksa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (call_with_scratch(p, main_thread(p), SYS_rt_sigaction, sig, 0, 0, 2, &ksa,
				      sizeof(ksa), err))
			return -1;
		if (rt_add_sigaction(acts, sig, &ksa)) {
			snprintf(err, CD_ERR_LEN, "out of memory");
			return -1;
		}
	}
	return 0;
}
