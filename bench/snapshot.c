// SPDX-License-Identifier: MIT
/* bench: the building blocks of a copy-on-write checkpoint (issue 16,
 * doc/cow-capture.md), for a process with N MiB of touched private
 * anonymous memory and a few idle threads:
 *  - how long a fork stops the process, with 4 KiB pages and with
 *    transparent huge pages;
 *  - the program's progress on two loops (sequential writes over all its
 *    memory, random single-word writes) while the memory drains to a file
 *    with O_DIRECT from a fork, from a userfaultfd copy-before-write
 *    snapshot, and from the live memory with no snapshot at all, against
 *    the same loops alone; the memory the copies take;
 *  - a fork's drain with the parent idle: buffered, O_DIRECT straight from
 *    its memory, and O_DIRECT through a buffer;
 *  - the cost of one first write to a page under each scheme;
 *  - dirty tracking with UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN: arming it,
 *    one scan after 1% of the pages were written, its cost on the loops;
 *  - a plain write() of the same bytes, buffered and O_DIRECT, the
 *    baselines of the drains;
 *  - what userfaultfd allows here (kernel writes into protected memory, a
 *    second userfaultfd on the same memory).
 * Every figure is the median of REPS rounds, with its lowest and highest;
 * the rounds interleave all cases, so the machine's noise is shared.
 *   bench/snapshot [--mib N] [--reps R] [--secs S] [--threads T] [--dir DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "selfckpt/pagescan.h"

#define PAGE 4096UL
#define MIB (1UL << 20)
#define HUGE (2UL << 20)
/* The copy-before-write writer's unit, 1 MiB: a fault waits at most for
 * the copy of one, and the disk takes one at a time. */
#define CHUNK_PAGES 256

static size_t len, npages, nwords;
static uint64_t *mem;
static char path[4096];
static double secs = 2;
static atomic_bool done;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench/snapshot: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Results: one series of values per name, one value per round. */
#define MAXREPS 64
struct series {
	char name[64];
	const char *unit;
	int n;
	double v[MAXREPS];
};
static struct series rows[96];
static int nrows;

static struct series *row(const char *name)
{
	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static void add(const char *name, const char *unit, double v)
{
	struct series *s = row(name);

	if (!s && nrows < (int)(sizeof(rows) / sizeof(rows[0]))) {
		s = &rows[nrows++];
		snprintf(s->name, sizeof(s->name), "%s", name);
		s->unit = unit;
	}
	if (s && s->n < MAXREPS)
		s->v[s->n++] = v;
}

/* NAME's values divided round by round by BASE's, as a series of its own. */
static void ratio(const char *name, const char *num, const char *base)
{
	const struct series *a = row(num), *b = row(base);

	for (int i = 0; a && b && i < a->n && i < b->n; i++)
		add(name, "x", a->v[i] / b->v[i]);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_rows(void)
{
	printf("%-52s %10s %10s %10s\n", "", "median", "lowest", "highest");
	for (int i = 0; i < nrows; i++) {
		struct series *s = &rows[i];
		double v[MAXREPS];

		memcpy(v, s->v, sizeof(double) * (size_t)s->n);
		qsort(v, (size_t)s->n, sizeof(double), cmp);
		printf("%-52s %10.3f %10.3f %10.3f  %s\n", s->name, v[(s->n - 1) / 2], v[0],
		       v[s->n - 1], s->unit);
	}
}

/* A field of /proc/self/smaps_rollup in KiB, read without stdio: the forked
 * copy of a threaded process reads it too. */
static long rollup_kib(const char *field)
{
	char buf[4096], *p;
	int fd = open("/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, field);
	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

/* LEN bytes of touched, non-zero memory, aligned for huge pages, with
 * ADVICE given before the first touch. */
static uint64_t *touch(int advice)
{
	char *m =
		mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a = (char *)(((uintptr_t)m + HUGE - 1) & ~(HUGE - 1));
	uint64_t *w = (uint64_t *)a;

	if (m == MAP_FAILED)
		die("mmap");
	if (a > m)
		munmap(m, (size_t)(a - m));
	munmap(a + len, (size_t)(m + HUGE - a));
	if (madvise(a, len, advice))
		die("madvise");
	for (size_t i = 0; i < nwords; i++)
		w[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	return w;
}

/* The two loops of a program that works on while its image drains. SEQ
 * writes over all the memory in order (bytes per second), RAND writes one
 * word at a random place (writes per second); both until done is set. */
enum loop { SEQ, RAND, NLOOPS };
static const char *const loop_name[NLOOPS + 1] = { "sequential loop", "random loop", "no loop" };
static const char *const loop_unit[NLOOPS] = { "GB/s", "M writes/s" };

static double run_loop(enum loop k)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL, gen = 1;
	double work = 0, t0 = now();
	size_t i = 0;

	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		if (k == SEQ) {
			for (size_t j = 0; j < 8192; j++)
				mem[i + j] = gen;
			i += 8192;
			if (i == nwords) {
				i = 0;
				gen++;
			}
			work += 8192 * 8 / 1e9;
		} else {
			for (int j = 0; j < 4096; j++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				mem[(unsigned __int128)x * nwords >> 64] = x;
			}
			work += 4096 / 1e6;
		}
	}
	return work / (now() - t0);
}

static void *stop_after(void *arg)
{
	struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };

	nanosleep(&ts, NULL);
	atomic_store(&done, true);
	return arg;
}

/* The loop K (none with NLOOPS) while FN runs in a thread of its own,
 * until something sets done: the loop's rate. */
static double loop_beside(enum loop k, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	double rate = 0;

	atomic_store(&done, false);
	pthread_create(&t, NULL, fn, arg);
	if (k != NLOOPS)
		rate = run_loop(k);
	pthread_join(t, NULL);
	return rate;
}

/* What a forked copy reports: its drain, and the most of its memory that
 * was its own at any one time, the pages the parent's writes copied. */
struct fork_report {
	double drain_s;
	long peak_kib;
};

enum { DIRECT = 1, RELEASE = 2, BOUNCE = 4 };

/*
 * The memory to a new file in 64 MiB write()s (4 MiB with DIRECT) and an
 * fsync, as bench/plainwrite does: the seconds it took. With a report (in
 * a forked copy), the copy's own memory is sampled every 64 MiB, before
 * that is released, and the sampling is not counted in the time. With
 * RELEASE, the copy drops each chunk once written (MADV_DONTNEED): the
 * parent then owns the page alone again and its next write there copies
 * nothing. With BOUNCE, each chunk is copied into one buffer first and
 * written from there: O_DIRECT pins the pages it writes, and pinning a
 * page shared copy-on-write makes a private copy of it.
 */
static double write_file(const char *p, int how, struct fork_report *rep)
{
	size_t chunk = how & DIRECT ? 4 * MIB : 64 * MIB, off = 0;
	int fd =
		open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (how & DIRECT ? O_DIRECT : 0),
		     0600);
	char *bounce = how & BOUNCE ? mmap(NULL, chunk, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
				    : NULL;
	long base = rep ? rollup_kib("\nPrivate_Dirty:") : 0;
	double t0 = now(), sampling = 0;

	while (fd >= 0 && bounce != MAP_FAILED && off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t r = write(fd, bounce ? memcpy(bounce, p + off, n) : p + off, n);

		if (r <= 0)
			break;
		if (rep && ((off + (size_t)r) % (64 * MIB) == 0 || (size_t)r == len - off)) {
			double t1 = now();
			long kib = rollup_kib("\nPrivate_Dirty:") - base;

			rep->peak_kib = kib > rep->peak_kib ? kib : rep->peak_kib;
			sampling += now() - t1;
		}
		if (how & RELEASE)
			madvise((char *)p + off, (size_t)r, MADV_DONTNEED);
		off += (size_t)r;
	}
	if (bounce && bounce != MAP_FAILED)
		munmap(bounce, chunk);
	if (fd < 0 || off < len || fsync(fd) || close(fd))
		return -1;
	return now() - t0 - sampling;
}

/* Every page written once, so that each is the process's own and writable
 * again after a fork's copy shared it: the next case starts as the first. */
static void own_pages(void)
{
	for (size_t i = 0; i < nwords; i += PAGE / sizeof(*mem))
		mem[i] += 1;
}

/*
 * Fork-based snapshot. A raw clone, as the runtime would make it: no
 * atfork handlers, exit signal 0 (the app's SIGCHLD handler and wait()
 * never see it), CLONE_FILES (no second reference to every file). The
 * copy's memory is the parent's of the instant of the clone. The copy
 * exits at once (COPY_EXIT), waits for EOF on FD (COPY_HOLD), or writes
 * its memory as write_file() does with HOW and reports on FD.
 */
enum { COPY_EXIT = -2, COPY_HOLD = -1 };

static pid_t snap_fork(int how, int fd)
{
	long pid = syscall(SYS_clone, CLONE_FILES, NULL, NULL, NULL, NULL);

	if (pid == 0) {
		struct fork_report rep = { 0, 0 };
		char c;

		if (how == COPY_HOLD)
			while (read(fd, &c, 1) > 0)
				;
		if (how < 0)
			_exit(0);
		rep.drain_s = write_file((const char *)mem, how, &rep);
		_exit(write(fd, &rep, sizeof(rep)) != sizeof(rep));
	}
	if (pid < 0)
		die("clone");
	return (pid_t)pid;
}

struct fork_wait {
	int fd;
	pid_t pid;
	struct fork_report rep;
};

static void *wait_copy(void *arg)
{
	struct fork_wait *w = arg;

	if (read(w->fd, &w->rep, sizeof(w->rep)) != sizeof(w->rep))
		w->rep.drain_s = -1;
	atomic_store(&done, true);
	waitpid(w->pid, NULL, __WALL);
	return NULL;
}

/* The clone alone, of mem, with the OTHER region out of the copy. */
static void fork_stop(const char *name, void *other)
{
	double t0;
	pid_t pid;

	if (madvise(other, len, MADV_DONTFORK))
		die("madvise");
	t0 = now();
	pid = snap_fork(COPY_EXIT, -1);
	add(name, "ms", (now() - t0) * 1e3);
	waitpid(pid, NULL, __WALL);
	if (madvise(other, len, MADV_DOFORK))
		die("madvise");
	own_pages();
}

/* The rows of one drain while the loop K ran (none with NLOOPS): its
 * time, the loop's rate, the memory copied (none when negative). */
static void add_drain(enum loop k, const char *how, double drain_s, double rate, double copies_mib)
{
	char name[64];

	if (drain_s < 0) {
		fprintf(stderr, "bench/snapshot: the drain of %s failed\n", how);
		exit(1);
	}
	snprintf(name, sizeof(name), "%s, %s: drain", loop_name[k], how);
	add(name, "s", drain_s);
	snprintf(name, sizeof(name), "%s, %s: rate", loop_name[k], how);
	if (k != NLOOPS)
		add(name, loop_unit[k], rate);
	snprintf(name, sizeof(name), "%s, %s: copies", loop_name[k], how);
	if (copies_mib >= 0)
		add(name, "MiB", copies_mib);
}

/* A fork drains the memory as write_file() with HOW while the loop K runs. */
static void fork_drain(enum loop k, int how, const char *name)
{
	struct fork_wait w = { 0 };
	double t0, rate;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	w.fd = p[0];
	t0 = now();
	w.pid = snap_fork(how, p[1]);
	add("fork: stopped, in the drains", "ms", (now() - t0) * 1e3);
	rate = loop_beside(k, wait_copy, &w);
	close(p[0]);
	close(p[1]);
	unlink(path);
	own_pages();
	add_drain(k, name, w.rep.drain_s, rate, (double)w.rep.peak_kib / 1024);
}

/* No snapshot: a thread writes the live memory while the loop runs. What
 * the drain alone costs the loop, the share of a core and of the memory
 * bus it takes, without any copy. */
static double live_s;

static void *live_writer(void *arg)
{
	live_s = write_file((const char *)mem, DIRECT, NULL);
	atomic_store(&done, true);
	return arg;
}

static void live_drain(enum loop k)
{
	double rate = loop_beside(k, live_writer, NULL);

	unlink(path);
	add_drain(k, "live write", live_s, rate, -1);
}

static int uffd_open(uint64_t features, bool user_only)
{
	int fd = (int)syscall(SYS_userfaultfd,
			      O_CLOEXEC | O_NONBLOCK | (user_only ? UFFD_USER_MODE_ONLY : 0));
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (fd >= 0 && ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int uffd_register(int fd, void *start, size_t n)
{
	struct uffdio_register reg = { .range = { (uintptr_t)start, n },
				       .mode = UFFDIO_REGISTER_MODE_WP };

	return ioctl(fd, UFFDIO_REGISTER, &reg);
}

static void uffd_unregister(int fd, void *start, size_t n)
{
	struct uffdio_range r = { (uintptr_t)start, n };

	if (ioctl(fd, UFFDIO_UNREGISTER, &r))
		die("UFFDIO_UNREGISTER");
}

static int uffd_wp(int fd, void *start, size_t n, bool protect)
{
	struct uffdio_writeprotect wp = { .range = { (uintptr_t)start, n },
					  .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };

	return ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
}

/* The memory registered for write-protection and protected whole, timed
 * as NAME's "register" and "protect" rows: what the app is stopped for. */
static int uffd_arm(uint64_t features, bool user_only, const char *name)
{
	char row_name[64];
	int fd = uffd_open(features, user_only);
	double t0 = now(), t1;

	if (fd < 0)
		die("userfaultfd");
	if (uffd_register(fd, mem, len))
		die("UFFDIO_REGISTER");
	t1 = now();
	if (uffd_wp(fd, mem, len, true))
		die("UFFDIO_WRITEPROTECT");
	snprintf(row_name, sizeof(row_name), "%s: register", name);
	add(row_name, "ms", (t1 - t0) * 1e3);
	snprintf(row_name, sizeof(row_name), "%s: protect", name);
	add(row_name, "ms", (now() - t1) * 1e3);
	return fd;
}

/*
 * userfaultfd copy-before-write snapshot. Every page starts protected
 * (state 0). A write fault on one is served by the handler thread: it
 * copies the page aside (state 1) and un-protects it. The writer thread
 * writes the memory in chunks, each page from the copy if there is one
 * and from the still-protected page otherwise, then un-protects the chunk
 * (state 2). As the forked copy, it copies each chunk into a buffer and
 * hands the disk that (O_DIRECT): the chunk is un-protected as soon as it
 * is copied, and the lock keeps the handler from un-protecting a page
 * of the chunk being copied.
 */
static struct {
	int uffd, stop;
	uint8_t *state;
	char *aside;
	size_t saved;
	double drain_s;
	pthread_mutex_t lock;
} cbw = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *cbw_handler(void *arg)
{
	struct pollfd pf[2] = { { cbw.uffd, POLLIN, 0 }, { cbw.stop, POLLIN, 0 } };
	struct uffd_msg msg;

	while (poll(pf, 2, -1) >= 0 && !pf[1].revents) {
		size_t pg;
		char *page;
		bool copy;

		if (read(cbw.uffd, &msg, sizeof(msg)) != sizeof(msg) ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		pg = (size_t)(msg.arg.pagefault.address - (uintptr_t)mem) / PAGE;
		page = (char *)mem + pg * PAGE;
		pthread_mutex_lock(&cbw.lock);
		copy = !cbw.state[pg];
		if (copy) {
			memcpy(cbw.aside + pg * PAGE, page, PAGE);
			cbw.state[pg] = 1;
			cbw.saved++;
		}
		pthread_mutex_unlock(&cbw.lock);
		if (copy) {
			if (uffd_wp(cbw.uffd, page, PAGE, false))
				die("UFFDIO_WRITEPROTECT");
		} else {
			struct uffdio_range r = { (uintptr_t)page, PAGE };

			/* The writer un-protected it since: the fault is woken already or
			 * by this. */
			ioctl(cbw.uffd, UFFDIO_WAKE, &r);
		}
	}
	return arg;
}

static void *cbw_writer(void *arg)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0600);
	char *buf = mmap(NULL, CHUNK_PAGES * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0 = now();

	if (fd < 0 || buf == MAP_FAILED)
		die(path);
	for (size_t c = 0; c < npages; c += CHUNK_PAGES) {
		pthread_mutex_lock(&cbw.lock);
		for (size_t pg = c; pg < c + CHUNK_PAGES; pg++)
			memcpy(buf + (pg - c) * PAGE,
			       cbw.state[pg] ? cbw.aside + pg * PAGE : (char *)mem + pg * PAGE,
			       PAGE);
		if (uffd_wp(cbw.uffd, (char *)mem + c * PAGE, CHUNK_PAGES * PAGE, false))
			die("UFFDIO_WRITEPROTECT");
		memset(cbw.state + c, 2, CHUNK_PAGES);
		pthread_mutex_unlock(&cbw.lock);
		if (pwrite(fd, buf, CHUNK_PAGES * PAGE, (off_t)(c * PAGE)) !=
		    (ssize_t)(CHUNK_PAGES * PAGE))
			die("pwrite");
	}
	if (fsync(fd) || close(fd))
		die("fsync");
	munmap(buf, CHUNK_PAGES * PAGE);
	cbw.drain_s = now() - t0;
	atomic_store(&done, true);
	return arg;
}

/* Protects the memory and starts the handler. */
static void cbw_start(pthread_t *handler)
{
	cbw.uffd = uffd_arm(0, false, "uffd copy-before-write");
	cbw.stop = eventfd(0, EFD_CLOEXEC);
	cbw.state = calloc(npages, 1);
	cbw.aside = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (cbw.stop < 0 || !cbw.state || cbw.aside == MAP_FAILED)
		die("copy-before-write set-up");
	madvise(cbw.aside, len, MADV_NOHUGEPAGE);
	cbw.saved = 0;
	pthread_create(handler, NULL, cbw_handler, NULL);
}

static void cbw_end(pthread_t handler)
{
	if (eventfd_write(cbw.stop, 1))
		die("eventfd");
	pthread_join(handler, NULL);
	uffd_unregister(cbw.uffd, mem, len);
	close(cbw.uffd);
	close(cbw.stop);
	munmap(cbw.aside, len);
	free(cbw.state);
}

static void cbw_drain(enum loop k)
{
	pthread_t handler;
	double rate;

	cbw_start(&handler);
	rate = loop_beside(k, cbw_writer, NULL);
	cbw_end(handler);
	unlink(path);
	add_drain(k, "uffd", cbw.drain_s, rate, (double)(cbw.saved * PAGE) / MIB);
}

/* One word written to each of an eighth of the pages, spread over the
 * memory: microseconds per page. */
static double first_writes(void)
{
	size_t n = npages / 8, step = 8 * PAGE / sizeof(*mem);
	double t0 = now();

	for (size_t i = 0; i < n; i++)
		mem[i * step] += 1;
	return (now() - t0) / (double)n * 1e6;
}

static void fault_costs(void)
{
	pthread_t handler;
	pid_t pid;
	int p[2], fd;

	add("first write to a page: plain", "us", first_writes());

	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	/* The copy lives until the writes are done: the pages are shared. The
	 * descriptor table is shared too, so closing the pipe's one write end
	 * ends the copy's read. */
	pid = snap_fork(COPY_HOLD, p[0]);
	add("first write to a page: fork COW", "us", first_writes());
	close(p[1]);
	waitpid(pid, NULL, __WALL);
	close(p[0]);
	own_pages();

	own_pages();
	cbw_start(&handler);
	add("first write to a page: uffd copy-before-write", "us", first_writes());
	cbw_end(handler);

	fd = uffd_arm(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, true, "uffd async");
	add("first write to a page: uffd async tracking", "us", first_writes());
	uffd_unregister(fd, mem, len);
	close(fd);
}

/* Dirty tracking: arming it, one scan that finds the 1% of pages written
 * and protects them again, a scan that finds nothing, and the loops run
 * for --secs seconds right after arming against the loops alone. */
static void tracking(int pagemap)
{
	size_t nvec = npages / 100 + 16, found = 0, written = 0;
	struct sc_page_region *vec = calloc(nvec, sizeof(*vec));
	struct sc_pm_scan_arg scan = {
		.size = sizeof(scan),
		.flags = SC_PM_SCAN_WP_MATCHING | SC_PM_SCAN_CHECK_WPASYNC,
		.start = (uintptr_t)mem,
		.end = (uintptr_t)mem + len,
		.vec = (uintptr_t)vec,
		.vec_len = nvec,
		.category_mask = SC_PAGE_IS_WRITTEN,
		.return_mask = SC_PAGE_IS_WRITTEN,
	};
	int fd = uffd_arm(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, true,
			  "tracking: arm");
	char name[64];
	double t0;
	long r;

	if (!vec)
		die("calloc");
	for (size_t pg = random() % 100; pg < npages; pg += 100, written++)
		mem[pg * PAGE / sizeof(*mem)] += 1;
	/* walk_end falls short of the end once more than 512 regions were
	 * found (Linux 6.18), though all were reported and protected: the scan
	 * goes on from there until it says it reached the end. */
	t0 = now();
	do {
		r = ioctl(pagemap, SC_PAGEMAP_SCAN, &scan);
		for (long i = 0; i < r; i++)
			found += (vec[i].end - vec[i].start) / PAGE;
		scan.start = scan.walk_end;
	} while (r >= 0 && scan.walk_end < scan.end);
	add("tracking: scan after 1% written", "ms", (now() - t0) * 1e3);
	scan.start = (uintptr_t)mem;
	if (r < 0 || found != written) {
		fprintf(stderr, "bench/snapshot: PAGEMAP_SCAN found %zu of %zu pages: %s\n", found,
			written, strerror(errno));
		exit(1);
	}
	t0 = now();
	r = ioctl(pagemap, SC_PAGEMAP_SCAN, &scan);
	add("tracking: scan after nothing written", "ms", (now() - t0) * 1e3);
	if (r)
		die("SC_PAGEMAP_SCAN");
	uffd_unregister(fd, mem, len);
	close(fd);
	free(vec);

	for (enum loop k = SEQ; k < NLOOPS; k++) {
		fd = uffd_arm(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, true,
			      "tracking: arm");
		snprintf(name, sizeof(name), "%s, tracking armed: rate", loop_name[k]);
		add(name, loop_unit[k], loop_beside(k, stop_after, NULL));
		uffd_unregister(fd, mem, len);
		close(fd);
	}
}

/* A write of the kernel's (a read() into the app's buffer) into a page
 * write-protected under a user-mode-only userfaultfd with FEATURES: in a
 * child, under an alarm, so that a kernel waiting for a handler that
 * never comes kills the child rather than the bench. */
static const char *kernel_write(char *page, uint64_t features)
{
	int p[2], st, fd;
	pid_t pid;

	if (pipe(p))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		alarm(2);
		fd = uffd_open(features, true);
		if (fd < 0 || uffd_register(fd, page, PAGE) || uffd_wp(fd, page, PAGE, true) ||
		    write(p[1], "12345678", 8) != 8)
			_exit(3);
		_exit(read(p[0], page, 8) == 8 ? 0 : errno == EFAULT ? 2 : 4);
	}
	waitpid(pid, &st, 0);
	close(p[0]);
	close(p[1]);
	return WIFSIGNALED(st)	      ? "blocks"
	       : WEXITSTATUS(st) == 0 ? "succeeds"
	       : WEXITSTATUS(st) == 2 ? "fails with EFAULT"
				      : "could not be tried";
}

/* What userfaultfd allows here, once: whether the kernel's own writes into
 * protected memory go through, and a second userfaultfd on memory the app
 * registered with its own. */
static void probes(void)
{
	char *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int a, b;

	if (page == MAP_FAILED)
		die("mmap");
	a = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	printf("userfaultfd handling kernel faults too: %s; vm.unprivileged_userfaultfd is ",
	       a < 0 ? strerror(errno) : "ok");
	fflush(stdout);
	if (system("cat /proc/sys/vm/unprivileged_userfaultfd"))
		printf("unknown\n");
	if (a >= 0)
		close(a);
	page[0] = 1;
	printf("a read() into a page write-protected under a user-mode-only userfaultfd: %s;\n"
	       "  with UFFD_FEATURE_WP_ASYNC: %s\n",
	       kernel_write(page, 0), kernel_write(page, UFFD_FEATURE_WP_ASYNC));
	a = uffd_open(0, true);
	b = uffd_open(0, true);
	if (a < 0 || b < 0 || uffd_register(a, page, PAGE))
		printf("userfaultfd write-protection of anonymous memory: %s\n", strerror(errno));
	else
		printf("a second userfaultfd on memory the app registered: %s\n",
		       uffd_register(b, page, PAGE) ? strerror(errno) : "registers");
	close(a);
	close(b);
	munmap(page, PAGE);
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	size_t mib = 2048;
	int reps = 5, threads = 3, pagemap, fd;
	const char *dir = "/var/tmp";
	uint64_t *normal, *huge;
	pthread_t t;
	char name[64];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mib"))
			mib = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--reps"))
			reps = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--secs"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dir"))
			dir = argv[i + 1];
		else
			break;
	}
	if (argc % 2 == 0 || !mib || reps < 1 || reps > MAXREPS || secs <= 0) {
		fprintf(stderr, "usage: bench/snapshot [--mib N] [--reps R] [--secs S] "
				"[--threads T] [--dir DIR]\n");
		return 2;
	}
	len = mib * MIB;
	npages = len / PAGE;
	nwords = len / sizeof(*mem);
	snprintf(path, sizeof(path), "%s/snapshot-bench.%d", dir, (int)getpid());
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		die("/proc/self/pagemap");
	for (int i = 0; i < threads; i++)
		pthread_create(&t, NULL, idle, NULL);
	probes();

	normal = touch(MADV_NOHUGEPAGE);
	huge = touch(MADV_HUGEPAGE);
	printf("%zu MiB, %d idle threads, %d rounds, loops of %.1f s, files in %s; "
	       "%ld of %zu MiB in huge pages with MADV_HUGEPAGE\n",
	       mib, threads, reps, secs, dir, rollup_kib("\nAnonHugePages:") / 1024, mib);
	for (int r = 0; r < reps; r++) {
		mem = normal;
		fork_stop("fork: stopped, 4 KiB pages", huge);
		mem = huge;
		fork_stop("fork: stopped, huge pages", normal);
		fd = uffd_arm(0, false, "uffd, huge pages");
		uffd_unregister(fd, mem, len);
		close(fd);
	}
	munmap(huge, len);
	mem = normal;

	for (int r = 0; r < reps; r++) {
		sync();
		add("plain write()", "s", write_file((const char *)mem, 0, NULL));
		unlink(path);
		sync();
		add("plain write(), O_DIRECT", "s", write_file((const char *)mem, DIRECT, NULL));
		unlink(path);
		for (enum loop k = SEQ; k < NLOOPS; k++) {
			snprintf(name, sizeof(name), "%s, alone: rate", loop_name[k]);
			add(name, loop_unit[k], loop_beside(k, stop_after, NULL));
			live_drain(k);
			fork_drain(k, DIRECT | BOUNCE, "fork");
			fork_drain(k, DIRECT | BOUNCE | RELEASE, "fork, released");
			cbw_drain(k);
		}
		fork_drain(NLOOPS, 0, "fork");
		fork_drain(NLOOPS, DIRECT, "fork O_DIRECT");
		fork_drain(NLOOPS, DIRECT | BOUNCE, "fork O_DIRECT bounced");
		fault_costs();
		tracking(pagemap);
		fprintf(stderr, "round %d of %d done\n", r + 1, reps);
	}

	/* The ratios, round by round against the baseline of the same round. */
	for (enum loop k = SEQ; k < NLOOPS; k++) {
		static const char *const how[] = { "live write", "fork", "fork, released", "uffd",
						   "tracking armed" };
		char num[64], base[64];

		snprintf(base, sizeof(base), "%s, alone: rate", loop_name[k]);
		for (size_t h = 0; h < sizeof(how) / sizeof(how[0]); h++) {
			snprintf(num, sizeof(num), "%s, %s: rate", loop_name[k], how[h]);
			snprintf(name, sizeof(name), "ratio: %s, %s/alone", loop_name[k], how[h]);
			ratio(name, num, base);
		}
		for (size_t h = 0; h < 4; h++) {
			snprintf(num, sizeof(num), "%s, %s: drain", loop_name[k], how[h]);
			snprintf(name, sizeof(name), "ratio: %s, %s drain/plain O_DIRECT",
				 loop_name[k], how[h]);
			ratio(name, num, "plain write(), O_DIRECT");
		}
	}
	ratio("ratio: no loop, fork drain/plain", "no loop, fork: drain", "plain write()");
	ratio("ratio: fork O_DIRECT drain/plain O_DIRECT", "no loop, fork O_DIRECT: drain",
	      "plain write(), O_DIRECT");
	ratio("ratio: fork O_DIRECT bounced drain/plain O_DIRECT",
	      "no loop, fork O_DIRECT bounced: drain", "plain write(), O_DIRECT");
	print_rows();
	return 0;
}
