// SPDX-License-Identifier: MIT
/*
 * Seizing a process and running syscalls inside it.
 *
 * Every thread is seized (PTRACE_SEIZE) and stopped (PTRACE_INTERRUPT);
 * the task list is read again until no thread is new, since a thread not
 * yet stopped may have made another. A syscall runs in a stopped thread
 * by pointing its rip at a `syscall` instruction of the target's own
 * executable memory, with the number and arguments in their registers,
 * and stepping over it once; then every register is put back, including
 * a syscall the thread was interrupted in (orig_rax and the -ERESTART...
 * rax), so the kernel restarts that one as if nothing happened.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace.h"
#include "selfckpt/reissue.h"

static struct pt_thread *find(struct pt_target *t, pid_t tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

/*
 * Waits until th stops for us: the PTRACE_INTERRUPT stop, or a
 * signal-delivery-stop before it (resume is PTRACE_CONT), or the trap
 * after a single step (PTRACE_SINGLESTEP; an event stop first, such as a
 * group-stop of a stopped job reported late, means the step has not run
 * yet: it is asked again; a clone's event stop leaves the child's pid in
 * th->cloned). A signal arriving meanwhile shows as a
 * signal-delivery-stop: it is held back here and sent again when the
 * thread is let go (pt_release), so neither the stop nor the syscalls run
 * inside it take a signal away. False if the thread is gone.
 */
static bool wait_stopped(struct pt_thread *th, int resume)
{
	int st;

	for (;;) {
		pid_t r = waitpid(th->tid, &st, __WALL);
		int sig;

		if (r < 0 && errno == EINTR)
			continue;
		if (r != th->tid || WIFEXITED(st) || WIFSIGNALED(st))
			return false;
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		if (st >> 16 == PTRACE_EVENT_CLONE)
			ptrace(PTRACE_GETEVENTMSG, th->tid, 0, &th->cloned);
		if (st >> 16) {
			if (resume == PTRACE_CONT)
				return true;
		} else if (resume == PTRACE_SINGLESTEP && sig == SIGTRAP) {
			return true;
		} else {
			if (!th->held_sig && !ptrace(PTRACE_GETSIGINFO, th->tid, 0, &th->held_info))
				th->held_sig = sig;
			/* Stopped all the same, where the interrupt stop would
			 * be; and any stop cancels the PTRACE_INTERRUPT still to
			 * come, so waiting on for it would wait for ever on a
			 * thread a timer keeps signalling. */
			if (resume == PTRACE_CONT)
				return true;
		}
		if (ptrace(resume, th->tid, 0, 0))
			return false;
	}
}

/*
 * A blocking call that the stop cut short with a plain EINTR (epoll_wait,
 * unlike most, is never restarted by the kernel) would show the program
 * an EINTR it never asked for: it is issued again instead, in the process
 * let go and in the image alike.
 */
static void reissue_eintr(struct user_regs_struct *r)
{
	if ((long)r->orig_rax >= 0 && (long)r->rax == -EINTR && sc_reissuable((long)r->orig_rax)) {
		r->rax = r->orig_rax;
		r->rip -= 2;
	}
}

/* Seizes and stops thread tid of t->pid: 1, 0 if it is gone, -1 (err). */
static int hold_thread(struct pt_target *t, pid_t tid, char *err)
{
	struct pt_thread *th;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0)) {
		if (errno == ESRCH)
			return 0; /* exited meanwhile */
		snprintf(err, PT_ERR_LEN, "process %d: cannot trace thread %d: %s%s", t->pid, tid,
			 strerror(errno),
			 errno == EPERM ? " (another user's process, or ptrace forbidden "
					  "by kernel.yama.ptrace_scope)"
					: "");
		return -1;
	}
	if (t->nthreads == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct pt_thread *more = realloc(t->threads, cap * sizeof(*more));

		if (!more) {
			ptrace(PTRACE_DETACH, tid, 0, 0);
			snprintf(err, PT_ERR_LEN, "out of memory");
			return -1;
		}
		t->threads = more;
		t->cap = cap;
	}
	th = &t->threads[t->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || !wait_stopped(th, PTRACE_CONT) ||
	    ptrace(PTRACE_GETREGS, tid, 0, &th->regs)) {
		/* Gone while being stopped: not a thread to hold. */
		ptrace(PTRACE_DETACH, tid, 0, 0);
		t->nthreads--;
		return 0;
	}
	reissue_eintr(&th->regs);
	return 1;
}

/* Seizes and stops the threads of t->pid not yet held (all of them, or
 * with one the first that can be); how many, or -1. */
static int seize_new(struct pt_target *t, bool one, char *err)
{
	char path[64];
	struct dirent *d;
	int added = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	dir = opendir(path);
	if (!dir) {
		snprintf(err, PT_ERR_LEN, "process %d: %s", t->pid,
			 errno == ENOENT ? "no such process" : strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) && !(one && added)) {
		pid_t tid = (pid_t)atoi(d->d_name);
		int r;

		if (tid <= 0 || find(t, tid))
			continue;
		r = hold_thread(t, tid, err);
		if (r < 0) {
			closedir(dir);
			return -1;
		}
		added += r;
	}
	closedir(dir);
	return added;
}

static int seize(pid_t pid, struct pt_target *t, bool one, char *err)
{
	int added;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	do
		added = seize_new(t, one, err);
	while (added > 0 && !one);
	if (added == 0 && !t->nthreads) {
		snprintf(err, PT_ERR_LEN, "process %d: no such process", pid);
		added = -1;
	}
	if (added < 0 || pt_find_syscall_insn(pid, &t->syscall_insn, err)) {
		pt_release(t);
		return -1;
	}
	return 0;
}

int pt_seize(pid_t pid, struct pt_target *t, char *err)
{
	return seize(pid, t, false, err);
}

void pt_release(struct pt_target *t)
{
	for (size_t i = 0; i < t->nthreads; i++) {
		struct pt_thread *th = &t->threads[i];

		ptrace(PTRACE_SETREGS, th->tid, 0, &th->regs);
		ptrace(PTRACE_DETACH, th->tid, 0, 0);
		/* With its siginfo where the kernel lets another process
		 * queue it (si_code < 0: sigqueue, timers...), else as kill. */
		if (th->held_sig &&
		    syscall(SYS_rt_tgsigqueueinfo, t->pid, th->tid, th->held_sig, &th->held_info))
			syscall(SYS_tgkill, t->pid, th->tid, th->held_sig);
	}
	free(t->threads);
	t->threads = NULL;
	t->nthreads = t->cap = 0;
}

long pt_syscall(struct pt_target *t, struct pt_thread *th, long nr, const long args[6], bool *ok,
		char *err)
{
	struct user_regs_struct r = th->regs;

	*ok = false;
	r.rip = t->syscall_insn;
	r.rax = (unsigned long)nr;
	r.orig_rax = (unsigned long)-1; /* no restart of what th was in */
	r.rdi = (unsigned long)args[0];
	r.rsi = (unsigned long)args[1];
	r.rdx = (unsigned long)args[2];
	r.r10 = (unsigned long)args[3];
	r.r8 = (unsigned long)args[4];
	r.r9 = (unsigned long)args[5];
	if (ptrace(PTRACE_SETREGS, th->tid, 0, &r) || ptrace(PTRACE_SINGLESTEP, th->tid, 0, 0) ||
	    !wait_stopped(th, PTRACE_SINGLESTEP) || ptrace(PTRACE_GETREGS, th->tid, 0, &r)) {
		snprintf(err, PT_ERR_LEN, "thread %d: running syscall %ld in it: %s", th->tid, nr,
			 strerror(errno));
		ptrace(PTRACE_SETREGS, th->tid, 0, &th->regs);
		return -1;
	}
	if (r.rip != t->syscall_insn + 2) {
		snprintf(err, PT_ERR_LEN,
			 "thread %d: syscall %ld did not complete (stopped at %#llx)", th->tid, nr,
			 (unsigned long long)r.rip);
		ptrace(PTRACE_SETREGS, th->tid, 0, &th->regs);
		return -1;
	}
	if (ptrace(PTRACE_SETREGS, th->tid, 0, &th->regs)) {
		snprintf(err, PT_ERR_LEN, "thread %d: putting its registers back: %s", th->tid,
			 strerror(errno));
		return -1;
	}
	*ok = true;
	return (long)r.rax;
}

/* Kills the copy child and has its parent, held in t, wait for it: its
 * parent is told nothing (exit signal 0), so nothing else would. */
static int snapshot_reap(struct pt_target *t, pid_t child, pid_t nspid, char *err)
{
	const long args[6] = { P_PID, nspid, 0, WEXITED | __WALL };
	bool ok;
	long r;

	kill(child, SIGKILL);
	while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR)
		;
	r = pt_syscall(t, &t->threads[0], SYS_waitid, args, &ok, err);
	if (ok && r < 0)
		snprintf(err, PT_ERR_LEN, "process %d: waitid for its copy %d: %s", t->pid, nspid,
			 strerror((int)-r));
	return ok && r == 0 ? 0 : -1;
}

pid_t pt_snapshot(struct pt_target *t, pid_t *nspid, char *err)
{
	/* No CLONE_VM: the copy-on-write copy. CLONE_FILES: no second
	 * reference to any of its files (a pipe's writer stays one). Exit
	 * signal 0: its parent is not told when it goes. A stack pointer it
	 * cannot use: should it ever run, it faults at once. */
	const long args[6] = { CLONE_FILES, 1 };
	struct pt_thread *th = &t->threads[0];
	char ignored[PT_ERR_LEN];
	pid_t child;
	bool ok;
	long r;
	int st;

	th->cloned = 0;
	if (ptrace(PTRACE_SETOPTIONS, th->tid, 0, PTRACE_O_TRACECLONE)) {
		snprintf(err, PT_ERR_LEN, "thread %d: PTRACE_SETOPTIONS: %s", th->tid,
			 strerror(errno));
		return -1;
	}
	r = pt_syscall(t, th, SYS_clone, args, &ok, err);
	ptrace(PTRACE_SETOPTIONS, th->tid, 0, 0);
	child = (pid_t)th->cloned;
	if (!ok || r <= 0 || !child) {
		if (ok)
			snprintf(err, PT_ERR_LEN, "process %d: clone: %s", t->pid,
				 r < 0 ? strerror((int)-r) : "no child");
		if (child && r > 0)
			snapshot_reap(t, child, (pid_t)r, ignored);
		return -1;
	}
	/* Auto-attached, it stops before its first instruction; from then
	 * on, crdump's end is its end. */
	while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
		;
	if (!WIFSTOPPED(st) || ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_EXITKILL)) {
		snprintf(err, PT_ERR_LEN, "process %d: its copy %d did not stop", t->pid, child);
		snapshot_reap(t, child, (pid_t)r, ignored);
		return -1;
	}
	*nspid = (pid_t)r;
	return child;
}

int pt_snapshot_end(pid_t pid, pid_t child, pid_t nspid, char *err)
{
	struct pt_target t;
	int ret;

	if (seize(pid, &t, true, err)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, __WALL);
		return -1;
	}
	ret = snapshot_reap(&t, child, nspid, err);
	pt_release(&t);
	return ret;
}
