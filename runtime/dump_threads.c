// SPDX-License-Identifier: MIT
/* The runtime's own threads, as the freeze saved them, and its handlers. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "dump.h"

static Sc__ThreadCore *thread_core(const struct rt_thread *t)
{
	Sc__ThreadCore *tc = rt_alloc(sizeof(*tc));
	Sc__GpRegs *r = rt_alloc(sizeof(*r));
	const struct sc_sigcontext *s = &t->regs;

	if (!tc || !r || !t->xsave_size)
		return NULL;
	sc__thread_core__init(tc);
	sc__gp_regs__init(r);
	r->r8 = s->r8, r->r9 = s->r9, r->r10 = s->r10, r->r11 = s->r11;
	r->r12 = s->r12, r->r13 = s->r13, r->r14 = s->r14, r->r15 = s->r15;
	r->rdi = s->rdi, r->rsi = s->rsi, r->rbp = s->rbp, r->rbx = s->rbx;
	r->rdx = s->rdx, r->rax = s->rax, r->rcx = s->rcx, r->rsp = s->rsp;
	r->rip = s->rip, r->eflags = s->eflags;

	tc->tid = t->tid;
	tc->regs = r;
	tc->xsave.data = t->xsave;
	tc->xsave.len = t->xsave_size;
	tc->xfeatures = t->xfeatures;
	tc->fs_base = t->fs_base;
	tc->gs_base = t->gs_base;
	tc->sigmask = t->sigmask;
	tc->altstack_sp = (uint64_t)t->altstack.ss_sp;
	tc->altstack_size = t->altstack.ss_size;
	tc->altstack_flags = (uint32_t)t->altstack.ss_flags;
	tc->rseq_ptr = t->rseq_ptr;
	tc->rseq_len = t->rseq_len;
	tc->rseq_sig = SC_RSEQ_SIG;
	tc->robust_list = t->robust_head;
	tc->robust_list_len = t->robust_len;
	tc->clear_child_tid = t->clear_tid;
	tc->name = rt_strdup(t->name, strnlen(t->name, sizeof(t->name)));
	tc->has_runtime_thread = true;
	tc->runtime_thread = t->runtime_thread;
	return tc->name ? tc : NULL;
}

/* The signals taken from one queue; too many fail the checkpoint, saying so. */
static int pending_of(int owner, ProtobufCBinaryData **out, size_t *n, char *why)
{
	int err = rt_pending_of(owner, out, n);

	if (err == -E2BIG)
		rt_fmt_i64(rt_stpcpy(why, "more signals pending than an image keeps: "),
			   SC_MAX_PENDING);
	return err;
}

int rt_dump_core(const struct rt_source *src, const struct rt_freeze *frz, Sc__ProcCore *core,
		 char *why)
{
	int pid = (int)sc_sys0(__NR_getpid);
	int err = rt_dump_proc_state(src, core, why);

	if (err)
		return err;
	err = pending_of(RT_SHARED, &core->shared_pending_signals, &core->n_shared_pending_signals,
			 why);
	if (err)
		return err;
	core->threads = rt_alloc(sizeof(*core->threads) * (size_t)frz->nr);
	if (!core->threads)
		return -ENOMEM;
	/* The main thread (tid == pid) first: the restorer runs on it. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < frz->nr; i++) {
			const struct rt_thread *t = &frz->threads[i];
			Sc__ThreadCore *tc;

			if (t->tid <= 0 || (t->tid == pid) != (pass == 0))
				continue;
			if (!(tc = thread_core(t)))
				return -ENOMEM;
			err = pending_of(i, &tc->pending_signals, &tc->n_pending_signals, why);
			if (err)
				return err;
			core->threads[core->n_threads++] = tc;
		}
	}
	if (core->threads[0]->tid != pid)
		return -ESRCH;
	core->has_restore_tail = true;
	core->restore_tail = (uint64_t)selfckpt_restore_tail;
	return 0;
}

int rt_dump_sigacts(Sc__SigActs *acts)
{
	acts->acts = rt_alloc(sizeof(*acts->acts) * 64);
	if (!acts->acts)
		return -ENOMEM;
	for (unsigned sig = 1; sig <= 64; sig++) {
		struct sc_kernel_sigaction ksa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sc_sys4(__NR_rt_sigaction, sig, NULL, &ksa, 8))
			continue;
		if (rt_add_sigaction(acts, sig, &ksa))
			return -ENOMEM;
	}
	return 0;
}
