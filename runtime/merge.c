// SPDX-License-Identifier: MIT
/*
 * A pruner's merge (doc/retention.md): the oldest generation SELFCKPT_KEEP
 * keeps, when it is incremental, is made self-contained, so that the
 * generations it builds on can go. Each of its processes' in_parent runs
 * is replaced by the data it resolves to through the chain, as
 * common/chain.c resolves it for the readers; the new pages file holds
 * the image's own pages and its parents' in address order, raw. The
 * image restores the same state as before: its inventory names the
 * checksum it had in same_as, which its children's links, and the
 * tracker's, still accept.
 *
 * Crash-safe: the merged image is written beside it under a temporary
 * name of the runtime's (what a merger killed half way leaves, the next
 * checkpoint removes), with the files that do not change hard-linked,
 * fsynced, then swapped with it in one rename (RENAME_EXCHANGE), the
 * swap made durable, and only then is the old one removed.
 *
 * It runs where the pruner runs, in the trigger handler or a checkpoint's
 * copy: raw system calls, arena memory, zstd through a static context.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dump.h"
#include "part_sums.h"

#define MAX_GENS 64 /* as many as the readers take (SC_CHAIN_MAX) */
#define OUT_BUF (4UL << 20) /* the merged pages, written this much at a time */
#define SKIP_BUF (1UL << 20) /* pages no longer needed, read to be checked */
#define PARENT_PREFIX "../"
#define ZFRAME_MAX_DATA (SC_ZFRAME_MAX_PAGES * SC_PAGE_SIZE)
#define ZFRAME_MAX_BYTES ZSTD_COMPRESSBOUND(ZFRAME_MAX_DATA)

/* One generation of the chain: generation 0 is the one merged. */
struct gen {
	int fd; /* its directory */
	Sc__Inventory *inv;
	uint64_t inv_xxh3;
};

/*
 * One process's pages in one generation, read once from start to end:
 * every byte of the file is checked against the inventory's FileSum, the
 * pages no longer needed too, so that a damaged parent is never made
 * part of an image with a checksum of its own. The merge asks for data
 * in address order, which is the order of the data in each file.
 */
struct src {
	const Sc__Pagemap *pm; /* NULL: the process is not in this generation */
	uint64_t *data_at; /* each stored entry's offset in the data */
	const Sc__FileSum *sum;
	int fd; /* the pages file, opened at the first read */
	uint64_t pos; /* bytes of the file read, and hashed */
	XXH3_state_t *hash;
	/* PAGES_ZSTD: frames read so far; the last one's data [start, end),
	 * once decompressed into out; in: its bytes. */
	size_t frames;
	uint64_t start, end;
	bool ready;
	uint8_t *in, *out;
};

struct merge {
	struct gen gen[MAX_GENS];
	unsigned ngens;
	const struct rt_zstd_calls *z; /* NULL: libzstd is not loaded */
	ZSTD_DCtx *dctx;
	uint8_t *skip;
	const char **why;
	/* The process being merged: a source for each generation, and the
	 * merged pagemap and pages file. */
	int pid;
	struct src *src;
	Sc__PagemapEntry **ents;
	size_t nents, cap, entry_first;
	int out;
	uint8_t *buf;
	size_t buffered;
	uint64_t written;
	XXH3_state_t *out_hash;
	struct rt_part_sums parts; /* the merged file's sums in parts */
};

static int fail(struct merge *m, const char *why, int err)
{
	*m->why = why;
	return err;
}

static const Sc__FileSum *file_sum(const Sc__Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return inv->files[i];
	return NULL;
}

static char *proc_file(char *buf, const char *prefix, int pid)
{
	char *p = rt_stpcpy(rt_stpcpy(buf, prefix), "-");

	rt_stpcpy(rt_fmt_i64(p, pid), RT_IMG_SUFFIX);
	return buf;
}

static bool in_image(const Sc__Inventory *inv, int pid)
{
	for (size_t i = 0; i < inv->n_procs; i++)
		if (inv->procs[i]->pid == pid && !inv->procs[i]->zombie)
			return true;
	return false;
}

static Sc__Pagemap *read_pagemap(const struct gen *g, int pid)
{
	char name[64];

	return rt_read_msg(g->fd, proc_file(name, SC_PAGEMAP_PREFIX, pid), SC_IMG_PAGEMAP,
			   &sc__pagemap__descriptor, NULL);
}

/* ---- the generations' pages files, read in order ---- */

static int read_next(struct src *s, uint8_t *dst, uint64_t len)
{
	while (len) {
		long r = sc_sys3(__NR_read, s->fd, dst, len > (1UL << 30) ? 1UL << 30 : len);

		if (r == -EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? (int)r : -EIO;
		XXH3_64bits_update(s->hash, dst, (size_t)r);
		s->pos += (uint64_t)r;
		dst += r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* The file's bytes up to at, read and hashed only. */
static int skip_to(struct merge *m, struct src *s, uint64_t at)
{
	while (s->pos < at) {
		uint64_t n = at - s->pos < SKIP_BUF ? at - s->pos : SKIP_BUF;
		int err = read_next(s, m->skip, n);

		if (err)
			return err;
	}
	return 0;
}

/* The next frame of a compressed pages file, read (not decompressed). */
static int next_frame(struct src *s)
{
	const Sc__Pagemap *pm = s->pm;
	size_t f = s->frames;

	if (f == pm->n_frame_pages)
		return -EINVAL;
	s->frames++;
	s->start = s->end;
	s->end = s->start + (uint64_t)pm->frame_pages[f] * SC_PAGE_SIZE;
	s->ready = false;
	return read_next(s, s->in, pm->frame_bytes[f]);
}

/* Bytes [off, off + len) of the data of generation gen's pages file into
 * dst; off never goes back. */
static int read_data(struct merge *m, struct src *s, uint64_t off, uint64_t len, uint8_t *dst)
{
	const Sc__Pagemap *pm = s->pm;

	if (!pm->has_codec || pm->codec == SC__PAGES_CODEC__PAGES_RAW) {
		int err = off < s->pos ? -EINVAL : skip_to(m, s, off);

		return err ? err : read_next(s, dst, len);
	}
	while (len) {
		uint64_t n;
		int err;

		if (off < s->start)
			return -EINVAL; /* out of order: not as this runtime writes */
		while (off >= s->end)
			if ((err = next_frame(s)))
				return err;
		if (!s->ready) {
			size_t want = (size_t)(s->end - s->start);
			size_t got = m->z->decompress(m->dctx, s->out, want, s->in,
						      pm->frame_bytes[s->frames - 1]);

			if (m->z->is_error(got) || got != want)
				return fail(m, "compressed pages of its chain do not decompress",
					    -EIO);
			s->ready = true;
		}
		n = s->end - off < len ? s->end - off : len;
		memcpy(dst, s->out + (off - s->start), n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The whole file read: it is the one the inventory summed. */
static int check_whole(struct merge *m, struct src *s)
{
	int err;

	if (s->fd < 0)
		return 0;
	err = skip_to(m, s, s->sum->size);
	if (!err) {
		uint8_t extra;
		long r = sc_sys3(__NR_read, s->fd, &extra, 1);

		if (r != 0 || XXH3_64bits_digest(s->hash) != s->sum->xxh3)
			err = fail(m, "a pages file of its chain does not match its checksum",
				   -EIO);
	}
	sc_sys1(__NR_close, s->fd);
	s->fd = -1;
	return err;
}

/* What src s needs before its first read: its offsets, its file, and for
 * a compressed one the frames' room and the decompressing context. */
static int src_open(struct merge *m, struct src *s, const struct gen *g)
{
	const Sc__Pagemap *pm = s->pm;
	bool zstd = pm->has_codec && pm->codec == SC__PAGES_CODEC__PAGES_ZSTD;
	uint64_t at = 0, frames = 0;
	uint32_t most = 0, bytes = 0;
	char name[64];

	if (pm->has_codec && !zstd)
		return fail(m, "pages of its chain are in a form this runtime does not read",
			    -EINVAL);
	s->data_at = rt_alloc(sizeof(*s->data_at) * (pm->n_entries + 1));
	s->hash = rt_alloc(sizeof(*s->hash));
	if (!s->data_at || !s->hash)
		return -ENOMEM;
	for (size_t i = 0; i < pm->n_entries; i++) {
		s->data_at[i] = at;
		if (!pm->entries[i]->in_parent)
			at += pm->entries[i]->nr_pages * SC_PAGE_SIZE;
	}
	if (at != pm->pages_bytes)
		return fail(m, "a pagemap of its chain does not add up", -EINVAL);
	if (zstd) {
		if (pm->n_frame_pages != pm->n_frame_bytes)
			return fail(m, "a pagemap of its chain does not add up", -EINVAL);
		for (size_t i = 0; i < pm->n_frame_pages; i++) {
			if (!pm->frame_pages[i] || pm->frame_pages[i] > SC_ZFRAME_MAX_PAGES ||
			    !pm->frame_bytes[i] || pm->frame_bytes[i] > ZFRAME_MAX_BYTES)
				return fail(m, "a pagemap of its chain does not add up", -EINVAL);
			most = pm->frame_pages[i] > most ? pm->frame_pages[i] : most;
			bytes = pm->frame_bytes[i] > bytes ? pm->frame_bytes[i] : bytes;
			frames += pm->frame_pages[i];
		}
		if (frames * SC_PAGE_SIZE != pm->pages_bytes)
			return fail(m, "a pagemap of its chain does not add up", -EINVAL);
		s->in = rt_alloc(bytes);
		s->out = rt_alloc((size_t)most * SC_PAGE_SIZE);
		if (!m->dctx) {
			size_t size = m->z->estimate_dctx();
			void *ws = rt_alloc(size);

			m->dctx = ws ? m->z->init_static_dctx(ws, size) : NULL;
		}
		if (!s->in || !s->out || !m->dctx)
			return -ENOMEM;
	}
	s->sum = file_sum(g->inv, proc_file(name, SC_PAGES_PREFIX, m->pid));
	if (!s->sum)
		return fail(m, "an inventory of its chain does not list a pages file", -EINVAL);
	XXH3_64bits_reset(s->hash);
	s->fd = (int)sc_sys4(__NR_openat, g->fd, name, O_RDONLY | O_CLOEXEC, 0);
	return s->fd < 0 ? s->fd : 0;
}

/* ---- the merged pages ---- */

static int flush_out(struct merge *m)
{
	int err = rt_write_all(m->out, m->buf, m->buffered);

	XXH3_64bits_update(m->out_hash, m->buf, m->buffered);
	rt_part_sums_add(&m->parts, m->buf, m->buffered);
	m->buffered = 0;
	return err;
}

/* Pages [vaddr, vaddr + len) stored at off of generation g's data: copied
 * to the merged pages file, and a run of the merged pagemap. A run grows
 * only within one run of the merged image's own pagemap, which lies in
 * one VMA. */
static int copy_run(struct merge *m, unsigned g, uint64_t vaddr, uint64_t off, uint64_t len)
{
	Sc__PagemapEntry *e = m->nents > m->entry_first ? m->ents[m->nents - 1] : NULL;

	if (e && e->vaddr + e->nr_pages * SC_PAGE_SIZE == vaddr) {
		e->nr_pages += len / SC_PAGE_SIZE;
	} else {
		if (m->nents == m->cap || !(e = rt_alloc(sizeof(*e))))
			return -ENOMEM;
		sc__pagemap_entry__init(e);
		e->vaddr = vaddr;
		e->nr_pages = len / SC_PAGE_SIZE;
		m->ents[m->nents++] = e;
	}
	m->written += len;
	while (len) {
		uint64_t n = OUT_BUF - m->buffered < len ? OUT_BUF - m->buffered : len;
		int err = read_data(m, &m->src[g], off, n, m->buf + m->buffered);

		if (err)
			return err;
		m->buffered += n;
		off += n;
		len -= n;
		if (m->buffered == OUT_BUF && (err = flush_out(m)))
			return err;
	}
	return 0;
}

/* The first entry of pm that ends after addr. */
static size_t entry_after(const Sc__Pagemap *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const Sc__PagemapEntry *e = pm->entries[mid];

		if (e->vaddr + e->nr_pages * SC_PAGE_SIZE <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Pages [start, end) as generation g has them: stored there, in_parent
 * there (then as g + 1 has them), or zero where g has no run for them. */
static int resolve(struct merge *m, unsigned g, uint64_t start, uint64_t end)
{
	struct src *s = &m->src[g];
	const Sc__Pagemap *pm = s->pm;

	if (!pm)
		return fail(m, "a process has pages in a parent where it is not", -EINVAL);
	if (s->fd < 0 && !s->data_at) {
		int err = src_open(m, s, &m->gen[g]);

		if (err)
			return err;
	}
	for (size_t i = entry_after(pm, start); i < pm->n_entries; i++) {
		const Sc__PagemapEntry *e = pm->entries[i];
		uint64_t e_end = e->vaddr + e->nr_pages * SC_PAGE_SIZE;
		uint64_t lo = e->vaddr > start ? e->vaddr : start, hi = e_end < end ? e_end : end;
		int err;

		if (e->vaddr >= end)
			break;
		if (!e->in_parent)
			err = copy_run(m, g, lo, s->data_at[i] + (lo - e->vaddr), hi - lo);
		else if (g + 1 == m->ngens)
			err = fail(m, "an image of the chain has pages in a parent it has not",
				   -EINVAL);
		else
			err = resolve(m, g + 1, lo, hi);
		if (err)
			return err;
	}
	return 0;
}

/* pid's pagemap and pages file in the merged image im: generation 0's runs,
 * each resolved through the chain. */
/* The merged file holds at most every page own lists, stored or left to
 * a parent: so many parts of its sums at most. */
static size_t parts_at_most(const Sc__Pagemap *own)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < own->n_entries; i++)
		pages += own->entries[i]->nr_pages;
	return (size_t)(pages * SC_PAGE_SIZE / SC_PAGES_CHUNK + 1);
}

static int merge_proc(struct merge *m, struct rt_image *im, const Sc__Pagemap *own)
{
	size_t total = 0;
	Sc__Pagemap pm;
	int err = 0;

	m->src = rt_alloc(sizeof(*m->src) * m->ngens);
	if (!m->src)
		return -ENOMEM;
	memset(m->src, 0, sizeof(*m->src) * m->ngens);
	m->src[0].pm = own;
	for (unsigned g = 0; g < m->ngens; g++) {
		struct src *s = &m->src[g];

		s->fd = -1;
		if (g && in_image(m->gen[g].inv, m->pid) &&
		    !(s->pm = read_pagemap(&m->gen[g], m->pid)))
			return fail(m, "a parent's pagemap cannot be read", -EIO);
		if (!s->pm)
			continue;
		total += s->pm->n_entries;
		/* Said before anything is read: it would fail every time. */
		if (s->pm->has_codec && s->pm->codec != SC__PAGES_CODEC__PAGES_RAW && !m->z)
			return fail(m,
				    "its chain has compressed pages, and libzstd is loaded only "
				    "with SELFCKPT_COMPRESS",
				    -ENOPKG);
	}
	/* Each run merged ends where a run of some generation ends. */
	m->cap = 2 * total + 1;
	m->ents = rt_alloc(sizeof(*m->ents) * m->cap);
	m->out_hash = rt_alloc(sizeof(*m->out_hash));
	m->nents = 0;
	m->buffered = 0;
	m->written = 0;
	if (!m->ents || !m->out_hash || rt_part_sums_start(&m->parts, false, parts_at_most(own)))
		return -ENOMEM;
	XXH3_64bits_reset(m->out_hash);
	im->pid = m->pid;
	m->out = rt_image_create(im, SC_PAGES_PREFIX);
	if (m->out < 0)
		return m->out;
	for (size_t i = 0; i < own->n_entries && !err; i++) {
		const Sc__PagemapEntry *e = own->entries[i];

		m->entry_first = m->nents;
		err = resolve(m, 0, e->vaddr, e->vaddr + e->nr_pages * SC_PAGE_SIZE);
	}
	if (!err)
		err = flush_out(m);
	for (unsigned g = 0; g < m->ngens && !err; g++)
		err = check_whole(m, &m->src[g]);
	for (unsigned g = 0; g < m->ngens; g++)
		if (m->src[g].fd >= 0)
			sc_sys1(__NR_close, m->src[g].fd);
	if (err) {
		sc_sys1(__NR_close, m->out);
		return err;
	}
	err = rt_image_finish(im, m->out, SC_PAGES_PREFIX, m->written,
			      XXH3_64bits_digest(m->out_hash));
	if (err)
		return err;
	sc__pagemap__init(&pm);
	pm.entries = m->ents;
	pm.n_entries = m->nents;
	pm.pages_bytes = m->written;
	rt_part_sums_finish(&m->parts, &pm);
	err = rt_image_write_msg(im, SC_PAGEMAP_PREFIX, SC_IMG_PAGEMAP, &pm.base);
	/* A process's files are fsynced and closed before the next one's:
	 * a tree may have more than an image keeps open. */
	return err ? err : rt_image_sync(im);
}

/* ---- the chain, and the merged image ---- */

/* Generation 0 in m->gen[0] (open and locked), and its parents beside it,
 * each the one its child names. */
static int load_chain(struct merge *m, int dirfd)
{
	for (m->ngens = 1;; m->ngens++) {
		const Sc__Inventory *child = m->gen[m->ngens - 1].inv;
		struct gen *g = &m->gen[m->ngens];
		const char *name = child->parent;

		if (!name)
			return 0;
		if (m->ngens == MAX_GENS)
			return fail(m, "its chain is longer than a reader takes", -E2BIG);
		if (strncmp(name, PARENT_PREFIX, strlen(PARENT_PREFIX)) ||
		    strchr(name + strlen(PARENT_PREFIX), '/'))
			return fail(m, "a parent is not beside it", -EINVAL);
		name += strlen(PARENT_PREFIX);
		g->fd = (int)sc_sys4(__NR_openat, dirfd, name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (g->fd < 0)
			return fail(m, "a parent cannot be opened", g->fd);
		g->inv = rt_read_msg(g->fd, SC_INVENTORY_FILE, SC_IMG_INVENTORY,
				     &sc__inventory__descriptor, &g->inv_xxh3);
		if (!g->inv || !rt_inventory_is(g->inv, g->inv_xxh3, child->parent_inventory_xxh3))
			return fail(m, "its chain does not hold: a parent was replaced", -EINVAL);
	}
}

static bool rewritten(Sc__FileSum *const *sums, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sums[i]->name, name))
			return true;
	return false;
}

/* The merged image in im: each process with runs in a parent merged, the
 * other files linked, and the inventory; all of it durable. */
static int write_merged(struct merge *m, struct rt_image *im)
{
	const Sc__Inventory *old = m->gen[0].inv;
	Sc__FileSum **sums = rt_alloc(sizeof(*sums) * (old->n_files + 2 * old->n_procs));
	uint64_t *same_as = rt_alloc(sizeof(*same_as) * (old->n_same_as + 1));
	Sc__Inventory inv = *old;
	size_t n = 0;
	int err;

	if (!sums || !same_as)
		return -ENOMEM;
	for (size_t i = 0; i < old->n_procs; i++) {
		const Sc__Pagemap *pm;
		bool merged = false;

		m->pid = old->procs[i]->pid;
		if (old->procs[i]->zombie)
			continue;
		pm = read_pagemap(&m->gen[0], m->pid);
		if (!pm)
			return fail(m, "its pagemap cannot be read", -EIO);
		for (size_t k = 0; k < pm->n_entries; k++)
			merged |= pm->entries[k]->in_parent;
		if (!merged)
			continue;
		if ((err = merge_proc(m, im, pm)))
			return err;
		for (size_t k = 0; k < im->nsums; k++)
			sums[n++] = im->sums[k];
		im->nsums = 0;
	}
	/* What does not change is the same file. */
	for (size_t i = 0, merged = n; i < old->n_files; i++) {
		const char *name = old->files[i]->name;

		if (rewritten(sums, merged, name))
			continue;
		err = (int)sc_sys5(__NR_linkat, m->gen[0].fd, name, im->fd, name, 0);
		if (err)
			return fail(m, "linking its files", err);
		sums[n++] = old->files[i];
	}
	same_as[0] = m->gen[0].inv_xxh3;
	memcpy(same_as + 1, old->same_as, sizeof(*same_as) * old->n_same_as);
	inv.parent = NULL;
	inv.has_parent_inventory_xxh3 = false;
	inv.files = sums;
	inv.n_files = n;
	inv.same_as = same_as;
	inv.n_same_as = old->n_same_as + 1;
	err = rt_image_write_msg(im, "inventory", SC_IMG_INVENTORY, &inv.base);
	if (!err)
		err = rt_image_sync(im);
	return err ? err : (int)sc_sys1(__NR_fsync, im->fd);
}

/* Swaps the merged image in, durably, then removes the old one, which is
 * in the temporary name then: if that fails, it is a leftover the next
 * checkpoint removes once this process is gone. */
static int swap_in(struct merge *m, struct rt_image *im)
{
	int err = (int)sc_sys5(__NR_renameat2, im->dirfd, im->tmpname, im->dirfd, im->name,
			       RENAME_EXCHANGE);

	if (err)
		return fail(m, "swapping the merged image in", err);
	sc_sys1(__NR_fsync, im->dirfd);
	if (!sc_sys3(__NR_lseek, m->gen[0].fd, 0, SEEK_SET))
		rt_image_remove_dir(im->dirfd, im->tmpname, m->gen[0].fd);
	return 0;
}

int rt_merge_generation(int dirfd, const char *name, const struct rt_compress *z, const char **why)
{
	struct merge *m = rt_alloc(sizeof(*m));
	struct rt_image im;
	int err = 0;

	*why = NULL;
	if (!m)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	m->why = why;
	m->z = z && z->level ? &z->zstd : NULL;
	m->skip = rt_alloc(SKIP_BUF);
	m->buf = rt_alloc(OUT_BUF);
	if (!m->skip || !m->buf)
		return -ENOMEM;
	for (unsigned g = 0; g < MAX_GENS; g++)
		m->gen[g].fd = -1;
	m->gen[0].fd = (int)sc_sys4(__NR_openat, dirfd, name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (m->gen[0].fd < 0)
		return fail(m, "it cannot be opened", m->gen[0].fd);
	/* A crload restoring it holds it: it stays as it is. */
	if (rt_image_lock(m->gen[0].fd)) {
		err = fail(m, "a crload holds it", -EBUSY);
		goto out;
	}
	m->gen[0].inv = rt_read_msg(m->gen[0].fd, SC_INVENTORY_FILE, SC_IMG_INVENTORY,
				    &sc__inventory__descriptor, &m->gen[0].inv_xxh3);
	if (!rt_image_dir_only_images(m->gen[0].fd))
		err = fail(m, "it holds files other than images", -EEXIST);
	else if (!m->gen[0].inv)
		err = fail(m, "its inventory cannot be read", -EIO);
	else
		err = load_chain(m, dirfd);
	if (err || m->ngens == 1)
		goto out;

	memset(&im, 0, sizeof(im));
	im.dirfd = dirfd;
	rt_stpcpy(im.name, name);
	rt_image_tmpname(im.tmpname, name);
	err = rt_image_make_tmp(&im);
	if (err) {
		fail(m, "making its temporary directory", err);
		goto out;
	}
	err = write_merged(m, &im);
	if (!err)
		err = swap_in(m, &im);
	if (err)
		rt_image_discard(&im);
	sc_sys1(__NR_close, im.fd);
out:
	for (unsigned g = 0; g < MAX_GENS; g++)
		if (m->gen[g].fd >= 0)
			sc_sys1(__NR_close, m->gen[g].fd);
	if (err && !*why)
		*why = "writing the merged image";
	return err;
}
