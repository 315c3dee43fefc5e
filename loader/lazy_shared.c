// SPDX-License-Identifier: MIT
/*
 * Anonymous shared memory under crload --lazy (doc/lazy-restore.md): an
 * object (a MAP_SHARED | MAP_ANONYMOUS region, or a file gone from every
 * directory and held by no descriptor) that only its mappings reach
 * (shared_is_lazy, shared_files.c) is left empty and served by the page
 * server. Its pending pages are kept once per object, in the object's
 * offsets, not per mapping: a page is filled once, through whichever
 * process's mapping of it, and a page dropped or moved in one process is
 * not filled back from another's list. Each space keeps its views: which
 * object its addresses map, and at which offset.
 */
#include <stdlib.h>

#include "lazy_server.h"
#include "restore.h"

#define PAGE SC_PAGE_SIZE

/* The index of v's object in objs, added if new; SIZE_MAX when out of
 * memory. */
static size_t object_of(struct shared_objs *objs, const Sc__Vma *v)
{
	struct shared_obj *more;

	for (size_t i = 0; i < objs->n; i++)
		if (objs->o[i].dev == v->dev && objs->o[i].ino == v->ino)
			return i;
	if (!(more = realloc(objs->o, (objs->n + 1) * sizeof(*more))))
		return SIZE_MAX;
	objs->o = more;
	objs->o[objs->n] = (struct shared_obj){ .dev = v->dev, .ino = v->ino };
	return objs->n++;
}

int shared_plan(struct shared_objs *objs, struct spans *views, const struct sc_image *img,
		const struct sc_proc_img *p, size_t who)
{
	for (size_t k = 0; k < p->mm->n_vmas; k++) {
		const Sc__Vma *v = p->mm->vmas[k];
		size_t obj;
		struct spans *pend;

		if (!shared_is_lazy(img, v))
			continue;
		if ((obj = object_of(objs, v)) == SIZE_MAX ||
		    span_insert(views, views->n, (struct span){ v->start, v->end, v->pgoff, obj }))
			return -1;
		pend = &objs->o[obj].pend;
		/* Runs never span two VMAs: those ending after v's start are
		 * v's. */
		for (size_t i = sc_run_after(p, v->start);
		     i < p->nruns && p->runs[i].vaddr < v->end; i++) {
			const struct sc_run *r = &p->runs[i];
			uint64_t off = v->pgoff + (r->vaddr - v->start),
				 end = off + r->nr_pages * PAGE;

			if (span_cut(pend, off, end) ||
			    span_insert(pend, span_after(pend, off),
					(struct span){ off, end, r->vaddr, who }))
				return -1;
		}
	}
	return 0;
}

/* The first pending piece of view's object within its offsets [x0, x1),
 * at most max bytes. */
static bool piece(const struct shared_objs *objs, const struct span *view, uint64_t x0, uint64_t x1,
		  uint64_t max, struct shared_piece *pc)
{
	const struct spans *pend = &objs->o[view->who].pend;
	uint64_t off, end;
	size_t j = span_within(pend, x0, x1, max, &off, &end);

	if (j == SIZE_MAX)
		return false;
	*pc = (struct shared_piece){ .obj = view->who,
				     .who = pend->s[j].who,
				     .off = off,
				     .addr = view->start + (off - view->src),
				     .len = end - off,
				     .src = pend->s[j].src + (off - pend->s[j].start) };
	return true;
}

bool shared_at(const struct shared_objs *objs, const struct spans *views, uint64_t a, uint64_t b,
	       uint64_t max, struct shared_piece *pc)
{
	for (size_t i = span_after(views, a); i < views->n && views->s[i].start < b; i++) {
		const struct span *v = &views->s[i];
		uint64_t from = a > v->start ? a : v->start, to = b < v->end ? b : v->end;

		if (piece(objs, v, v->src + (from - v->start), v->src + (to - v->start), max, pc))
			return true;
	}
	return false;
}

bool shared_of(const struct shared_objs *objs, const struct spans *views, size_t obj, uint64_t max,
	       struct shared_piece *pc)
{
	for (size_t i = 0; i < views->n; i++) {
		const struct span *v = &views->s[i];

		if (v->who == obj && piece(objs, v, v->src, v->src + (v->end - v->start), max, pc))
			return true;
	}
	return false;
}

uint64_t shared_pending(const struct shared_objs *objs)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < objs->n; i++)
		bytes += span_bytes(&objs->o[i].pend);
	return bytes;
}
