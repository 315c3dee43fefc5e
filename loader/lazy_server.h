/* SPDX-License-Identifier: MIT */
/* The page server of crload --lazy (doc/lazy-restore.md): its lists of
 * pending pages, and the shared objects it serves. */
#ifndef SELFCKPT_LAZY_SERVER_H
#define SELFCKPT_LAZY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Filled per step of the background, between looks at the faults: one
 * chunk of a raw pages file. */
#define LAZY_BATCH (1UL << 20)
/* A pending page that stays unmapped this long (no event explains it: a
 * MADV_DONTFORK range in a forked child) is given up. An event follows a
 * change of the map within microseconds. */
#define LAZY_ENOENT_MS 1000.0

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

/* lazy_fill.c: pages placed in a restored address space, by the server
 * and by its second filler. */

/* A restored process whose pages are served: its image, and its pages
 * files through the chain. */
struct source {
	const struct sc_proc_img *p;
	struct sc_pages pg;
};

/* What placing pages in a space came to. */
enum placed { PLACED, RETRY, GONE, FATAL };

/* One filler's reading: the chunk of a raw pages file read last, kept
 * for the next batch (cpg NULL: none), room to decompress LAZY_BATCH
 * bytes, and where it says what went wrong (SC_ERR_LEN). */
struct filler {
	char *chunk;
	const struct sc_pages *cpg;
	uint32_t cgen;
	size_t cidx;
	char *buf;
	char *err;
};

/* CLOCK_MONOTONIC in milliseconds. */
double lazy_now_ms(void);
/* f ready to read chunks of at most chunk bytes (0: none). 0, or -1 with
 * err set. */
int filler_init(struct filler *f, uint64_t chunk, char *err);
/*
 * len bytes at dst through userfaultfd fd: copied from buf, or zero
 * pages where buf is NULL; *done counts the bytes that are in. A page
 * already there (the program's own, or placed for a fault meanwhile) is
 * left as it is. *enoent is since when a page has been found unmapped,
 * or 0.
 */
enum placed place(struct filler *f, int fd, double *enoent, uint64_t dst, const char *buf,
		  uint64_t len, uint64_t *done);
/* [a, b) through userfaultfd fd, from source so's image at src: the
 * stored pages read and checked, holes as zero pages; b - a <=
 * LAZY_BATCH. *done counts the bytes from a that are in (pages already
 * there count), *enoent is since when a page was found unmapped, or 0.
 * FATAL with f->err set. */
enum placed fill(struct filler *f, int fd, double *enoent, struct source *so, uint64_t a,
		 uint64_t b, uint64_t src, uint64_t *done);

/* A range handed to the second filler: the job's own copy of the
 * space's userfaultfd, what fill takes, and what came of it. */
struct fill_job {
	int fd;
	struct source *so;
	uint64_t a, b, src;
	double enoent;
	enum placed got;
	uint64_t done;
	char err[SC_ERR_LEN];
};

struct helper;

/* The second filler's thread started; NULL if it cannot be. */
struct helper *helper_new(uint64_t chunk);
/* j handed over; the helper has none. */
void helper_give(struct helper *h, const struct fill_job *j);
/* Whether the job handed over is filled. */
bool helper_ended(struct helper *h);
/* While the server holds the helper, it places nothing. */
void helper_hold(struct helper *h);
void helper_release(struct helper *h);
/* Held: the job handed over taken back into j once it is filled, or at
 * once with withdraw: then RETRY with what its batches placed so far
 * (nothing, where it was not begun), or how its last batch failed.
 * Whether it was taken. */
bool helper_take(struct helper *h, struct fill_job *j, bool withdraw);

#endif
