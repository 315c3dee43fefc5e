// SPDX-License-Identifier: MIT
/*
 * Premapping: every VMA of the image is created and filled at a temporary
 * address that collides neither with the target layout nor with crload,
 * then the restorer blob is laid out in another such hole and entered.
 * The restorer later mremaps each VMA into place.
 *
 * Anonymous memory stays anonymous (filled with pread, never mapped from
 * the image file) so that MADV_DONTNEED still gives zero pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/uio.h>
#include <unistd.h>

#include "grow.h"
#include "vdso.h"
#include "xstate.h"
#include "fd_restore.h"
#include "gadgets.h"
#include "restore.h"
#include "status.h"

#define HUGE_SIZE (2UL << 20)
#define GAP SC_PAGE_SIZE
#define IOV_BATCH 1024
/* The threads that fill a large VMA (fill_vma): from the page cache or a
 * compressed file, and with direct reads from a cold file. */
#define FILL_THREADS 4
#define FILL_THREADS_COLD 8

extern const char restorer_blob[], restorer_blob_end[];

struct range {
	uint64_t start, end;
};

struct ranges {
	struct range *r;
	size_t n, cap;
};

static int ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	if (sc_grow(&rs->r, &rs->cap, rs->n, sizeof(*rs->r), 256))
		return -1;
	rs->r[rs->n++] = (struct range){ start, end };
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int add_busy(void *busy, uint64_t start, uint64_t end)
{
	return ranges_add(busy, start, end);
}

/* Sorts busy and merges overlapping ranges in place. */
static void normalize(struct ranges *busy)
{
	size_t n = 0;

	qsort(busy->r, busy->n, sizeof(*busy->r), cmp_range);
	for (size_t i = 0; i < busy->n; i++) {
		if (n && busy->r[i].start <= busy->r[n - 1].end) {
			if (busy->r[i].end > busy->r[n - 1].end)
				busy->r[n - 1].end = busy->r[i].end;
		} else {
			busy->r[n++] = busy->r[i];
		}
	}
	busy->n = n;
}

/* Highest 2 MiB aligned hole of size len below the top of user space that
 * overlaps nothing in busy. */
static uint64_t find_hole(struct ranges *busy, uint64_t len)
{
	uint64_t top = 0x7f0000000000ULL;

	normalize(busy);
	for (size_t i = busy->n; i-- > 0;) {
		const struct range *r = &busy->r[i];
		uint64_t cand;

		if (r->start >= top)
			continue;
		cand = (top - len) & ~(HUGE_SIZE - 1);
		if (r->end <= cand && cand + len <= top)
			return cand;
		top = r->start;
	}
	return top >= len + (1UL << 32) ? (top - len) & ~(HUGE_SIZE - 1) : 0;
}

static int read_runs(int fd, struct iovec *iov, int n, uint64_t off, char *err)
{
	while (n) {
		ssize_t r = preadv(fd, iov, n, (off_t)off);

		if (r <= 0) {
			sc_err(err, "reading pages: %s", r ? strerror(errno) : "short file");
			return -1;
		}
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* The runs of pages to restore, in order, and the files holding them. */
struct filler {
	const struct sc_pages *pg;
	const struct sc_run *runs;
	size_t nruns;
	size_t next; /* the next run */
	/* fill_vma's helper threads' readers of compressed pages, made
	 * before the premap (the first thread uses the pages' own). */
	struct sc_pages_cur *helpers[FILL_THREADS - 1];
	/* Per generation, the file opened for direct I/O where it is cold
	 * (direct_read.c), else -1. */
	int *direct;
};

struct premap {
	const struct sc_image *img;
	const struct sc_proc_img *p;
	struct filler fl;
	struct shared_files shared;
	bool lazy; /* crload --lazy: lazy_vma()s and shared_is_lazy()s are left empty */
	struct ranges lazy_r; /* those, where they end up */
};

static bool has_pages(const struct filler *fl, const Sc__Vma *v)
{
	return fl->next < fl->nruns && fl->runs[fl->next].vaddr < v->end;
}

/*
 * Bytes [lo, hi) of the pages VMA v stores (its runs [first, end), counted
 * back to back) read into its premapped copy at temp.
 */
struct fill_part {
	const struct filler *fl;
	struct sc_pages_cur *cur; /* for compressed pages; NULL: the pages' own */
	const Sc__Vma *v;
	size_t first, end;
	uint64_t temp, lo, hi;
	int ret;
	char err[SC_ERR_LEN];
};

/* Runs of a raw pages file read together: iov[0..n) from off of
 * generation gen's file, up to end. */
struct batch {
	struct iovec iov[IOV_BATCH];
	int n;
	uint32_t gen;
	uint64_t off, end;
};

/* The batch read, and checked where it is one whole chunk of the file's
 * sums in parts (doc/checksums.md), while it is in the cache. */
static int read_batch(struct fill_part *fp, struct batch *b)
{
	const struct sc_pages *pg = fp->fl->pg;
	int direct = fp->fl->direct ? fp->fl->direct[b->gen] : -1;
	struct iovec io[IOV_BATCH];
	int n = b->n;
	bool done;

	b->n = 0;
	memcpy(io, b->iov, sizeof(*io) * (size_t)n);
	done = direct >= 0 && !read_runs(direct, io, n, b->off, fp->err);
	/* What direct I/O refused (memory it cannot pin), or failed to
	 * read, is read again through the page cache, which says why if it
	 * fails too. */
	if (!done)
		memcpy(io, b->iov, sizeof(*io) * (size_t)n);
	return (!done && read_runs(pg->fds[b->gen], io, n, b->off, fp->err)) ||
			       sc_pages_check_read(pg, b->gen, b->off, b->iov, n, fp->err)
		       ? -1
		       : 0;
}

/* Bytes [from, to) of run r into dst, through the batch: runs that lie
 * back to back in one file, all of a full image's, are read by one
 * preadv, up to the end of a chunk of the file's sums. */
static int batch_run(struct fill_part *fp, struct batch *b, const struct sc_run *r, char *dst,
		     uint64_t from, uint64_t to)
{
	const struct sc_pages *pg = fp->fl->pg;

	while (from < to) {
		uint64_t off = r->off + from;
		uint64_t cut = sc_pages_chunk_end(pg, r->gen, off) - r->off;
		uint64_t end = cut < to ? cut : to;

		if (b->n && (b->n == IOV_BATCH || r->gen != b->gen || off != b->end) &&
		    read_batch(fp, b))
			return -1;
		if (!b->n) {
			b->gen = r->gen;
			b->off = off;
		}
		/* Faulted in a batch at a time, right before it is read
		 * into: much faster than one fault per page during the copy,
		 * and the fresh pages are still in the cache then (1 GiB from
		 * a cold page cache: 0.74 s, against 0.89 s faulted in whole
		 * before the reads, medians of 5 on a busy machine). */
		madvise(dst, end - from, MADV_POPULATE_WRITE);
		b->iov[b->n].iov_base = dst;
		b->iov[b->n++].iov_len = end - from;
		b->end = r->off + end;
		dst += end - from;
		from = end;
		if (end == cut && read_batch(fp, b))
			return -1;
	}
	return 0;
}

static void *fill_part(void *arg)
{
	struct fill_part *fp = arg;
	const struct sc_pages *pg = fp->fl->pg;
	struct batch b = { .n = 0 };
	uint64_t pos = 0;

	fp->ret = 0;
	for (size_t i = fp->first; i < fp->end && pos < fp->hi && !fp->ret; i++) {
		const struct sc_run *r = &fp->fl->runs[i];
		uint64_t len = r->nr_pages * SC_PAGE_SIZE;
		uint64_t from = pos > fp->lo ? 0 : fp->lo - pos;
		uint64_t to = pos + len < fp->hi ? len : fp->hi - pos;
		char *dst = (char *)(fp->temp + (r->vaddr - fp->v->start)) + from;

		pos += len;
		if (from >= to)
			continue;
		if (!pg->z[r->gen].n) {
			fp->ret = batch_run(fp, &b, r, dst, from, to);
			continue;
		}
		/* A compressed file is decompressed run by run, whole frames
		 * straight into place. The destination is faulted in bulk,
		 * much faster than one fault per page during the copy. */
		if (b.n && (fp->ret = read_batch(fp, &b)))
			break;
		madvise(dst, to - from, MADV_POPULATE_WRITE);
		fp->ret = sc_pages_get(pg, fp->cur, r, r->vaddr + from, dst, to - from, fp->err);
	}
	if (b.n && !fp->ret)
		fp->ret = read_batch(fp, &b);
	return NULL;
}

/*
 * Reads the stored pages of VMA v into its premapped copy at temp. Much
 * of it is in FILL_THREADS threads, a part each: faulting in fresh memory
 * is most of a restore's time, and it goes twice as fast on two CPUs
 * (2 GiB: 668 ms, 335 ms); reading a cold file with direct I/O, a thread
 * waits for the disk while the others fault in and check, so more
 * threads than CPUs keep the disk busy: with eight rather than four, more
 * reads are in flight (2 GiB from a cold page cache: 1.06-1.10 s against
 * 1.21-1.24 s in the same four rounds; from the page cache, the same).
 * The helpers run on stacks of crload's own, as no mapping may appear
 * where the premap puts the image's memory.
 */
#define FILL_SPLIT (32UL << 20) /* smaller VMAs are read by one thread */
#define FILL_STACK (256UL << 10)

/* fill_part(part) started in a thread of its own on stack: false if it
 * could not be. */
static bool start_part(pthread_t *t, void *stack, struct fill_part *part)
{
	pthread_attr_t attr;
	bool ok;

	if (pthread_attr_init(&attr))
		return false;
	ok = !pthread_attr_setstack(&attr, stack, FILL_STACK) &&
	     !pthread_create(t, &attr, fill_part, part);
	pthread_attr_destroy(&attr);
	return ok;
}

/* Where part i of n of total bytes begins, a page boundary. */
static uint64_t part_start(uint64_t total, int i, int n)
{
	return i == n ? total : total * (uint64_t)i / (uint64_t)n & ~(uint64_t)(SC_PAGE_SIZE - 1);
}

static int fill_vma(struct filler *fl, const Sc__Vma *v, uint64_t temp, char *err)
{
	static char stacks[FILL_THREADS_COLD - 1][FILL_STACK] __attribute__((aligned(4096)));
	struct fill_part part[FILL_THREADS_COLD];
	pthread_t helper[FILL_THREADS_COLD];
	size_t first = fl->next;
	uint64_t total = 0;
	bool cold = false;
	int n, started = 1;

	while (has_pages(fl, v)) {
		const struct sc_run *r = &fl->runs[fl->next++];

		total += r->nr_pages * SC_PAGE_SIZE;
		cold |= fl->direct && fl->direct[r->gen] >= 0;
	}
	n = total < FILL_SPLIT ? 1 : cold ? FILL_THREADS_COLD : FILL_THREADS;
	for (int i = 0; i < n; i++)
		part[i] = (struct fill_part){ .fl = fl,
					      /* Past the cursors made, the
					       * pages' own, under its lock. */
					      .cur = i && i < FILL_THREADS ? fl->helpers[i - 1]
									   : NULL,
					      .v = v,
					      .first = first,
					      .end = fl->next,
					      .temp = temp,
					      .lo = part_start(total, i, n),
					      .hi = part_start(total, i + 1, n) };
	/* Each helper's part; from one that cannot start on, read here. */
	while (started < n && start_part(&helper[started], stacks[started - 1], &part[started]))
		started++;
	fill_part(&part[0]);
	for (int i = 1; i < started; i++)
		pthread_join(helper[i], NULL);
	for (int i = started; i < n && !part[0].ret; i++)
		fill_part(&part[i]);
	for (int i = 0; i < n; i++)
		if (part[i].ret) {
			memcpy(err, part[i].err, SC_ERR_LEN);
			return -1;
		}
	return 0;
}

/* madvise() state the VMA had; before filling, so huge pages are used. */
static int apply_madvise(const Sc__Vma *v, void *p, uint64_t len, char *err)
{
	static const struct {
		uint32_t bit;
		int advice;
	} map[] = {
		{ SC__VMA_MADV__VMA_MADV_HUGEPAGE, MADV_HUGEPAGE },
		{ SC__VMA_MADV__VMA_MADV_NOHUGEPAGE, MADV_NOHUGEPAGE },
		{ SC__VMA_MADV__VMA_MADV_DONTFORK, MADV_DONTFORK },
		{ SC__VMA_MADV__VMA_MADV_DONTDUMP, MADV_DONTDUMP },
		{ SC__VMA_MADV__VMA_MADV_WIPEONFORK, MADV_WIPEONFORK },
	};

	for (size_t i = 0; v->has_madv && i < sizeof(map) / sizeof(map[0]); i++) {
		if ((v->madv & map[i].bit) && madvise(p, len, map[i].advice)) {
			sc_err(err, "madvise %#llx-%#llx: %s", (unsigned long long)v->start,
			       (unsigned long long)v->end, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Passes over v's stored pages: the file it maps holds them already. */
static void skip_pages(struct filler *fl, const Sc__Vma *v)
{
	while (has_pages(fl, v))
		fl->next++;
}

/* The file v maps from (opened here, closed by the caller), or -1 for
 * anonymous memory; -2 with err set. */
static int vma_file(struct premap *pm, const Sc__Vma *v, bool *filled, char *err)
{
	bool writable;
	int fd;

	*filled = false;
	if (v->kind == SC__VMA_KIND__ANON_SHARED) {
		fd = shared_backing(&pm->shared, pm->p, v, filled, err);
		return fd < 0 && err[0] ? -2 : fd;
	}
	/* Every process that maps it writes the same pages, all before any
	 * of them runs again. */
	if (sc_vma_is_file_in_memory(v)) {
		fd = shm_file_open(v, err);
		return fd < 0 ? -2 : fd;
	}
	if (v->kind != SC__VMA_KIND__FILE_PRIVATE && v->kind != SC__VMA_KIND__FILE_SHARED)
		return -1;
	writable = v->kind == SC__VMA_KIND__FILE_SHARED && (v->prot & PROT_WRITE);
	fd = open(v->path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		sc_err(err, "mapped file %s: %s", v->path, strerror(errno));
		return -2;
	}
	/* A shared file mapping's contents live in the file. */
	*filled = v->kind == SC__VMA_KIND__FILE_SHARED;
	return fd;
}

/* An attachment of a SysV segment crload made and filled (sysv_shm.c):
 * the segment attached, v's part of it moved to temp, the rest dropped. */
static int premap_sysv(struct premap *pm, const Sc__Vma *v, const Sc__SysvShm *sh, uint64_t temp,
		       char *err)
{
	uint64_t len = v->end - v->start, seg = align_up(sh->size, SC_PAGE_SIZE);
	int flags =
		((v->prot & PROT_WRITE) ? 0 : SHM_RDONLY) | ((v->prot & PROT_EXEC) ? SHM_EXEC : 0);
	char *base = shmat((int)sh->id, NULL, flags);

	if (base == (void *)-1 ||
	    mremap(base + v->pgoff, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)temp) ==
		    MAP_FAILED ||
	    (v->pgoff && munmap(base, v->pgoff)) ||
	    (v->pgoff + len < seg && munmap(base + v->pgoff + len, seg - v->pgoff - len)) ||
	    mprotect((void *)temp, len, (int)v->prot)) {
		sc_err(err, "attaching SysV shared memory id %u at %#llx: %s", sh->id,
		       (unsigned long long)v->start, strerror(errno));
		return -1;
	}
	skip_pages(&pm->fl, v);
	return apply_madvise(v, (void *)temp, len, err);
}

static int premap_vma(struct premap *pm, const Sc__Vma *v, uint64_t temp, char *err)
{
	struct filler *fl = &pm->fl;
	uint64_t len = v->end - v->start;
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_FIXED | ((v->flags & MAP_SHARED) ? MAP_SHARED : MAP_PRIVATE);
	const Sc__SysvShm *sh = sc_sysv_of(pm->p->mm, v);
	bool filled;
	int fd;
	void *p;

	if (sh)
		return premap_sysv(pm, v, sh, temp, err);
	if (pm->lazy && (lazy_vma(pm->p, v) || shared_is_lazy(pm->img, v))) {
		/* Filled by crload's page server once the process runs;
		 * shared memory on the object it shares, empty. */
		if (ranges_add(&pm->lazy_r, v->start, v->end)) {
			sc_err(err, "out of memory");
			return -1;
		}
		fd = v->kind == SC__VMA_KIND__ANON_SHARED ? vma_file(pm, v, &filled, err) : -1;
		filled = true;
	} else {
		fd = vma_file(pm, v, &filled, err);
	}
	if (fd == -2)
		return -1;
	if (v->flags & MAP_GROWSDOWN)
		flags |= MAP_GROWSDOWN;
	if (fd < 0)
		flags |= MAP_ANONYMOUS;
	if (filled)
		skip_pages(fl, v);
	if (filled || (fd >= 0 && !has_pages(fl, v)))
		prot = (int)v->prot;
	p = mmap((void *)temp, len, prot, flags, fd, fd >= 0 ? (off_t)v->pgoff : 0);
	if (fd >= 0)
		close(fd);
	if (p == MAP_FAILED) {
		sc_err(err, "mapping %#llx-%#llx%s%s: %s", (unsigned long long)v->start,
		       (unsigned long long)v->end, v->path ? " of " : "", v->path ? v->path : "",
		       strerror(errno));
		return -1;
	}
	if (apply_madvise(v, p, len, err) ||
	    (!filled && sc_vma_stores_pages(v) && fill_vma(fl, v, temp, err)))
		return -1;
	if (prot != (int)v->prot && mprotect(p, len, (int)v->prot)) {
		sc_err(err, "mprotect: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Region layout: code | args | arrays | xsave copies | pending signals | timers |
 * connections | groups | tracked ranges | lazy ranges | auxv | stacks | vdso scratch. */
struct blob_layout {
	uint64_t code, args, unmap, moves, vdso, threads, xsave, pending, timers, tcp, groups,
		tracked, lazy, auxv, stacks, scratch, size;
};

static void layout_blob(struct blob_layout *b, const struct sc_proc_img *p, size_t n_unmap_max,
			size_t n_moves, uint64_t vdso_span)
{
	const Sc__ProcCore *c = p->core;
	const Sc__Mm *mm = p->mm;
	uint64_t off = align_up((uint64_t)(restorer_blob_end - restorer_blob), SC_PAGE_SIZE);

	b->code = 0;
	b->args = off;
	off = align_up(off + sizeof(struct rst_args), 64);
	b->unmap = off;
	off = align_up(off + n_unmap_max * sizeof(struct rst_range), 64);
	b->moves = off;
	off = align_up(off + n_moves * sizeof(struct rst_move), 64);
	b->vdso = off;
	off = align_up(off + 3 * sizeof(struct rst_move), 64);
	b->threads = off;
	off = align_up(off + c->n_threads * sizeof(struct rst_thread), 64);
	b->xsave = off;
	for (size_t i = 0; i < c->n_threads; i++)
		off = align_up(off + c->threads[i]->xsave.len, 64);
	b->pending = off;
	for (size_t i = 0; i < c->n_threads; i++)
		off += c->threads[i]->n_pending_signals * SC_SIGINFO_SIZE;
	off += c->n_shared_pending_signals * SC_SIGINFO_SIZE;
	b->timers = align_up(off, 64);
	off = b->timers + c->n_posix_timers * sizeof(struct rst_timer);
	b->tcp = align_up(off, 64);
	off = b->tcp + tcp_repair_list(p->fds, NULL) * sizeof(struct rst_tcp);
	b->groups = align_up(off, 64);
	off = b->groups + c->creds->n_groups * sizeof(uint32_t);
	b->tracked = align_up(off, 64);
	off = b->tracked + (mm->tracker ? mm->tracker->n_ranges / 2 : 0) * sizeof(struct rst_range);
	b->lazy = align_up(off, 64);
	off = b->lazy + mm->n_vmas * sizeof(struct rst_range);
	b->auxv = align_up(off, 64);
	off = b->auxv;
	off = align_up(off + mm->n_auxv * 8, SC_PAGE_SIZE);
	b->stacks = off;
	off += (c->n_threads + 1) * RST_STACK_SIZE;
	b->scratch = off;
	b->size = off + vdso_span;
}

/* Lays the validated siginfo records end to end at at; returns the end. */
static uint64_t copy_siginfos(uint64_t at, const ProtobufCBinaryData *s, size_t n)
{
	for (size_t i = 0; i < n; i++, at += SC_SIGINFO_SIZE)
		memcpy((void *)at, s[i].data, SC_SIGINFO_SIZE);
	return at;
}

/*
 * The thread's XSAVE area, as a signal frame of a thread that used AMX
 * exactly when it holds live tile data (doc/xsave.md): only such a thread
 * must use AMX once before it enters the frame.
 */
static void fill_xsave(struct rst_thread *t, const Sc__ThreadCore *tc, uint64_t xsave)
{
	uint64_t features = tc->xfeatures;

	memcpy((void *)xsave, tc->xsave.data, tc->xsave.len);
	t->xsave = xsave;
	t->xsave_size = (uint32_t)sc_xstate_fit_frame(sc_xstate_this_cpu(), (uint8_t *)xsave,
						      tc->xsave.len, &features);
	t->enlarge_xstate = sc_xstate_needs_enlarging(features);
}

static void fill_thread(struct rst_thread *t, const Sc__ThreadCore *tc, uint64_t xsave,
			uint64_t stack_top)
{
	const Sc__GpRegs *r = tc->regs;

	memset(t, 0, sizeof(*t));
	t->tid = tc->tid;
	fill_xsave(t, tc, xsave);
	t->stack_top = stack_top;
	t->fs_base = tc->fs_base;
	t->rseq_ptr = tc->rseq_ptr;
	t->rseq_len = tc->rseq_len;
	t->rseq_sig = tc->rseq_sig;
	t->robust_list = tc->robust_list;
	t->robust_list_len = tc->robust_list_len;
	t->clear_child_tid = tc->clear_child_tid;
	t->sigmask = tc->sigmask;
	t->altstack.ss_sp = tc->altstack_sp;
	t->altstack.ss_size = tc->altstack_size;
	t->altstack.ss_flags = (int32_t)tc->altstack_flags;
	t->frame_below_sp = tc->has_runtime_thread && tc->runtime_thread;
	t->regs.r8 = r->r8, t->regs.r9 = r->r9, t->regs.r10 = r->r10, t->regs.r11 = r->r11;
	t->regs.r12 = r->r12, t->regs.r13 = r->r13, t->regs.r14 = r->r14, t->regs.r15 = r->r15;
	t->regs.rdi = r->rdi, t->regs.rsi = r->rsi, t->regs.rbp = r->rbp, t->regs.rbx = r->rbx;
	t->regs.rdx = r->rdx, t->regs.rax = r->rax, t->regs.rcx = r->rcx, t->regs.rsp = r->rsp;
	t->regs.rip = r->rip, t->regs.eflags = r->eflags;
	strncpy(t->name, tc->name, sizeof(t->name) - 1);
}

/* Unmap everything outside keep (sorted, non-overlapping). */
static size_t complement(const struct ranges *keep, struct rst_range *out)
{
	uint64_t cur = 0;
	size_t n = 0;

	for (size_t i = 0; i < keep->n; i++) {
		if (keep->r[i].start > cur)
			out[n++] = (struct rst_range){ cur, keep->r[i].start };
		if (keep->r[i].end > cur)
			cur = keep->r[i].end;
	}
	if (cur < SC_TASK_SIZE)
		out[n++] = (struct rst_range){ cur, SC_TASK_SIZE };
	return n;
}

/*
 * Whether VMA v may hold the restorer's gadgets: code that is readable
 * here (execute-only memory need not be, with protection keys) and
 * private (shared memory may change under a process of the tree that was
 * restored first).
 */
static bool gadget_source(const Sc__Vma *v)
{
	return (v->prot & (PROT_READ | PROT_EXEC)) == (PROT_READ | PROT_EXEC) &&
	       (v->kind == SC__VMA_KIND__ANON_PRIVATE || v->kind == SC__VMA_KIND__FILE_PRIVATE);
}

/* No gadgets in the process: a page of crload's holding them stays mapped
 * for the process's lifetime, named in its maps. */
static int map_tail_page(struct restore_ctx *ctx, struct ranges *busy, struct ranges *keep,
			 struct sc_gadgets *g, char *err)
{
	uint64_t at = find_hole(busy, SC_PAGE_SIZE);
	void *p = MAP_FAILED;

	if (at)
		p = mmap((void *)at, SC_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		sc_err(err, "no room for the restorer's tail page: %s", strerror(errno));
		return -1;
	}
	sc_write_gadgets(p, at, g);
	if (mprotect(p, SC_PAGE_SIZE, PROT_READ | PROT_EXEC)) {
		sc_err(err, "mprotect tail page: %s", strerror(errno));
		return -1;
	}
	/* Kernels without CONFIG_ANON_VMA_NAME leave it unnamed. */
	bool named = !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, at, SC_PAGE_SIZE, "selfckpt-tail");
	status_notice(ctx->status_fd,
		      "pid %d: no \"syscall; ret\" or rt_sigreturn code in its memory: a page of "
		      "restorer code stays mapped at %#llx%s",
		      ctx->p->pid, (unsigned long long)at, named ? " ([anon:selfckpt-tail])" : "");
	if (ranges_add(busy, at, at + SC_PAGE_SIZE) || ranges_add(keep, at, at + SC_PAGE_SIZE)) {
		sc_err(err, "out of memory");
		return -1;
	}
	return 0;
}

static void __attribute__((noreturn)) enter_blob(uint64_t entry, uint64_t args, uint64_t stack)
{
	/* args goes in rdi by its constraint: moved there by hand, it could
	 * overwrite entry or stack if the compiler had put one in rdi. */
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "jmp *%1"
			 :
			 : "r"(stack), "r"(entry), "D"(args)
			 : "memory");
	__builtin_unreachable();
}

/* One process's restore, from its premapped copies to the restorer's
 * arguments, phase by phase (premap_and_restore). */
struct restore_plan {
	struct restore_ctx *ctx;
	struct ranges busy; /* crload's mappings, the image's, then ours */
	struct ranges keep; /* what the restorer must not unmap */
	struct sc_vdso_layout vd;
	struct premap pm;
	struct rst_move *moves; /* each premapped copy to its place */
	size_t n_moves;
	struct blob_layout bl;
	uint64_t blob; /* where the restorer runs */
	uint64_t vdso_span; /* crload's vDSO family, vvar to vdso */
	uint64_t tail; /* the image's restore tail page, or 0 */
	const char *no_tail; /* SELFCKPT_TEST_NO_TAIL */
	struct sc_gadgets g;
	struct rst_args *a;
};

/* Every VMA but the vDSO's mapped and filled at a temporary address in
 * one reservation, and the moves that put each in place. */
static int premap_all(struct restore_plan *rp, char *err)
{
	const Sc__Mm *mm = rp->ctx->p->mm;
	/* "page": as if the process had no gadgets either (doc/restore.md). */
	bool seek = !rp->tail && !(rp->no_tail && !strcmp(rp->no_tail, "page"));
	uint64_t total = 0, base, cursor;

	if (sc_own_maps(&rp->vd, add_busy, &rp->busy)) {
		sc_err(err, "/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		uint64_t len = v->end - v->start;

		if (ranges_add(&rp->busy, v->start, v->end))
			goto nomem;
		if (!sc_is_vdso_kind(v))
			total += len + GAP + (len >= HUGE_SIZE ? HUGE_SIZE : 0);
	}
	base = find_hole(&rp->busy, total);
	if (!base || mmap((void *)base, total, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1,
			  0) == MAP_FAILED) {
		sc_err(err, "no room to premap %llu bytes", (unsigned long long)total);
		return -1;
	}
	/* The blob's hole must avoid the whole reservation. */
	if (ranges_add(&rp->busy, base, base + total))
		goto nomem;
	rp->moves = calloc(mm->n_vmas, sizeof(*rp->moves));
	if (!rp->moves)
		goto nomem;

	cursor = base;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		uint64_t len = v->end - v->start, temp = cursor;

		if (sc_is_vdso_kind(v))
			continue;
		/* Same offset modulo 2 MiB as the final address, so that
		 * huge pages survive the move. */
		if (len >= HUGE_SIZE)
			temp += (v->start - temp) & (HUGE_SIZE - 1);
		if (premap_vma(&rp->pm, v, temp, err))
			return -1;
		if (seek && gadget_source(v))
			seek = !sc_find_gadgets((void *)temp, len, v->start, &rp->g);
		rp->moves[rp->n_moves++] = (struct rst_move){ temp, v->start, len };
		if (ranges_add(&rp->keep, temp, temp + len))
			goto nomem;
		cursor = temp + len + GAP;
	}
	/* The mappings hold their files now. */
	shared_files_release(&rp->pm.shared);
	/* The reservation's unused parts are not kept: the restorer's unmap
	 * pass removes them with everything else of crload. */
	return 0;
nomem:
	sc_err(err, "out of memory");
	return -1;
}

/* The restorer copied into a hole of its own, with room for its
 * arguments and a parking place for the vDSO family on its way. */
static int place_restorer(struct restore_plan *rp, char *err)
{
	struct sc_vdso_layout *vd = &rp->vd;
	uint64_t blob;

	rp->vdso_span =
		vd->part[2].end - (vd->part[0].start ? vd->part[0].start : vd->part[2].start);
	layout_blob(&rp->bl, rp->ctx->p, rp->keep.n + 8, rp->n_moves, rp->vdso_span);
	for (size_t i = 0; i < rp->keep.n; i++)
		if (ranges_add(&rp->busy, rp->keep.r[i].start, rp->keep.r[i].end)) {
			sc_err(err, "out of memory");
			return -1;
		}
	if (!rp->tail && !(rp->g.syscall_ret && rp->g.sigreturn) &&
	    map_tail_page(rp->ctx, &rp->busy, &rp->keep, &rp->g, err))
		return -1;
	blob = find_hole(&rp->busy, rp->bl.size);
	if (!blob || mmap((void *)blob, rp->bl.size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED) {
		sc_err(err, "no room for the restorer (%llu bytes at %#llx): %s",
		       (unsigned long long)rp->bl.size, (unsigned long long)blob, strerror(errno));
		return -1;
	}
	memcpy((void *)blob, restorer_blob, (size_t)(restorer_blob_end - restorer_blob));
	if (mprotect((void *)blob, rp->bl.args, PROT_READ | PROT_EXEC)) {
		sc_err(err, "mprotect restorer: %s", strerror(errno));
		return -1;
	}
	if (mmap((void *)(blob + rp->bl.scratch), rp->vdso_span, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		sc_err(err, "vdso scratch: %s", strerror(errno));
		return -1;
	}
	rp->blob = blob;
	rp->a = (struct rst_args *)(blob + rp->bl.args);
	memset(rp->a, 0, sizeof(*rp->a));
	return 0;
}

/* Where the restorer moves memory: the premapped copies, and the vDSO
 * family from where crload has it to where the process had it. */
static int fill_moves(struct restore_plan *rp, char *err)
{
	const Sc__Mm *mm = rp->ctx->p->mm;
	struct rst_args *a = rp->a;
	struct rst_move *vm = (struct rst_move *)(rp->blob + rp->bl.vdso);

	memcpy((void *)(rp->blob + rp->bl.moves), rp->moves, rp->n_moves * sizeof(*rp->moves));
	a->moves = rp->blob + rp->bl.moves;
	a->n_moves = (uint32_t)rp->n_moves;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		const struct sc_range *cur;

		if (!sc_is_vdso_kind(v))
			continue;
		cur = &rp->vd.part[v->kind - SC__VMA_KIND__VVAR];
		vm[a->n_vdso++] = (struct rst_move){ cur->start, v->start, cur->end - cur->start };
		if (ranges_add(&rp->keep, cur->start, cur->end)) {
			sc_err(err, "out of memory");
			return -1;
		}
	}
	a->vdso = rp->blob + rp->bl.vdso;
	a->vdso_scratch = rp->blob + rp->bl.scratch;
	return 0;
}

/* The threads with their registers and pending signals, the process's
 * pending signals and its POSIX timers. */
static void fill_threads(struct restore_plan *rp)
{
	const Sc__ProcCore *c = rp->ctx->p->core;
	struct rst_args *a = rp->a;
	uint64_t blob = rp->blob, xs = blob + rp->bl.xsave, ps = blob + rp->bl.pending;
	struct rst_thread *th = (struct rst_thread *)(blob + rp->bl.threads);
	struct rst_timer *tm = (struct rst_timer *)(blob + rp->bl.timers);

	for (size_t i = 0; i < c->n_threads; i++) {
		const Sc__ThreadCore *tc = c->threads[i];

		fill_thread(&th[i], tc, xs, blob + rp->bl.stacks + (i + 2) * RST_STACK_SIZE);
		xs = align_up(xs + tc->xsave.len, 64);
		th[i].pending = ps;
		th[i].n_pending = (uint32_t)tc->n_pending_signals;
		ps = copy_siginfos(ps, tc->pending_signals, tc->n_pending_signals);
		/* Permission is the process's, the enlarging each thread's.
		 * The process gets it back if it had it, or if a thread's
		 * tiles are live: older images do not say. Where it had it,
		 * every thread is enlarged: tiles live in a signal frame on
		 * its stack (the runtime's trigger's, under the handler
		 * that took the checkpoint, or a handler's of the program's)
		 * come back only through rt_sigreturn of a thread whose
		 * fpstate holds them (doc/xsave.md). */
		if (c->xcomp_perm & SC_XFEATURES_DYNAMIC)
			th[i].enlarge_xstate = 1;
		if (th[i].enlarge_xstate)
			a->xcomp_perm = SC_XFEATURE_XTILEDATA;
	}
	a->threads = blob + rp->bl.threads;
	a->n_threads = (uint32_t)c->n_threads;
	a->shared_pending = ps;
	a->n_shared_pending = (uint32_t)c->n_shared_pending_signals;
	copy_siginfos(ps, c->shared_pending_signals, c->n_shared_pending_signals);
	for (size_t i = 0; i < c->n_posix_timers; i++) {
		const Sc__PosixTimer *pt = c->posix_timers[i];

		tm[i] = (struct rst_timer){ .id = pt->id,
					    .clock = pt->clock,
					    .notify = (int32_t)pt->notify,
					    .signo = (int32_t)pt->signo,
					    .tid = pt->tid,
					    .sigev_value = pt->sigev_value,
					    .value_ns = pt->value_ns,
					    .interval_ns = pt->interval_ns };
	}
	a->timers = blob + rp->bl.timers;
	a->n_timers = (uint32_t)c->n_posix_timers;
}

/* The process's memory map fields (prctl PR_SET_MM_MAP) with its auxv,
 * and its executable, opened for the restorer to set. */
static void fill_mm(struct restore_plan *rp)
{
	const Sc__Mm *mm = rp->ctx->p->mm;
	struct rst_args *a = rp->a;
	uint64_t auxv = rp->blob + rp->bl.auxv;

	memcpy((void *)auxv, mm->auxv, mm->n_auxv * 8);
	a->mm_map = (struct sc_prctl_mm_map){
		.start_code = mm->start_code,
		.end_code = mm->end_code,
		.start_data = mm->start_data,
		.end_data = mm->end_data,
		.start_brk = mm->start_brk,
		.brk = mm->brk,
		.start_stack = mm->start_stack,
		.arg_start = mm->arg_start,
		.arg_end = mm->arg_end,
		.env_start = mm->env_start,
		.env_end = mm->env_end,
		.auxv = auxv,
		.auxv_size = (uint32_t)(mm->n_auxv * 8),
		.exe_fd = (uint32_t)-1,
	};
	a->exe_fd = -1;
	if (mm->exe) {
		int fd = open(mm->exe, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			/* Above every app descriptor, like the status fd. */
			int hi = fcntl(fd, F_DUPFD_CLOEXEC, rp->ctx->status_fd + 1);

			close(fd);
			a->exe_fd = hi;
			a->mm_map.exe_fd = (uint32_t)hi;
		}
	}
}

/* *fd (crload's) off the number the restorer gives the tracker; where it
 * cannot move, the restorer finds the number taken and arms nothing. */
static void clear_track_fd(int *fd, int track_fd)
{
	int moved;

	if (*fd != track_fd || (moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) < 0)
		return;
	close(*fd);
	*fd = moved;
}

/* The runtime's tracker, which the restorer arms again (doc/incremental.md),
 * at a number none of crload's descriptors still open then may have. */
static void fill_tracker(struct restore_plan *rp)
{
	const Sc__Tracker *t = rp->ctx->p->mm->tracker;
	struct rst_range *r = (struct rst_range *)(rp->blob + rp->bl.tracked);
	struct rst_args *a = rp->a;

	if (!t)
		return;
	if (rp->pm.lazy) {
		/* A range has one userfaultfd, and the lazy one needs every
		 * private anonymous range the tracker would take. */
		status_notice(rp->ctx->status_fd,
			      "pid %d: --lazy: the dirty-page tracker is not armed again: its next "
			      "checkpoint is a full image",
			      rp->ctx->p->pid);
		return;
	}
	clear_track_fd(&rp->ctx->status_fd, t->fd);
	clear_track_fd(&rp->ctx->release_fd, t->fd);
	clear_track_fd(&a->exe_fd, t->fd);
	a->status_fd = rp->ctx->status_fd;
	a->release_fd = rp->ctx->release_fd;
	a->mm_map.exe_fd = (uint32_t)a->exe_fd;
	for (size_t i = 0; i < t->n_ranges / 2; i++)
		r[i] = (struct rst_range){ t->ranges[2 * i], t->ranges[2 * i + 1] };
	a->tracked = (uint64_t)r;
	a->n_tracked = (uint32_t)(t->n_ranges / 2);
	a->track_fd = t->fd;
}

/* crload --lazy: the ranges left empty, for the restorer to register
 * (doc/lazy-restore.md); without any, it closes the socket unused. */
static void fill_lazy(struct restore_plan *rp)
{
	struct rst_range *r = (struct rst_range *)(rp->blob + rp->bl.lazy);
	const struct ranges *lr = &rp->pm.lazy_r;

	rp->a->lazy_fd = rp->ctx->lazy_fd;
	for (size_t i = 0; i < lr->n; i++)
		r[i] = (struct rst_range){ lr->r[i].start, lr->r[i].end };
	rp->a->lazy = (uint64_t)r;
	rp->a->n_lazy = (uint32_t)lr->n;
}

/* Every chunk of the pages files that memory filled now was read from
 * checked, those of lazy ranges left to the page server, which checks
 * each as it reads it; all of them without --lazy (doc/checksums.md). */
static int check_rest(const struct premap *pm, const struct sc_pages *pg, char *err)
{
	const struct ranges *lr = &pm->lazy_r;
	size_t k = 0;

	if (!pm->lazy)
		return sc_pages_check_rest(pg, err);
	for (size_t i = 0; i < pm->p->nruns; i++) {
		const struct sc_run *r = &pm->p->runs[i];

		while (k < lr->n && lr->r[k].end <= r->vaddr)
			k++;
		if ((k == lr->n || r->vaddr < lr->r[k].start) && sc_pages_check_span(pg, r, err))
			return -1;
	}
	return 0;
}

/* Everything the restorer needs, in the arguments in its blob. */
static int fill_args(struct restore_plan *rp, char *err)
{
	struct restore_ctx *ctx = rp->ctx;
	struct rst_args *a = rp->a;

	a->blob_start = rp->blob;
	a->blob_len = rp->bl.size;
	a->status_fd = ctx->status_fd;
	a->release_fd = ctx->release_fd;
	a->restore_tail = rp->tail;
	a->gadget_syscall = rp->g.syscall_ret;
	a->gadget_sigreturn = rp->g.sigreturn;
	if (rp->no_tail)
		status_notice(ctx->status_fd,
			      "test aid SELFCKPT_TEST_NO_TAIL: pid %d: restorer at %#llx-%#llx, "
			      "leaving through %#llx and %#llx",
			      ctx->p->pid, (unsigned long long)rp->blob,
			      (unsigned long long)(rp->blob + rp->bl.size),
			      (unsigned long long)rp->g.syscall_ret,
			      (unsigned long long)rp->g.sigreturn);
	if (fill_moves(rp, err))
		return -1;
	fill_threads(rp);
	a->tcp = rp->blob + rp->bl.tcp;
	a->n_tcp =
		(uint32_t)tcp_repair_list(ctx->p->fds, (struct rst_tcp *)(rp->blob + rp->bl.tcp));
	creds_fill(&a->creds, ctx->p->core->creds, rp->blob + rp->bl.groups);
	fill_mm(rp);
	fill_tracker(rp);
	fill_lazy(rp);
	return 0;
}

int premap_and_restore(struct restore_ctx *ctx, char *err)
{
	/* Test aid (doc/restore.md): restore as if the image had no tail. */
	const char *no_tail = getenv("SELFCKPT_TEST_NO_TAIL");
	struct restore_plan rp = {
		.ctx = ctx,
		.pm = { .img = ctx->img,
			.p = ctx->p,
			.fl = { .pg = &ctx->pages, .runs = ctx->p->runs, .nruns = ctx->p->nruns },
			.shared = ctx->shared_mem,
			.lazy = ctx->lazy_fd >= 0 },
		.tail = no_tail ? 0 : ctx->p->core->restore_tail,
		.no_tail = no_tail
	};

	/* Allocated before the premap places memory (fill_vma). */
	for (int i = 0; i < FILL_THREADS - 1 && sc_pages_compressed(&ctx->pages); i++)
		if (!(rp.pm.fl.helpers[i] = sc_pages_cur_new(&ctx->pages, err)))
			return -1;
	rp.pm.fl.direct = direct_open(&ctx->pages);
	/* Every page in place, and every byte of the pages files checked,
	 * before anything else of the restore (doc/checksums.md). */
	if (premap_all(&rp, err) || check_rest(&rp.pm, &ctx->pages, err) ||
	    place_restorer(&rp, err) || fill_args(&rp, err))
		return -1;
	direct_close(rp.pm.fl.direct, ctx->pages.n);
	for (int i = 0; i < FILL_THREADS - 1; i++)
		sc_pages_cur_free(rp.pm.fl.helpers[i]);
	free(rp.moves);
	free(rp.pm.lazy_r.r);
	sc_pages_close(&ctx->pages);
	/* No descriptor crload opened is closed after this point but the
	 * exe's, in the restorer. */
	if (fd_locks_restore(ctx->p->fds, err))
		return -1;
	if (ranges_add(&rp.keep, rp.blob, rp.blob + rp.bl.size)) {
		sc_err(err, "out of memory");
		return -1;
	}
	qsort(rp.keep.r, rp.keep.n, sizeof(*rp.keep.r), cmp_range);
	rp.a->unmap = rp.blob + rp.bl.unmap;
	rp.a->n_unmap = (uint32_t)complement(&rp.keep, (struct rst_range *)(rp.blob + rp.bl.unmap));
	enter_blob(rp.blob, (uint64_t)rp.a, rp.blob + rp.bl.stacks + RST_STACK_SIZE);
}
