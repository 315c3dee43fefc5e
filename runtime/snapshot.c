// SPDX-License-Identifier: MIT
/*
 * Copy-on-write capture (doc/cow-capture.md). A checkpoint that leaves the
 * program running captures its descriptors, threads and layout while the
 * threads are parked, then clones the process: the clone, "the copy", has
 * the program's memory of that instant. The program runs on at once; the
 * copy writes the pages and the process's files, commits the image, logs
 * and exits.
 *
 * The copy's exit signal is the suspend signal, not SIGCHLD: a child whose
 * exit signal is not SIGCHLD is one wait(), waitpid(-1) and SIGCHLD never
 * report to the program. The suspend signal is the runtime's own, and a
 * real-time one: queued, never merged with another (the trigger signal
 * would be, with a user's trigger sent at the same moment). Its handler
 * knows the copy's end by the si_code (CLD_*), reaps it and notes how it
 * ended (rt_snapshot_reap).
 *
 * The program's parked threads may hold any libc lock at the instant of
 * the clone, and the copy has only the thread that cloned it: it calls raw
 * system calls only, like the freeze path it comes from.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "dump.h"
#include "heap_sort.h"
#include "procparse.h"
#include "vmakind.h"

#define RESIDENT_BATCH 65536 /* pages looked at in one pagemap read */

/* The copy writing the last checkpoint, until it is reaped (0: none), and
 * the process it is a child of: a forked or vforked child of the program
 * sees these too, and must leave them alone. */
static int copy_pid, copy_parent;
/* The pipe the copy lets the program go on through, kept for its report
 * (struct rt_copy_report) at the end: in the program the read end, in the
 * copy the write end. */
static struct rt_kept_fd report = { .fd = -1 };
/* Where the copy writes: the images' directory and the image's temporary
 * name there, for the program to remove if the copy dies half way. */
static const char *copy_dir;
static char copy_tmpname[64];

/* The bytes of the VMAs the copy gets a private copy of (shared memory). */
static uint64_t shared_bytes(const Sc__Mm *mm)
{
	uint64_t n = 0;

	for (size_t i = 0; i < mm->n_vmas; i++)
		if (sc_vma_is_stored_shared(mm->vmas[i]))
			n += mm->vmas[i]->end - mm->vmas[i]->start;
	return n;
}

/*
 * Whether the copy may be taken: at worst it ends up holding every private
 * page the program has (the program writes them all before the copy has
 * written them), plus the shared memory it copies at once. That must fit
 * in what the machine and the memory cgroups have left; why says otherwise.
 */
static int room_for_copy(const Sc__Mm *mm, char *why)
{
	uint64_t room, need;

	if (rt_memory_left(&room) || rt_private_bytes((int)sc_sys0(__NR_getpid), false, &need)) {
		rt_stpcpy(why, "the memory left cannot be read");
		return -EIO;
	}
	need += shared_bytes(mm);
	if (need <= room)
		return 0;
	rt_say_no_room(why, need, room);
	return -ENOMEM;
}

/*
 * MADV_DONTFORK memory would be missing from the copy and MADV_WIPEONFORK
 * memory zero in it: for the clone they are made ordinary (for_clone),
 * and right after it made what they were again, the program still parked.
 */
static int fork_advice(const Sc__Mm *mm, bool for_clone)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		uint64_t len = v->end - v->start;
		long r = 0;

		if (v->madv & SC__VMA_MADV__VMA_MADV_DONTFORK)
			r = sc_sys3(__NR_madvise, v->start, len,
				    for_clone ? MADV_DOFORK : MADV_DONTFORK);
		if (!r && (v->madv & SC__VMA_MADV__VMA_MADV_WIPEONFORK))
			r = sc_sys3(__NR_madvise, v->start, len,
				    for_clone ? MADV_KEEPONFORK : MADV_WIPEONFORK);
		if (r)
			return (int)r;
	}
	return 0;
}

static bool fd_before(const int *a, const int *b)
{
	return *a < *b;
}
SC_HEAP_SORT(sort_fds, int, fd_before)

/*
 * The copy keeps only what it writes with: the image's directories and
 * files, the pipe to the program, stderr when the log goes there, and in
 * a tree the connections its report goes through (a member's to its root,
 * the root's to the members, whose copies report to it). Any other
 * reference would keep the program's files open behind its back: a pipe's
 * reader would see no end of file once the program closed its end.
 */
static int keep_only_image_fds(const struct rt_image *im, int ready_fd)
{
	int *keep = rt_alloc(sizeof(*keep) * (RT_MAX_FILES + 4 + (size_t)rt_tree_conns(NULL)));
	int n = 0, next = 0;

	if (!keep)
		return -ENOMEM;
	n = rt_tree_conns(keep);
	keep[n++] = im->dirfd;
	keep[n++] = im->fd;
	keep[n++] = ready_fd;
	if (rt_log_to_stderr())
		keep[n++] = 2;
	for (size_t i = 0; i < im->nsums; i++)
		keep[n++] = im->fds[i];
	sort_fds(keep, (size_t)n);
	for (int i = 0; i < n; i++) {
		long r = 0;

		if (keep[i] < next)
			continue;
		if (keep[i] > next)
			r = sc_sys3(__NR_close_range, next, keep[i] - 1, 0);
		if (r)
			return (int)r;
		next = keep[i] + 1;
	}
	return (int)sc_sys3(__NR_close_range, next, ~0U, 0);
}

/*
 * Shared memory (MAP_SHARED anonymous, memfd, SysV, files in memory) is
 * the program's as much as the copy's: the program would change it under
 * the writer. The copy makes it private while the program is still
 * parked: the pages that hold anything are copied into private memory,
 * which then takes the shared mapping's place in the copy (and is given
 * back as written).
 */
static int privatize_one(const struct rt_source *self, const Sc__Vma *v, int pmfd, uint64_t *pme,
			 uint8_t *resident)
{
	uint64_t len = v->end - v->start;
	long priv = sc_sys6(__NR_mmap, 0, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int err = 0;

	if (SC_IS_ERR(priv))
		return (int)priv;
	if (!(v->prot & PROT_READ))
		err = (int)sc_sys3(__NR_mprotect, v->start, len, PROT_READ);
	for (uint64_t off = 0; off < len && !err; off += RESIDENT_BATCH * SC_PAGE_SIZE) {
		uint64_t n = (len - off) / SC_PAGE_SIZE;

		if (n > RESIDENT_BATCH)
			n = RESIDENT_BATCH;
		err = rt_pagemap_of(self, pmfd, v, v->start + off, n, pme, resident);
		for (uint64_t i = 0; i < n && !err; i++)
			if (rt_page_held(v, pme[i]))
				memcpy((char *)priv + off + i * SC_PAGE_SIZE,
				       (const char *)v->start + off + i * SC_PAGE_SIZE,
				       SC_PAGE_SIZE);
	}
	if (!err) {
		long r = sc_sys5(__NR_mremap, priv, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
				 v->start);

		err = SC_IS_ERR(r) ? (int)r : 0;
	}
	if (err)
		sc_sys2(__NR_munmap, priv, len);
	return err;
}

static int privatize_shared(const Sc__Mm *mm)
{
	uint64_t *pme = rt_alloc(RESIDENT_BATCH * sizeof(*pme));
	uint8_t *resident = rt_alloc(RESIDENT_BATCH);
	struct rt_source self;
	int err = 0, pmfd;

	if (!pme || !resident)
		return -ENOMEM;
	rt_src_self(&self, (int)sc_sys0(__NR_getpid), -1);
	pmfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (pmfd < 0)
		return pmfd;
	for (size_t i = 0; i < mm->n_vmas && !err; i++)
		if (sc_vma_is_stored_shared(mm->vmas[i]))
			err = privatize_one(&self, mm->vmas[i], pmfd, pme, resident);
	sc_sys1(__NR_close, pmfd);
	return err;
}

/* The report the copy left, if the pipe still is ours: true if whole. */
static bool read_report(struct rt_copy_report *rep)
{
	long r = -1;

	if (rt_kept_fd_ours(&report))
		do
			r = sc_sys3(__NR_read, report.fd, rep, sizeof(*rep));
		while (r == -EINTR);
	rt_kept_fd_close(&report);
	return r == sizeof(*rep);
}

void rt_snapshot_report(const struct rt_copy_report *rep)
{
	rt_write_all(report.fd, rep, sizeof(*rep));
}

/* Reaps the copy pid once it has ended: 0 if it committed its image,
 * -errno if it failed (the exit status it gave), -EINTR if it was killed. */
static int reap(int pid)
{
	siginfo_t si;
	long r;

	memset(&si, 0, sizeof(si));
	do
		r = sc_sys5(__NR_waitid, P_PID, pid, &si, WEXITED | __WALL, NULL);
	while (r == -EINTR);
	if (r)
		return (int)r;
	if (si.si_code == CLD_EXITED)
		return -si.si_status;
	return -EINTR;
}

bool rt_snapshot_writing(void)
{
	return __atomic_load_n(&copy_pid, __ATOMIC_ACQUIRE) &&
	       copy_parent == (int)sc_sys0(__NR_getpid);
}

/* The copy ended, rep saying how: crdump learns it here (the copy logged
 * it already), and the pruner what the copy said for it. */
static void copy_ended(const struct rt_copy_report *rep)
{
	char msg[128];

	rt_retention_note_said(rep->said);
	if (rep->err)
		rt_track_failed();
	else if (rep->tracked)
		rt_track_committed(rep->incremental, rep->image, rep->inventory_xxh3);
	if (!rep->err || rep->why[0]) {
		rt_note_outcome(rep->err, rep->why);
		return;
	}
	/* It could not say so itself: the program does. */
	rt_stpcpy(rt_stpcpy(rt_stpcpy(msg, "checkpoint failed (written by a copy): "),
			    rep->err == -EINTR ? "the copy was killed"
					       : strerrordesc_np(-rep->err) ?: "unknown error"),
		  "; the program keeps running");
	rt_log(msg);
	rt_note_outcome(rep->err, msg);
}

/* The temporary directory a copy that failed left: its name has the
 * program's pid, alive, so no later checkpoint would take it for a dead
 * writer's; the copy's lock went with it. A member's copy wrote into its
 * root's, which is the root's to remove. */
static void remove_copy_leftover(void)
{
	int dirfd, fd;

	if (!copy_tmpname[0])
		return;
	dirfd = (int)sc_sys4(__NR_openat, AT_FDCWD, copy_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			     0);
	fd = dirfd < 0 ? -1
		       : (int)sc_sys4(__NR_openat, dirfd, copy_tmpname,
				      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd >= 0 && !rt_image_lock(fd))
		rt_image_remove_dir(dirfd, copy_tmpname, fd);
	if (fd >= 0)
		sc_sys1(__NR_close, fd);
	if (dirfd >= 0)
		sc_sys1(__NR_close, dirfd);
}

bool rt_snapshot_reap(bool wait)
{
	struct rt_copy_report rep;
	int err;

	int pid = __atomic_load_n(&copy_pid, __ATOMIC_ACQUIRE);

	if (!pid || copy_parent != (int)sc_sys0(__NR_getpid))
		return false;
	if (!wait) {
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (sc_sys5(__NR_waitid, P_PID, pid, &si, WEXITED | __WALL | WNOHANG | WNOWAIT,
			    NULL) == 0 &&
		    !si.si_pid)
			return false; /* still writing */
	}
	/* One thread reaps it: another may be at it in the trigger's handler. */
	if (!__atomic_compare_exchange_n(&copy_pid, &pid, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return false;
	err = reap(pid);
	/* Killed, or gone before it could say: only its status tells. */
	if (!read_report(&rep) || err == -EINTR) {
		memset(&rep, 0, sizeof(rep));
		rep.err = err;
	}
	if (rep.err)
		remove_copy_leftover();
	copy_ended(&rep);
	return true;
}

bool rt_snapshot_exit_signal(const siginfo_t *si)
{
	return si && (si->si_code == CLD_EXITED || si->si_code == CLD_KILLED ||
		      si->si_code == CLD_DUMPED);
}

/* Why the program is held until its pages are written, into res. */
static void held(struct rt_dump_result *res, const char *why, int err)
{
	char *p = rt_stpcpy(res->held_why, why);

	if (err)
		rt_stpcpy(rt_stpcpy(p, ": "), strerrordesc_np(-err) ?: "unknown error");
}

void rt_snapshot_take(const struct rt_config *cfg, const Sc__Mm *mm, const struct rt_image *im,
		      bool runs_on, struct rt_dump_result *res)
{
	int ready[2], status = 0, err;
	long pid, r;

	/* held_why may say already why it is not to run on (a tree's budget,
	 * tree.c): a checkpoint's result starts empty. */
	res->snapshot = RT_SNAPSHOT_NONE;
	if (!runs_on || !cfg->copy_on_write)
		return;
	if ((err = room_for_copy(mm, res->held_why)))
		return;
	if ((err = (int)sc_sys2(__NR_pipe2, ready, O_CLOEXEC))) {
		held(res, "no pipe to the copy", err);
		return;
	}
	err = fork_advice(mm, true);
	pid = err ? err : sc_sys5(__NR_clone, cfg->suspend_sig, 0, NULL, NULL, 0);
	if (pid == 0) {
		err = keep_only_image_fds(im, ready[1]);
		if (!err)
			err = privatize_shared(mm);
		res->released_ns = rt_now_ns(CLOCK_MONOTONIC);
		rt_write_all(ready[1], &err, sizeof(err));
		if (err)
			sc_sys1(__NR_exit_group, -err);
		report.fd = ready[1];
		/* Its log lines are the program's. */
		rt_speak_for(im->pid);
		res->snapshot = RT_SNAPSHOT_COPY;
		return;
	}
	fork_advice(mm, false);
	sc_sys1(__NR_close, ready[1]);
	if (pid < 0) {
		sc_sys1(__NR_close, ready[0]);
		held(res, "no copy", (int)pid);
		return;
	}
	do
		r = sc_sys3(__NR_read, ready[0], &status, sizeof(status));
	while (r == -EINTR);
	if (r != sizeof(status) || status) {
		sc_sys1(__NR_close, ready[0]);
		reap((int)pid);
		held(res, "the copy could not start", status ? status : -ECHILD);
		return;
	}
	rt_keep_fd(&report, ready[0]);
	copy_dir = cfg->dir;
	rt_stpcpy(copy_tmpname, im->tmpname);
	copy_parent = im->pid;
	__atomic_store_n(&copy_pid, (int)pid, __ATOMIC_RELEASE);
	res->snapshot = RT_SNAPSHOT_PROGRAM;
}
