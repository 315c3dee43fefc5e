/* SPDX-License-Identifier: MIT */
/* The page server of crload --lazy (doc/lazy-restore.md): its lists of
 * pending pages, and the shared objects it serves. */
#ifndef SELFCKPT_LAZY_SERVER_H
#define SELFCKPT_LAZY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* lazy_spans.c: sorted lists of ranges that do not overlap. */

/*
 * [start, end) whose contents are at src: in a space's pending list, an
 * address range and the address its pages had in the image of source who
 * (the space's); in a space's views, an address range and the offset of
 * its start in shared object who; in a shared object's pending list, a
 * range of offsets and the address its pages had in the image of source
 * who.
 */
struct span {
	uint64_t start, end, src;
	size_t who;
};

struct spans {
	struct span *s;
	size_t n, cap;
};

/* The first span of l that ends after a. */
size_t span_after(const struct spans *l, uint64_t a);
/* The first span of l that reaches into [a, b), or SIZE_MAX: [*from,
 * *to) its part there, at most max bytes. */
size_t span_within(const struct spans *l, uint64_t a, uint64_t b, uint64_t max, uint64_t *from,
		   uint64_t *to);
/* s inserted at index at. -1 when out of memory. */
int span_insert(struct spans *l, size_t at, struct span s);
/* [a, b) out of l. -1 when out of memory. */
int span_cut(struct spans *l, uint64_t a, uint64_t b);
/* mremap moved [from, from + len) to to: its spans go with it, and
 * whatever was at to is gone. -1 when out of memory. */
int span_move(struct spans *l, uint64_t from, uint64_t to, uint64_t len);
/* to, empty, made a copy of from. -1 when out of memory. */
int span_copy(struct spans *to, const struct spans *from);
/* Bytes l covers. */
uint64_t span_bytes(const struct spans *l);

/* lazy_shared.c: anonymous shared memory served lazily, its pending
 * pages kept per object, in the object's offsets. */

/* One object, as the image names it, and its pages pending. */
struct shared_obj {
	uint64_t dev, ino;
	struct spans pend;
};

struct shared_objs {
	struct shared_obj *o;
	size_t n;
};

/* Pending pages of an object reachable through a view: len bytes at
 * addr of the space, at off of object obj, whose contents are at src in
 * the image of source who. */
struct shared_piece {
	size_t obj, who;
	uint64_t off, addr, len, src;
};

/* The lazy shared VMAs of source who (image p) taken in: each one a view
 * in views, its object's pending pages those p stores (where several
 * processes store a page, the last in the image's order counts, as for
 * an eager restore). -1 when out of memory. */
int shared_plan(struct shared_objs *objs, struct spans *views, const struct sc_image *img,
		const struct sc_proc_img *p, size_t who);
/* The first pending piece, at most max bytes, that [a, b) of a space with
 * views maps. */
bool shared_at(const struct shared_objs *objs, const struct spans *views, uint64_t a, uint64_t b,
	       uint64_t max, struct shared_piece *pc);
/* The first pending piece of object obj, at most max bytes, that a view
 * of views maps. */
bool shared_of(const struct shared_objs *objs, const struct spans *views, size_t obj, uint64_t max,
	       struct shared_piece *pc);
/* Bytes pending in every object. */
uint64_t shared_pending(const struct shared_objs *objs);

#endif
