// SPDX-License-Identifier: MIT
/*
 * crdump -t PID -D DIR: captures a process tree that does not run the
 * runtime, with ptrace, into the image format crload restores.
 *
 * Every thread of every process is stopped before anything is read. Each
 * process is then read by the runtime's own dump halves, pointed at it
 * (runtime/dump_source.h), plus core.c for what ptrace gives. The image
 * is written into a temporary directory beside DIR, fsynced and renamed
 * to DIR; only then is the tree killed (or, with --leave-running, let
 * go). On any failure the tree is let go exactly as it was. What a crdump
 * killed half way left beside DIR is removed by the next one
 * (doc/faults.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cpu.h"
#include "crdump.h"
#include "procparse.h"
#include "shell_job.h"
#include "vmakind.h"

#define MAX_CHILDREN 4096

static struct {
	pid_t root;
	const char *dir, *prev, *flush_dir;
	bool leave_running, shell_job, tcp_established, verbose, no_snapshot;
	struct rt_compress compress; /* --compress, --compress-threads */
} opt;
/* --prev: the image this one builds on, loaded before the tree is held. */
static struct cd_prev prev;

static struct cd_proc *procs;
static size_t nprocs;
static struct rt_image img = { .fd = -1, .dirfd = -1 };

/* Processes dumped that are not zombies: with more than one, pipes and
 * sockets between them are checked across the tree. */
static size_t live_procs(void)
{
	size_t live = 0;

	for (size_t i = 0; i < nprocs; i++)
		live += !procs[i].zombie;
	return live;
}

/* ---- finding and holding the tree ---- */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void release_all(void)
{
	rt_tcp_release();
	for (size_t i = 0; i < nprocs; i++)
		if (!procs[i].zombie)
			pt_release(&procs[i].pt);
}

/* The copies the pages were read from go, and their parents (running
 * again by now) wait for them. */
static void end_snapshots(void)
{
	char err[PT_ERR_LEN];

	for (size_t i = 0; i < nprocs; i++) {
		struct cd_proc *p = &procs[i];

		if (p->snap && pt_snapshot_end(p->pid, p->snap, p->snap_nspid, err))
			fprintf(stderr, "crdump: warning: %s\n", err);
		p->snap = 0;
	}
}

static void __attribute__((format(printf, 1, 0))) say(const char *fmt, va_list ap)
{
	fputs("crdump: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	/* Nothing that looks like an image, and the tree runs on. */
	if (img.fd >= 0)
		rt_image_discard(&img);
	release_all();
	end_snapshots();
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * The signals that ask crdump to stop (Ctrl-C, kill, a terminal closed, ^\).
 * Ending crdump while it holds the tree could leave a thread inside a
 * syscall crdump made it run, with registers crdump changed, to die once
 * let go: they stay blocked, and are taken between steps, where fail()
 * lets the tree go as it was and leaves no image. Once the image is
 * complete crdump finishes. SIGKILL cannot wait (doc/faults.md).
 */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void block_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals); i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void stop_if_asked(void)
{
	sigset_t pending;

	if (sigpending(&pending))
		return;
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals); i++)
		if (sigismember(&pending, stop_signals[i]))
			fail("stopped by SIG%s before the image was complete: no image, the "
			     "tree runs on",
			     sigabbrev_np(stop_signals[i]));
}

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

static bool held(pid_t pid)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return true;
	return false;
}

/* Whether a VMA of pid is still filled by crload --lazy's page server. */
static bool lazily_filled(pid_t pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool lazy = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	while (f && !lazy && (len = getline(&line, &cap, f)) > 0)
		lazy = pp_smaps_missing_mode(line, (size_t)len);
	if (f)
		fclose(f);
	free(line);
	return lazy;
}

/* A process crload --lazy restored, its memory not all in yet: a page
 * not in would be taken for a zero page. Waits, as the runtime does
 * (doc/lazy-restore.md), at most a minute (a program that uses
 * userfaultfd itself). */
static void wait_for_lazy_pages(pid_t pid)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 6000 && lazily_filled(pid); i++)
		nanosleep(&pause, NULL);
}

/* Stops pid; a zombie is only listed, with its wait status. A child that
 * is gone by the time it is stopped (reaped by a parent that ignores
 * SIGCHLD) was not in the tree. */
static void hold(pid_t pid)
{
	char err[PT_ERR_LEN];
	struct pp_stat st;
	struct cd_proc *p;

	p = realloc(procs, (nprocs + 1) * sizeof(*procs));
	if (!p)
		fail("out of memory"); /* letting go of those held already */
	procs = p;
	p = &procs[nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->mem_fd = p->pidfd = -1;
	if (!rt_tree_read_stat(pid, &st, NULL)) {
		if (pid != opt.root)
			return;
		fail("process %d: no such process", pid);
	}
	p->ppid = st.ppid;
	p->pgid = st.pgrp;
	p->sid = st.session;
	if (st.state == 'Z' && pid != opt.root) {
		p->zombie = true;
		p->exit_status = st.exit_code;
		nprocs++;
		return;
	}
	wait_for_lazy_pages(pid);
	if (pt_seize(pid, &p->pt, err)) {
		/* A child exiting meanwhile cannot be traced: soon gone, or a
		 * zombie. */
		for (int i = 0; pid != opt.root && i < 50; i++) {
			if (!rt_tree_read_stat(pid, &st, NULL))
				return;
			if (st.state == 'Z' || st.state == 'X')
				break;
			usleep(1000);
		}
		if (pid != opt.root && (st.state == 'Z' || st.state == 'X')) {
			p->zombie = st.state == 'Z';
			p->exit_status = st.exit_code;
			nprocs += p->zombie;
			return;
		}
		fail("%s", err);
	}
	nprocs++;
	/* Its parent, group and session cannot change while it is stopped. */
	if (!rt_tree_read_stat(pid, &st, NULL))
		fail("process %d: exited while being stopped", pid);
	p->ppid = st.ppid;
	p->pgid = st.pgrp;
	p->sid = st.session;
}

/*
 * Stops the root, then every descendant, until a pass finds nobody new:
 * a process stopped cannot fork any more, so the tree stops growing.
 */
static void hold_tree(void)
{
	bool grew;

	hold(opt.root);
	do {
		grew = false;
		for (size_t i = 0; i < nprocs; i++) {
			static int kids[MAX_CHILDREN];
			int n = 0;

			if (rt_tree_children(procs[i].pid, kids, &n, MAX_CHILDREN))
				fail("process %d has more than %d children", procs[i].pid,
				     MAX_CHILDREN);
			for (int k = 0; k < n; k++) {
				if (held(kids[k]))
					continue;
				hold(kids[k]);
				grew = true;
			}
		}
	} while (grew);
}

/* The pipes, socketpairs, shared descriptions and SysV segments between
 * the tree's processes (runtime/tree_scan.c). */
static void scan_tree(void)
{
	int *pids = calloc(nprocs, sizeof(*pids)), n = 0, err;
	struct rt_dump_result res = { 0 };

	if (!pids)
		fail("out of memory");
	for (size_t i = 0; i < nprocs; i++)
		if (!procs[i].zombie)
			pids[n++] = procs[i].pid;
	if ((err = rt_tree_scan(pids, n, &res)))
		fail("%s: %s", res.what ? res.what : "looking at the tree",
		     res.detail[0] ? res.detail : strerror(-err));
	free(pids);
}

/* A system call with one argument, made inside held process p by its main
 * thread; its result, or crdump fails. */
static long ask(struct cd_proc *p, long nr, long arg, const char *what)
{
	char err[PT_ERR_LEN];
	bool ok;
	long r = pt_syscall(&p->pt, &p->pt.threads[0], nr, (long[6]){ arg }, &ok, err);

	if (!ok)
		fail("%s", err);
	if (SC_IS_ERR(r))
		fail("process %d: %s: %s", p->pid, what, strerror((int)-r));
	return r;
}

/* Everything crdump needs open on a held process before dumping it. */
static void open_proc(struct cd_proc *p)
{
	char path[64], err[PT_ERR_LEN];
	struct dirent *d;
	int max = -1;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	p->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (p->mem_fd < 0 || p->pidfd < 0)
		fail("process %d: %s: %s", p->pid, p->mem_fd < 0 ? path : "pidfd_open",
		     strerror(errno));

	snprintf(path, sizeof(path), "/proc/%d/fd", p->pid);
	dir = opendir(path);
	if (!dir)
		fail("process %d: %s: %s", p->pid, path, strerror(errno));
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.' && atoi(d->d_name) > max)
			max = atoi(d->d_name);
	rewinddir(dir);
	p->n_local = max + 1;
	p->local_fds = malloc(sizeof(int) * (size_t)(p->n_local + 1));
	if (!p->local_fds)
		fail("out of memory");
	for (int i = 0; i < p->n_local; i++)
		p->local_fds[i] = -1;
	while ((d = readdir(dir))) {
		int n = atoi(d->d_name), fd;

		if (d->d_name[0] == '.' || n >= p->n_local)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, p->pidfd, n, 0);
		if (fd < 0)
			fail("process %d: fd %d: pidfd_getfd: %s", p->pid, n, strerror(errno));
		p->local_fds[n] = fd;
	}
	closedir(dir);

	p->brk = (uint64_t)ask(p, SYS_brk, 0, "brk");
	/* What its status file does not show of its credentials. */
	p->securebits = (uint32_t)ask(p, SYS_prctl, PR_GET_SECUREBITS, "PR_GET_SECUREBITS");
	p->dumpable = (uint32_t)ask(p, SYS_prctl, PR_GET_DUMPABLE, "PR_GET_DUMPABLE");
	if (cd_itimers(p, p->itimers, err) || cd_xcomp_perm(p, &p->xcomp_perm, err))
		fail("%s", err);
}

static void close_proc(struct cd_proc *p)
{
	for (int i = 0; i < p->n_local; i++)
		if (p->local_fds[i] >= 0)
			close(p->local_fds[i]);
	free(p->local_fds);
	p->local_fds = NULL;
	p->n_local = 0;
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->mem_fd = p->pidfd = -1;
}

/* ---- writing the image ---- */

static Sc__FileSum **sums;
static size_t nsums;
static uint64_t bytes;

static void failed_step(struct cd_proc *p, const char *what, int err, const char *why)
{
	fail("process %d: %s: %s", p->pid, what, why[0] ? why : strerror(-err));
}

/* What the dump halves read: process pid, seen through p's descriptors. */
static void point_source(struct rt_source *src, struct cd_proc *p, pid_t pid, int mem_fd)
{
	*src = (struct rt_source){ .pid = pid,
				     .remote = true,
				     .mem_fd = mem_fd,
				     .local_fds = p->local_fds,
				     .n_local = p->n_local,
				     .brk = p->brk,
				     .xcomp_perm = p->xcomp_perm,
				     .securebits = p->securebits,
				     .dumpable = p->dumpable,
				     .refuse_tcp = !opt.tcp_established,
				     .timer_gettime = cd_timer_gettime,
				     .timer_proc = p,
				     .own_timer = -1 };
	memcpy(src->itimers, p->itimers, sizeof(src->itimers));
	snprintf(src->proc, sizeof(src->proc), "/proc/%d", pid);
}

/*
 * Can p's pages come from a copy made now, once the tree runs again? Only
 * where a copy-on-write child sees exactly them: private memory that a
 * fork copies (doc/crdump-snapshot.md); NULL, or why not.
 */
static const char *snapshot_refused(struct cd_proc *p)
{
	const Sc__Mm *mm = &p->files.mm;
	char path[64], *status;
	size_t len;
	bool filtered;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];

		if (!sc_vma_stores_pages(v))
			continue;
		if (sc_vma_is_stored_shared(v))
			return "it has shared memory, which would change under the copy";
		if (v->madv & (PP_VM_DONTFORK | PP_VM_WIPEONFORK))
			return "memory of its is not copied by a fork (MADV_DONTFORK, "
			       "MADV_WIPEONFORK)";
	}
	/* A seccomp filter may forbid or punish the clone. */
	snprintf(path, sizeof(path), "/proc/%d/status", p->pid);
	status = rt_read_file(path, &len);
	filtered = !status || !memmem(status, len, "\nSeccomp:\t0\n", 12);
	return filtered ? "it runs under a seccomp filter" : NULL;
}

/* The pages of p, from its copy when it has one, written. */
static void dump_pages(struct cd_proc *p)
{
	struct rt_source src;
	char path[64];
	int err, mem_fd = p->mem_fd;

	if (p->snap) {
		snprintf(path, sizeof(path), "/proc/%d/mem", p->snap);
		mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (mem_fd < 0)
			failed_step(p, "memory", -errno, path);
	}
	point_source(&src, p, p->snap ? p->snap : p->pid, mem_fd);
	src.copy_on_write = p->snap;
	if (opt.prev) {
		char why[CD_ERR_LEN];

		src.parent = cd_prev_proc(&prev, p->pid, why);
		if (!src.parent && sc_image_proc(&prev.img, p->pid))
			fail("%s", why);
		src.same_in_parent = src.parent ? cd_prev_same : NULL;
	}
	err = rt_dump_mm_pages(&src, &p->img, &p->files.mm, &p->files.pm, NULL);
	cd_prev_proc_free(src.parent);
	if (p->snap)
		close(mem_fd);
	if (err)
		failed_step(p, "memory", err, "");
}

/* Everything of p that is read while the tree is held: its pages too,
 * unless (--leave-running) a copy of its memory is made to read them
 * from once the tree runs on. */
static void dump_proc(struct cd_proc *p)
{
	struct rt_proc_files *f = &p->files;
	static char why[RT_MAX_PATH + 128];
	char path[RT_MAX_PATH], err_text[PT_ERR_LEN];
	const struct rt_fd_tree tree = { .several = live_procs() > 1 };
	struct rt_source src;
	const char *refused;
	int err;

	*f = (struct rt_proc_files){ SC__FDS__INIT, SC__MM__INIT, SC__PAGEMAP__INIT,
				     SC__PROC_CORE__INIT, SC__SIG_ACTS__INIT };
	p->img = (struct rt_image){ .dirfd = img.dirfd,
				    .fd = img.fd,
				    .pid = p->pid,
				    .compress = opt.compress.level ? &opt.compress : NULL };
	point_source(&src, p, p->pid, p->mem_fd);
	why[0] = '\0';
	/* Relative names (a unix socket's, say) mean what they mean to it. */
	if (chdir(rt_src_path(&src, path, "cwd")))
		failed_step(p, "its working directory", -errno, "");
	if ((err = rt_dump_fds(&src, &p->img, &f->fds, &tree, why)))
		failed_step(p, "descriptors", err, why);
	if ((err = rt_dump_mm_layout(&src, &f->mm)))
		failed_step(p, "memory", err, why);
	why[0] = '\0';
	if ((err = rt_dump_proc_state(&src, &f->core, why)))
		failed_step(p, "process state", err, why);
	if ((err = rt_dump_terminal(&src, &f->core)))
		failed_step(p, "terminal", err, why);
	if (cd_dump_threads(p, &f->core, why))
		failed_step(p, "threads", -EIO, why);
	if (cd_dump_sigacts(p, &f->acts, why))
		failed_step(p, "signal handlers", -EIO, why);
	if (opt.leave_running && !opt.no_snapshot) {
		if ((refused = snapshot_refused(p)))
			vlog("process %d: its pages are read while it is held: %s", p->pid,
			     refused);
		else if ((p->snap = pt_snapshot(&p->pt, &p->snap_nspid, err_text)) < 0)
			vlog("process %d: its pages are read while it is held: %s", p->pid,
			     err_text);
		if (p->snap > 0) {
			vlog("process %d: its pages are read from its copy %d while it runs on",
			     p->pid, p->snap);
			return;
		}
		p->snap = 0;
	}
	dump_pages(p);
}

/* p's own files, once its pages are written. */
static void write_proc(struct cd_proc *p)
{
	const char *what;
	int err;

	if ((err = rt_image_write_proc(&p->img, &p->files, &what)))
		failed_step(p, what, err, "");
	sums = realloc(sums, (nsums + p->img.nsums) * sizeof(*sums));
	if (!sums)
		failed_step(p, "writing", -ENOMEM, "");
	memcpy(sums + nsums, p->img.sums, p->img.nsums * sizeof(*sums));
	nsums += p->img.nsums;
	bytes += p->img.bytes;
}

/* Every process's files to disk: the image is durable once committed. */
static void sync_procs(void)
{
	for (size_t i = 0; i < nprocs; i++) {
		int err;

		if (!procs[i].zombie && (err = rt_image_sync(&procs[i].img)))
			fail("writing the image: %s", strerror(-err));
	}
}

static void write_inventory(uint64_t freeze_ns)
{
	Sc__Inventory inv = SC__INVENTORY__INIT;
	Sc__ProcEntry *entries = calloc(nprocs, sizeof(*entries));
	Sc__ProcEntry **list = calloc(nprocs, sizeof(*list));
	struct utsname uts;
	struct sc_cpu cpu;
	Sc__Cpu cpu_msg;
	int err;

	if (!entries || !list)
		fail("out of memory");
	for (size_t i = 0; i < nprocs; i++) {
		sc__proc_entry__init(&entries[i]);
		entries[i].pid = procs[i].pid;
		entries[i].ppid = procs[i].ppid;
		entries[i].pgid = procs[i].pgid;
		entries[i].sid = procs[i].sid;
		entries[i].has_zombie = entries[i].has_exit_status = procs[i].zombie;
		entries[i].zombie = procs[i].zombie;
		entries[i].exit_status = procs[i].exit_status;
		if (rt_tree_attach_descs(&entries[i]))
			fail("out of memory");
		list[i] = &entries[i];
	}
	inv.version = SC_IMAGE_VERSION;
	inv.writer = SC_WRITER_CRDUMP;
	inv.writer_version = PACKAGE_VERSION;
	inv.time_ns = rt_now_ns(CLOCK_REALTIME);
	inv.n_procs = nprocs;
	inv.procs = list;
	rt_dump_job(&inv);
	if (inv.shell_job && !opt.shell_job) {
		fail("process %d is a job of an interactive shell (its session leader %d is not in "
		     "the tree): dump it with --shell-job, restore it with crload --shell-job",
		     opt.root, procs[0].sid);
	}
	inv.n_files = nsums;
	inv.files = sums;
	inv.has_exit_after = true;
	inv.exit_after = !opt.leave_running;
	inv.has_freeze_ns = true;
	inv.freeze_ns = freeze_ns;
	if (opt.prev) {
		inv.parent = prev.path;
		inv.has_parent_inventory_xxh3 = true;
		inv.parent_inventory_xxh3 = prev.img.inv_xxh3;
	}
	if (!uname(&uts)) {
		inv.kernel = uts.release;
		inv.hostname = uts.nodename;
	}
	sc_cpu_this(&cpu);
	sc_cpu_to_msg(&cpu, &cpu_msg);
	inv.cpu = &cpu_msg;
	if ((err = rt_image_write_msg(&img, "inventory", SC_IMG_INVENTORY, &inv.base)) ||
	    (err = rt_image_commit(&img)))
		fail("writing the image: %s", strerror(-err));
	/* Complete: no failure from here may remove it. */
	close(img.fd);
	img.fd = -1;
	bytes += img.bytes;
}

/* The temporary directory beside DIR; DIR itself must not exist or be
 * empty, as rename() replaces only an empty directory. */
static void check_image_dir(void)
{
	struct stat st;
	DIR *d;

	if (!stat(opt.dir, &st)) {
		struct dirent *e;
		bool empty = true;

		if (!S_ISDIR(st.st_mode))
			fail("%s exists and is not a directory", opt.dir);
		d = opendir(opt.dir);
		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				empty = false;
		if (d)
			closedir(d);
		if (!empty)
			fail("%s is not empty: give a new or an empty directory", opt.dir);
	}
}

static void open_image_dir(void)
{
	char *copy = strdup(opt.dir), *copy2 = strdup(opt.dir), *parent, *base;
	int err;

	if (!copy || !copy2)
		fail("out of memory");
	parent = dirname(copy);
	base = basename(copy2);
	/* ".", NAME, the mark and a pid of up to 10 digits. */
	if (strlen(base) + strlen(RT_TMP_MARK) + 12 > sizeof(img.tmpname))
		fail("%s: the name is too long", opt.dir);
	check_image_dir();
	img.dirfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img.dirfd < 0)
		fail("%s: %s", parent, strerror(errno));
	rt_image_remove_leftovers(img.dirfd);
	snprintf(img.name, sizeof(img.name), "%s", base);
	rt_image_tmpname(img.tmpname, base);
	if (mkdirat(img.dirfd, img.tmpname, 0700))
		fail("%s/%s: %s", parent, img.tmpname, strerror(errno));
	img.fd = openat(img.dirfd, img.tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img.fd < 0)
		fail("%s/%s: %s", parent, img.tmpname, strerror(errno));
	if ((err = rt_image_lock(img.fd)))
		fail("%s/%s: %s", parent, img.tmpname, strerror(-err));
	free(copy);
	free(copy2);
}

static void usage(FILE *f)
{
	fputs("usage: crdump -t PID -D DIR [--leave-running [--no-snapshot]] [--shell-job]\n"
	      "              [--tcp-established] [--prev PREV] [--compress[=LEVEL]]\n"
	      "              [--compress-threads N] [--flush-dir SHARED] [-v]\n"
	      "Captures process PID and its descendants into the image directory DIR (new, or\n"
	      "empty); restore it with crload DIR. The tree is killed once the image is\n"
	      "complete, unless --leave-running: then it runs on as soon as everything but its\n"
	      "private memory is read, that being read from a copy-on-write copy, unless\n"
	      "--no-snapshot (held until all is read: no memory used for copies).\n"
	      "--prev PREV: an incremental image against PREV, an earlier image of the same\n"
	      "tree (crdump's or the runtime's): the pages PREV holds alike are left to it.\n"
	      "--compress[=LEVEL]: pages compressed with zstd at LEVEL (1-19, default 1), on\n"
	      "N threads (default: the CPUs crdump may run on, at most 8).\n"
	      "--flush-dir SHARED: once the image is complete, it is copied to SHARED (with\n"
	      "the images it builds on beside it), complete there once durable (doc/tiers.md).\n",
	      f);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "tree", required_argument, NULL, 't' },
		{ "images-dir", required_argument, NULL, 'D' },
		{ "leave-running", no_argument, NULL, 'R' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "tcp-established", no_argument, NULL, 'T' },
		{ "no-snapshot", no_argument, NULL, 'N' },
		{ "prev", required_argument, NULL, 'P' },
		{ "flush-dir", required_argument, NULL, 'F' },
		{ "compress", optional_argument, NULL, 'Z' },
		{ "compress-threads", required_argument, NULL, 'z' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	opterr = 0; /* one line of our own instead */
	while ((c = getopt_long(argc, argv, "t:D:vhj", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			opt.root = (pid_t)strtol(optarg, &end, 10);
			if (*end || opt.root <= 0) {
				fprintf(stderr, "crdump: -t wants a process id, not '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case 'D':
			opt.dir = optarg;
			break;
		case 'R':
			opt.leave_running = true;
			break;
		case 'j':
			opt.shell_job = true;
			break;
		case 'T':
			opt.tcp_established = true;
			break;
		case 'N':
			opt.no_snapshot = true;
			break;
		case 'P':
			opt.prev = optarg;
			break;
		case 'F':
			opt.flush_dir = optarg;
			break;
		case 'Z':
			opt.compress.level = RT_ZSTD_LEVEL_DEFAULT;
			if (optarg &&
			    rt_compress_parse(optarg, 1, RT_ZSTD_LEVEL_MAX, &opt.compress.level)) {
				fprintf(stderr,
					"crdump: --compress wants a zstd level of 1 to %d, "
					"not '%s'\n",
					RT_ZSTD_LEVEL_MAX, optarg);
				exit(2);
			}
			break;
		case 'z':
			if (rt_compress_parse(optarg, 1, RT_ZSTD_THREADS_MAX,
					      &opt.compress.threads)) {
				fprintf(stderr,
					"crdump: --compress-threads wants 1 to %d, not '%s'\n",
					RT_ZSTD_THREADS_MAX, optarg);
				exit(2);
			}
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr,
				"crdump: %s: unknown option or missing value (crdump --help)\n",
				argv[optind - 1]);
			exit(2);
		}
	}
	if (!opt.root || !opt.dir || optind != argc) {
		fputs("crdump: -t PID and -D DIR are needed (crdump --help)\n", stderr);
		exit(2);
	}
	if (!opt.compress.threads)
		opt.compress.threads = rt_compress_default_threads();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * --flush-dir: the image complete, crflush copies it to the shared tier
 * (doc/tiers.md), found beside crdump in the build tree or installed.
 * 1 if it failed: the image is complete here all the same.
 */
static int flush_image(void)
{
	static const char *const places[] = { "%s/../crflush", "%s/crflush" };
	char self[PATH_MAX], tool[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status;
	pid_t pid;

	if (!opt.flush_dir)
		return 0;
	self[n > 0 ? n : 0] = '\0';
	if (strrchr(self, '/'))
		*strrchr(self, '/') = '\0';
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		snprintf(tool, sizeof(tool), places[i], self);
		if (!access(tool, X_OK))
			break;
	}
	pid = fork();
	if (pid == 0) {
		execl(tool, tool, opt.dir, opt.flush_dir, (char *)NULL);
		fprintf(stderr, "crdump: %s: %s\n", tool, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "crdump: %s: not flushed to %s\n", opt.dir, opt.flush_dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	uint64_t t0, t1, t2; /* stopping began, image durable, tree let go or killed */

	parse_args(argc, argv);
	/* Images hold the program's memory: their owner's only, whatever
	 * the umask (doc/credentials.md). */
	umask(S_IRWXG | S_IRWXO);
	if (kill(opt.root, 0) && errno == ESRCH) {
		fprintf(stderr, "crdump: process %d: no such process\n", opt.root);
		return 1;
	}
	if (cd_runs_runtime(opt.root)) {
		char err[CD_ERR_LEN];

		if (opt.prev) {
			fprintf(stderr,
				"crdump: process %d runs the selfckpt runtime, which writes "
				"its own incremental images (SELFCKPT_FULL_EVERY): no --prev\n",
				opt.root);
			return 2;
		}
		if (opt.compress.level) {
			fprintf(stderr,
				"crdump: process %d runs the selfckpt runtime, which compresses "
				"as its SELFCKPT_COMPRESS says: no --compress\n",
				opt.root);
			return 2;
		}
		check_image_dir();
		if (cd_cooperative(opt.root, opt.dir, opt.leave_running, err)) {
			fprintf(stderr, "crdump: %s\n", err);
			return 1;
		}
		return flush_image();
	}
	/* One descriptor of ours per descriptor of the tree's. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rt_arena_init())
		fail("cannot map its working memory");
	if (opt.compress.level) {
		char why[256];

		if (rt_compress_load(&opt.compress, why, sizeof(why))) {
			fprintf(stderr, "crdump: --compress: %s\n", why);
			return 1;
		}
	}
	if (opt.prev) {
		char err[CD_ERR_LEN];

		if (cd_prev_load(opt.prev, opt.dir, opt.root, &prev, err)) {
			fprintf(stderr, "crdump: %s\n", err);
			return 1;
		}
	}
	open_image_dir();
	block_stop_signals();

	t0 = now_ns();
	hold_tree();
	scan_tree();
	stop_if_asked();
	for (size_t i = 0; i < nprocs; i++)
		if (!procs[i].zombie)
			open_proc(&procs[i]);
	for (size_t i = 0; i < nprocs; i++) {
		if (!procs[i].zombie)
			dump_proc(&procs[i]);
		stop_if_asked();
	}
	if (opt.leave_running) {
		/* Everything is read but the pages of copies: the tree runs on
		 * while they are read and the image goes to disk (should that
		 * fail, there is no image, and the tree was let go as it
		 * was). Connections leave repair mode through our
		 * descriptors. */
		t2 = now_ns();
		release_all();
		for (size_t i = 0; i < nprocs; i++) {
			if (procs[i].snap)
				dump_pages(&procs[i]);
			stop_if_asked();
		}
		end_snapshots();
		for (size_t i = 0; i < nprocs; i++)
			if (!procs[i].zombie)
				write_proc(&procs[i]);
		sync_procs();
		stop_if_asked();
		write_inventory(t2 - t0);
		t1 = now_ns();
		for (size_t i = 0; i < nprocs; i++)
			close_proc(&procs[i]);
	} else {
		char err[CD_ERR_LEN];

		for (size_t i = 0; i < nprocs; i++) {
			if (!procs[i].zombie)
				write_proc(&procs[i]);
			stop_if_asked();
		}
		sync_procs();
		stop_if_asked();
		write_inventory(now_ns() - t0);
		t1 = now_ns(); /* the image is complete and durable */
		/* Its connections outlive it, deaf, in a holder. */
		if (cd_tcp_hold(err))
			fail("%s", err);
		rt_tcp_forget();
		/* The image is complete and durable: the tree goes, as a
		 * whole, before any of it could run again. */
		for (size_t i = 0; i < nprocs; i++)
			if (!procs[i].zombie)
				kill(procs[i].pid, SIGKILL);
		t2 = now_ns();
		for (size_t i = 0; i < nprocs; i++)
			close_proc(&procs[i]);
		release_all();
	}
	fprintf(stderr, "crdump: %s: %zu process%s, %.1f MiB, frozen %.1f ms%s\n", opt.dir, nprocs,
		nprocs == 1 ? "" : "es", (double)bytes / (1 << 20), (double)(t2 - t0) / 1e6,
		opt.leave_running ? "" : "; killed");
	vlog("image complete after %.1f ms", (double)(t1 - t0) / 1e6);
	return flush_image();
}
