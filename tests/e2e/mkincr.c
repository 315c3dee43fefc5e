// SPDX-License-Identifier: MIT
/*
 * mkincr A B: rewrites the full image B in place as an incremental image
 * on A (doc/incremental.md), for tests/e2e/incremental.sh, before the
 * runtime writes such images itself. A is an earlier image of the same
 * single process. Every page B stores whose bytes are those A's chain
 * restores at the same address becomes part of an in_parent run and
 * leaves B's pages file; B's inventory names A (relative to B when both
 * are in one directory, else absolute) and the XXH3 of A's inventory,
 * and its sums of the files rewritten are made right again, the pages
 * file's sums in parts too (doc/checksums.md) if it had them.
 *
 * Prints "mkincr: B: N of M pages in the parent".
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "imgfile.h"

/* The new pages file's sums in parts: ck.n of them, and fill bytes of
 * the next summed in st. */
struct chunks {
	uint64_t *sum;
	size_t n, fill;
	XXH3_state_t st;
};

static void end_chunk(struct chunks *ck)
{
	ck->sum = realloc(ck->sum, (ck->n + 1) * sizeof(*ck->sum));
	if (!ck->sum)
		imgfile_die("pagemap", "out of memory");
	ck->sum[ck->n++] = XXH3_64bits_digest(&ck->st);
	XXH3_64bits_reset(&ck->st);
	ck->fill = 0;
}

/* The next page written, page, in chunks of chunk bytes (none: 0). */
static void sum_chunks(struct chunks *ck, uint32_t chunk, const char *page)
{
	if (!chunk)
		return;
	XXH3_64bits_update(&ck->st, page, SC_PAGE_SIZE);
	ck->fill += SC_PAGE_SIZE;
	if (ck->fill == chunk)
		end_chunk(ck);
}

struct runs {
	Sc__PagemapEntry **v;
	size_t n;
};

/* B's new pagemap, runs appended one page at a time; a page joins the
 * last run only within one of B's runs (never across two VMAs). */
static void add_page(struct runs *r, uint64_t vaddr, bool in_parent, bool join)
{
	Sc__PagemapEntry *last = r->n ? r->v[r->n - 1] : NULL;

	if (join && last->in_parent == in_parent) {
		last->nr_pages++;
		return;
	}
	r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
	last = malloc(sizeof(*last));
	if (!r->v || !last)
		imgfile_die("pagemap", "out of memory");
	sc__pagemap_entry__init(last);
	last->vaddr = vaddr;
	last->nr_pages = 1;
	last->has_in_parent = in_parent;
	last->in_parent = in_parent;
	r->v[r->n++] = last;
}

static Sc__FileSum *sum_of(Sc__Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return inv->files[i];
	imgfile_die(name, "not in the inventory");
}

/* A's path as B's inventory names it. */
static char *parent_name(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX], da[PATH_MAX], db[PATH_MAX], *name;

	if (!realpath(a, ra) || !realpath(b, rb))
		imgfile_die(a, strerror(errno));
	strcpy(da, ra);
	strcpy(db, rb);
	if (strcmp(dirname(da), dirname(db)))
		return strdup(ra);
	strcpy(da, ra);
	if (asprintf(&name, "../%s", basename(da)) < 0)
		imgfile_die(a, "out of memory");
	return name;
}

int main(int argc, char **argv)
{
	char err[SC_ERR_LEN], tmp[80];
	struct sc_image a, b;
	const struct sc_proc_img *pp;
	struct sc_proc_img *p;
	struct sc_pages in_a, in_b;
	struct runs out = { 0 };
	struct chunks ck = { 0 };
	uint64_t moved = 0, all = 0, stored = 0, size, xxh3;
	XXH3_state_t st;
	uint32_t type;
	Sc__Inventory *inv;
	Sc__FileSum *s;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: mkincr PARENT_DIR IMAGE_DIR\n");
		return 2;
	}
	if (sc_image_load(argv[1], &a, err))
		imgfile_die(argv[1], err);
	if (sc_image_load(argv[2], &b, err))
		imgfile_die(argv[2], err);
	if (b.inv->parent || b.nprocs != 1)
		imgfile_die(argv[2], "not a full image of one process");
	p = &b.procs[0];
	if (!(pp = sc_image_proc(&a, p->pid)))
		imgfile_die(argv[1], "its process is not the image's");
	if (sc_pages_open(&in_a, &a, pp, err) || sc_pages_open(&in_b, &b, p, err))
		imgfile_die(argv[2], err);
	snprintf(tmp, sizeof(tmp), "%s.new", p->pages_name);
	fd = openat(b.dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		imgfile_die(tmp, strerror(errno));
	XXH3_64bits_reset(&st);
	XXH3_64bits_reset(&ck.st);
	if (p->pm->codec != SC__PAGES_CODEC__PAGES_RAW)
		imgfile_die(argv[2], "its pages are compressed");
	for (size_t i = 0; i < p->nruns; i++) {
		const struct sc_run *r = &p->runs[i];

		for (uint64_t k = 0; k < r->nr_pages; k++, all++) {
			static char pb_[SC_PAGE_SIZE], pa_[SC_PAGE_SIZE];
			uint64_t at = r->vaddr + k * SC_PAGE_SIZE;
			const struct sc_run *ra = sc_run_at(pp, at);

			if (sc_pages_read(&in_b, r, at, pb_, SC_PAGE_SIZE) ||
			    (ra && sc_pages_read(&in_a, ra, at, pa_, SC_PAGE_SIZE)))
				imgfile_die(p->pages_name, strerror(errno));
			/* Pages A does not store stay stored: in_parent they
			 * would be zero. */
			if (ra && !memcmp(pa_, pb_, SC_PAGE_SIZE)) {
				add_page(&out, at, true, k > 0);
				moved++;
				continue;
			}
			add_page(&out, at, false, k > 0);
			if (write(fd, pb_, SC_PAGE_SIZE) != SC_PAGE_SIZE)
				imgfile_die(tmp, strerror(errno));
			XXH3_64bits_update(&st, pb_, SC_PAGE_SIZE);
			sum_chunks(&ck, p->pm->chunk_bytes, pb_);
			stored += SC_PAGE_SIZE;
		}
	}
	if (fsync(fd) || close(fd) || renameat(b.dirfd, tmp, b.dirfd, p->pages_name))
		imgfile_die(tmp, strerror(errno));
	if (ck.fill)
		end_chunk(&ck);
	p->pm->chunk_xxh3 = ck.sum;
	p->pm->n_chunk_xxh3 = ck.n;

	/* The pagemap, then the inventory with the new sums. */
	inv = (Sc__Inventory *)imgfile_read(b.dirfd, SC_INVENTORY_FILE, &type);
	s = sum_of(inv, p->pages_name);
	s->size = stored;
	s->xxh3 = XXH3_64bits_digest(&st);
	p->pm->entries = out.v;
	p->pm->n_entries = out.n;
	p->pm->pages_bytes = stored;
	snprintf(tmp, sizeof(tmp), "%s-%d.img", SC_PAGEMAP_PREFIX, p->pid);
	s = sum_of(inv, tmp);
	imgfile_write(b.dirfd, tmp, SC_IMG_PAGEMAP, &p->pm->base, &s->size, &s->xxh3);
	inv->parent = parent_name(argv[1], argv[2]);
	inv->has_parent_inventory_xxh3 = 1;
	inv->parent_inventory_xxh3 = a.inv_xxh3;
	imgfile_write(b.dirfd, SC_INVENTORY_FILE, type, &inv->base, &size, &xxh3);
	printf("mkincr: %s: %llu of %llu pages in the parent %s\n", argv[2],
	       (unsigned long long)moved, (unsigned long long)all, inv->parent);
	return 0;
}
