// SPDX-License-Identifier: MIT
/*
 * Chains of images (doc/incremental.md): an incremental image is loaded
 * with its parents, and every link is checked before anything uses the
 * chain: the parent's inventory is the one the child names (its XXH3,
 * or one it had before a merge),
 * and a process with pages in the parent is there with the same pid.
 * Then each process's pages are resolved, once, into runs of the
 * generation that stores them; every reader of pages reads through these
 * runs, so that none has to know about chains.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

/* libxxhash's XXH3 for this CPU's widest vectors (doc/checksums.md); a
 * state on the stack needs its layout. */
#define XXH_STATIC_LINKING_ONLY
#include <xxh_x86dispatch.h>

#include "grow.h"
#include "image.h"

const struct sc_image *sc_image_gen(const struct sc_image *img, uint32_t gen)
{
	while (img && gen--)
		img = img->parent;
	return img;
}

uint32_t sc_image_ngens(const struct sc_image *img)
{
	uint32_t n = 0;

	for (; img; img = img->parent)
		n++;
	return n;
}

const struct sc_proc_img *sc_image_proc(const struct sc_image *img, int pid)
{
	for (size_t i = 0; i < img->nprocs; i++)
		if (img->procs[i].pid == pid)
			return &img->procs[i];
	return NULL;
}

size_t sc_run_after(const struct sc_proc_img *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sc_run *r = &p->runs[mid];

		if (r->vaddr + r->nr_pages * SC_PAGE_SIZE <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct sc_run *sc_run_at(const struct sc_proc_img *p, uint64_t addr)
{
	size_t i = sc_run_after(p, addr);

	return i < p->nruns && p->runs[i].vaddr <= addr ? &p->runs[i] : NULL;
}

static int add_run(struct sc_proc_img *p, size_t *cap, struct sc_run r)
{
	if (sc_grow(&p->runs, cap, p->nruns, sizeof(*p->runs), 16))
		return -1;
	p->runs[p->nruns++] = r;
	return 0;
}

/* Each stored run where p's own pages file has it (back to back, in
 * order), each in_parent run as the same process of the parent has its
 * pages, one generation further; the parts the parent does not store are
 * left out. */
int sc_proc_resolve(const struct sc_image *img, struct sc_proc_img *p, char *err)
{
	const struct sc_proc_img *pp = img->parent ? sc_image_proc(img->parent, p->pid) : NULL;
	uint64_t off = 0;
	size_t cap = 0;

	for (size_t i = 0; i < p->pm->n_entries; i++) {
		const Sc__PagemapEntry *e = p->pm->entries[i];
		uint64_t end = e->vaddr + e->nr_pages * SC_PAGE_SIZE;

		if (!e->in_parent) {
			if (add_run(p, &cap, (struct sc_run){ e->vaddr, e->nr_pages, 0, off }))
				return sc_err(err, "out of memory");
			off += e->nr_pages * SC_PAGE_SIZE;
			continue;
		}
		if (!pp)
			return sc_err(err,
				      "%s-%d.img: pages in the parent image, where pid %d is not",
				      SC_PAGEMAP_PREFIX, p->pid, p->pid);
		for (size_t k = sc_run_after(pp, e->vaddr);
		     k < pp->nruns && pp->runs[k].vaddr < end; k++) {
			const struct sc_run *r = &pp->runs[k];
			uint64_t r_end = r->vaddr + r->nr_pages * SC_PAGE_SIZE;
			uint64_t lo = r->vaddr > e->vaddr ? r->vaddr : e->vaddr;
			uint64_t hi = r_end < end ? r_end : end;

			if (add_run(p, &cap,
				    (struct sc_run){ lo, (hi - lo) / SC_PAGE_SIZE, r->gen + 1,
						     r->off + (lo - r->vaddr) }))
				return sc_err(err, "out of memory");
		}
	}
	return 0;
}

/* Whether parent is the image a child names by the checksum of its
 * inventory: as it is, or in an earlier form it was merged from (a
 * pruner's merge restores the same state: doc/retention.md). */
static bool parent_matches(const struct sc_image *parent, uint64_t named)
{
	if (parent->inv_xxh3 == named)
		return true;
	for (size_t i = 0; i < parent->inv->n_same_as; i++)
		if (parent->inv->same_as[i] == named)
			return true;
	return false;
}

/* The directories of the chain so far, to refuse a loop. */
struct chain_seen {
	dev_t dev[SC_CHAIN_MAX];
	ino_t ino[SC_CHAIN_MAX];
	unsigned n;
};

#define PARENT_IMAGE "parent image "

static int load_chain(const char *dir, struct sc_image *img, struct chain_seen *seen,
		      bool pages_later, char *err)
{
	char joined[PATH_MAX], real[PATH_MAX], why[SC_ERR_LEN];
	const char *parent;
	struct stat st;

	if (sc_image_load_one(dir, img, pages_later, err))
		return -1;
	if (fstat(img->dirfd, &st))
		return sc_err(err, "%s: %s", dir, strerror(errno));
	/* Only a parent can be met again, or be one too many: the caller
	 * names it. */
	for (unsigned i = 0; i < seen->n; i++)
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino)
			return sc_err(err, "the chain of parents loops back to it");
	if (seen->n == SC_CHAIN_MAX)
		return sc_err(err, "more than %d images in the chain", SC_CHAIN_MAX);
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n++] = st.st_ino;
	if (img->inv->parent) {
		/* Relative to the image's directory, or absolute; named by
		 * its real path where there is one. */
		if ((size_t)snprintf(joined, sizeof(joined), "%s%s%s",
				     img->inv->parent[0] == '/' ? "" : dir,
				     img->inv->parent[0] == '/' ? "" : "/",
				     img->inv->parent) >= sizeof(joined))
			return sc_err(err, "%s: parent path too long", SC_INVENTORY_FILE);
		parent = realpath(joined, real) ? real : joined;
		img->parent = calloc(1, sizeof(*img->parent));
		if (!img->parent)
			return sc_err(err, "out of memory");
		/* A grandparent's problem names that image already. */
		if (load_chain(parent, img->parent, seen, pages_later, why))
			return strncmp(why, PARENT_IMAGE, strlen(PARENT_IMAGE))
				       ? sc_err(err, PARENT_IMAGE "%s: %s", parent, why)
				       : sc_err(err, "%s", why);
		if (!parent_matches(img->parent, img->inv->parent_inventory_xxh3))
			return sc_err(err,
				      PARENT_IMAGE
				      "%s: %s has checksum %016llx, this image's "
				      "parent had %016llx: it was replaced or rewritten since",
				      parent, SC_INVENTORY_FILE,
				      (unsigned long long)img->parent->inv_xxh3,
				      (unsigned long long)img->inv->parent_inventory_xxh3);
	}
	for (size_t i = 0; i < img->nprocs; i++)
		if (sc_proc_resolve(img, &img->procs[i], err))
			return -1;
	return 0;
}

int sc_image_load(const char *dir, struct sc_image *img, char *err)
{
	struct chain_seen seen = { .n = 0 };

	return load_chain(dir, img, &seen, false, err);
}

int sc_image_load_to_fill(const char *dir, struct sc_image *img, char *err)
{
	struct chain_seen seen = { .n = 0 };

	return load_chain(dir, img, &seen, true, err);
}

/* pm's frames indexed in z, and pg's largest frame so far updated; 0, or
 * -1 when out of memory. */
static int index_frames(struct sc_pages *pg, struct sc_zindex *z, const Sc__Pagemap *pm)
{
	z->data = malloc((pm->n_frame_pages + 1) * sizeof(*z->data));
	z->file = malloc((pm->n_frame_pages + 1) * sizeof(*z->file));
	if (!z->data || !z->file)
		return -1;
	z->n = pm->n_frame_pages;
	z->data[0] = z->file[0] = 0;
	for (size_t i = 0; i < z->n; i++) {
		size_t out = (size_t)pm->frame_pages[i] * SC_PAGE_SIZE;

		z->data[i + 1] = z->data[i] + out;
		z->file[i + 1] = z->file[i] + pm->frame_bytes[i];
		if (pm->frame_bytes[i] > pg->in_max)
			pg->in_max = pm->frame_bytes[i];
		if (out > pg->out_max)
			pg->out_max = out;
	}
	return 0;
}

struct sc_pages_cur {
	ZSTD_DCtx *dctx;
	char *in, *out; /* a frame as stored, and its data */
	bool cached; /* out holds frame `frame` of generation `gen` */
	uint32_t gen;
	size_t frame;
};

/* sc_pages_read's cursor, shared by its callers one at a time. */
struct sc_pages_own {
	pthread_mutex_t lock;
	struct sc_pages_cur *cur;
};

/* The longest part a pages file's sums in parts cover: a raw chunk, or
 * its largest frame. */
static uint64_t largest_chunk(const Sc__Pagemap *pm)
{
	uint64_t most = pm->chunk_bytes;

	for (size_t i = 0; i < pm->n_frame_bytes; i++)
		most = pm->frame_bytes[i] > most ? pm->frame_bytes[i] : most;
	return most;
}

/* Generation g's chunks, of pm and a file of size bytes, to be checked
 * as pg reads them; *ck_len grown to the largest. 0, or -1 when out of
 * memory. */
static int chunks_to_check(struct sc_pages *pg, uint32_t g, const Sc__Pagemap *pm, uint64_t size,
			   size_t *ck_len)
{
	struct sc_chunks *c = &pg->ck[g];
	uint64_t most = largest_chunk(pm);

	*c = (struct sc_chunks){
		.sum = pm->chunk_xxh3, .n = pm->n_chunk_xxh3, .bytes = pm->chunk_bytes, .size = size
	};
	if (most > *ck_len)
		*ck_len = (size_t)most;
	return c->n && !(c->done = calloc(c->n, 1)) ? -1 : 0;
}
int sc_pages_open(struct sc_pages *pg, const struct sc_image *img, const struct sc_proc_img *p,
		  char *err)
{
	size_t ck_len = 0;

	*pg = (struct sc_pages){ .n = sc_image_ngens(img), .img = img, .name = p->pages_name };
	pg->fds = malloc(pg->n * sizeof(*pg->fds));
	pg->z = calloc(pg->n, sizeof(*pg->z));
	pg->ck = calloc(pg->n, sizeof(*pg->ck));
	if (!pg->fds || !pg->z || !pg->ck) {
		sc_pages_close(pg);
		return sc_err(err, "out of memory");
	}
	for (uint32_t g = 0; g < pg->n; g++)
		pg->fds[g] = -1;
	for (size_t i = 0; i < p->nruns; i++) {
		uint32_t g = p->runs[i].gen;
		const struct sc_image *gi = sc_image_gen(img, g);
		const Sc__Pagemap *pm = sc_image_proc(gi, p->pid)->pm;

		if (pg->fds[g] >= 0)
			continue;
		pg->fds[g] = openat(gi->dirfd, p->pages_name, O_RDONLY | O_CLOEXEC);
		if (pg->fds[g] < 0) {
			sc_err(err, "%s/%s: %s", gi->dir, p->pages_name, strerror(errno));
			sc_pages_close(pg);
			return -1;
		}
		if ((pm->codec == SC__PAGES_CODEC__PAGES_ZSTD && index_frames(pg, &pg->z[g], pm)) ||
		    (gi->pages_later && pm->has_chunk_bytes &&
		     chunks_to_check(pg, g, pm, sc_image_proc(gi, p->pid)->pages_size, &ck_len))) {
			sc_pages_close(pg);
			return sc_err(err, "out of memory");
		}
	}
	if (ck_len && !(pg->ck_buf = malloc(ck_len))) {
		sc_pages_close(pg);
		return sc_err(err, "out of memory");
	}
	if (sc_pages_compressed(pg)) {
		pg->own = calloc(1, sizeof(*pg->own));
		if (pg->own)
			pthread_mutex_init(&pg->own->lock, NULL);
		if (!pg->own || !(pg->own->cur = sc_pages_cur_new(pg, err))) {
			sc_pages_close(pg);
			return sc_err(err, "out of memory");
		}
	}
	return 0;
}

void sc_pages_close(struct sc_pages *pg)
{
	for (uint32_t g = 0; pg->fds && g < pg->n; g++)
		if (pg->fds[g] >= 0)
			close(pg->fds[g]);
	for (uint32_t g = 0; pg->z && g < pg->n; g++) {
		free(pg->z[g].data);
		free(pg->z[g].file);
	}
	for (uint32_t g = 0; pg->ck && g < pg->n; g++)
		free(pg->ck[g].done);
	free(pg->ck);
	free(pg->ck_buf);
	if (pg->own) {
		sc_pages_cur_free(pg->own->cur);
		pthread_mutex_destroy(&pg->own->lock);
		free(pg->own);
	}
	free(pg->fds);
	free(pg->z);
	*pg = (struct sc_pages){ .fds = NULL };
}

bool sc_pages_compressed(const struct sc_pages *pg)
{
	return pg->out_max > 0;
}

struct sc_pages_cur *sc_pages_cur_new(const struct sc_pages *pg, char *err)
{
	struct sc_pages_cur *cur = calloc(1, sizeof(*cur));

	if (cur) {
		cur->dctx = ZSTD_createDCtx();
		cur->in = malloc(pg->in_max ? pg->in_max : 1);
		cur->out = malloc(pg->out_max ? pg->out_max : 1);
	}
	if (!cur || !cur->dctx || !cur->in || !cur->out) {
		sc_pages_cur_free(cur);
		sc_err(err, "out of memory");
		return NULL;
	}
	return cur;
}

void sc_pages_cur_free(struct sc_pages_cur *cur)
{
	if (!cur)
		return;
	ZSTD_freeDCtx(cur->dctx);
	free(cur->in);
	free(cur->out);
	free(cur);
}

/*
 * One frame of bytes bytes at off in fd, read into in and decompressed
 * into dst, which it must fill exactly: one zstd frame that records its
 * content size and checksum, which zstd checks, and, where sum is not
 * NULL, whose XXH3 is *sum. 0, or -1 with why set.
 */
static int decode_frame(ZSTD_DCtx *dctx, int fd, uint64_t off, size_t bytes, char *in, void *dst,
			size_t raw, const uint64_t *sum, char *why)
{
	ssize_t got = pread(fd, in, bytes, (off_t)off);
	unsigned long long size;
	bool checksum;
	size_t n;

	if (got != (ssize_t)bytes)
		return sc_err(why, "%s", got < 0 ? strerror(errno) : "short file");
	if (sum && XXH3_64bits(in, bytes) != *sum)
		return sc_err(why, SC_CORRUPTED);
	/* The frame header's descriptor, after the magic number, has the
	 * content checksum flag in bit 2 (RFC 8878, 3.1.1.1.1). */
	if (bytes < 5 || ZSTD_findFrameCompressedSize(in, bytes) != bytes)
		return sc_err(why, "not one zstd frame");
	size = ZSTD_getFrameContentSize(in, bytes);
	checksum = in[4] & 4;
	if (!checksum || size != raw)
		return sc_err(why, "its header gives %s%llu bytes of data, not %zu",
			      checksum ? "" : "no checksum and ", size, raw);
	n = ZSTD_decompressDCtx(dctx, dst, raw, in, bytes);
	if (ZSTD_isError(n))
		return sc_err(why, "zstd: %s", ZSTD_getErrorName(n));
	return n == raw ? 0 : sc_err(why, "%zu bytes of data, not %zu", n, raw);
}

/* The frame of z holding data offset off (< z->data[z->n]). */
static size_t frame_at(const struct sc_zindex *z, uint64_t off)
{
	size_t lo = 0, hi = z->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (z->data[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int frame_error(const struct sc_pages *pg, uint32_t gen, size_t f, const char *why,
		       char *err)
{
	return sc_err(err, "%s/%s: frame %zu (at byte %llu): %s", sc_image_gen(pg->img, gen)->dir,
		      pg->name, f, (unsigned long long)pg->z[gen].file[f], why);
}

/* [off, off+len) of the data of compressed generation gen, frame by
 * frame: straight into buf where it covers a frame, else through cur's
 * last frame. */
static int get_compressed(const struct sc_pages *pg, struct sc_pages_cur *cur, uint32_t gen,
			  uint64_t off, char *buf, size_t len, char *err)
{
	const struct sc_zindex *z = &pg->z[gen];
	char why[SC_ERR_LEN];

	if (off + len > z->data[z->n] || off + len < off)
		return sc_err(err, "%s/%s: past the end of the data",
			      sc_image_gen(pg->img, gen)->dir, pg->name);
	for (size_t f = frame_at(z, off); len; f++) {
		uint64_t start = z->data[f], raw = z->data[f + 1] - start;
		size_t n = off + len < start + raw ? len : (size_t)(start + raw - off);
		bool whole = off == start && n == raw;

		if (whole || !cur->cached || cur->gen != gen || cur->frame != f) {
			const struct sc_chunks *c = &pg->ck[gen];

			cur->cached = false;
			if (decode_frame(cur->dctx, pg->fds[gen], z->file[f],
					 (size_t)(z->file[f + 1] - z->file[f]), cur->in,
					 whole ? buf : cur->out, raw, c->n ? &c->sum[f] : NULL,
					 why))
				return frame_error(pg, gen, f, why, err);
			if (c->n)
				__atomic_store_n(&c->done[f], 1, __ATOMIC_RELAXED);
			cur->cached = !whole;
			cur->gen = gen;
			cur->frame = f;
		}
		if (!whole)
			memcpy(buf, cur->out + (off - start), n);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

int sc_pages_get(const struct sc_pages *pg, struct sc_pages_cur *cur, const struct sc_run *r,
		 uint64_t addr, void *buf, size_t len, char *err)
{
	uint64_t off = r->off + (addr - r->vaddr);
	ssize_t n;
	int ret;

	if (pg->z[r->gen].n) {
		if (cur)
			return get_compressed(pg, cur, r->gen, off, buf, len, err);
		pthread_mutex_lock(&pg->own->lock);
		ret = get_compressed(pg, pg->own->cur, r->gen, off, buf, len, err);
		pthread_mutex_unlock(&pg->own->lock);
		return ret;
	}
	n = pread(pg->fds[r->gen], buf, len, (off_t)off);
	if (n == (ssize_t)len)
		return 0;
	return sc_err(err, "%s/%s: %s", sc_image_gen(pg->img, r->gen)->dir, pg->name,
		      n < 0 ? strerror(errno) : "short file");
}

int sc_pages_read(const struct sc_pages *pg, const struct sc_run *r, uint64_t addr, void *buf,
		  size_t len)
{
	char err[SC_ERR_LEN];
	int saved = errno;

	errno = 0;
	if (!sc_pages_get(pg, NULL, r, addr, buf, len, err)) {
		errno = saved;
		return 0;
	}
	/* A short file, or a bad frame. */
	if (!errno)
		errno = pg->z[r->gen].n ? EBADMSG : EIO;
	return -1;
}

int sc_pages_check_frames(int fd, const Sc__Pagemap *pm, char *err)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t out_max = 0, in_max = 1;
	char *in = NULL, *out = NULL, why[SC_ERR_LEN];
	uint64_t off = 0;
	int ret = 0;

	for (size_t i = 0; i < pm->n_frame_pages; i++) {
		if ((size_t)pm->frame_pages[i] * SC_PAGE_SIZE > out_max)
			out_max = (size_t)pm->frame_pages[i] * SC_PAGE_SIZE;
		if (pm->frame_bytes[i] > in_max)
			in_max = pm->frame_bytes[i];
	}
	if (!dctx || !(in = malloc(in_max)) || !(out = malloc(out_max ? out_max : 1)))
		ret = sc_err(err, "out of memory");
	for (size_t i = 0; i < pm->n_frame_pages && !ret; i++) {
		if (decode_frame(dctx, fd, off, pm->frame_bytes[i], in, out,
				 (size_t)pm->frame_pages[i] * SC_PAGE_SIZE, NULL, why))
			ret = sc_err(err, "frame %zu (at byte %llu): %s", i,
				     (unsigned long long)off, why);
		off += pm->frame_bytes[i];
	}
	ZSTD_freeDCtx(dctx);
	free(in);
	free(out);
	return ret;
}

uint64_t sc_pages_chunk_end(const struct sc_pages *pg, uint32_t gen, uint64_t off)
{
	const struct sc_chunks *c = &pg->ck[gen];

	return c->n && c->bytes ? (off / c->bytes + 1) * c->bytes : UINT64_MAX;
}

/* Where chunk i of c lies in its file, and how long it is. */
static uint64_t chunk_at(const struct sc_pages *pg, uint32_t gen, size_t i, uint64_t *len)
{
	const struct sc_chunks *c = &pg->ck[gen];
	const struct sc_zindex *z = &pg->z[gen];
	uint64_t off = c->bytes ? i * c->bytes : z->file[i];

	*len = c->bytes ? (c->size - off < c->bytes ? c->size - off : c->bytes)
			: z->file[i + 1] - off;
	return off;
}

static int chunk_error(const struct sc_pages *pg, uint32_t gen, size_t i, char *err)
{
	uint64_t len, off = chunk_at(pg, gen, i, &len);

	if (!pg->ck[gen].bytes)
		return frame_error(pg, gen, i, SC_CORRUPTED, err);
	return sc_err(err, "%s/%s: chunk %zu (bytes %llu to %llu): " SC_CORRUPTED,
		      sc_image_gen(pg->img, gen)->dir, pg->name, i, (unsigned long long)off,
		      (unsigned long long)(off + len));
}

int sc_pages_check_read(const struct sc_pages *pg, uint32_t gen, uint64_t off,
			const struct iovec *iov, int n, char *err)
{
	const struct sc_chunks *c = &pg->ck[gen];
	uint64_t len = 0, want;
	XXH3_state_t st;
	size_t i;

	if (!c->n || !c->bytes || off % c->bytes || (i = off / c->bytes) >= c->n)
		return 0;
	for (int k = 0; k < n; k++)
		len += iov[k].iov_len;
	chunk_at(pg, gen, i, &want);
	if (len != want)
		return 0;
	XXH3_64bits_reset(&st);
	for (int k = 0; k < n; k++)
		XXH3_64bits_update(&st, iov[k].iov_base, iov[k].iov_len);
	if (XXH3_64bits_digest(&st) != c->sum[i])
		return chunk_error(pg, gen, i, err);
	__atomic_store_n(&c->done[i], 1, __ATOMIC_RELAXED);
	return 0;
}

/* The len bytes at off in fd, read into buf, against sum: 1 if they
 * match, 0 if not, -1 with why set if they cannot be read. */
static int chunk_matches(int fd, uint64_t off, uint64_t len, uint64_t sum, char *buf, char *why)
{
	ssize_t got = pread(fd, buf, (size_t)len, (off_t)off);

	if (got != (ssize_t)len)
		return sc_err(why, "%s", got < 0 ? strerror(errno) : "short file");
	return XXH3_64bits(buf, (size_t)len) == sum;
}

int sc_pages_read_chunk(const struct sc_pages *pg, uint32_t gen, size_t i, char *buf, char *err)
{
	const struct sc_chunks *c = &pg->ck[gen];
	uint64_t len, off = chunk_at(pg, gen, i, &len);
	char why[SC_ERR_LEN];
	int ok = chunk_matches(pg->fds[gen], off, len, c->sum[i], buf, why);

	if (ok < 0)
		return sc_err(err, "%s/%s: %s", sc_image_gen(pg->img, gen)->dir, pg->name, why);
	if (!ok)
		return chunk_error(pg, gen, i, err);
	__atomic_store_n(&c->done[i], 1, __ATOMIC_RELAXED);
	return 0;
}

/* Chunk i of generation g read and checked unless it was already. */
static int check_chunk(const struct sc_pages *pg, uint32_t g, size_t i, char *err)
{
	return pg->ck[g].done[i] ? 0 : sc_pages_read_chunk(pg, g, i, pg->ck_buf, err);
}

int sc_pages_check_rest(const struct sc_pages *pg, char *err)
{
	for (uint32_t g = 0; g < pg->n; g++)
		for (size_t i = 0; i < pg->ck[g].n; i++)
			if (check_chunk(pg, g, i, err))
				return -1;
	return 0;
}

int sc_pages_check_span(const struct sc_pages *pg, const struct sc_run *r, char *err)
{
	const struct sc_chunks *c = &pg->ck[r->gen];
	const struct sc_zindex *z = &pg->z[r->gen];
	uint64_t last = r->off + r->nr_pages * SC_PAGE_SIZE - 1;
	size_t first, end;

	if (!c->n || !r->nr_pages)
		return 0;
	first = c->bytes ? r->off / c->bytes : frame_at(z, r->off);
	end = (c->bytes ? last / c->bytes : frame_at(z, last)) + 1;
	for (size_t i = first; i < end && i < c->n; i++)
		if (check_chunk(pg, r->gen, i, err))
			return -1;
	return 0;
}

int sc_pages_check_chunks(int fd, const Sc__Pagemap *pm, uint64_t size, char *err)
{
	uint64_t most = largest_chunk(pm), off = 0;
	char why[SC_ERR_LEN], *buf;
	int ret = 0;

	if (!(buf = malloc(most ? (size_t)most : 1)))
		return sc_err(err, "out of memory");
	for (size_t i = 0; i < pm->n_chunk_xxh3 && !ret; i++) {
		uint64_t len = pm->chunk_bytes ? (size - off < most ? size - off : most)
					       : pm->frame_bytes[i];
		int ok = chunk_matches(fd, off, len, pm->chunk_xxh3[i], buf, why);

		if (ok < 0)
			ret = sc_err(err, "%s", why);
		else if (!ok && pm->chunk_bytes)
			ret = sc_err(err, "chunk %zu (bytes %llu to %llu): " SC_CORRUPTED, i,
				     (unsigned long long)off, (unsigned long long)(off + len));
		else if (!ok)
			ret = sc_err(err, "frame %zu (at byte %llu): " SC_CORRUPTED, i,
				     (unsigned long long)off);
		off += len;
	}
	free(buf);
	return ret;
}
