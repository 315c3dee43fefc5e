// SPDX-License-Identifier: MIT
/*
 * The address space: every VMA from /proc/self/smaps, and the pages that
 * only memory holds, written straight from the process's own memory with
 * large pwritev calls (no staging copy). Zero pages are not stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dump.h"
#include "procparse.h"
#include "vmakind.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61) /* file page or shared anonymous */
#define PM_BATCH 65536	     /* pagemap entries read at a time */
#define IOV_BATCH 1024
#define WRITE_BATCH (4UL << 20)
#define RUN_MAX_PAGES ((1UL << 20) / SC_PAGE_SIZE) /* keeps writes streaming */

struct page_writer {
	int fd;
	uint64_t off; /* bytes written so far */
	struct iovec *iov;
	int niov;
	size_t queued;
	XXH3_state_t *hash;
	uint64_t vma_start; /* entries never span two VMAs */
	Sc__PagemapEntry **ents;
	size_t nents, cap;
};

static int flush(struct page_writer *w)
{
	struct iovec *iov = w->iov;
	int n = w->niov;

	/* Hash right before writing: nothing runs in between that could
	 * change the bytes (other threads are parked). */
	for (int i = 0; i < n; i++)
		XXH3_64bits_update(w->hash, iov[i].iov_base, iov[i].iov_len);
	while (n) {
		long r = sc_sys4(__NR_pwritev, w->fd, iov, n, w->off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		w->off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (long)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	w->niov = 0;
	w->queued = 0;
	return 0;
}

static int queue_run(struct page_writer *w, uint64_t addr, uint64_t npages)
{
	size_t len = npages * SC_PAGE_SIZE;
	Sc__PagemapEntry *last = w->nents ? w->ents[w->nents - 1] : NULL;

	if (last && last->vaddr >= w->vma_start &&
	    last->vaddr + last->nr_pages * SC_PAGE_SIZE == addr) {
		last->nr_pages += npages;
	} else {
		Sc__PagemapEntry *e = rt_alloc(sizeof(*e));

		if (!e || w->nents == w->cap)
			return -ENOMEM;
		sc__pagemap_entry__init(e);
		e->vaddr = addr;
		e->nr_pages = npages;
		w->ents[w->nents++] = e;
	}
	if (w->niov && (char *)w->iov[w->niov - 1].iov_base + w->iov[w->niov - 1].iov_len ==
			       (char *)addr) {
		w->iov[w->niov - 1].iov_len += len;
	} else {
		w->iov[w->niov].iov_base = (void *)addr;
		w->iov[w->niov].iov_len = len;
		w->niov++;
	}
	w->queued += len;
	if (w->niov == IOV_BATCH || w->queued >= WRITE_BATCH)
		return flush(w);
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

/* Which pagemap entries hold data only memory has, for each kind. */
static bool page_wanted(Sc__VmaKind kind, uint64_t pme)
{
	if (kind == SC__VMA_KIND__FILE_PRIVATE)
		return (pme & PM_SWAPPED) || ((pme & PM_PRESENT) && !(pme & PM_FILE));
	return pme & (PM_PRESENT | PM_SWAPPED);
}

static int dump_vma_pages(struct page_writer *w, int pmfd, Sc__Vma *v, uint64_t *pme,
			  uint8_t *resident)
{
	uint64_t run_start = 0, run_len = 0;
	bool unreadable = !(v->prot & PROT_READ);
	int err = 0;

	w->vma_start = v->start;
	for (uint64_t base = v->start; base < v->end && !err;) {
		uint64_t n = (v->end - base) / SC_PAGE_SIZE;
		long r;

		if (n > PM_BATCH)
			n = PM_BATCH;
		r = sc_sys4(__NR_pread64, pmfd, pme, n * 8, base / SC_PAGE_SIZE * 8);
		if (r != (long)(n * 8))
			return r < 0 ? (int)r : -EIO;
		/* Shared memory this process has not touched since a fork is
		 * not in its page tables but is in the shared file: mincore
		 * sees it there. */
		if (v->kind == SC__VMA_KIND__ANON_SHARED &&
		    !sc_sys3(__NR_mincore, base, n * SC_PAGE_SIZE, resident))
			for (uint64_t i = 0; i < n; i++)
				if (resident[i] & 1)
					pme[i] |= PM_PRESENT;
		for (uint64_t i = 0; i < n && !err; i++) {
			uint64_t addr = base + i * SC_PAGE_SIZE;

			if (!page_wanted(v->kind, pme[i]))
				continue;
			if (unreadable) {
				/* Present pages behind PROT_NONE: open for the
				 * read, closed again below. */
				err = (int)sc_sys3(__NR_mprotect, v->start, v->end - v->start,
						   PROT_READ);
				if (err)
					return err;
				unreadable = false;
			}
			if (page_is_zero((void *)addr))
				continue;
			if (run_len && run_start + run_len * SC_PAGE_SIZE == addr &&
			    run_len < RUN_MAX_PAGES) {
				run_len++;
				continue;
			}
			if (run_len)
				err = queue_run(w, run_start, run_len);
			run_start = addr;
			run_len = 1;
		}
		base += n * SC_PAGE_SIZE;
	}
	if (run_len && !err)
		err = queue_run(w, run_start, run_len);
	/* Flush before the protection goes back. */
	if (!(v->prot & PROT_READ) && !unreadable) {
		if (!err)
			err = flush(w);
		sc_sys3(__NR_mprotect, v->start, v->end - v->start, v->prot);
	}
	return err;
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

static int fill_mm_fields(Sc__Mm *mm)
{
	struct pp_stat st;
	size_t len;
	char *buf = rt_read_file("/proc/self/stat", &len);
	uint64_t *auxv;

	if (!buf || pp_parse_stat(buf, len, &st))
		return -EIO;
	mm->start_code = st.start_code;
	mm->end_code = st.end_code;
	mm->start_data = st.start_data;
	mm->end_data = st.end_data;
	mm->start_brk = st.start_brk;
	mm->brk = (uint64_t)sc_sys1(__NR_brk, 0);
	mm->start_stack = st.start_stack;
	mm->arg_start = st.arg_start;
	mm->arg_end = st.arg_end;
	mm->env_start = st.env_start;
	mm->env_end = st.env_end;

	auxv = (uint64_t *)rt_read_file("/proc/self/auxv", &len);
	if (!auxv)
		return -EIO;
	mm->n_auxv = len / 8;
	mm->auxv = auxv;

	buf = rt_alloc(RT_MAX_PATH);
	if (!buf)
		return -ENOMEM;
	long n = sc_sys4(__NR_readlinkat, AT_FDCWD, "/proc/self/exe", buf, RT_MAX_PATH - 1);
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

/* Every VMA of /proc/self/smaps (maps lines plus VmFlags), classified. */
static int read_vmas(Sc__Mm *mm)
{
	size_t len, pos = 0, ll, nlines = 0;
	char *smaps = rt_read_file("/proc/self/smaps", &len);
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
		if (rt_in_arena(m.start, m.end)) {
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
	}
	return 0;
}

int rt_dump_mm(struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm)
{
	struct page_writer w = { .fd = -1 };
	uint64_t *pme;
	uint8_t *resident;
	int pmfd, err;

	w.cap = 1 << 20;
	w.ents = rt_alloc(sizeof(*w.ents) * w.cap);
	w.iov = rt_alloc(sizeof(*w.iov) * IOV_BATCH);
	w.hash = rt_alloc(sizeof(*w.hash));
	pme = rt_alloc(PM_BATCH * 8);
	resident = rt_alloc(PM_BATCH);
	if (!w.ents || !w.iov || !w.hash || !pme || !resident)
		return -ENOMEM;
	XXH3_64bits_reset(w.hash);

	err = read_vmas(mm);
	if (!err)
		err = fill_mm_fields(mm);
	if (!err)
		err = rt_dump_sysv(mm);
	if (err)
		return err;

	pmfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (pmfd < 0)
		return pmfd;
	w.fd = rt_image_create(img, SC_PAGES_PREFIX);
	if (w.fd < 0) {
		sc_sys1(__NR_close, pmfd);
		return w.fd;
	}
	for (size_t i = 0; i < mm->n_vmas && !err; i++)
		if (sc_vma_stores_pages(mm->vmas[i]))
			err = dump_vma_pages(&w, pmfd, mm->vmas[i], pme, resident);
	if (!err)
		err = flush(&w);
	sc_sys1(__NR_close, pmfd);
	if (!err)
		err = rt_image_finish(img, w.fd, SC_PAGES_PREFIX, w.off, XXH3_64bits_digest(w.hash));
	else
		sc_sys1(__NR_close, w.fd);
	pm->entries = w.ents;
	pm->n_entries = w.nents;
	pm->pages_bytes = w.off;
	return err;
}
