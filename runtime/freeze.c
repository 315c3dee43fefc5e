// SPDX-License-Identifier: MIT
/*
 * Parking every thread of the process.
 *
 * The checkpointing thread (the one the trigger signal reached, running
 * the trigger handler) sends the suspend signal to each other thread; the
 * handler saves the interrupted context (general registers, the XSAVE area
 * the kernel put in the signal frame, and what a ucontext does not hold:
 * fs base, rseq, robust list, clear_child_tid, name), counts itself in and
 * waits on a futex until the generation it was frozen in is resumed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <asm/hwcap2.h>
#include <cpuid.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <ucontext.h>

#include "procparse.h"
#include "rt.h"
#include "selfckpt/reissue.h"

#define MAX_THREADS 32768
#define PARK_STACK 8192
#define PARK_TIMEOUT_NS (10ULL * 1000000000ULL)
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

/* glibc >= 2.35 registers rseq for every thread at this offset from fs. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
/* The length of the original rseq ABI's area: glibc registers at least
 * that, whatever smaller feature size __rseq_size gives. */
#define RSEQ_ORIG_LEN 32
#define RSEQ_FLAG_UNREGISTER 1

/* The threads this freeze parked: the handlers, which take no argument of
 * ours, record them here; rt_freeze_all hands them to the checkpoint. */
static struct rt_freeze rt_frz;
/* The configuration's suspend signal, for the handlers. */
static int suspend_sig;

static bool have_fsgsbase; /* rdfsbase: no syscall to read fs base */
static uint32_t xsave_cap;  /* XSAVE bytes this CPU's signal frames hold */
static unsigned freeze_gen, resume_gen;
/* Threads of this round that parked or turned out to be gone. */
static unsigned settled;
/* Threads back on their own stacks after a resume. */
static unsigned left;
/* The checkpointing thread is woken only when this many have settled: one
 * wake-up instead of one per thread. */
static unsigned settle_target = ~0U;
/* Slots [sig_next, sig_end) still to be signalled. Every handler helps
 * before parking, so signals go out from all CPUs at once. */
static int sig_next, sig_end, sig_pid;
static int ckpt_tid;
static bool self_dump_active;
/* What rt_capture_self_and_dump runs, and its argument: the handler that
 * runs it takes none of ours. */
static void (*self_dump)(void *);
static void *self_dump_arg;
static char *dump_stack_top;

static void futex_wait(unsigned *addr, unsigned val, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000ULL),
		.tv_nsec = (long)(timeout_ns % 1000000000ULL),
	};

	sc_sys4(__NR_futex, addr, FUTEX_WAIT_PRIVATE, val, timeout_ns ? &ts : NULL);
}

static void futex_wake(unsigned *addr, int n)
{
	sc_sys3(__NR_futex, addr, FUTEX_WAKE_PRIVATE, n);
}

static uint32_t rseq_len(void)
{
	return __rseq_size < RSEQ_ORIG_LEN ? RSEQ_ORIG_LEN : __rseq_size;
}

/* The rseq area of the thread whose fs base this is, if registered. */
static uint64_t registered_rseq(uint64_t fs_base)
{
	uint64_t area;
	int32_t cpu_id;

	if (!&__rseq_size || !__rseq_size)
		return 0;
	area = fs_base + (uint64_t)__rseq_offset;
	/* cpu_id is >= 0 only while the area is registered. */
	memcpy(&cpu_id, (void *)(area + 4), sizeof(cpu_id));
	return cpu_id >= 0 ? area : 0;
}

/*
 * The kernel rewrites a thread's rseq area (cpu_id, mm_cid) whenever the
 * thread returns to user space after it ran on another CPU. A parked
 * thread does, if it was preempted before it entered its futex wait (the
 * last one to park, often, by the checkpointing thread it wakes): its area
 * would change between the checksum of the page it lives on and the write
 * of that page. So every thread goes without rseq while it is parked, and
 * the checkpointing thread while it writes. The image keeps the area as it
 * was registered; the restorer registers it again.
 */
static bool rseq_pause(uint64_t area)
{
	return area && !sc_sys4(__NR_rseq, area, rseq_len(), RSEQ_FLAG_UNREGISTER, SC_RSEQ_SIG);
}

static void rseq_resume(uint64_t area)
{
	sc_sys4(__NR_rseq, area, rseq_len(), 0, SC_RSEQ_SIG);
}

static void save_context(struct rt_thread *t, ucontext_t *uc)
{
	const struct sc_sigcontext *sc = (const void *)&uc->uc_mcontext;
	const uint8_t *fp = (const uint8_t *)sc->fpstate;
	struct sc_fpx_sw_bytes sw;

	t->regs = *sc;
	memcpy(&t->sigmask, &uc->uc_sigmask, sizeof(t->sigmask));

	memcpy(&sw, fp + SC_FPX_SW_OFFSET, sizeof(sw));
	if (sw.magic1 == SC_FP_XSTATE_MAGIC1 && sw.xstate_size >= 512 &&
	    sw.xstate_size <= SC_XSAVE_MAX) {
		t->xsave_size = sw.xstate_size;
		t->xfeatures = sw.xfeatures;
	} else {
		t->xsave_size = 512; /* legacy FXSAVE only */
		t->xfeatures = 3;
	}
	/* The buffer was allocated before the signal: handlers run
	 * concurrently and must not allocate. */
	if (t->xsave_size <= xsave_cap)
		memcpy(t->xsave, fp, t->xsave_size);
	else
		t->xsave_size = 0; /* refused by the dump */

	if (have_fsgsbase) {
		__asm__ volatile("rdfsbase %0" : "=r"(t->fs_base));
		__asm__ volatile("rdgsbase %0" : "=r"(t->gs_base));
	} else {
		sc_sys2(__NR_arch_prctl, ARCH_GET_FS, &t->fs_base);
		sc_sys2(__NR_arch_prctl, ARCH_GET_GS, &t->gs_base);
	}
	/* The kernel put the thread's sigaltstack in uc_stack. Only
	 * clear_child_tid needs a call by the thread itself; the rest is read
	 * by the checkpointing thread once everybody is parked (collect_parked). */
	t->altstack = uc->uc_stack;
	sc_sys2(__NR_prctl, PR_GET_TID_ADDRESS, &t->clear_tid);

	t->rseq_ptr = registered_rseq(t->fs_base);
	t->rseq_len = t->rseq_ptr ? rseq_len() : 0;
}

#define TIMER_ABSTIME_FLAG 1

/* The call glibc's stub before pc made ("mov $nr, %eax; syscall"), or -1.
 * Read through the kernel: the bytes before pc may not be mapped. */
static long stub_syscall_nr(uint64_t pc)
{
	uint8_t stub[7];
	struct iovec here = { stub, sizeof(stub) }, code = { (void *)(pc - 7), 7 };
	int32_t nr;

	if (sc_sys6(__NR_process_vm_readv, sc_sys0(__NR_getpid), &here, 1, &code, 1, 0) != 7 ||
	    stub[0] != 0xb8 || stub[5] != 0x0f || stub[6] != 0x05)
		return -1;
	memcpy(&nr, stub + 1, sizeof(nr));
	return nr;
}

/*
 * A blocking call our signal interrupted without SA_RESTART semantics
 * (sleeps, futex and poll with timeouts, pause, epoll_wait...) returns
 * EINTR once the handler is done: a spurious error the app never asked
 * for. Rewind it instead, in the live context (the app carries on) and so
 * in the saved one (the restored app carries on). The call number comes
 * from the sample taken just before the signal, checked against the
 * instruction pointer; a relative sleep restarts with the remaining time
 * the kernel wrote to its rem argument.
 */
static void restart_interrupted(const struct rt_thread *t, ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	long nr = t->sys_nr;

	if (g[REG_RAX] != -EINTR)
		return;
	/* Not in that call when sampled (or never sampled: the thread the
	 * trigger reached), it may have entered one since: glibc's stub
	 * names it, and only calls safe to issue again are. */
	if (nr < 0 || t->sys_pc != (uint64_t)g[REG_RIP]) {
		nr = stub_syscall_nr((uint64_t)g[REG_RIP]);
		if (!sc_reissuable(nr))
			return;
	}
	if (nr == SC_NR_restart_syscall)
		return;
	if (nr == SC_NR_nanosleep && g[REG_RSI])
		g[REG_RDI] = g[REG_RSI];
	else if (nr == SC_NR_clock_nanosleep && !(g[REG_RSI] & TIMER_ABSTIME_FLAG) && g[REG_R10])
		g[REG_RDX] = g[REG_R10];
	g[REG_RAX] = nr;
	g[REG_RIP] -= 2; /* the syscall instruction */
}

void rt_restart_trigger_interrupted(ucontext_t *uc)
{
	const struct rt_thread unsampled = { .sys_nr = -1 };

	restart_interrupted(&unsampled, uc);
}

static struct rt_thread *find_thread(int tid)
{
	for (int i = 1; i < rt_frz.nr; i++)
		if (rt_frz.threads[i].tid == tid)
			return &rt_frz.threads[i];
	return NULL;
}

static void settle_one(void)
{
	if (__atomic_add_fetch(&settled, 1, __ATOMIC_ACQ_REL) >=
	    __atomic_load_n(&settle_target, __ATOMIC_ACQUIRE))
		futex_wake(&settled, 1);
}

struct park_args {
	unsigned gen;
	int slot;
	bool main_thread; /* tid == pid: sends the process's signals again */
};

/* On the park stack: the thread's pending signals are taken here, and
 * queued again here if the process runs on. */
static void park(void *arg)
{
	const struct park_args *a = arg;

	rt_pending_take_own(a->slot);
	settle_one();
	for (;;) {
		unsigned r = __atomic_load_n(&resume_gen, __ATOMIC_ACQUIRE);

		if (r == a->gen)
			break;
		futex_wait(&resume_gen, r, 0);
	}
	rt_pending_requeue(a->slot, a->main_thread);
}

static void signal_pending_slots(void)
{
	int i;

	while ((i = __atomic_fetch_add(&sig_next, 1, __ATOMIC_ACQ_REL)) <
	       __atomic_load_n(&sig_end, __ATOMIC_ACQUIRE)) {
		struct rt_thread *t = &rt_frz.threads[i];

		if (sc_sys3(__NR_tgkill, sig_pid, t->tid, suspend_sig)) {
			t->tid = -1; /* exited meanwhile */
			settle_one();
		}
	}
}

static void suspend_handler(int sig, siginfo_t *si, void *ucv)
{
	int saved_errno = errno;
	int tid = rt_gettid();
	struct rt_thread *t;
	struct park_args pa;
	bool rseq_paused;

	/* Not a request to park: a checkpoint's copy has ended (snapshot.c).
	 * The call it cut short goes on, as after the trigger signal. */
	if (rt_snapshot_exit_signal(si)) {
		rt_restart_trigger_interrupted(ucv);
		rt_snapshot_reap(false);
		errno = saved_errno;
		return;
	}
	if (tid == ckpt_tid && self_dump_active) {
		t = &rt_frz.threads[0];
		save_context(t, ucv);
		/* The image resumes this thread with 1 from the tgkill. */
		t->regs.rax = 1;
		/* Dump on a stack outside the image, so that the stack being
		 * saved holds still while it is written. */
		rt_call_on_stack(self_dump, dump_stack_top, self_dump_arg);
		errno = saved_errno;
		return;
	}

	pa.gen = __atomic_load_n(&freeze_gen, __ATOMIC_ACQUIRE);
	signal_pending_slots();
	t = find_thread(tid);
	if (!t || t->parked) {
		errno = saved_errno;
		return;
	}
	restart_interrupted(t, ucv);
	save_context(t, ucv);
	rseq_paused = rseq_pause(t->rseq_ptr);
	__atomic_store_n(&t->parked, true, __ATOMIC_RELEASE);
	/* Wait on a stack outside the image: this thread's own stack is
	 * being written and must not change under the checksum. */
	pa.slot = (int)(t - rt_frz.threads);
	pa.main_thread = tid == sig_pid;
	rt_call_on_stack(park, t->park_stack + PARK_STACK, &pa);
	if (rseq_paused)
		rseq_resume(t->rseq_ptr);
	if (__atomic_add_fetch(&left, 1, __ATOMIC_ACQ_REL) >= __atomic_load_n(&settled, __ATOMIC_ACQUIRE))
		futex_wake(&left, 1);
	errno = saved_errno;
}

/* Size of the XSAVE area for the features the kernel enabled (CPUID 0xD). */
static uint32_t xsave_frame_size(void)
{
	unsigned eax, ebx, ecx, edx;

	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx) || ebx < 512)
		return 512;
	return ebx > SC_XSAVE_MAX ? SC_XSAVE_MAX : ebx;
}

int rt_freeze_init(const struct rt_config *cfg)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = suspend_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	have_fsgsbase = getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE;
	return rt_real_sigaction(cfg->suspend_sig, &sa, NULL) ? -errno : 0;
}

static void sample_syscall(int taskfd, struct rt_thread *t)
{
	char path[32], buf[256], *p;
	struct pp_syscall sc;
	long fd, n;

	t->sys_nr = -2;
	p = rt_fmt_i64(path, t->tid);
	rt_stpcpy(p, "/syscall");
	fd = sc_sys4(__NR_openat, taskfd, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	n = sc_sys3(__NR_read, fd, buf, sizeof(buf) - 1);
	sc_sys1(__NR_close, fd);
	if (n > 0 && !pp_parse_syscall(buf, (size_t)n, &sc)) {
		t->sys_nr = sc.nr;
		t->sys_pc = sc.pc;
	}
}

/*
 * Signals every thread not yet known; returns how many were signalled.
 * All new threads are sampled first and signalled in a tight loop after,
 * so that the app is stopped for as short a time as possible; the samples
 * of threads blocked in a call (those that matter) stay true meanwhile.
 */
static int signal_new_threads(int pid, int *err)
{
	char buf[4096];
	int fd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/task",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int first = rt_frz.nr;
	char *mark = rt_arena_mark();

	if (fd < 0) {
		*err = fd;
		return 0;
	}
	while (!*err) {
		long n = sc_sys3(__NR_getdents64, fd, buf, sizeof(buf));

		if (n <= 0) {
			if (n < 0)
				*err = (int)n;
			break;
		}
		for (long off = 0; off < n && !*err;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int tid = 0;
			struct rt_thread *t;

			off += d->d_reclen;
			for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == ckpt_tid || find_thread(tid))
				continue;
			if (rt_frz.nr == MAX_THREADS) {
				*err = -E2BIG;
				break;
			}
			t = &rt_frz.threads[rt_frz.nr];
			memset(t, 0, sizeof(*t));
			t->tid = tid;
			t->xsave = rt_alloc(xsave_cap);
			t->park_stack = rt_alloc(PARK_STACK);
			if (!t->xsave || !t->park_stack) {
				*err = -ENOMEM;
				break;
			}
			sample_syscall(fd, t);
			rt_frz.nr++;
		}
	}
	sc_sys1(__NR_close, fd);
	if (*err || first == rt_frz.nr)
		return 0;
	/* Park stacks and XSAVE buffers, written by the handlers. */
	rt_arena_populate_since(mark);
	/* The app stops being whole from the first signal on. */
	if (!rt_frz.stop_begin_ns)
		rt_frz.stop_begin_ns = rt_now_ns(CLOCK_MONOTONIC);
	sig_pid = pid;
	__atomic_store_n(&sig_end, rt_frz.nr, __ATOMIC_RELEASE);
	__atomic_store_n(&sig_next, first, __ATOMIC_RELEASE);
	signal_pending_slots();
	return rt_frz.nr - first;
}

/* Threads that exited after being signalled will never park: they count
 * as settled. Slots are only marked dead, never moved: other handlers may
 * be writing theirs. */
static void drop_exited(int pid)
{

	for (int i = 1; i < rt_frz.nr; i++) {
		struct rt_thread *t = &rt_frz.threads[i];

		if (t->tid > 0 && !__atomic_load_n(&t->parked, __ATOMIC_ACQUIRE) &&
		    sc_sys3(__NR_tgkill, pid, t->tid, 0) == -ESRCH) {
			t->tid = -1;
			settle_one();
		}
	}
}

/* Per-thread state another thread of the process may read, gathered once
 * everybody is parked so that parking stays short; and the checkpointing
 * thread's pending signals and the process's. */
static void collect_parked(void)
{
	rt_pending_take_all();
	for (int i = 0; i < rt_frz.nr; i++) {
		struct rt_thread *t = &rt_frz.threads[i];
		char path[64], *p;
		long fd, n;

		if (t->tid <= 0)
			continue;
		sc_sys3(__NR_get_robust_list, t->tid, &t->robust_head, &t->robust_len);
		p = rt_stpcpy(path, "/proc/self/task/");
		p = rt_fmt_i64(p, t->tid);
		rt_stpcpy(p, "/comm");
		fd = sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			continue;
		n = sc_sys3(__NR_read, fd, t->name, sizeof(t->name) - 1);
		sc_sys1(__NR_close, fd);
		if (n > 0 && t->name[n - 1] == '\n')
			n--;
		t->name[n > 0 ? n : 0] = '\0';
	}
}

int rt_freeze_all(const struct rt_config *cfg, const struct rt_freeze **frz)
{
	int pid = (int)sc_sys0(__NR_getpid);
	int err = 0, expected = 0;
	uint64_t deadline;

	/* The thread the trigger reached takes the checkpoint. */
	ckpt_tid = rt_gettid();
	sig_pid = pid;
	suspend_sig = cfg->suspend_sig;
	if (rt_pending_init(cfg))
		return -ENOMEM;
	/* Asked here, not at start: CPUID traps to the hypervisor in a VM
	 * (12 us here), which every exec'd program would pay. */
	if (!xsave_cap)
		xsave_cap = xsave_frame_size();
	rt_frz.nr = 0;
	rt_frz.threads = rt_alloc(sizeof(struct rt_thread) * MAX_THREADS);
	if (!rt_frz.threads)
		return -ENOMEM;
	/* The dump runs on its own stack, outside the image. */
	char *stack = rt_alloc(1 << 20);
	if (!stack)
		return -ENOMEM;
	dump_stack_top = stack + (1 << 20);

	rt_frz.started_ns = rt_now_ns(CLOCK_MONOTONIC);
	rt_frz.stop_begin_ns = 0;
	memset(&rt_frz.threads[0], 0, sizeof(rt_frz.threads[0]));
	rt_frz.threads[0].tid = ckpt_tid;
	rt_frz.threads[0].runtime_thread = true;
	rt_frz.threads[0].sys_nr = -2;
	rt_frz.threads[0].xsave = rt_alloc(xsave_cap);
	if (!rt_frz.threads[0].xsave)
		return -ENOMEM;
	rt_frz.nr = 1;
	__atomic_store_n(&settled, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&left, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&sig_next, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&sig_end, 0, __ATOMIC_RELEASE);
	__atomic_add_fetch(&freeze_gen, 1, __ATOMIC_ACQ_REL);

	deadline = rt_frz.started_ns + PARK_TIMEOUT_NS;
	/* Signal, wait for all to park, look again: a thread may have been
	 * created by one that was not parked yet. Once every known thread is
	 * parked nobody can create more. */
	for (;;) {
		int added;

		__atomic_store_n(&settle_target, ~0U, __ATOMIC_RELEASE);
		added = signal_new_threads(pid, &err);
		if (err)
			return err;
		if (!added)
			break;
		expected += added;
		__atomic_store_n(&settle_target, (unsigned)expected, __ATOMIC_RELEASE);
		for (;;) {
			unsigned p = __atomic_load_n(&settled, __ATOMIC_ACQUIRE);

			if ((int)p >= expected)
				break;
			if (rt_now_ns(CLOCK_MONOTONIC) > deadline)
				return -ETIMEDOUT;
			futex_wait(&settled, p, 20000000);
			drop_exited(pid);
		}
	}
	rt_frz.frozen_at_ns = rt_now_ns(CLOCK_MONOTONIC);
	if (!rt_frz.stop_begin_ns) /* a single-threaded process */
		rt_frz.stop_begin_ns = rt_frz.frozen_at_ns;
	collect_parked();
	*frz = &rt_frz;
	return 0;
}

/* Resumes every parked thread and waits until all have left their park
 * stacks, which live in the arena about to be dropped. */
void rt_resume_all(void)
{
	unsigned parked_count = 0;
	bool main_parked = false;

	for (int i = 1; i < rt_frz.nr; i++) {
		const struct rt_thread *t = &rt_frz.threads[i];

		if (t->tid > 0 && __atomic_load_n(&t->parked, __ATOMIC_ACQUIRE)) {
			parked_count++;
			main_parked |= t->tid == sig_pid;
		}
	}
	/* The process's signals go back from the main thread; if it is
	 * gone, to this thread (the kernel refuses another sender). */
	rt_pending_requeue(0, !main_parked);
	__atomic_store_n(&resume_gen, __atomic_load_n(&freeze_gen, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	futex_wake(&resume_gen, 0x7fffffff);
	for (;;) {
		unsigned l = __atomic_load_n(&left, __ATOMIC_ACQUIRE);

		if (l >= parked_count)
			break;
		futex_wait(&left, l, 10000000);
	}
	rt_pending_forget();
}

/* The checkpointing thread's rseq: see rseq_pause. */
static uint64_t ckpt_rseq;

void rt_rseq_pause(void)
{
	uint64_t area = registered_rseq((uint64_t)__builtin_thread_pointer());

	ckpt_rseq = rseq_pause(area) ? area : 0;
}

void rt_rseq_resume(void)
{
	if (ckpt_rseq)
		rseq_resume(ckpt_rseq);
}

__attribute__((noinline)) long rt_capture_self_and_dump(void (*dump)(void *), void *arg)
{
	long r;

	self_dump = dump;
	self_dump_arg = arg;
	__atomic_store_n(&self_dump_active, true, __ATOMIC_RELEASE);
	r = sc_sys3(__NR_tgkill, sc_sys0(__NR_getpid), ckpt_tid, suspend_sig);
	__atomic_store_n(&self_dump_active, false, __ATOMIC_RELEASE);
	return r;
}

/* In a restored process the other threads run again from their saved
 * contexts, not from this handler: nobody is parked. */
void rt_freeze_reset_after_restore(void)
{
	resume_gen = freeze_gen;
	settled = 0;
	sig_next = sig_end = 0;
	rt_frz.nr = 0;
	rt_frz.threads = NULL;
	rt_pending_forget();
	ckpt_tid = rt_gettid();
}
