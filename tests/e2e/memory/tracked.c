// SPDX-License-Identifier: MIT
/*
 * Memory changed in every way a program can between two incremental
 * checkpoints (doc/incremental.md), each way on a region of its own. The
 * program moves to the next step when ./step-N appears and answers with
 * ./done-N; what every page must hold follows from the step alone, so a
 * restored program checks its memory against what it should be at the
 * step it was restored at, and so does one that ran on (tracking must
 * not change what the program sees either):
 *   dontneed  MADV_DONTNEED, then half read back (zero) and a quarter
 *             written again;
 *   free      MADV_FREE, then all written again;
 *   moved     mremap to another address;
 *   remapped  munmap, then a new mapping at the same address, written;
 *   readonly  written, then made read-only (and must stay so);
 *   sparse    1 page in 64 rewritten at every step;
 *   own_uffd  taken by the program's own userfaultfd (the runtime must let
 *             go of it) and filled with UFFDIO_COPY;
 *   forked    written by a forked child (the parent's must not change),
 *             and by the parent after the fork.
 * ./exec makes it exec itself, at most once: the new program starts over,
 * and so does the tracking of its memory. TRACKED_BALLAST_MB=N adds N MiB
 * written once at start and never again: a large full image under small
 * incremental ones. TRACKED_WRITER=1 adds a thread that rewrites a region
 * of its own the moment it runs in a restored process (writer, below).
 * ./hold, holding a number N, makes it hold descriptors open up to N - 1
 * (hold_fds, below), and answer with ./held-N.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE 4096UL
#define PAGES 1024 /* per region: 4 MiB, well above what is never tracked */
#define LEN (PAGES * PAGE)
#define STEPS 2

enum region { DONTNEED, FREE, MOVED, REMAPPED, READONLY, SPARSE, OWN_UFFD, FORKED, NREGIONS };
static const char *const names[NREGIONS] = { "dontneed", "free",     "moved",    "remapped",
					     "readonly", "sparse",   "own_uffd", "forked" };

static unsigned char *at[NREGIONS];
static volatile int step; /* the steps done */

/* Page p of region r as written in version v; 0: a zero page. */
static void fill(unsigned char *page, int r, size_t p, unsigned v)
{
	if (!v)
		memset(page, 0, PAGE);
	else
		test_fill(page, PAGE, (unsigned)(r * 1000003 + p * 101 + v * 7919));
}

static bool holds(const unsigned char *page, int r, size_t p, unsigned v)
{
	static const unsigned char zero[PAGE];

	return v ? test_filled(page, PAGE, (unsigned)(r * 1000003 + p * 101 + v * 7919))
		 : !memcmp(page, zero, PAGE);
}

/* The version page p of region r holds once `done` steps are done. */
static unsigned expected(int r, size_t p, int done)
{
	switch (r) {
	case DONTNEED:
		/* step 1: dropped; the first half read (zero), the third
		 * quarter written as version 2, the last quarter untouched. */
		if (done < 1)
			return 1;
		return p >= PAGES / 2 && p < PAGES * 3 / 4 ? 2 : 0;
	case SPARSE:
		/* step k rewrites page k - 1 only, as version k + 1 */
		return p < (size_t)done ? (unsigned)p + 2 : 1;
	default:
		return done < 1 ? 1 : 2;
	}
}

/*
 * TRACKED_WRITER: a thread that, whenever its parent is not the one it
 * last saw (the process was restored: crload is), rewrites a region of its
 * own, page by page right away, each page checked first to hold what it
 * last wrote there. A restored process must be tracked before any of its
 * threads runs: a write of this thread's missed would leave the region in
 * the next image as the image restored from had it, which the restore of
 * that next image finds here. The version it wrote last is in shared
 * memory, which every image stores whole.
 */
#define WRITER NREGIONS /* its region's number in the fill pattern */
static unsigned char *wregion;
static unsigned *wversion;
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;

/* Makes the file named fmt with n, for the test to see. */
static void mark(const char *fmt, unsigned n)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, n);
	close(open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644));
}

static void sweep(void)
{
	unsigned old = *wversion, v = old + 1;

	*wversion = v;
	for (size_t p = 0; p < PAGES; p++) {
		if (!holds(wregion + p * PAGE, WRITER, p, old))
			test_fail("writer: page %zu is not version %u once restored", p, old);
		fill(wregion + p * PAGE, WRITER, p, v);
	}
	mark("wrote-%u", v);
}

static void *writer(void *arg)
{
	pid_t seen = 0;

	(void)arg;
	for (;;) {
		pid_t parent = getppid();

		if (parent == seen) {
			sched_yield();
			continue;
		}
		pthread_mutex_lock(&wlock);
		sweep();
		pthread_mutex_unlock(&wlock);
		seen = parent;
	}
	return NULL;
}

static void start_writer(void)
{
	pthread_t t;

	if (!getenv("TRACKED_WRITER"))
		return;
	wregion = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	wversion = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (wregion == MAP_FAILED || wversion == MAP_FAILED)
		test_fail("mmap: %m");
	if (pthread_create(&t, NULL, writer, NULL))
		test_fail("pthread_create");
}

/* What the writer wrote last is all there. */
static void check_writer(void)
{
	if (!wregion)
		return;
	pthread_mutex_lock(&wlock);
	for (size_t p = 0; p < PAGES; p++)
		if (!holds(wregion + p * PAGE, WRITER, p, *wversion))
			test_fail("writer: page %zu is not version %u", p, *wversion);
	pthread_mutex_unlock(&wlock);
}

static void write_region(int r, unsigned v)
{
	for (size_t p = 0; p < PAGES; p++)
		fill(at[r] + p * PAGE, r, p, v);
}

static void *map_region(void *hint, int flags)
{
	void *m = mmap(hint, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (m == MAP_FAILED)
		test_fail("mmap: %m");
	return m;
}

/* The program's own userfaultfd takes the region and fills it. */
static void own_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)at[OWN_UFFD], LEN },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	static unsigned char src[PAGE] __attribute__((aligned(4096)));

	if (fd < 0 && errno == ENOSYS) {
		/* Not here (tracking.sh's untracked case): written plainly. */
		write_region(OWN_UFFD, 2);
		return;
	}
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		test_fail("userfaultfd: %m");
	if (madvise(at[OWN_UFFD], LEN, MADV_DONTNEED))
		test_fail("madvise: %m");
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		test_fail("the program's own UFFDIO_REGISTER: %m");
	for (size_t p = 0; p < PAGES; p++) {
		struct uffdio_copy copy = { .dst = (uintptr_t)(at[OWN_UFFD] + p * PAGE),
					    .src = (uintptr_t)src,
					    .len = PAGE };

		fill(src, OWN_UFFD, p, 2);
		if (ioctl(fd, UFFDIO_COPY, &copy))
			test_fail("UFFDIO_COPY: %m");
	}
	close(fd); /* an image cannot hold it */
}

static void forked(void)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		test_fail("fork: %m");
	if (!pid) {
		write_region(FORKED, 9); /* the child's copy only */
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		test_fail("the forked child failed");
	write_region(FORKED, 2);
}

static void step_one(void)
{
	unsigned char *moved, sink = 0;

	if (madvise(at[DONTNEED], LEN, MADV_DONTNEED))
		test_fail("MADV_DONTNEED: %m");
	for (size_t p = 0; p < PAGES / 2; p++)
		sink |= at[DONTNEED][p * PAGE];
	if (sink)
		test_fail("MADV_DONTNEED memory reads back non-zero");
	for (size_t p = PAGES / 2; p < PAGES * 3 / 4; p++)
		fill(at[DONTNEED] + p * PAGE, DONTNEED, p, 2);

	if (madvise(at[FREE], LEN, MADV_FREE))
		test_fail("MADV_FREE: %m");
	write_region(FREE, 2);

	moved = map_region(NULL, 0);
	moved = mremap(at[MOVED], LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	if (moved == MAP_FAILED)
		test_fail("mremap: %m");
	at[MOVED] = moved;
	write_region(MOVED, 2);

	if (munmap(at[REMAPPED], LEN))
		test_fail("munmap: %m");
	if (map_region(at[REMAPPED], MAP_FIXED) != at[REMAPPED])
		test_fail("mmap at the same place");
	write_region(REMAPPED, 2);

	write_region(READONLY, 2);
	if (mprotect(at[READONLY], LEN, PROT_READ))
		test_fail("mprotect: %m");

	own_uffd();
	forked();
}

static void step_sparse(int done)
{
	size_t p = (size_t)done - 1;

	fill(at[SPARSE] + p * PAGE, SPARSE, p, (unsigned)p + 2);
}

/* The permissions maps shows for the mapping at addr, into perms. */
static void perms_of(const void *addr, char perms[5])
{
	unsigned long start, end;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		test_fail("maps: %m");
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 &&
		    start == (unsigned long)(uintptr_t)addr)
			break;
	fclose(f);
}

static void check(int done)
{
	char perms[5];

	for (int r = 0; r < NREGIONS; r++)
		for (size_t p = 0; p < PAGES; p++)
			if (!holds(at[r] + p * PAGE, r, p, expected(r, p, done)))
				test_fail("%s: page %zu is not version %u after step %d", names[r], p,
					  expected(r, p, done), done);
	if (done < 1)
		return;
	perms_of(at[READONLY], perms);
	if (strcmp(perms, "r--p"))
		test_fail("the read-only region is %s", perms);
}

static bool file_there(const char *fmt, int n)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, n);
	return access(name, F_OK) == 0;
}

/*
 * TRACKED_BALLAST_MB: memory that never changes after start, between two
 * PROT_NONE guard pages: a region moved next to it would merge with it
 * into one VMA, which the tracker takes as new, and stores whole.
 */
static void ballast(void)
{
	const char *s = getenv("TRACKED_BALLAST_MB");
	size_t len = s ? strtoul(s, NULL, 10) << 20 : 0;
	char *p;

	if (!len)
		return;
	p = mmap(NULL, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + PAGE, len, PROT_READ | PROT_WRITE)) {
		perror("ballast");
		exit(1);
	}
	memset(p + PAGE, 0x5a, len);
}

/*
 * ./hold: /dev/null open at every descriptor up to the number it holds,
 * less one: the test gives the number of the runtime's tracker, so that
 * crload's own descriptors, which it moves above the program's, come to
 * it in a restore.
 */
static void hold_fds(void)
{
	FILE *f = fopen("hold", "r");
	int n = 0, fd;

	if (!f || fscanf(f, "%d", &n) != 1)
		test_fail("./hold holds no number");
	fclose(f);
	while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < n - 1)
		;
	if (fd != n - 1)
		test_fail("/dev/null open at %d, not %d", fd, n - 1);
	mark("held-%u", (unsigned)n);
}

int main(int argc, char **argv)
{
	int checked = -1;
	bool held = false;

	test_init(argc, argv);
	ballast();
	start_writer();
	for (int r = 0; r < NREGIONS; r++) {
		at[r] = map_region(NULL, 0);
		write_region(r, 1);
	}
	test_ready();
	while (!test_stopping()) {
		/* Every step is checked once done, and everything again when
		 * told to stop: after a restore too. */
		if (checked != step) {
			check(step);
			checked = step;
		}
		if (!held && !access("hold", F_OK)) {
			hold_fds();
			held = true;
		}
		if (argc < 2 && !access("exec", F_OK)) {
			char *args[] = { argv[0], "exec'd", NULL };

			unlink("ready");
			execv(argv[0], args);
			test_fail("execv: %m");
		}
		if (step < STEPS && file_there("step-%d", step + 1)) {
			if (step == 0)
				step_one();
			step_sparse(step + 1);
			step++;
			mark("done-%u", (unsigned)step);
		}
		usleep(10000);
	}
	check(step);
	check_writer();
	test_pass();
}
