// SPDX-License-Identifier: MIT
/*
 * The address space: every VMA from /proc/PID/smaps, and the pages that
 * only memory holds, written with large pwritev calls: in the runtime
 * straight from the process's own memory (no staging copy); in crdump
 * and in the runtime's copy-on-write copy (snapshot.c) from a buffer
 * each batch is copied into (dump_source.h). Zero pages are not stored.
 *
 * The pages file is written with O_DIRECT where the filesystem takes it:
 * the disk reads the pages where they are, instead of each one being
 * copied into a freshly allocated page cache page (on these VMs a new
 * page cache page costs more than the disk write; doc/direct-io.md).
 */
#include <errno.h>
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "compress.h"
#include "part_sums.h"
#include "dump.h"
#include "procparse.h"
#include "selfckpt/pagescan.h"
#include "vmakind.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61) /* file page or shared anonymous */
#define PM_BATCH 65536	     /* pagemap entries read at a time */
#define IOV_BATCH 1024
#define WRITE_BATCH (4UL << 20)
#define FETCH_BYTES WRITE_BATCH /* another process's pages read at a time */
#define NSLOTS 2		/* crdump: one batch read while the other is written */
#define SIZE_AHEAD (256UL << 20)
#define HUGE_PAGE (2UL << 20)
#define MAX_FRAMES (1UL << 20) /* of a pages file: 256 GiB of pages */
/* The most frames one batch is cut into (queue_page ends one at WRITE_BATCH). */
#define BATCH_FRAMES (WRITE_BATCH / (SC_ZFRAME_PAGES * SC_PAGE_SIZE))

/* One fetch is one write: it never holds more pages than a write takes. */
_Static_assert(FETCH_BYTES / SC_PAGE_SIZE <= IOV_BATCH, "a fetch must fit one write");
_Static_assert(WRITE_BATCH % (SC_ZFRAME_PAGES * SC_PAGE_SIZE) == 0, "a batch is whole frames");

/* A batch of pages handed to the disk; in crdump with its own buffer. */
struct write_slot {
	uint8_t *buf;
	struct iovec *iov;
	/* Compressing: the batch's frames, in zout; what is written. */
	uint8_t *zout;
	struct iovec *ziov;
	struct iovec *io; /* iov, or ziov */
	int nio;
	uint64_t off, len;
	struct iocb cb;
	bool busy; /* submitted, not yet reaped */
};

struct page_writer {
	const struct rt_source *src; /* whose pages */
	bool (*cancelled)(void); /* rt_image's */
	int fd;
	bool direct; /* fd has O_DIRECT */
	uint64_t off; /* bytes written (or submitted) so far */
	uint64_t data; /* bytes of pages in them: off, unless compressed */
	/* Compressing (doc/compression.md): the frames written so far. */
	struct rt_zpool *zpool;
	uint32_t *frame_pages, *frame_bytes;
	size_t nframes;
	struct write_slot slot[NSLOTS];
	int cur;	    /* the slot being filled */
	aio_context_t aio;  /* crdump: writes run while the next batch is read */
	uint64_t sized;	    /* the file's length, set ahead of the writes */
	struct iovec *iov;  /* slot[cur].iov */
	int niov;
	size_t queued;
	XXH3_state_t *hash;
	struct rt_part_sums parts; /* the file's sums in parts */
	uint64_t vma_start; /* entries never span two VMAs */
	bool give_back; /* staged: the VMA's pages are dropped once copied */
	Sc__PagemapEntry **ents;
	size_t nents, cap;
	/* An incremental image: the pages written since the parent, a cursor
	 * into them, and the runs left to the parent, merged with the stored
	 * ones at the end (they have no data, so the order of the data holds). */
	const struct rt_written *written;
	size_t run_at, tracked_at;
	Sc__PagemapEntry **parent_ents;
	size_t nparent;
	/* Another process's pages (crdump): the wanted ones are gathered as
	 * remote ranges, read into buf in one call and written from there. */
	uint8_t *buf; /* slot[cur].buf */
	struct iovec *want;
	int nwant;
	size_t wanted;
};

/* Steps *iov, *n past the first bytes of the vector. */
static void iov_advance(struct iovec **iov, int *n, uint64_t bytes)
{
	while (*n && bytes >= (*iov)->iov_len) {
		bytes -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + bytes;
		(*iov)->iov_len -= bytes;
	}
}

/* Writes iov[0..n) at off, all of it. What O_DIRECT refuses (memory it
 * cannot pin, a filesystem without it) goes through the page cache. */
static int write_iov(struct page_writer *w, struct iovec *iov, int n, uint64_t off)
{
	while (n) {
		long r = sc_sys4(__NR_pwritev, w->fd, iov, n, off);

		if (r == -EINTR)
			continue;
		if ((r == -EINVAL || r == -EFAULT) && w->direct) {
			w->direct = false;
			if (sc_sys3(__NR_fcntl, w->fd, F_SETFL, 0))
				return (int)r;
			continue;
		}
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		iov_advance(&iov, &n, (uint64_t)r);
	}
	return 0;
}

/* A submitted write has ended with res: what it left undone is written
 * here, synchronously (its buffer is untouched until the slot is reused). */
static int slot_done(struct page_writer *w, struct write_slot *s, long res)
{
	struct iovec *iov = s->io;
	int n = s->nio;
	uint64_t done = res > 0 ? (uint64_t)res : 0;

	s->busy = false;
	if (done == s->len)
		return 0;
	if (res < 0 && !(w->direct && (res == -EINVAL || res == -EFAULT)))
		return (int)res;
	iov_advance(&iov, &n, done);
	return write_iov(w, iov, n, s->off + done);
}

/* Waits until slot i (or every slot, i < 0) is written. */
static int slot_wait(struct page_writer *w, int i)
{
	int err = 0;

	for (;;) {
		struct io_event ev;
		bool pending = false;
		long r;

		for (int j = 0; j < NSLOTS; j++)
			pending |= w->slot[j].busy && (i < 0 || i == j);
		if (!pending)
			return err;
		r = sc_sys5(__NR_io_getevents, w->aio, 1, 1, &ev, NULL);
		if (r == -EINTR)
			continue;
		if (r != 1)
			return r < 0 ? (int)r : -EIO;
		r = slot_done(w, &w->slot[ev.data], ev.res);
		if (!err)
			err = (int)r;
	}
}

static void use_slot(struct page_writer *w, int i)
{
	w->cur = i;
	w->iov = w->slot[i].iov;
	w->buf = w->slot[i].buf;
}

/* The batch in s->iov as zstd frames in s->ziov, to be written instead. */
static int compress_batch(struct page_writer *w, struct write_slot *s)
{
	int n;

	if (w->nframes + BATCH_FRAMES > MAX_FRAMES)
		return -E2BIG;
	n = rt_zpool_compress(w->zpool, s->iov, w->niov, s->zout, s->ziov,
			      w->frame_pages + w->nframes);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		w->frame_bytes[w->nframes + (size_t)i] = (uint32_t)s->ziov[i].iov_len;
	w->nframes += (size_t)n;
	s->io = s->ziov;
	s->nio = n;
	return 0;
}

static int flush(struct page_writer *w)
{
	struct write_slot *s = &w->slot[w->cur];
	struct iocb *cb = &s->cb;
	uint64_t len = 0;

	if (!w->niov)
		return 0;
	if (w->cancelled && w->cancelled())
		return -ECANCELED;
	s->io = s->iov;
	s->nio = w->niov;
	w->data += w->queued;
	if (w->zpool) {
		int err = compress_batch(w, s);

		if (err)
			return err;
	}
	/* Hash right before writing: nothing runs in between that could
	 * change the bytes (other threads are parked). */
	for (int i = 0; i < s->nio; i++) {
		XXH3_64bits_update(w->hash, s->io[i].iov_base, s->io[i].iov_len);
		rt_part_sums_add(&w->parts, s->io[i].iov_base, s->io[i].iov_len);
		len += s->io[i].iov_len;
	}
	s->off = w->off;
	s->len = len;
	w->off += len;
	w->niov = 0;
	w->queued = 0;
	if (!w->aio)
		return write_iov(w, s->io, s->nio, s->off);

	/* A write past the end of the file is done inside io_submit
	 * (ext4 waits for it): the file is made longer ahead of them. */
	if (w->off > w->sized) {
		w->sized = w->off + SIZE_AHEAD;
		if (sc_sys2(__NR_ftruncate, w->fd, w->sized))
			return write_iov(w, s->io, s->nio, s->off);
	}
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = (uint64_t)w->cur;
	cb->aio_lio_opcode = IOCB_CMD_PWRITEV;
	cb->aio_fildes = (uint32_t)w->fd;
	cb->aio_buf = (uint64_t)s->io;
	cb->aio_nbytes = (uint64_t)s->nio;
	cb->aio_offset = (int64_t)s->off;
	if (sc_sys3(__NR_io_submit, w->aio, 1, &cb) != 1)
		return write_iov(w, s->io, s->nio, s->off);
	s->busy = true;
	use_slot(w, (w->cur + 1) % NSLOTS);
	return 0;
}

/* Pages [vaddr, vaddr + pages) at the end of the runs in list (n of
 * them, room for w->cap): the last run grows when they follow it in the
 * same VMA. The run, or NULL when out of room. */
static Sc__PagemapEntry *add_to_runs(struct page_writer *w, Sc__PagemapEntry **list, size_t *n,
				     uint64_t vaddr, uint64_t pages)
{
	Sc__PagemapEntry *e = *n ? list[*n - 1] : NULL;

	if (e && e->vaddr >= w->vma_start && e->vaddr + e->nr_pages * SC_PAGE_SIZE == vaddr) {
		e->nr_pages += pages;
		return e;
	}
	e = rt_alloc(sizeof(*e));
	if (!e || *n == w->cap)
		return NULL;
	sc__pagemap_entry__init(e);
	e->vaddr = vaddr;
	e->nr_pages = pages;
	list[(*n)++] = e;
	return e;
}

/* A page that holds data, at vaddr in the process and at data here. */
static int queue_page(struct page_writer *w, uint64_t vaddr, const uint8_t *data)
{
	struct iovec *iov = w->niov ? &w->iov[w->niov - 1] : NULL;

	if (!add_to_runs(w, w->ents, &w->nents, vaddr, 1))
		return -ENOMEM;
	if (iov && (const uint8_t *)iov->iov_base + iov->iov_len == data) {
		iov->iov_len += SC_PAGE_SIZE;
	} else {
		w->iov[w->niov].iov_base = (void *)data;
		w->iov[w->niov].iov_len = SC_PAGE_SIZE;
		w->niov++;
	}
	w->queued += SC_PAGE_SIZE;
	if (w->niov == IOV_BATCH || w->queued >= WRITE_BATCH)
		return flush(w);
	return 0;
}

/* Pages [start, end) of a tracked VMA the program has not written since
 * the parent: a run left to the parent. */
static int leave_to_parent(struct page_writer *w, uint64_t start, uint64_t end)
{
	Sc__PagemapEntry *e =
		add_to_runs(w, w->parent_ents, &w->nparent, start, (end - start) / SC_PAGE_SIZE);

	if (!e)
		return -ENOMEM;
	e->has_in_parent = e->in_parent = true;
	return 0;
}

/* The first run written since the parent that ends past addr (or wr->n);
 * addresses come in increasing order. */
static size_t run_after(struct page_writer *w, uint64_t addr)
{
	const struct rt_written *wr = w->written;

	while (w->run_at < wr->n && wr->runs[w->run_at].end <= addr)
		w->run_at++;
	return w->run_at;
}

/* The stored runs and those left to the parent, both in address order,
 * into one list in address order. */
static int merge_runs(struct page_writer *w, Sc__Pagemap *pm)
{
	Sc__PagemapEntry **all = rt_alloc(sizeof(*all) * (w->nents + w->nparent + 1));
	size_t i = 0, j = 0, k = 0;

	if (!all)
		return -ENOMEM;
	while (i < w->nents || j < w->nparent) {
		bool stored = j == w->nparent ||
			      (i < w->nents && w->ents[i]->vaddr < w->parent_ents[j]->vaddr);

		all[k++] = stored ? w->ents[i++] : w->parent_ents[j++];
	}
	pm->entries = all;
	pm->n_entries = k;
	return 0;
}

static bool page_is_zero(const void *p)
{
	const uint64_t *q = p;

	for (size_t i = 0; i < SC_PAGE_SIZE / 8; i += 8) {
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] |
		    q[i + 7])
			return false;
	}
	return true;
}

bool rt_page_held(const Sc__Vma *v, uint64_t pme)
{
	if (v->kind == SC__VMA_KIND__FILE_PRIVATE)
		return (pme & PM_SWAPPED) || ((pme & PM_PRESENT) && !(pme & PM_FILE));
	return pme & (PM_PRESENT | PM_SWAPPED);
}

/* Pages go through a buffer: another process's, or the copy's own. */
static bool through_buffer(const struct rt_source *src)
{
	return src->remote || src->staged;
}

/*
 * The copy's own pages into buf, each range then dropped if the VMA
 * allows: the program's next write there finds the page its own again
 * and copies nothing (doc/cow-capture.md).
 */
static void copy_own(struct page_writer *w)
{
	size_t at = 0;

	for (int i = 0; i < w->nwant; i++) {
		memcpy(w->buf + at, w->want[i].iov_base, w->want[i].iov_len);
		if (w->give_back)
			sc_sys3(__NR_madvise, w->want[i].iov_base, w->want[i].iov_len,
				MADV_DONTNEED);
		at += w->want[i].iov_len;
	}
}

/*
 * Reads the gathered pages into buf, then queues the ones that are not
 * zero and writes them out before buf is reused. For another process,
 * process_vm_readv honours the protection; what it cannot read (a
 * PROT_NONE VMA) comes from /proc/PID/mem, which reads as a debugger.
 */
static int fetch_wanted(struct page_writer *w, bool unreadable)
{
	size_t got = 0, at = 0;
	int err = 0;

	if (!w->nwant)
		return 0;
	err = slot_wait(w, w->cur);
	if (err)
		return err;
	if (!w->src->remote) {
		copy_own(w);
		got = w->wanted;
	} else if (!unreadable && !w->src->copy_on_write) {
		struct iovec local = { w->buf, w->wanted };
		long r = sc_sys6(__NR_process_vm_readv, w->src->pid, &local, 1, w->want,
				 w->nwant, 0);

		got = r > 0 ? (size_t)r : 0;
	}
	for (int i = 0; i < w->nwant && !err; i++) {
		uint64_t vaddr = (uint64_t)w->want[i].iov_base;
		size_t len = w->want[i].iov_len;

		if (at + len > got) {
			long r = sc_sys4(__NR_pread64, w->src->mem_fd, w->buf + at, len, vaddr);

			if (r != (long)len)
				return r < 0 ? (int)r : -EIO;
		}
		for (size_t o = 0; o < len && !err; o += SC_PAGE_SIZE) {
			const uint8_t *page = w->buf + at + o;

			if (page_is_zero(page))
				continue;
			if (w->src->same_in_parent &&
			    w->src->same_in_parent(w->src->parent, vaddr + o, page))
				err = leave_to_parent(w, vaddr + o, vaddr + o + SC_PAGE_SIZE);
			else
				err = queue_page(w, vaddr + o, page);
		}
		at += len;
	}
	w->nwant = 0;
	w->wanted = 0;
	return err ? err : flush(w);
}

static int want_page(struct page_writer *w, uint64_t addr, bool unreadable)
{
	struct iovec *last = w->nwant ? &w->want[w->nwant - 1] : NULL;

	if (last && (uint64_t)last->iov_base + last->iov_len == addr) {
		last->iov_len += SC_PAGE_SIZE;
	} else {
		w->want[w->nwant].iov_base = (void *)addr;
		w->want[w->nwant].iov_len = SC_PAGE_SIZE;
		w->nwant++;
	}
	w->wanted += SC_PAGE_SIZE;
	if (w->nwant == IOV_BATCH || w->wanted == FETCH_BYTES)
		return fetch_wanted(w, unreadable);
	return 0;
}

/*
 * Shared memory a process has not touched since a fork is not in its
 * page tables but is in the shared file: mincore sees it there. For
 * another process the file is mapped here through /proc/PID/map_files.
 */
static void shared_resident(const struct rt_source *src, const Sc__Vma *v, uint64_t base, uint64_t n, uint64_t *pme,
			    uint8_t *resident)
{
	uint64_t at = base;
	void *map = NULL;

	if (src->remote) {
		char path[RT_MAX_PATH], *p = rt_src_path(src, path, "map_files/");
		int fd;

		p += strlen(p);
		p = rt_fmt_hex(p, v->start);
		*p++ = '-';
		rt_fmt_hex(p, v->end);
		fd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return;
		map = (void *)sc_sys6(__NR_mmap, 0, n * SC_PAGE_SIZE, PROT_READ, MAP_SHARED, fd,
				      (v->has_pgoff ? v->pgoff : 0) + (base - v->start));
		sc_sys1(__NR_close, fd);
		if (SC_IS_ERR((long)map))
			return;
		at = (uint64_t)map;
	}
	if (!sc_sys3(__NR_mincore, at, n * SC_PAGE_SIZE, resident))
		for (uint64_t i = 0; i < n; i++)
			if (resident[i] & 1)
				pme[i] |= PM_PRESENT;
	if (map)
		sc_sys2(__NR_munmap, map, n * SC_PAGE_SIZE);
}

int rt_pagemap_of(const struct rt_source *src, int pmfd, const Sc__Vma *v, uint64_t base,
		  uint64_t n, uint64_t *pme, uint8_t *resident)
{
	long r = sc_sys4(__NR_pread64, pmfd, pme, n * 8, base / SC_PAGE_SIZE * 8);

	if (r != (long)(n * 8))
		return r < 0 ? (int)r : -EIO;
	if (sc_vma_is_stored_shared(v))
		shared_resident(src, v, base, n, pme, resident);
	return 0;
}

/* What one VMA's pages are written with. */
struct vma_pass {
	struct page_writer *w;
	int pmfd;
	const Sc__Vma *v;
	uint64_t *pme;
	uint8_t *resident;
	bool unreadable, opened;
};

/* The pages of [start, end) in the VMA that hold data, queued. */
static int dump_range_pages(struct vma_pass *vp, uint64_t start, uint64_t end)
{
	struct page_writer *w = vp->w;
	const Sc__Vma *v = vp->v;
	int err = 0;

	for (uint64_t base = start; base < end && !err;) {
		uint64_t n = (end - base) / SC_PAGE_SIZE;
		long r;

		if (n > PM_BATCH)
			n = PM_BATCH;
		r = rt_pagemap_of(w->src, vp->pmfd, v, base, n, vp->pme, vp->resident);
		if (r)
			return (int)r;
		for (uint64_t i = 0; i < n && !err; i++) {
			uint64_t addr = base + i * SC_PAGE_SIZE;

			if (!rt_page_held(v, vp->pme[i]))
				continue;
			if (w->src->remote) {
				err = want_page(w, addr, vp->unreadable);
				continue;
			}
			if (vp->unreadable && !vp->opened) {
				/* Present pages behind PROT_NONE: open for the
				 * read, closed again by the caller. */
				err = (int)sc_sys3(__NR_mprotect, v->start, v->end - v->start,
						   PROT_READ);
				if (err)
					return err;
				vp->opened = true;
			}
			if (w->src->staged)
				err = want_page(w, addr, vp->unreadable);
			else if (!page_is_zero((void *)addr))
				err = queue_page(w, addr, (const uint8_t *)addr);
		}
		base += n * SC_PAGE_SIZE;
	}
	return err;
}

/*
 * A part of a VMA tracked since the parent: the pages written since are
 * looked at like any, the rest is left to the parent whole, unread. That
 * rest is what still carries the protection of the last scan: unchanged
 * pages, and holes that were holes then too (zero in the parent as now);
 * a page dropped since (MADV_DONTNEED) counts as written (track.c).
 */
static int dump_tracked_pages(struct vma_pass *vp, struct rt_range part)
{
	const struct rt_written *wr = vp->w->written;
	uint64_t at = part.start;
	int err = 0;

	while (!err && at < part.end) {
		uint64_t from, to;

		size_t r = run_after(vp->w, at);

		from = r < wr->n && wr->runs[r].start < part.end ? wr->runs[r].start : part.end;
		if (from > at) {
			err = leave_to_parent(vp->w, at, from);
			at = from;
			continue;
		}
		to = wr->runs[r].end < part.end ? wr->runs[r].end : part.end;
		err = dump_range_pages(vp, at, to);
		at = to;
	}
	return err;
}

/*
 * A VMA's pages: its parts tracked since the parent as above, the rest as
 * a full image has them. That rest is new since the parent (the VMA grew
 * in place), and nothing of it may come from the parent, which may have
 * had another mapping there, or none. VMAs come in address order, as the
 * tracked parts do.
 */
static int dump_vma_parts(struct vma_pass *vp)
{
	struct page_writer *w = vp->w;
	const Sc__Vma *v = vp->v;
	uint64_t at = v->start, from = v->start;
	struct rt_range part;
	int err = 0;

	if (w->written && w->written->incremental)
		while (!err && rt_next_overlap(w->written->tracked, w->written->ntracked,
					       &w->tracked_at, &from, v->end, &part)) {
			if (part.start > at)
				err = dump_range_pages(vp, at, part.start);
			if (!err)
				err = dump_tracked_pages(vp, part);
			at = part.end;
		}
	return err || at == v->end ? err : dump_range_pages(vp, at, v->end);
}

static int dump_vma_pages(struct page_writer *w, int pmfd, Sc__Vma *v, uint64_t *pme,
			  uint8_t *resident, bool give_back)
{
	struct vma_pass vp = { w, pmfd, v, pme, resident, !(v->prot & PROT_READ), false };
	int err;

	w->vma_start = v->start;
	w->give_back = give_back;
	err = dump_vma_parts(&vp);
	if (w->src->remote)
		return err ? err : fetch_wanted(w, vp.unreadable);
	/* Copied or flushed before the protection goes back. */
	if (!err)
		err = w->src->staged ? fetch_wanted(w, vp.unreadable) : vp.opened ? flush(w) : 0;
	if (vp.opened)
		sc_sys3(__NR_mprotect, v->start, v->end - v->start, v->prot);
	return err;
}

/*
 * Whether the copy may drop v's pages once copied: only the program's
 * anonymous memory, never what the copy itself runs on. That is its
 * thread's TLS (fs_base) and the data of the loaded objects, libc's and
 * the runtime's: a .bss is the anonymous VMA right after an object's
 * writable file mapping. (The arena, its stack, is not in the image.)
 */
static bool may_give_back(const Sc__Mm *mm, size_t i, uint64_t fs_base)
{
	const Sc__Vma *v = mm->vmas[i], *prev = i ? mm->vmas[i - 1] : NULL;

	if (v->kind != SC__VMA_KIND__ANON_PRIVATE && !sc_vma_is_stored_shared(v))
		return false;
	if (fs_base >= v->start && fs_base < v->end)
		return false;
	return !(prev && prev->end == v->start && prev->kind == SC__VMA_KIND__FILE_PRIVATE &&
		 (prev->prot & PROT_WRITE));
}

static bool name_is(const struct pp_map *m, const char *name)
{
	size_t n = strlen(name);

	return m->path && m->path_len == n && !memcmp(m->path, name, n);
}

static int classify(const struct pp_map *m, Sc__Vma *v)
{
	v->start = m->start;
	v->end = m->end;
	v->prot = (uint32_t)m->prot;
	v->flags = m->shared ? MAP_SHARED : MAP_PRIVATE;
	if (name_is(m, "[vvar]"))
		v->kind = SC__VMA_KIND__VVAR;
	else if (name_is(m, "[vvar_vclock]"))
		v->kind = SC__VMA_KIND__VVAR_VCLOCK;
	else if (name_is(m, "[vdso]"))
		v->kind = SC__VMA_KIND__VDSO;
	else if (!m->path || m->path[0] != '/' || m->deleted)
		/* Anonymous, or a file that is gone: the contents are the
		 * pages themselves. */
		v->kind = m->shared ? SC__VMA_KIND__ANON_SHARED : SC__VMA_KIND__ANON_PRIVATE;
	else
		v->kind = m->shared ? SC__VMA_KIND__FILE_SHARED : SC__VMA_KIND__FILE_PRIVATE;

	if (m->path) {
		char *s = rt_strdup(m->path, m->path_len);

		if (!s)
			return -ENOMEM;
		if (m->path[0] == '/') {
			v->path = s;
			v->has_pgoff = v->has_dev = v->has_ino = true;
			v->pgoff = m->pgoff;
			v->dev = (uint64_t)m->dev_major << 32 | m->dev_minor;
			v->ino = m->ino;
		} else {
			v->name = s;
		}
	}
	return 0;
}

static int fill_mm_fields(const struct rt_source *src, Sc__Mm *mm)
{
	struct pp_stat st;
	size_t len;
	char path[RT_MAX_PATH], *buf = rt_read_file(rt_src_path(src, path, "stat"), &len);
	uint64_t *auxv;

	if (!buf || pp_parse_stat(buf, len, &st))
		return -EIO;
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_brk = st.start_brk;
	mm->brk = src->remote ? src->brk : (uint64_t)sc_sys1(__NR_brk, 0);
	mm->start_stack = st.start_stack;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;

	auxv = (uint64_t *)rt_read_file(rt_src_path(src, path, "auxv"), &len);
	if (!auxv)
		return -EIO;
	mm->n_auxv = len / 8;
	mm->auxv = auxv;

	buf = rt_alloc(RT_MAX_PATH);
	if (!buf)
		return -ENOMEM;
	long n = sc_sys4(__NR_readlinkat, AT_FDCWD, rt_src_path(src, path, "exe"), buf, RT_MAX_PATH - 1);
	if (n > 0) {
		buf[n] = '\0';
		mm->exe = buf;
	}
	return 0;
}

/* The part [start, end) of mapping m, classified, as the next VMA. */
static int add_vma(Sc__Mm *mm, struct pp_map *m, uint64_t start, uint64_t end, Sc__Vma **vp)
{
	Sc__Vma *v = rt_alloc(sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	sc__vma__init(v);
	err = classify(m, v);
	if (err)
		return err;
	v->start = start;
	v->end = end;
	mm->vmas[mm->n_vmas++] = v;
	*vp = v;
	return 0;
}

/*
 * Whether path, mapped shared, is a file in memory (tmpfs): POSIX shared
 * memory, MPI's shared-memory segments. Mapped writable, the program uses
 * it as memory, rewriting it as it runs on past the checkpoint, and a
 * node failure loses it, so the image keeps its pages (doc/shm-files.md);
 * mapped read-only it is the program's input (data staged in /dev/shm),
 * or another process's memory, which that one's image holds. Looked up
 * through the process's root, as crdump's target may have another.
 */
static bool file_in_memory(const struct rt_source *src, const char *path)
{
	char full[RT_MAX_PATH];
	struct statfs fs;

	rt_src_path(src, full, "root");
	if (strlen(full) + strlen(path) >= sizeof(full))
		return false;
	rt_stpcpy(full + strlen(full), path);
	return !sc_sys2(__NR_statfs, full, &fs) && fs.f_type == TMPFS_MAGIC;
}

/* Every VMA of /proc/PID/smaps (maps lines plus VmFlags), classified. */
static int read_vmas(const struct rt_source *src, Sc__Mm *mm)
{
	size_t len, pos = 0, ll, nlines = 0;
	char path[RT_MAX_PATH], *smaps = rt_read_records(rt_src_path(src, path, "smaps"), &len);
	Sc__Vma *v = NULL;
	const char *line;

	if (!smaps)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		nlines += smaps[i] == '\n';
	mm->vmas = rt_alloc(sizeof(*mm->vmas) * (nlines + 1));
	if (!mm->vmas)
		return -ENOMEM;
	while ((line = pp_next_line(smaps, len, &pos, &ll))) {
		struct pp_map m;
		uint32_t vmflags;
		int err;

		if (!pp_smaps_is_header(line, ll)) {
			if (v && pp_parse_vmflags(line, ll, &vmflags) == 0) {
				v->has_madv = true;
				v->madv = vmflags & ~(uint32_t)PP_VM_GROWSDOWN;
				if (vmflags & PP_VM_GROWSDOWN)
					v->flags |= MAP_GROWSDOWN;
			}
			continue;
		}
		v = NULL;
		if (pp_parse_maps_line(line, ll, &m))
			return -EINVAL;
		if (name_is(&m, "[vsyscall]"))
			continue;
		if (!src->remote && rt_in_arena(m.start, m.end)) {
			/* The kernel may have merged the arena with the app's
			 * anonymous memory next to it (a thread's malloc heap):
			 * only the app's parts go in. */
			uint64_t a, b, start = m.start, end = m.end;

			rt_arena_range(&a, &b);
			if (start < a && (err = add_vma(mm, &m, start, a, &v)))
				return err;
			if (end > b && (err = add_vma(mm, &m, b, end, &v)))
				return err;
			continue;
		}
		if ((err = add_vma(mm, &m, m.start, m.end, &v)))
			return err;
		if (v->kind == SC__VMA_KIND__FILE_SHARED && (v->prot & PROT_WRITE) &&
		    file_in_memory(src, v->path))
			v->has_file_in_memory = v->file_in_memory = true;
	}
	return 0;
}

/* crdump's buffers, which O_DIRECT pins for every write: aligned to huge
 * pages and backed by them where the kernel can, pinning 4 MiB takes two
 * page references instead of 1024 (a tenth of the time in io_submit). */
static uint8_t *alloc_buffer(size_t size)
{
	uintptr_t p = (uintptr_t)rt_alloc(size + HUGE_PAGE - 1);

	if (!p)
		return NULL;
	p = (p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	sc_sys3(__NR_madvise, p, size, MADV_HUGEPAGE);
	return (uint8_t *)p;
}

/*
 * crdump's writes go to one AIO context for the whole run, never
 * destroyed: io_destroy waits for an RCU grace period (30 ms here) on
 * every call, while the exit releases it without waiting.
 */
static aio_context_t remote_aio(void)
{
	static aio_context_t ctx;
	static bool tried;

	if (!tried && sc_sys2(__NR_io_setup, NSLOTS, &ctx))
		ctx = 0;
	tried = true;
	return ctx;
}

/* The slots, and in crdump their buffers and the context their writes are
 * submitted to (without one, they are written in turn); compressing, the
 * threads and where each slot's frames go. */
static int writer_init(struct page_writer *w, const struct rt_compress *z)
{
	bool buffered = through_buffer(w->src);
	int nslots = buffered ? NSLOTS : 1;
	size_t zbytes = rt_zpool_bound(WRITE_BATCH);

	for (int i = 0; i < nslots; i++) {
		struct write_slot *s = &w->slot[i];

		s->iov = rt_alloc(sizeof(struct iovec) * IOV_BATCH);
		if (!s->iov)
			return -ENOMEM;
		if (buffered && !(s->buf = alloc_buffer(FETCH_BYTES)))
			return -ENOMEM;
		if (z && (!(s->zout = rt_alloc(zbytes)) ||
			  !(s->ziov = rt_alloc(sizeof(struct iovec) * BATCH_FRAMES))))
			return -ENOMEM;
	}
	if (z) {
		w->frame_pages = rt_alloc(sizeof(*w->frame_pages) * MAX_FRAMES);
		w->frame_bytes = rt_alloc(sizeof(*w->frame_bytes) * MAX_FRAMES);
		/* The workers last: nothing fails after they run, so the end
		 * of the pages file always stops them. */
		if (!w->frame_pages || !w->frame_bytes ||
		    !(w->zpool = rt_zpool_start(z, WRITE_BATCH)))
			return -ENOMEM;
	}
	if (buffered)
		w->aio = remote_aio();
	use_slot(w, 0);
	return 0;
}

/* What the pagemap says of the pages file: compressed, its frames. */
static void describe_pages(struct page_writer *w, const struct rt_compress *z, Sc__Pagemap *pm)
{
	pm->pages_bytes = w->data;
	rt_part_sums_finish(&w->parts, pm);
	if (!z)
		return;
	pm->has_codec = pm->has_level = true;
	pm->codec = SC__PAGES_CODEC__PAGES_ZSTD;
	pm->level = (uint32_t)z->level;
	pm->frame_pages = w->frame_pages;
	pm->frame_bytes = w->frame_bytes;
	pm->n_frame_pages = pm->n_frame_bytes = w->nframes;
}

int rt_dump_mm_layout(const struct rt_source *src, Sc__Mm *mm)
{
	int err = read_vmas(src, mm);

	if (!err)
		err = fill_mm_fields(src, mm);
	if (!err)
		err = rt_dump_sysv(mm);
	return err;
}

int rt_dump_mm_pages(const struct rt_source *src, struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm,
		     const struct rt_written *written)
{
	struct page_writer w = {
		.src = src, .cancelled = img->cancelled, .fd = -1, .written = written
	};
	char path[RT_MAX_PATH];
	uint64_t *pme, fs_base = 0;
	uint8_t *resident;
	int pmfd, err;

	w.cap = 1 << 20;
	w.ents = rt_alloc(sizeof(*w.ents) * w.cap);
	if ((written && written->incremental) || src->same_in_parent)
		w.parent_ents = rt_alloc(sizeof(*w.parent_ents) * w.cap);
	w.hash = rt_alloc(sizeof(*w.hash));
	pme = rt_alloc(PM_BATCH * 8);
	resident = rt_alloc(PM_BATCH);
	if (through_buffer(src))
		w.want = rt_alloc(sizeof(*w.want) * IOV_BATCH);
	if (!w.ents || !w.hash ||
	    rt_part_sums_start(&w.parts, img->compress != NULL, RT_MAX_PARTS) || !pme ||
	    !resident || (through_buffer(src) && !w.want) ||
	    (((written && written->incremental) || src->same_in_parent) && !w.parent_ents))
		return -ENOMEM;
	XXH3_64bits_reset(w.hash);

	pmfd = (int)sc_sys4(__NR_openat, AT_FDCWD, rt_src_path(src, path, "pagemap"),
			    O_RDONLY | O_CLOEXEC, 0);
	if (pmfd < 0)
		return pmfd;
	w.fd = rt_image_create(img, SC_PAGES_PREFIX);
	err = w.fd < 0 ? w.fd : writer_init(&w, img->compress);
	if (err) {
		if (w.fd >= 0)
			sc_sys1(__NR_close, w.fd);
		sc_sys1(__NR_close, pmfd);
		return err;
	}
	/* Frames are of any length, which O_DIRECT does not take. */
	w.direct = !img->compress && !sc_sys3(__NR_fcntl, w.fd, F_SETFL, O_DIRECT);
	if (src->staged)
		sc_sys2(__NR_arch_prctl, ARCH_GET_FS, &fs_base);
	for (size_t i = 0; i < mm->n_vmas && !err; i++)
		if (sc_vma_stores_pages(mm->vmas[i]))
			err = dump_vma_pages(&w, pmfd, mm->vmas[i], pme, resident,
					     src->staged && may_give_back(mm, i, fs_base));
	if (!err)
		err = flush(&w);
	rt_zpool_stop(w.zpool);
	/* Every write ends before its buffer can be freed, failed or not. */
	if (w.aio) {
		int werr = slot_wait(&w, -1);

		err = err ? err : werr;
		if (!err && w.sized)
			err = (int)sc_sys2(__NR_ftruncate, w.fd, w.off);
	}
	sc_sys1(__NR_close, pmfd);
	if (!err)
		err = rt_image_finish(img, w.fd, SC_PAGES_PREFIX, w.off, XXH3_64bits_digest(w.hash));
	else
		sc_sys1(__NR_close, w.fd);
	pm->entries = w.ents;
	pm->n_entries = w.nents;
	describe_pages(&w, img->compress, pm);
	if (!err && w.nparent)
		err = merge_runs(&w, pm);
	return err;
}

int rt_dump_mm(const struct rt_source *src, struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm)
{
	int err = rt_dump_mm_layout(src, mm);

	return err ? err : rt_dump_mm_pages(src, img, mm, pm, NULL);
}
