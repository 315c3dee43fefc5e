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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	if (p->nruns == *cap) {
		size_t more = *cap ? *cap * 2 : 16;
		struct sc_run *v = realloc(p->runs, more * sizeof(*v));

		if (!v)
			return -1;
		p->runs = v;
		*cap = more;
	}
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

static int load_chain(const char *dir, struct sc_image *img, struct chain_seen *seen, char *err)
{
	char joined[PATH_MAX], real[PATH_MAX], why[SC_ERR_LEN];
	const char *parent;
	struct stat st;

	if (sc_image_load_one(dir, img, err))
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
		if (load_chain(parent, img->parent, seen, why))
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

	return load_chain(dir, img, &seen, err);
}

int sc_pages_open(struct sc_pages *pg, const struct sc_image *img, const struct sc_proc_img *p,
		  char *err)
{
	pg->n = sc_image_ngens(img);
	pg->fds = malloc(pg->n * sizeof(*pg->fds));
	if (!pg->fds)
		return sc_err(err, "out of memory");
	for (uint32_t g = 0; g < pg->n; g++)
		pg->fds[g] = -1;
	for (size_t i = 0; i < p->nruns; i++) {
		uint32_t g = p->runs[i].gen;
		const struct sc_image *gi = sc_image_gen(img, g);

		if (pg->fds[g] >= 0)
			continue;
		pg->fds[g] = openat(gi->dirfd, p->pages_name, O_RDONLY | O_CLOEXEC);
		if (pg->fds[g] < 0) {
			sc_err(err, "%s/%s: %s", gi->dir, p->pages_name, strerror(errno));
			sc_pages_close(pg);
			return -1;
		}
	}
	return 0;
}

void sc_pages_close(struct sc_pages *pg)
{
	for (uint32_t g = 0; pg->fds && g < pg->n; g++)
		if (pg->fds[g] >= 0)
			close(pg->fds[g]);
	free(pg->fds);
	pg->fds = NULL;
	pg->n = 0;
}

int sc_pages_read(const struct sc_pages *pg, const struct sc_run *r, uint64_t addr, void *buf,
		  size_t len)
{
	ssize_t n = pread(pg->fds[r->gen], buf, len, (off_t)(r->off + (addr - r->vaddr)));

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}
